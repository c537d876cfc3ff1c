"""Group buy (拼团): a group fills and every order delivers (codes taken only
then); an unfilled group is refunded by the beat task, once; joining twice, a
full or an expired group are refused with a clear message; switched off, the
module shows and applies nothing."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.urls import reverse
from django.utils import timezone

from kameng.modules import forget_switches, switch_module
from marketing.demo import seed_group_buy
from marketing.group_buy import join_option, open_option, running_campaign
from marketing.models import BuyerGroup, GroupBuyCampaign, GroupMember
from orders.checkout import buy_with_wallet, cancel_order, place_order
from orders.exceptions import CheckoutRefused
from orders.group_buy import refund_expired_groups
from orders.models import Order, RefundRequest
from orders.tasks import refund_expired_groups_task
from tests.catalog.factories import make_sku
from tests.marketing.group_buy_helpers import buyers, group_campaign, sold_codes
from users.models import LedgerEntry

pytestmark = pytest.mark.django_db
S = Order.Status


def open_group(campaign, buyer):
    order = buy_with_wallet(
        sku=campaign.sku, quantity=1, buyer=buyer, options=open_option(campaign.pk)
    )
    member = GroupMember.objects.get(order_id=order.pk)
    return order, member.group


def join(group, buyer):
    return buy_with_wallet(
        sku=group.campaign.sku,
        quantity=1,
        buyer=buyer,
        options=join_option(group.token),
    )


def status(order) -> str:
    order.refresh_from_db()
    return order.status


def test_a_group_of_three_delivers_every_order_only_when_it_fills():
    campaign = group_campaign(
        size=3, price=Decimal("10.00"), group_price=Decimal("7.50")
    )
    leader, second, third = buyers(3)

    first_order, group = open_group(campaign, leader)
    assert first_order.amount == Decimal("7.50")
    assert "group_buy" in [
        layer["code"] for layer in first_order.price_breakdown["layers"]
    ]
    assert status(first_order) == S.WAITING_GROUP
    assert sold_codes(campaign.sku) == 0  # paid, but no code taken yet
    assert leader.wallet.entries.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 1

    second_order = join(group, second)
    assert status(second_order) == S.WAITING_GROUP
    assert sold_codes(campaign.sku) == 0

    third_order = join(group, third)
    for order in (first_order, second_order, third_order):
        assert status(order) == S.DELIVERED
        assert len(order.delivery["code_ids"]) == 1
    assert sold_codes(campaign.sku) == 3
    group.refresh_from_db()
    assert group.state == BuyerGroup.State.FILLED
    assert group.seats_taken == 3
    # The timeline says why each order waited and why it went on.
    reasons = list(first_order.events.values_list("to_status", flat=True))
    assert reasons == [S.PAID, S.WAITING_GROUP, S.PAID, S.DELIVERED]


def test_an_unfilled_group_is_refunded_by_the_beat_task_once():
    campaign = group_campaign(size=3, hours=2)
    leader, second = buyers(2)
    first_order, group = open_group(campaign, leader)
    second_order = join(group, second)

    assert refund_expired_groups() == 0  # not past its deadline yet
    later = timezone.now() + timedelta(hours=3)
    assert refund_expired_groups(now=later) == 2
    assert refund_expired_groups(now=later) == 0  # run twice: nothing more

    group.refresh_from_db()
    assert group.state == BuyerGroup.State.FAILED
    for order, buyer in ((first_order, leader), (second_order, second)):
        assert status(order) == S.REFUNDED
        refunds = RefundRequest.objects.filter(order=order)
        assert refunds.count() == 1
        assert refunds.get().reason == "拼团未成团，已自动退款"
        buyer.wallet.refresh_from_db()
        assert buyer.wallet.balance == Decimal("100.00")
    assert sold_codes(campaign.sku) == 0


def test_the_beat_task_refunds_nothing_twice(django_capture_on_commit_callbacks):
    campaign = group_campaign(size=2, hours=1)
    (leader,) = buyers(1)
    order, group = open_group(campaign, leader)
    BuyerGroup.objects.filter(pk=group.pk).update(
        deadline=timezone.now() - timedelta(minutes=1)
    )

    assert refund_expired_groups_task() == 1
    assert refund_expired_groups_task() == 0
    assert RefundRequest.objects.filter(order=order).count() == 1
    assert status(order) == S.REFUNDED


def test_the_order_page_tells_the_buyer_why_it_was_refunded(client):
    campaign = group_campaign(size=2, hours=1)
    (leader,) = buyers(1)
    order, group = open_group(campaign, leader)
    refund_expired_groups(now=timezone.now() + timedelta(hours=2))

    client.force_login(leader)
    page = client.get(
        reverse("shop:order", args=[order.order_no]), HTTP_ACCEPT_LANGUAGE="zh-hans"
    )
    text = page.content.decode()
    assert page.status_code == 200
    assert "拼团未成团，已自动退款" in text


def test_joining_the_same_group_twice_is_refused_before_paying():
    campaign = group_campaign(size=3)
    leader, second = buyers(2)
    _order, group = open_group(campaign, leader)
    join(group, second)

    with pytest.raises(CheckoutRefused) as refused:
        join(group, second)
    assert refused.value.message == "你已在该团中。"
    with pytest.raises(CheckoutRefused):
        join(group, leader)
    assert second.wallet.entries.filter(kind=LedgerEntry.Kind.PURCHASE).count() == 1
    group.refresh_from_db()
    assert group.seats_taken == 2


def test_a_full_group_refuses_a_newcomer_with_a_clear_message():
    campaign = group_campaign(size=2)
    leader, second, late = buyers(3)
    _order, group = open_group(campaign, leader)
    join(group, second)

    with pytest.raises(CheckoutRefused) as refused:
        join(group, late)
    assert refused.value.message == "该团已满员，请自己发起拼团。"
    late.wallet.refresh_from_db()
    assert late.wallet.balance == Decimal("100.00")
    assert not Order.objects.filter(buyer=late).exists()


def test_an_expired_group_refuses_a_newcomer_with_a_clear_message():
    campaign = group_campaign(size=3)
    leader, late = buyers(2)
    _order, group = open_group(campaign, leader)
    BuyerGroup.objects.filter(pk=group.pk).update(
        deadline=timezone.now() - timedelta(seconds=1)
    )

    with pytest.raises(CheckoutRefused) as refused:
        join(group, late)
    assert refused.value.message == "该团已过期，请自己发起拼团。"
    assert not Order.objects.filter(buyer=late).exists()


def test_a_cancelled_unpaid_order_gives_its_seat_back():
    campaign = group_campaign(size=2)
    leader, second, third = buyers(3)
    _order, group = open_group(campaign, leader)
    pending = place_order(
        sku=campaign.sku, quantity=1, buyer=second, options=join_option(group.token)
    )
    group.refresh_from_db()
    assert group.seats_taken == 2

    cancel_order(order=pending)
    group.refresh_from_db()
    assert group.seats_taken == 1
    filled = join(group, third)
    assert status(filled) == S.DELIVERED


def test_a_group_order_is_for_one_item():
    campaign = group_campaign(size=2, max_quantity=5)
    (buyer,) = buyers(1)
    with pytest.raises(CheckoutRefused) as refused:
        buy_with_wallet(
            sku=campaign.sku, quantity=2, buyer=buyer, options=open_option(campaign.pk)
        )
    assert refused.value.message == "拼团订单每单只能购买 1 件。"


def test_switched_off_the_module_hides_and_applies_nothing(
    client, admin_user, django_capture_on_commit_callbacks
):
    campaign = group_campaign(size=2)
    leader, second = buyers(2)
    _order, group = open_group(campaign, leader)
    product_url = reverse("shop:product", args=[campaign.sku.product_id])
    client.force_login(second)
    assert "group-offer" in client.get(product_url).content.decode()

    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="group_buy", enabled=False, actor=None)
    forget_switches()

    assert "group-offer" not in client.get(product_url).content.decode()
    assert client.get(reverse("shop:group", args=[group.token])).status_code == 404
    assert (
        client.post(reverse("shop:group_join", args=[group.token])).status_code == 404
    )
    assert (
        client.post(reverse("shop:group_open", args=[campaign.pk])).status_code == 404
    )
    with pytest.raises(CheckoutRefused):
        join(group, second)
    # The price step applies nothing while off.
    plain = buy_with_wallet(sku=campaign.sku, quantity=1, buyer=second)
    assert plain.amount == Decimal("10.00")
    # The back office's group buy admins answer 404; switched on, all is back.
    client.force_login(admin_user)
    for name in ("groupbuycampaign", "buyergroup", "failedgroup", "groupmember"):
        url = reverse(f"admin:marketing_{name}_changelist")
        assert client.get(url).status_code == 404
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="group_buy", enabled=True, actor=None)
    forget_switches()
    assert (
        client.get(reverse("admin:marketing_buyergroup_changelist")).status_code == 200
    )
    assert client.get(reverse("shop:group", args=[group.token])).status_code == 200


def test_the_group_page_shows_masked_members_seats_and_the_share_link(client):
    campaign = group_campaign(size=3)
    (leader,) = buyers(1)
    _order, group = open_group(campaign, leader)

    page = client.get(reverse("shop:group", args=[group.token]))
    text = page.content.decode()
    assert page.status_code == 200
    assert leader.username not in text
    assert leader.username[0] + "*" in text
    assert f"/shop/groups/{group.token}/" in text
    assert 'data-testid="seats-left"' in text
    assert "<script>" not in text  # the countdown is a static file


def test_joining_from_the_group_page_pays_and_delivers(client):
    campaign = group_campaign(size=2)
    leader, second = buyers(2)
    first_order, group = open_group(campaign, leader)

    client.force_login(second)
    response = client.post(reverse("shop:group_join", args=[group.token]))
    assert response.status_code == 302
    assert status(first_order) == S.DELIVERED
    assert Order.objects.get(buyer=second).status == S.DELIVERED


def test_the_demo_seeds_a_group_buy_on_a_card_sku():
    sku = make_sku(price=Decimal("30.00"))
    seed_group_buy(None)
    seed_group_buy(None)  # seeding again adds nothing
    campaign = GroupBuyCampaign.objects.get()
    assert campaign.sku == sku
    assert campaign.group_size == 2
    assert campaign.group_price == Decimal("24.00")
    assert running_campaign(sku_id=sku.pk) == campaign


@pytest.mark.parametrize("role", ["marketing", "support", "operations"])
def test_the_back_office_lists_campaigns_groups_and_failed_groups(
    client, role_user, role
):
    campaign = group_campaign(size=2, hours=1)
    (leader,) = buyers(1)
    _order, group = open_group(campaign, leader)
    refund_expired_groups(now=timezone.now() + timedelta(hours=2))
    client.force_login(role_user(role))
    pages = {
        "groupbuycampaign": "拼团活动",
        "buyergroup": "拼团",
        "failedgroup": "失败的拼团",
        "groupmember": "拼团成员",
    }
    for model, title in pages.items():
        listing = client.get(reverse(f"admin:marketing_{model}_changelist"))
        assert listing.status_code == 200, model
        assert title in listing.content.decode()
    detail = client.get(reverse("admin:marketing_failedgroup_change", args=[group.pk]))
    assert detail.status_code == 200
    text = detail.content.decode()
    assert "未成团，已退款" in text
    assert leader.username in text  # staff see who was in it
    can_add = client.get(reverse("admin:marketing_groupbuycampaign_add")).status_code
    assert can_add == (200 if role == "marketing" else 403)
