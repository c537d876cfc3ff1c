"""`check_ledgers`: every wallet balance equals the sum of its ledger; a
planted mismatch is found, alerts finance by mail and in the back office, once,
and the alert resolves when the wallet adds up again."""

from decimal import Decimal
from io import StringIO

import pytest
from django.core import mail
from django.core.management import CommandError, call_command

from kameng.admin import TASK_TITLES
from kameng.beat import SCHEDULE
from users.models import LedgerAlert, LedgerEntry, User, Wallet
from users.services import credit_wallet, debit_wallet
from users.wallets import check_ledgers, ledger_mismatches

pytestmark = pytest.mark.django_db


@pytest.fixture
def wallets(db):
    buyers = [User.objects.create_user(f"ledger-{i}") for i in range(3)]
    for buyer in buyers:
        credit_wallet(user=buyer, amount=Decimal("50.00"), kind="topup")
        debit_wallet(user=buyer, amount=Decimal("20.00"), kind="purchase")
    return buyers


@pytest.fixture
def finance_with_mail(role_user):
    user = role_user("finance", "finance-mail")
    user.email = "finance@example.com"
    user.save()
    return user


def plant_mismatch(buyer) -> Wallet:
    """A balance changed behind the ledger's back (a raw UPDATE)."""
    Wallet.objects.filter(user=buyer).update(balance=Decimal("99.00"))
    return Wallet.objects.get(user=buyer)


def test_consistent_wallets_pass(wallets, finance_with_mail):
    out = StringIO()
    call_command("check_ledgers", stdout=out)
    assert "所有钱包余额均与流水一致" in out.getvalue()
    assert not LedgerAlert.objects.exists() and mail.outbox == []


def test_the_check_is_one_query(wallets, django_assert_num_queries):
    with django_assert_num_queries(1):
        assert ledger_mismatches() == []


def test_a_planted_mismatch_is_found_and_finance_alerted_once(
    wallets, finance_with_mail, client
):
    wallet = plant_mismatch(wallets[1])
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("check_ledgers", stdout=out)
    assert f"钱包 {wallet.pk}" in out.getvalue() and "99.00" in out.getvalue()
    alert = LedgerAlert.objects.get()
    assert (alert.wallet, alert.balance, alert.ledger_sum) == (
        wallet,
        Decimal("99.00"),
        Decimal("30.00"),
    )
    assert len(mail.outbox) == 1
    assert mail.outbox[0].to == ["finance@example.com"]
    assert "ledger-1" in mail.outbox[0].body

    # The alert is visible in the back office and on the wallet page.
    client.force_login(finance_with_mail)
    listing = client.get("/admin/users/ledgeralert/").content.decode()
    assert "ledger-1" in listing
    page = client.get(f"/admin/users/buyer/{wallets[1].pk}/wallet/").content.decode()
    assert 'data-testid="ledger-alert"' in page

    # The nightly run again: still one open alert, no second mail.
    check_ledgers()
    assert LedgerAlert.objects.filter(resolved_at__isnull=True).count() == 1
    assert len(mail.outbox) == 1


def test_the_alert_resolves_when_the_wallet_adds_up_again(wallets, finance_with_mail):
    plant_mismatch(wallets[0])
    check_ledgers()
    Wallet.objects.filter(user=wallets[0]).update(balance=Decimal("30.00"))
    result = check_ledgers()
    assert result.mismatches == [] and result.resolved == 1
    assert LedgerAlert.objects.get().resolved_at is not None


def test_a_wallet_without_ledger_rows_must_be_zero(db):
    buyer = User.objects.create_user("no-rows")
    Wallet.objects.create(user=buyer, balance=Decimal("5.00"))
    assert [row["user_id"] for row in ledger_mismatches()] == [buyer.pk]


def test_a_missing_ledger_row_is_a_mismatch(wallets):
    LedgerEntry.objects.filter(wallet__user=wallets[2], kind="purchase").delete()
    assert [row["user_id"] for row in ledger_mismatches()] == [wallets[2].pk]


def test_the_nightly_task_is_scheduled_with_a_chinese_title():
    tasks = {entry.task for entry in SCHEDULE}
    assert "users.check_ledgers" in tasks and "orders.recount_risk_flags" in tasks
    assert TASK_TITLES["users.check_ledgers"]
