"""The wallet page in the back office: balance, a filtered ledger read page by
page without a count, and manual adjustments only by finance, always with a
reason and the actor recorded."""

import threading
import uuid
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.utils import timezone

from users.exceptions import InsufficientBalance, WalletRefused
from users.models import LedgerEntry, User
from users.services import credit_wallet, debit_wallet
from users.wallets import LedgerFilter, adjust_wallet, ledger_rows

Kind = LedgerEntry.Kind


@pytest.fixture
def buyer(db):
    user = User.objects.create_user("wallet-buyer", password="x-test-password")
    credit_wallet(user=user, amount=Decimal("100.00"), kind=Kind.TOPUP, reference="T1")
    return user


@pytest.fixture
def finance(role_user):
    return role_user("finance", "finance-wallet")


def page_url(user) -> str:
    return f"/admin/users/buyer/{user.pk}/wallet/"


def test_finance_adjusts_with_a_reason_and_is_recorded(buyer, finance):
    entry = adjust_wallet(
        user=buyer,
        amount=Decimal("-30.00"),
        reason="重复充值，扣回",
        actor=finance,
        key=uuid.uuid4(),
    )
    assert (entry.kind, entry.amount, entry.balance_after) == (
        Kind.ADJUSTMENT,
        Decimal("-30.00"),
        Decimal("70.00"),
    )
    assert entry.actor == finance and entry.note == "重复充值，扣回"
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("70.00")


@pytest.mark.parametrize("role", ["support", "marketing", "operations"])
def test_only_finance_may_adjust(buyer, role_user, role):
    with pytest.raises(WalletRefused):
        adjust_wallet(
            user=buyer,
            amount=Decimal("5.00"),
            reason="补偿",
            actor=role_user(role),
            key=uuid.uuid4(),
        )
    assert buyer.wallet.entries.count() == 1


def test_an_adjustment_needs_a_reason(buyer, finance):
    with pytest.raises(WalletRefused):
        adjust_wallet(
            user=buyer,
            amount=Decimal("5.00"),
            reason="   ",
            actor=finance,
            key=uuid.uuid4(),
        )
    assert buyer.wallet.entries.count() == 1


def test_an_adjustment_never_drives_the_balance_below_zero(buyer, finance):
    with pytest.raises(InsufficientBalance):
        adjust_wallet(
            user=buyer,
            amount=Decimal("-100.01"),
            reason="扣回",
            actor=finance,
            key=uuid.uuid4(),
        )


def test_the_same_form_twice_adjusts_once(buyer, finance):
    key = uuid.uuid4()
    first = adjust_wallet(
        user=buyer, amount=Decimal("8.00"), reason="补偿", actor=finance, key=key
    )
    second = adjust_wallet(
        user=buyer, amount=Decimal("8.00"), reason="补偿", actor=finance, key=key
    )
    assert first.pk == second.pk
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("108.00")


def test_the_page_shows_balance_and_ledger_and_adjusts(client, buyer, finance):
    client.force_login(finance)
    page = client.get(page_url(buyer)).content.decode()
    assert "¥100.00" in page or "100.00" in page
    assert 'data-testid="wallet-adjust-link"' in page
    form = client.get(f"{page_url(buyer)}adjust/").content.decode()
    assert "调整余额" in form
    key = str(uuid.uuid4())
    refused = client.post(
        f"{page_url(buyer)}adjust/", {"key": key, "amount": "12.50", "reason": ""}
    )
    assert refused.status_code == 200 and "这个字段是必填项" in refused.content.decode()
    done = client.post(
        f"{page_url(buyer)}adjust/",
        {"key": key, "amount": "12.50", "reason": "活动补偿"},
    )
    assert done.status_code == 302
    page = client.get(page_url(buyer)).content.decode()
    assert "活动补偿" in page and "finance-wallet" in page and "112.50" in page


def test_support_sees_the_wallet_but_may_not_adjust(client, buyer, role_user):
    client.force_login(role_user("support"))
    page = client.get(page_url(buyer))
    assert page.status_code == 200
    assert 'data-testid="wallet-adjust-link"' not in page.content.decode()
    response = client.post(
        f"{page_url(buyer)}adjust/",
        {"key": str(uuid.uuid4()), "amount": "50.00", "reason": "x"},
    )
    assert response.status_code == 403
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("100.00")


def test_marketing_may_not_open_the_wallet(client, buyer, role_user):
    client.force_login(role_user("marketing"))
    assert client.get(page_url(buyer)).status_code == 403


def test_ledger_filters_by_kind_date_and_amount(buyer):
    debit_wallet(user=buyer, amount=Decimal("9.90"), kind=Kind.PURCHASE, reference="O1")
    debit_wallet(
        user=buyer, amount=Decimal("50.00"), kind=Kind.PURCHASE, reference="O2"
    )
    credit_wallet(user=buyer, amount=Decimal("9.90"), kind=Kind.REFUND, reference="O1")
    old = buyer.wallet.entries.get(reference="T1")
    LedgerEntry.objects.filter(pk=old.pk).update(
        created_at=timezone.now() - timedelta(days=10)
    )
    wallet = buyer.wallet

    def refs(**filters):
        rows, _next = ledger_rows(wallet=wallet, filters=LedgerFilter(**filters))
        return [row.reference for row in rows]

    assert refs(kind=Kind.PURCHASE) == ["O2", "O1"]
    assert refs(amount_min=Decimal("10")) == ["O2", "T1"]  # size of debits too
    assert refs(amount_max=Decimal("10")) == ["O1", "O1"]
    today = timezone.localdate()
    assert refs(date_from=today) == ["O1", "O2", "O1"]
    assert refs(date_to=today - timedelta(days=5)) == ["T1"]


def test_the_ledger_pages_by_keyset_without_a_count(
    client, buyer, finance, django_assert_max_num_queries
):
    for index in range(7):
        credit_wallet(
            user=buyer, amount=Decimal("1.00"), kind=Kind.REWARD, reference=f"R{index}"
        )
    rows, next_before = ledger_rows(wallet=buyer.wallet, filters=LedgerFilter(), size=3)
    assert [r.reference for r in rows] == ["R6", "R5", "R4"]
    rows, next_before = ledger_rows(
        wallet=buyer.wallet, filters=LedgerFilter(before=next_before), size=3
    )
    assert [r.reference for r in rows] == ["R3", "R2", "R1"]
    rows, next_before = ledger_rows(
        wallet=buyer.wallet, filters=LedgerFilter(before=next_before), size=3
    )
    assert [r.reference for r in rows] == ["R0", "T1"] and next_before is None

    client.force_login(finance)
    with django_assert_max_num_queries(20) as queries:
        client.get(page_url(buyer))
    assert not any("COUNT(" in q["sql"].upper() for q in queries.captured_queries)


def test_a_bad_filter_says_which_field(client, buyer, finance):
    client.force_login(finance)
    page = client.get(
        page_url(buyer), {"date_from": "2026-05-02", "date_to": "2026-05-01"}
    ).content.decode()
    assert "结束日期早于开始日期" in page


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_double_clicks_of_one_adjustment_adjust_once(role_user):
    buyer = User.objects.create_user("race-buyer")
    finance = role_user("finance", "finance-race")
    key = uuid.uuid4()
    errors, start = [], threading.Barrier(6)

    def click():
        try:
            start.wait()
            adjust_wallet(
                user=buyer,
                amount=Decimal("20.00"),
                reason="补偿",
                actor=finance,
                key=key,
            )
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=click) for _ in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    entries = list(LedgerEntry.objects.filter(kind=Kind.ADJUSTMENT))
    assert len(entries) == 1
    assert entries[0].wallet.user_id == buyer.pk
    assert entries[0].wallet.balance == Decimal("20.00")
