"""Points (积分): earning (paid spend per level, check-in, reviews), spending
(price layer at checkout, points mall), giving back on cancel and refund,
expiry with notices, the ledger invariant (hypothesis), concurrency on
Postgres, and the module switched off."""

import datetime
import threading
import uuid
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection, transaction
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from catalog.services.pricing import quote_price
from kameng.models import AuditEntry
from kameng.modules import forget_switches, switch_module
from marketing import points
from marketing.models import (
    PointsAccount,
    PointsEntry,
    PointsExpiryNotice,
    PointsLevelRate,
    PointsMallItem,
    PointsReview,
)
from orders.checkout import buy_with_wallet, cancel_order, place_order
from orders.exceptions import CheckoutRefused
from orders.models import Order
from orders.points_mall import redeem_mall_item, review_order
from orders.refunds import refund_to_wallet
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import MemberLevel, Wallet

pytestmark = pytest.mark.django_db
SH = ZoneInfo("Asia/Shanghai")


def at(year, month, day, hour=12, minute=0):
    return datetime.datetime(year, month, day, hour, minute, tzinfo=SH)


def card_sku(price="10.00", codes=20):
    sku = make_sku(price=Decimal(price), max_quantity=5)
    stock_codes(sku, codes)
    sku.refresh_from_db()
    return sku


def give(buyer, n, *, when=None):
    """n points earned on a (fictitious) paid order at `when`."""
    return points.earn_for_order(
        order_id=10**9 + PointsEntry.objects.count(),
        buyer_id=buyer.pk,
        amount=Decimal(n),
        at=when,
    )


def balance(buyer):
    return points.balance_of(buyer)


def assert_ledger_holds():
    assert points.check_points().mismatches == []


def switched_off(code, django_capture_on_commit_callbacks):
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code=code, enabled=False, actor=None)
    forget_switches()


# --- earning -------------------------------------------------------------------


def test_a_paid_order_earns_points_at_the_buyers_level_rate_once(
    django_capture_on_commit_callbacks,
):
    gold = MemberLevel.objects.create(code="gold-p", name="黄金", rank=3)
    PointsLevelRate.objects.create(
        settings=points.current_settings(), level=gold, earn_per_yuan=Decimal("2.00")
    )
    buyer = make_buyer(Decimal("100.00"), member_level=gold)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=card_sku("9.99"), quantity=1, buyer=buyer)
    assert balance(buyer) == 19  # ⌊9.99 × 2⌋
    points.earn_for_order(order_id=order.pk, buyer_id=buyer.pk, amount=order.amount)
    assert balance(buyer) == 19  # order_paid again: nothing more
    assert_ledger_holds()


def test_check_in_once_per_shanghai_day():
    buyer = make_buyer()
    points.check_in(buyer=buyer, at=at(2026, 3, 1, 23, 59))
    with pytest.raises(points.AlreadyCheckedIn):
        points.check_in(buyer=buyer, at=at(2026, 3, 1, 0, 1))
    points.check_in(buyer=buyer, at=at(2026, 3, 2, 0, 1))  # next Shanghai day
    assert balance(buyer) == 10
    assert_ledger_holds()


def test_review_of_own_delivered_order_earns_points_only_once_approved(
    django_capture_on_commit_callbacks, role_user
):
    buyer = make_buyer(Decimal("50.00"))
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=card_sku("1.00"), quantity=1, buyer=buyer)
    before = balance(buyer)
    review = review_order(order=order, buyer=buyer, stars=5, text="很快到账")
    assert points.shown_reviews(product_id=order.sku.product_id) == []
    assert balance(buyer) == before
    points.moderate_review(review=review, approve=True, actor=role_user("marketing"))
    assert balance(buyer) == before + 20
    assert points.shown_reviews(product_id=order.sku.product_id) == [review]
    with pytest.raises(points.PointsRefused):
        review_order(order=order, buyer=buyer, stars=4, text="again")


def test_rejected_review_is_hidden_and_earns_nothing(
    django_capture_on_commit_callbacks, role_user
):
    buyer = make_buyer(Decimal("50.00"))
    order = buy_with_wallet(sku=card_sku("1.00"), quantity=1, buyer=buyer)
    review = review_order(order=order, buyer=buyer, stars=1, text="广告")
    points.moderate_review(review=review, approve=False, actor=role_user("marketing"))
    review.refresh_from_db()
    assert review.status == PointsReview.Status.REJECTED
    assert balance(buyer) == 0
    assert points.shown_reviews(product_id=order.sku.product_id) == []


def test_only_the_buyer_may_review_and_only_a_delivered_order():
    buyer, other = make_buyer(Decimal("50.00")), make_buyer()
    delivered = buy_with_wallet(sku=card_sku("1.00"), quantity=1, buyer=buyer)
    pending = place_order(sku=card_sku("1.00"), quantity=1, buyer=buyer)
    with pytest.raises(CheckoutRefused):
        review_order(order=delivered, buyer=other, stars=5, text="不是我的")
    with pytest.raises(CheckoutRefused):
        review_order(order=pending, buyer=buyer, stars=5, text="还没发货")
    assert not PointsReview.objects.exists()


# --- the price layer -----------------------------------------------------------


@pytest.mark.parametrize(
    "price, quantity, owned, wanted, rate, share, off, total",
    [
        ("10.00", 1, 10_000, 10_000, 100, 50, "5.00", "5.00"),  # the max share
        ("10.00", 1, 10_000, 300, 100, 50, "3.00", "7.00"),  # what the points buy
        ("10.00", 1, 120, 300, 100, 50, "1.20", "8.80"),  # the balance caps it
        ("9.99", 1, 10_000, 10_000, 100, 50, "4.99", "5.00"),  # share rounds down
        ("10.00", 1, 10_000, 155, 150, 50, "1.03", "8.97"),  # rate rounds down
        ("0.01", 1, 10_000, 10_000, 100, 100, None, "0.01"),  # never below 0.01
        ("10.00", 3, 10_000, 10_000, 100, 30, "9.00", "21.00"),  # share of total
    ],
)
def test_points_layer_takes_off_at_most_the_share_and_what_points_buy(
    price, quantity, owned, wanted, rate, share, off, total
):
    rules = points.current_settings()
    rules.points_per_yuan_off, rules.max_share_percent = rate, share
    rules.save()
    buyer = make_buyer()
    if owned:
        give(buyer, owned)
    sku = make_sku(price=Decimal(price), max_quantity=5)
    quote = quote_price(
        sku=sku, buyer=buyer, quantity=quantity, options={"points": wanted}
    )
    layer = next((x for x in quote.layers if x.code == "points"), None)
    assert (layer.amount_off if layer else None) == (Decimal(off) if off else None)
    assert quote.total == Decimal(total)


def test_checkout_with_points_debits_them_and_charges_the_rest():
    buyer = make_buyer(Decimal("20.00"))
    give(buyer, 1000)
    order = buy_with_wallet(
        sku=card_sku("10.00"), quantity=1, buyer=buyer, options={"points": 300}
    )
    assert order.amount == Decimal("7.00")
    assert balance(buyer) == 700
    assert Wallet.objects.get(user=buyer).balance == Decimal("13.00")
    assert "points" in [x["code"] for x in order.price_breakdown["layers"]]
    assert_ledger_holds()


def test_points_spent_meanwhile_refuse_the_order_and_charge_nothing(monkeypatch):
    buyer = make_buyer(Decimal("20.00"))
    give(buyer, 100)
    # The quote believes the buyer has plenty; the claim finds 100.
    monkeypatch.setattr(points, "balance_of", lambda buyer: 10_000)
    with pytest.raises(CheckoutRefused):
        buy_with_wallet(
            sku=card_sku("10.00"), quantity=1, buyer=buyer, options={"points": 300}
        )
    assert not Order.objects.filter(buyer=buyer).exists()
    assert Wallet.objects.get(user=buyer).balance == Decimal("20.00")
    assert PointsAccount.objects.get(buyer=buyer).balance == 100


def test_cancelling_an_unpaid_order_returns_its_points():
    buyer = make_buyer()
    give(buyer, 500)
    order = place_order(
        sku=card_sku("10.00"), quantity=1, buyer=buyer, options={"points": 500}
    )
    assert balance(buyer) == 0
    cancel_order(order=order, actor=buyer)
    assert balance(buyer) == 500
    assert_ledger_holds()


def test_full_refund_returns_spent_points_and_takes_back_earned_ones(
    django_capture_on_commit_callbacks,
):
    buyer = make_buyer(Decimal("50.00"))
    give(buyer, 200)
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(
            sku=card_sku("10.00"), quantity=1, buyer=buyer, options={"points": 200}
        )
    assert order.amount == Decimal("8.00")
    assert balance(buyer) == 8  # 200 spent, 8 earned on ¥8.00
    refund_to_wallet(order=order, amount=Decimal("3.00"), reason="部分退款")
    assert balance(buyer) == 8  # a partial refund changes no points
    refund_to_wallet(order=order, reason="全部退款")
    assert balance(buyer) == 200  # 200 back, 8 taken back
    kinds = list(
        PointsEntry.objects.filter(order_id=order.pk)
        .order_by("id")
        .values_list("kind", flat=True)
    )
    assert kinds == ["spend_checkout", "earn_purchase", "return", "refund_takeback"]
    assert_ledger_holds()


def test_take_back_never_goes_below_zero(django_capture_on_commit_callbacks):
    buyer = make_buyer(Decimal("50.00"))
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=card_sku("10.00"), quantity=1, buyer=buyer)
    assert balance(buyer) == 10
    points.adjust_points(
        buyer=buyer,
        amount=-7,
        reason="用掉",
        actor=make_buyer(is_superuser=True, is_staff=True),
        key=uuid.uuid4(),
    )
    refund_to_wallet(order=order, reason="全部退款")
    assert balance(buyer) == 0
    takeback = PointsEntry.objects.get(kind="refund_takeback")
    assert takeback.amount == -3 and "7" in takeback.note
    assert_ledger_holds()


# --- points mall -----------------------------------------------------------------


def test_mall_redeem_delivers_the_sku_and_debits_the_points():
    buyer = make_buyer()
    give(buyer, 1000)
    item = PointsMallItem.objects.create(sku=card_sku("30.00"), points=800)
    order = redeem_mall_item(item_id=item.pk, buyer=buyer)
    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert order.payment_method == Order.PaymentMethod.POINTS
    assert order.amount == Decimal("0.00")
    assert balance(buyer) == 200
    with pytest.raises(CheckoutRefused):
        redeem_mall_item(item_id=item.pk, buyer=buyer)  # 200 < 800
    assert Order.objects.filter(buyer=buyer).count() == 1


def test_mall_redeem_of_a_sold_out_sku_writes_nothing():
    buyer = make_buyer()
    give(buyer, 1000)
    item = PointsMallItem.objects.create(sku=card_sku("30.00", codes=0), points=100)
    with pytest.raises(CheckoutRefused):
        redeem_mall_item(item_id=item.pk, buyer=buyer)
    assert not Order.objects.filter(buyer=buyer).exists()
    assert balance(buyer) == 1000


# --- expiry ------------------------------------------------------------------------


def test_points_expire_at_the_end_of_the_next_year_unspent_part_only():
    buyer = make_buyer()
    give(buyer, 100, when=at(2025, 3, 1))
    give(buyer, 50, when=at(2026, 6, 1))
    account = PointsAccount.objects.get(buyer=buyer)
    # spent FIFO: 70 from the 2025 bucket
    points.adjust_points(
        buyer=buyer,
        amount=-70,
        reason="用掉",
        actor=make_buyer(is_superuser=True, is_staff=True),
        key=uuid.uuid4(),
    )
    assert points.expire_points(now=at(2026, 12, 31, 23, 59)) == {
        "accounts": 0,
        "points": 0,
    }
    assert points.send_expiry_notices(now=at(2026, 12, 10)) == 1
    assert points.send_expiry_notices(now=at(2026, 12, 11)) == 0  # once
    notice = PointsExpiryNotice.objects.get(account=account)
    assert notice.points == 30 and notice.expires_at == at(2027, 1, 1, 0, 0)
    result = points.expire_points(now=at(2027, 1, 1, 0, 1))
    assert result == {"accounts": 1, "points": 30}
    assert balance(buyer) == 50  # 2026's points live until the end of 2027
    assert points.expire_points(now=at(2027, 1, 1, 0, 2))["points"] == 0
    assert_ledger_holds()


# --- the ledger invariant (hypothesis) ------------------------------------------------

OPS = st.lists(
    st.one_of(
        st.tuples(st.just("earn"), st.integers(1, 500), st.integers(2024, 2027)),
        st.tuples(st.just("spend"), st.integers(1, 600), st.just(0)),
        st.tuples(st.just("expire"), st.just(0), st.integers(2025, 2029)),
        st.tuples(st.just("refund"), st.just(0), st.just(0)),
    ),
    max_size=12,
)


@settings(
    max_examples=30,
    deadline=None,
    suppress_health_check=[HealthCheck.function_scoped_fixture],
)
@given(ops=OPS)
def test_any_sequence_keeps_balance_equal_to_the_sum_and_never_negative(ops):
    buyer = make_buyer()
    actor = make_buyer(is_superuser=True, is_staff=True)
    earned_orders = []
    for op, n, year in ops:
        if op == "earn":
            entry = give(buyer, n, when=at(year, 6, 1))
            earned_orders.append(entry.order_id)
        elif op == "spend":
            try:
                points.adjust_points(
                    buyer=buyer,
                    amount=-n,
                    reason="spend",
                    actor=actor,
                    key=uuid.uuid4(),
                )
            except points.PointsRefused:
                pass  # not enough points: refused, nothing written
        elif op == "expire":
            points.expire_points(now=at(year, 1, 1, 0, 1))
        elif op == "refund" and earned_orders:
            with transaction.atomic():
                points.release_points(order_id=earned_orders.pop(), reason="refunded")
        account = PointsAccount.objects.filter(buyer=buyer).first()
        if account is not None:
            total = sum(account.entries.values_list("amount", flat=True))
            assert account.balance == total >= 0
    assert_ledger_holds()


# --- concurrency (Postgres) ---


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checkouts_never_spend_the_same_points_twice():
    buyer = make_buyer(Decimal("500.00"))
    give(buyer, 500)
    sku = card_sku("10.00", codes=30)
    results, errors = [], []
    lock = threading.Lock()
    start = threading.Barrier(8)

    def shop():
        try:
            start.wait()
            try:
                buy_with_wallet(
                    sku=sku, quantity=1, buyer=buyer, options={"points": 300}
                )
                outcome = "sold"
            except CheckoutRefused:
                outcome = "refused"
            with lock:
                results.append(outcome)
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=shop) for _ in range(8)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    spent = -sum(
        PointsEntry.objects.filter(kind="spend_checkout").values_list(
            "amount", flat=True
        )
    )
    earned = sum(
        PointsEntry.objects.filter(kind="earn_purchase", order_id__isnull=False)
        .exclude(amount=500)
        .values_list("amount", flat=True)
    )
    assert 0 < spent <= 500  # never more than the buyer had
    assert balance(buyer) == 500 - spent + earned >= 0
    assert results.count("sold") == Order.objects.filter(buyer=buyer).count()
    assert_ledger_holds()


# --- switched off ---


def test_module_off_applies_no_layer_earns_nothing_and_hides_the_shop(
    client, django_capture_on_commit_callbacks
):
    buyer = make_buyer(Decimal("50.00"))
    give(buyer, 1000)
    switched_off("points", django_capture_on_commit_callbacks)
    sku = card_sku("10.00")
    quote = quote_price(sku=sku, buyer=buyer, options={"points": 500})
    assert quote.layer_codes == ["base"]
    with django_capture_on_commit_callbacks(execute=True):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer, options={"points": 500})
    assert balance(buyer) == 1000
    client.force_login(buyer)
    assert client.get("/shop/points/").status_code == 404
    page = client.get(f"/shop/p/{sku.product_id}/").content.decode()
    assert "/shop/points/" not in page and 'name="points"' not in page


# --- shop pages and back office ---


def test_shop_review_form_shows_on_own_delivered_order_and_waits_for_moderation(
    client,
):
    buyer, other = make_buyer(Decimal("50.00")), make_buyer()
    order = buy_with_wallet(sku=card_sku("1.00"), quantity=1, buyer=buyer)
    client.force_login(buyer)
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert 'data-testid="review-form"' in page
    client.post(
        f"/shop/orders/{order.order_no}/review/", {"stars": "4", "text": "不错"}
    )
    review = PointsReview.objects.get(order_id=order.pk)
    assert (review.stars, review.status) == (4, PointsReview.Status.PENDING)
    page = client.get(f"/shop/orders/{order.order_no}/").content.decode()
    assert "待审核" in page and 'data-testid="review-form"' not in page
    client.force_login(other)
    answer = client.post(
        f"/shop/orders/{order.order_no}/review/", {"stars": "1", "text": "差"}
    )
    assert answer.status_code == 404
    assert PointsReview.objects.count() == 1


def test_shop_check_in_button_adds_points_once_a_day(client):
    buyer = make_buyer()
    client.force_login(buyer)
    assert (
        'data-testid="checkin-button"' in client.get("/shop/points/").content.decode()
    )
    client.post("/shop/points/checkin/")
    client.post("/shop/points/checkin/")
    assert balance(buyer) == 5
    page = client.get("/shop/points/").content.decode()
    assert 'data-testid="checkin-button"' not in page


def test_shop_redeem_button_orders_the_mall_item(client):
    buyer = make_buyer()
    give(buyer, 500)
    item = PointsMallItem.objects.create(sku=card_sku("3.00"), points=300)
    client.force_login(buyer)
    assert (
        f'data-testid="redeem-{item.pk}"'
        in client.get("/shop/points/").content.decode()
    )
    answer = client.post(f"/shop/points/mall/{item.pk}/")
    order = Order.objects.get(buyer=buyer)
    assert answer["Location"].endswith(f"/shop/orders/{order.order_no}/")
    assert balance(buyer) == 200


def test_adjust_page_needs_a_reason_and_is_audited(client, role_user):
    finance = role_user("finance")
    buyer = make_buyer()
    client.force_login(finance)
    key = uuid.uuid4()
    form = {"username": buyer.username, "amount": "50", "reason": "", "key": key}
    client.post("/admin/marketing/points/adjust/", form)
    assert balance(buyer) == 0
    client.post("/admin/marketing/points/adjust/", {**form, "reason": "客诉补偿"})
    client.post("/admin/marketing/points/adjust/", {**form, "reason": "客诉补偿"})
    assert balance(buyer) == 50  # the same form key adjusts once
    assert AuditEntry.objects.filter(action="points.adjust").count() == 1


def test_module_off_hides_the_back_office_too(
    client, role_user, django_capture_on_commit_callbacks
):
    client.force_login(role_user("marketing"))
    assert client.get("/admin/marketing/pointsentry/").status_code == 200
    switched_off("points", django_capture_on_commit_callbacks)
    assert client.get("/admin/marketing/pointsentry/").status_code == 404
    assert client.get("/admin/marketing/points/adjust/").status_code == 404


def test_the_check_finds_an_account_whose_balance_disagrees():
    buyer = make_buyer()
    give(buyer, 40)
    assert_ledger_holds()
    PointsAccount.objects.filter(buyer=buyer).update(balance=41)
    (row,) = points.check_points().mismatches
    assert (row["balance"], row["ledger_sum"], row["unspent"]) == (41, 40, 40)


def test_the_mall_lists_only_items_a_buyer_can_redeem():
    card = PointsMallItem.objects.create(sku=card_sku("3.00"), points=300)
    PointsMallItem.objects.create(
        sku=make_sku(
            recharge_fields=[
                {"key": "qq", "label": "QQ", "rule": "qq", "required": True}
            ]
        ),
        points=300,
    )
    PointsMallItem.objects.create(sku=card_sku("4.00"), points=300, is_active=False)
    assert points.mall_items() == [card]
