"""Top-up bonuses (充值赠送): tiers at and around their thresholds, validity and
per-buyer limits, the bonus credited with the top-up (once), never refunded as
cash, taken back with a refunded top-up, the ledger invariant, the switch."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kameng.modules import forget_switches, switch_module
from marketing.models import BonusGrant, BonusRule, BonusTier
from marketing.topup_bonus import BonusRefused, bonus_for, check_tiers, tier_bonus
from orders.models import WalletTopUp
from orders.payments.base import Notice
from orders.payments.topup_refunds import TopUpRefundRefused, refund_topup
from orders.payments.topups import settle_topup_payment, start_topup
from tests.orders.factories import make_buyer
from users.models import LedgerEntry, User, Wallet
from users.services import debit_wallet
from users.wallet_bonus import split_rows, wallet_split
from users.wallets import ledger_mismatches

D = Decimal
TIERS = [
    (D("100.00"), D("5.00")),
    (D("500.00"), D("40.00")),
    (D("1000.00"), D("100.00")),
]


@pytest.mark.parametrize(
    ("amount", "bonus"),
    [
        ("99.99", "0.00"),
        ("100.00", "5.00"),
        ("100.01", "5.00"),
        ("499.99", "5.00"),
        ("500.00", "40.00"),
        ("999.99", "40.00"),
        ("1000.00", "100.00"),
        ("50000.00", "100.00"),
        ("0.01", "0.00"),
    ],
)
def test_the_highest_tier_reached_applies(amount, bonus):
    assert tier_bonus(tiers=TIERS, amount=D(amount)) == D(bonus)
    assert tier_bonus(tiers=list(reversed(TIERS)), amount=D(amount)) == D(bonus)


@pytest.mark.parametrize(
    ("tiers", "message"),
    [
        ([], "at least one tier"),
        ([(D("100"), D("5")), (D("100"), D("6"))], "appears twice"),
        ([(D("100"), D("0"))], "above 0"),
        ([(D("10"), D("10"))], "less than the threshold"),
        ([(D("100"), D("10")), (D("500"), D("5"))], "smaller bonus"),
    ],
)
def test_bad_tiers_are_refused(tiers, message, settings):
    settings.LANGUAGE_CODE = "en"
    with pytest.raises(BonusRefused) as caught:
        check_tiers(tiers)
    assert caught.value.extra["field"] == "tiers"


def make_rule(*, limit=0, starts=-1, ends=1, tiers=TIERS, active=True):
    now = timezone.now()
    rule = BonusRule.objects.create(
        name="双十一",
        starts_at=now + timedelta(days=starts),
        ends_at=now + timedelta(days=ends),
        per_buyer_limit=limit,
        active=active,
    )
    BonusTier.objects.bulk_create(
        BonusTier(rule=rule, threshold=t, bonus=b) for t, b in tiers
    )
    return rule


def paid_topup(buyer, amount="100.00", trade=None):
    topup, _url = start_topup(buyer=buyer, amount=D(amount), channel="sandbox")
    settle_topup_payment(
        channel="sandbox",
        notice=Notice(
            order_no=topup.topup_no,
            trade_no=trade or f"T{topup.pk}",
            amount=D(amount),
            paid=True,
            raw={},
        ),
    )
    return topup


def balance(buyer):
    return Wallet.objects.get(user=buyer).balance


@pytest.mark.django_db
def test_a_paid_topup_gets_its_bonus_once_as_its_own_ledger_kind():
    make_rule()
    buyer = make_buyer()
    topup = paid_topup(buyer, "500.00")
    # the same notify again (a replay) credits nothing more
    settle_topup_payment(
        channel="sandbox",
        notice=Notice(topup.topup_no, f"T{topup.pk}", D("500.00"), True, {}),
    )
    assert balance(buyer) == D("540.00")
    bonus_rows = LedgerEntry.objects.filter(
        wallet__user=buyer, kind=LedgerEntry.Kind.BONUS
    )
    assert [(row.amount, row.reference) for row in bonus_rows] == [
        (D("40.00"), topup.topup_no)
    ]
    assert BonusGrant.objects.get().bonus == D("40.00")
    assert wallet_split(user=buyer) == (D("500.00"), D("40.00"))
    assert ledger_mismatches() == []


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("starts", "ends", "active"),
    [(1, 2, True), (-2, -1, True), (-1, 1, False)],
    ids=["not-yet", "over", "inactive"],
)
def test_no_bonus_outside_the_window_or_when_inactive(starts, ends, active):
    make_rule(starts=starts, ends=ends, active=active)
    buyer = make_buyer()
    paid_topup(buyer, "100.00")
    assert balance(buyer) == D("100.00")
    assert not BonusGrant.objects.exists()


@pytest.mark.django_db
def test_the_per_buyer_limit_counts_each_buyer():
    make_rule(limit=2)
    first, second = make_buyer(), make_buyer()
    for _ in range(3):
        paid_topup(first, "100.00")
    paid_topup(second, "100.00")
    assert balance(first) == D("310.00")
    assert balance(second) == D("105.00")
    assert bonus_for(buyer_id=first.pk, amount=D("100.00")) is None


@pytest.mark.django_db
def test_of_two_rules_the_larger_bonus_applies_once():
    make_rule()
    make_rule(tiers=[(D("100.00"), D("8.00"))])
    buyer = make_buyer()
    paid_topup(buyer, "100.00")
    assert balance(buyer) == D("108.00")
    assert BonusGrant.objects.count() == 1


@pytest.mark.django_db(transaction=True)
def test_switched_off_no_bonus_and_no_rules_on_the_wallet_page(client):
    make_rule()
    switch_module(code="topup_bonus", enabled=False, actor=None)
    forget_switches()
    buyer = make_buyer()
    paid_topup(buyer, "100.00")
    assert balance(buyer) == D("100.00")
    client.force_login(buyer)
    page = client.get(reverse("shop:wallet"))
    assert page.context["bonus_rules"] == []
    assert 'data-testid="bonus-rules"' not in page.content.decode()
    staff = User.objects.create_user(username="boss", is_staff=True, is_superuser=True)
    client.force_login(staff)
    url = reverse("admin:marketing_bonusrule_changelist")
    assert client.get(url).status_code == 404


@pytest.mark.django_db
def test_the_wallet_page_shows_the_rules_and_the_bonus_part(client):
    make_rule()
    buyer = make_buyer()
    paid_topup(buyer, "100.00")
    client.force_login(buyer)
    page = client.get(reverse("shop:wallet"))
    html = page.content.decode()
    assert 'data-testid="bonus-rules"' in html and 'id="bonus-tiers"' in html
    assert 'data-testid="wallet-bonus"' in html and "5.00" in html
    assert page.context["wallet_bonus"] == D("5.00")


# Refunds: never cash, taken back ----------------------------------------------------
@pytest.fixture
def finance(db):
    return User.objects.create_user(username="fin", is_staff=True, is_superuser=True)


@pytest.mark.django_db
def test_a_refunded_topup_takes_its_bonus_back(finance):
    make_rule()
    buyer = make_buyer()
    topup = paid_topup(buyer, "100.00")
    refund_topup(topup=topup, actor=finance, reason="买错了")
    assert balance(buyer) == D("0.00")
    grant = BonusGrant.objects.get()
    assert (grant.reversed_amount, grant.shortfall) == (D("5.00"), D("0.00"))
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.REFUNDED
    assert ledger_mismatches() == []
    with pytest.raises(TopUpRefundRefused):
        refund_topup(topup=topup, actor=finance, reason="again")


@pytest.mark.django_db
def test_a_bonus_already_spent_is_taken_back_as_far_as_it_goes_and_flagged(finance):
    make_rule()
    buyer = make_buyer()
    topup = paid_topup(buyer, "100.00")
    paid_topup(buyer, "10.00")  # more cash, no bonus
    # spends 107: cash first (110 -> 3), the bonus of 5 untouched
    debit_wallet(user=buyer, amount=D("107.00"), kind=LedgerEntry.Kind.PURCHASE)
    assert wallet_split(user=buyer) == (D("3.00"), D("5.00"))
    with pytest.raises(TopUpRefundRefused):  # only 3 of cash: the bonus is no cash
        refund_topup(topup=topup, actor=finance, reason="x")
    assert balance(buyer) == D("8.00")


@pytest.mark.django_db
def test_spent_bonus_leaves_a_shortfall_for_finance(finance):
    make_rule()
    buyer = make_buyer()
    topup = paid_topup(buyer, "100.00")  # 100 cash + 5 bonus
    paid_topup(buyer, "100.00", trade="T-second")  # 200 cash + 10 bonus
    debit_wallet(user=buyer, amount=D("102.00"), kind=LedgerEntry.Kind.PURCHASE)
    # cash first: 98 cash, 10 bonus left
    assert wallet_split(user=buyer) == (D("98.00"), D("10.00"))
    debit_wallet(user=buyer, amount=D("0.50"), kind=LedgerEntry.Kind.PURCHASE)
    with pytest.raises(TopUpRefundRefused):
        refund_topup(topup=topup, actor=finance, reason="x")  # 97.50 cash < 100
    # a smaller example where the bonus is partly spent
    other = make_buyer()
    first = paid_topup(other, "100.00")
    debit_wallet(user=other, amount=D("103.00"), kind=LedgerEntry.Kind.PURCHASE)
    paid_topup(other, "100.00", trade="T-third")  # back to 100 cash + 2 + 5 bonus
    assert wallet_split(user=other) == (D("100.00"), D("7.00"))
    refund_topup(topup=first, actor=finance, reason="x")
    grant = BonusGrant.objects.get(topup_no=first.topup_no)
    assert grant.reversed_amount == D("5.00") and grant.shortfall == D("0.00")
    assert wallet_split(user=other) == (D("0.00"), D("2.00"))
    assert ledger_mismatches() == []


@pytest.mark.django_db
def test_a_bonus_partly_spent_records_what_could_not_be_taken_back(finance):
    make_rule(tiers=[(D("10.00"), D("5.00"))])
    buyer = make_buyer()
    topup = paid_topup(buyer, "10.00")  # 10 cash + 5 bonus
    debit_wallet(user=buyer, amount=D("13.00"), kind=LedgerEntry.Kind.PURCHASE)
    assert wallet_split(user=buyer) == (D("0.00"), D("2.00"))
    BonusRule.objects.update(active=False)
    paid_topup(buyer, "10.00", trade="T-cash")  # 10 cash, no bonus
    refund_topup(topup=topup, actor=finance, reason="x")
    grant = BonusGrant.objects.get(topup_no=topup.topup_no)
    assert (grant.reversed_amount, grant.shortfall) == (D("2.00"), D("3.00"))
    assert balance(buyer) == D("0.00")
    assert ledger_mismatches() == []


@pytest.mark.parametrize(
    ("rows", "split"),
    [
        ([("100", "topup"), ("5", "bonus")], ("100", "5")),
        ([("100", "topup"), ("5", "bonus"), ("-100", "purchase")], ("0", "5")),
        ([("100", "topup"), ("5", "bonus"), ("-103", "purchase")], ("0", "2")),
        (
            [("10", "topup"), ("5", "bonus"), ("-12", "purchase"), ("-5", "bonus")],
            ("-2", "0"),
        ),
        ([("5", "bonus"), ("20", "refund"), ("-20", "purchase")], ("0", "5")),
    ],
)
def test_cash_is_spent_first_and_the_bonus_last(rows, split):
    got = split_rows([(D(a), k) for a, k in rows], opening=D("0"))
    assert got == (D(split[0]), D(split[1]))


@pytest.mark.django_db
def test_finance_refunds_a_topup_from_its_page_and_the_bonus_goes_with_it(
    client, role_user
):
    make_rule()
    buyer = make_buyer()
    topup = paid_topup(buyer, "100.00")
    assert balance(buyer) == D("105.00")
    finance = role_user("finance")
    client.force_login(finance)
    change = client.get(reverse("admin:orders_wallettopup_change", args=[topup.pk]))
    page_url = reverse("orders:refund_topup", args=[topup.pk])
    assert page_url in change.content.decode()
    page = client.get(page_url).content.decode()
    assert "现金 ¥100.00，赠送 ¥5.00" in page

    refused = client.post(page_url, {"reason": ""})
    assert "这个字段是必填项。" in refused.content.decode()
    assert balance(buyer) == D("105.00")

    done = client.post(page_url, {"reason": "买家误充"})
    assert done.status_code == 302
    assert balance(buyer) == D("0.00")
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.REFUNDED
    assert not ledger_mismatches()


@pytest.mark.django_db
def test_only_finance_sees_and_opens_the_topup_refund(client, role_user):
    buyer = make_buyer()
    topup = paid_topup(buyer, "100.00")
    client.force_login(role_user("support"))
    page_url = reverse("orders:refund_topup", args=[topup.pk])
    change = client.get(reverse("admin:orders_wallettopup_change", args=[topup.pk]))
    assert page_url not in change.content.decode()
    assert client.post(page_url, {"reason": "x"}).status_code == 403
    assert balance(buyer) == D("100.00")
