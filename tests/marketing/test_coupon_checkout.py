"""Coupons at checkout: the price layer, the best coupon, single use, return on
cancel and refund, the module switch, the report."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.auth.models import Group

from catalog.models import LevelPrice
from catalog.services.pricing import quote_price
from kameng.modules import forget_switches, switch_module
from marketing.coupons.selectors import best_coupon, choices_for, template_report
from marketing.models import Coupon, CouponTemplate
from orders.checkout import buy_with_wallet, cancel_order, place_order
from orders.exceptions import CheckoutRefused
from orders.refunds import request_refund
from tests.catalog.factories import make_category, make_product, make_sku
from tests.marketing.coupon_factories import give, make_template
from tests.orders.factories import make_buyer, stock_codes
from users.models import MemberLevel, User
from users.roles import ROLE_BY_CODE

pytestmark = pytest.mark.django_db
D = Decimal


@pytest.fixture
def sku():
    sku = make_sku(price=D("30.00"), cost_price=D("25.00"), max_quantity=10)
    stock_codes(sku, 10)
    return sku


@pytest.fixture
def buyer():
    return make_buyer(D("500.00"))


def test_the_coupon_layer_takes_its_amount_off_the_total(sku, buyer):
    coupon = give(make_template(), buyer)
    quote = quote_price(
        sku=sku, buyer=buyer, quantity=2, options={"coupon_id": coupon.pk}
    )
    assert quote.layer_codes == ["base", "coupon"]
    assert quote.total == D("50.00")
    assert quote.layers[-1].amount_off == D("10.00")


def test_a_coupon_below_its_threshold_refuses_the_order_with_the_reason(sku, buyer):
    coupon = give(make_template(), buyer)
    with pytest.raises(CheckoutRefused, match="差 ¥20.00 可用"):
        buy_with_wallet(
            sku=sku, quantity=1, buyer=buyer, options={"coupon_id": coupon.pk}
        )
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("500.00")


def test_someone_elses_coupon_is_refused(sku, buyer):
    coupon = give(make_template(), make_buyer())
    with pytest.raises(CheckoutRefused, match="不属于你"):
        buy_with_wallet(
            sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
        )


def test_paying_with_a_coupon_marks_it_used_and_charges_less(sku, buyer):
    coupon = give(make_template(), buyer)
    order = buy_with_wallet(
        sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
    )
    assert order.amount == D("50.00")
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == D("450.00")
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED
    assert coupon.order_id == order.pk
    assert (coupon.order_amount, coupon.discount, coupon.cost_amount) == (
        D("50.00"),
        D("10.00"),
        D("50.00"),
    )
    assert [layer["code"] for layer in order.price_breakdown["layers"]] == [
        "base",
        "coupon",
    ]
    with pytest.raises(CheckoutRefused, match="已使用"):
        buy_with_wallet(
            sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
        )


@pytest.mark.parametrize(
    "scope, applies",
    [
        ("own_category", True),
        ("parent_category", True),
        ("other_category", False),
        ("product", True),
        ("sku", True),
        ("other_sku", False),
    ],
)
def test_scope_decides_where_a_coupon_applies(buyer, scope, applies):
    parent = make_category()
    child = make_category(parent=parent)
    sku = make_sku(product=make_product(category=child), price=D("60.00"))
    other = make_sku(price=D("60.00"))
    scopes = {
        "own_category": {"scope": "categories", "categories": [child]},
        "parent_category": {"scope": "categories", "categories": [parent]},
        "other_category": {"scope": "categories", "categories": [make_category()]},
        "product": {"scope": "products", "products": [sku.product]},
        "sku": {"scope": "skus", "skus": [sku]},
        "other_sku": {"scope": "skus", "skus": [other]},
    }
    give(make_template(**scopes[scope]), buyer)
    choice = choices_for(buyer=buyer, sku=sku, quantity=1)[0]
    assert choice.applies is applies
    if not applies:
        assert choice.reason == "不适用于此商品。"


def test_best_coupon_takes_most_off_then_expires_first(buyer):
    sku = make_sku(price=D("100.00"))
    give(make_template(kind="no_threshold", amount=D("5.00")), buyer)
    ten_late = give(make_template(valid_days=20), buyer)
    ten_soon = give(make_template(valid_days=3), buyer)
    give(make_template(threshold=D("200.00"), amount=D("50.00")), buyer)  # too far
    assert best_coupon(buyer=buyer, sku=sku, quantity=1) == ten_soon
    percent = give(
        make_template(kind="percent_off", percent=D("12"), cap=D("11")), buyer
    )
    assert best_coupon(buyer=buyer, sku=sku, quantity=1) == percent
    assert ten_late != best_coupon(buyer=buyer, sku=sku, quantity=1)


def test_no_member_price_stacking_keeps_the_coupon_off(sku):
    gold = MemberLevel.objects.create(code="gold-c", name="黄金", rank=20)
    LevelPrice.objects.create(sku=sku, level=gold, price=D("28.00"))
    buyer = make_buyer(D("100.00"), member_level=gold)
    strict = give(make_template(stacks_with_member_price=False), buyer)
    choices = choices_for(buyer=buyer, sku=sku, quantity=2)
    assert choices[0].reason == "不可与会员价叠加。"
    assert best_coupon(buyer=buyer, sku=sku, quantity=2) is None
    with pytest.raises(CheckoutRefused, match="会员价"):
        buy_with_wallet(
            sku=sku, quantity=2, buyer=buyer, options={"coupon_id": strict.pk}
        )
    stacking = give(make_template(), buyer)
    order = buy_with_wallet(
        sku=sku, quantity=2, buyer=buyer, options={"coupon_id": stacking.pk}
    )
    assert order.amount == D("46.00")  # 2 × 28.00 − 10.00


def test_a_cancelled_order_gives_the_coupon_back(sku, buyer):
    coupon = give(make_template(), buyer)
    order = place_order(
        sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
    )
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.USED
    cancel_order(order=order)
    cancel_order(order=order)  # twice: nothing more happens
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE
    assert coupon.order_id is None


@pytest.fixture
def finance():
    user = User.objects.create_user("finance-c", is_staff=True)
    user.groups.add(Group.objects.get(name=ROLE_BY_CODE["finance"].group_name))
    return User.objects.get(pk=user.pk)


@pytest.mark.parametrize("returned", [True, False])
def test_a_refund_returns_the_coupon_only_when_the_template_says_so(
    sku, buyer, finance, returned
):
    coupon = give(make_template(return_on_refund=returned), buyer)
    order = buy_with_wallet(
        sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
    )
    order.refresh_from_db()
    request_refund(
        order=order, amount=order.amount, reason="售后", actor=finance, key=uuid.uuid4()
    )
    order.refresh_from_db()
    assert order.status == "refunded"
    coupon.refresh_from_db()
    expected = Coupon.Status.AVAILABLE if returned else Coupon.Status.USED
    assert coupon.status == expected


def test_switched_off_the_price_step_takes_nothing_off(
    sku, buyer, django_capture_on_commit_callbacks
):
    coupon = give(make_template(), buyer)
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    quote = quote_price(
        sku=sku, buyer=buyer, quantity=2, options={"coupon_id": coupon.pk}
    )
    assert quote.layer_codes == ["base"]
    assert quote.total == D("60.00")
    order = buy_with_wallet(
        sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
    )
    assert order.amount == D("60.00")
    coupon.refresh_from_db()
    assert coupon.status == Coupon.Status.AVAILABLE
    forget_switches()


def test_report_per_template(sku, buyer):
    template = make_template(per_buyer_limit=3)
    unused = make_template(name="未用")
    for _ in range(2):
        coupon = give(template, buyer)
        buy_with_wallet(
            sku=sku, quantity=2, buyer=buyer, options={"coupon_id": coupon.pk}
        )
    give(template, make_buyer())
    rows = {
        row["template"].pk: row
        for row in template_report(
            templates=CouponTemplate.objects.filter(pk__in=[template.pk, unused.pk])
        )
    }
    row = rows[template.pk]
    assert (row["issued"], row["used"]) == (3, 2)
    assert row["gmv"] == D("100.00")  # two orders of 60 − 10
    assert row["discount_cost"] == D("20.00")
    assert row["profit"] == D("0.00")  # cost 2 × 2 × 25.00
    assert rows[unused.pk]["issued"] == 0
