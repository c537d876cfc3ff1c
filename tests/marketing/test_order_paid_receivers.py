"""order_paid as the worker announces it: a few statements for a buyer with
history, and the configuration the receivers keep per process (member levels,
points rules, coupon campaigns) seen by the next announcement after an
operator's edit, in this process and in one that kept the old value."""

from decimal import Decimal
from itertools import count

import pytest

from kameng import events
from marketing import points
from marketing.campaigns import ACTIVE, ensure_campaigns, save_campaign
from marketing.models import (
    CategoryPurchase,
    Coupon,
    CouponCampaign,
    PointsLevelRate,
)
from orders.transitions import announce
from tests.catalog.factories import make_category
from tests.marketing.factories import buyer_with
from tests.marketing.issuing_helpers import make_template
from users.levels import LEVELS
from users.models import BuyerStats, MemberLevel, User

pytestmark = pytest.mark.django_db
_orders = count(10**8)


def paid(buyer, amount="10.00", category=None) -> int:
    """One order_paid, as the worker sends it (orders.transitions.announce)."""
    order_id = next(_orders)
    announce(
        events.order_paid,
        {
            "order_id": order_id,
            "buyer_id": buyer.pk,
            "amount": Decimal(amount),
            "payment_method": "wallet",
            "category_id": getattr(category, "pk", None),
        },
    )
    return order_id


def first_order_campaign(template, *, enabled=True, commit):
    ensure_campaigns()
    campaign = CouponCampaign.objects.get(kind=CouponCampaign.Kind.FIRST_ORDER)
    campaign.enabled, campaign.template = enabled, template
    with commit(execute=True):
        save_campaign(campaign=campaign)


class Elsewhere:
    """A process that kept a value before an edit made here: after the edit
    (and its commit) it still holds the old value, and only the shared token
    tells it to read again."""

    def __init__(self, stamped):
        self.stamped = stamped
        self.stamped.get()
        self.kept = stamped._entry

    def __enter__(self):
        return self

    def __exit__(self, *exc):
        self.stamped._entry = self.kept  # as if changed() had run elsewhere


# --- what one announcement costs ----------------------------------------------


def test_an_announcement_for_a_buyer_with_history_is_a_few_statements(
    django_assert_max_num_queries, django_capture_on_commit_callbacks
):
    """Points (the account locked with the buyer's level, the entry, the
    balance), growth (the user locked, the figures), the referral check, the
    category count, the paid-order count for the first-order coupon; inside
    the test's transaction each receiver's atomic block adds its SAVEPOINT
    and RELEASE (4 more)."""
    with django_capture_on_commit_callbacks(execute=True):  # edits committed
        gold = MemberLevel.objects.create(code="gold-q", name="黄金", rank=3)
        PointsLevelRate.objects.create(
            settings=points.current_settings(), level=gold, earn_per_yuan=Decimal(2)
        )
    first_order_campaign(make_template(), commit=django_capture_on_commit_callbacks)
    buyer = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    User.objects.filter(pk=buyer.pk).update(member_level=gold)
    category = make_category()
    paid(buyer, category=category)  # the account and the category's row
    with django_assert_max_num_queries(12):
        paid(buyer, "9.99", category=category)
    assert points.balance_of(buyer) == 20 + 19  # ⌊10 × 2⌋ + ⌊9.99 × 2⌋
    assert BuyerStats.objects.get(user=buyer).order_count == 5
    assert CategoryPurchase.objects.get(user=buyer, category=category).orders == 2
    assert not Coupon.objects.exists()  # not the first order


def test_the_same_order_announced_twice_earns_once():
    buyer = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    order_id = paid(buyer, "10.00")
    entry = points.earn_for_order(
        order_id=order_id, buyer_id=buyer.pk, amount=Decimal("10.00")
    )
    assert entry.amount == 10 and entry.pk is not None
    assert points.balance_of(buyer) == 10
    assert points.check_points().mismatches == []


# --- an operator's edit, seen by the next announcement -----------------------------


def test_a_campaign_switched_on_is_seen_by_a_process_that_kept_it_off(
    django_capture_on_commit_callbacks,
):
    template = make_template()
    ensure_campaigns()
    with Elsewhere(ACTIVE):
        first_order_campaign(template, commit=django_capture_on_commit_callbacks)
    newcomer = buyer_with()
    paid(newcomer)
    assert list(Coupon.objects.values_list("owner_id", flat=True)) == [newcomer.pk]


def test_a_campaign_switched_off_is_seen_at_once(django_capture_on_commit_callbacks):
    template = make_template()
    first_order_campaign(template, commit=django_capture_on_commit_callbacks)
    paid(buyer_with())  # warm: on
    with Elsewhere(ACTIVE):
        first_order_campaign(
            template, enabled=False, commit=django_capture_on_commit_callbacks
        )
    paid(buyer_with())
    assert Coupon.objects.count() == 1


def test_a_campaigns_template_switched_off_is_seen_at_once(
    django_capture_on_commit_callbacks,
):
    template = make_template()
    first_order_campaign(template, commit=django_capture_on_commit_callbacks)
    with Elsewhere(ACTIVE), django_capture_on_commit_callbacks(execute=True):
        template.active = False
        template.save()
    paid(buyer_with())
    assert not Coupon.objects.exists()


def test_an_edited_earn_rate_is_used_by_the_next_announcement(
    django_capture_on_commit_callbacks,
):
    buyer = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    paid(buyer, "10.00")  # warm: 1 point per yuan
    with Elsewhere(points.RULES), django_capture_on_commit_callbacks(execute=True):
        rules = points.current_settings()
        rules.earn_per_yuan = Decimal("3.00")
        rules.save()
    paid(buyer, "10.00")
    assert points.balance_of(buyer) == 10 + 30


def test_a_new_level_rate_is_used_by_the_next_announcement(
    django_capture_on_commit_callbacks,
):
    gold = MemberLevel.objects.create(code="gold-r", name="黄金", rank=3)
    buyer = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    User.objects.filter(pk=buyer.pk).update(member_level=gold)
    paid(buyer, "10.00")  # warm: no rate for gold, the default 1
    with Elsewhere(points.RULES), django_capture_on_commit_callbacks(execute=True):
        PointsLevelRate.objects.create(
            settings=points.current_settings(), level=gold, earn_per_yuan=Decimal(5)
        )
    paid(buyer, "10.00")
    assert points.balance_of(buyer) == 10 + 50


def test_an_edit_not_yet_committed_is_seen_by_its_own_transaction():
    """A test's transaction never commits: the pending token makes every read
    go to the database, which shows the edit to this transaction only."""
    buyer = buyer_with(spent="100.00", orders=3, last_order_days_ago=2)
    paid(buyer, "10.00")
    rules = points.current_settings()
    rules.earn_per_yuan = Decimal("2.00")
    rules.save()
    paid(buyer, "10.00")
    assert points.balance_of(buyer) == 10 + 20


def test_a_lowered_threshold_upgrades_at_the_next_payment(
    django_capture_on_commit_callbacks,
):
    bronze = MemberLevel.objects.create(code="bronze-t", name="青铜", rank=0)
    silver = MemberLevel.objects.create(
        code="silver-t", name="白银", rank=10, growth_threshold=Decimal("300.00")
    )
    buyer = buyer_with()
    paid(buyer, "100.00")  # warm: growth 100, bronze
    assert User.objects.get(pk=buyer.pk).member_level == bronze
    with Elsewhere(LEVELS), django_capture_on_commit_callbacks(execute=True):
        silver.growth_threshold = Decimal("150.00")
        silver.save()
    paid(buyer, "60.00")
    assert User.objects.get(pk=buyer.pk).member_level == silver


def test_a_deleted_level_is_gone_at_the_next_payment(
    django_capture_on_commit_callbacks,
):
    MemberLevel.objects.create(code="bronze-d", name="青铜", rank=0)
    silver = MemberLevel.objects.create(
        code="silver-d", name="白银", rank=10, growth_threshold=Decimal("300.00")
    )
    buyer = buyer_with()
    paid(buyer, "10.00")
    with Elsewhere(LEVELS), django_capture_on_commit_callbacks(execute=True):
        silver.delete()
    paid(buyer, "500.00")
    assert User.objects.get(pk=buyer.pk).member_level.code == "bronze-d"
