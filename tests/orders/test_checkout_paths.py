"""The wallet checkout's two paths keep the same rules (issue 12).

buy_with_wallet sells card codes by hand-written SQL on PostgreSQL
(orders.sale_sql) and through the ORM elsewhere. Every case here runs on both:
the "sql" path needs PostgreSQL (it skips elsewhere); the "orm" path runs on any
database (on PostgreSQL the tests switch the SQL path off).
"""

from decimal import Decimal

import psycopg
import pytest

from bench.ceiling import conninfo
from catalog.models import CardCode, LevelPrice, Product, Sku, SkuSalesDay
from kameng import events
from marketing.models import FlashSaleBuyer, FlashSaleClaim
from orders import sale_sql
from orders.checkout import buy_with_wallet
from orders.exceptions import CheckoutRefused, SoldOut
from orders.models import Order, OrderEvent, new_order_no
from tests.catalog.factories import make_sku
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.factories import make_buyer, stock_codes
from users.exceptions import InsufficientBalance
from users.models import LedgerEntry, MemberLevel, RiskFlag

S = Order.Status


@pytest.fixture
def sent():
    """Signals sent (after commit), as (signal name, kwargs)."""
    log = []

    def receiver(name):
        def record(sender, **kwargs):
            kwargs.pop("signal", None)
            log.append((name, {"sender": sender, **kwargs}))

        return record

    names = ("order_paid", "order_delivered")
    for name in names:
        getattr(events, name).connect(
            receiver(name), weak=False, dispatch_uid=f"test-{name}"
        )
    yield log
    for name in names:
        getattr(events, name).disconnect(dispatch_uid=f"test-{name}")


@pytest.mark.django_db
def test_a_sale_charges_delivers_and_records_everything(
    sale_path, sent, django_capture_on_commit_callbacks
):
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 3)
    buyer = make_buyer(Decimal("50.00"))

    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=sku, quantity=2, buyer=buyer)

    stored = Order.objects.get(pk=order.pk)
    assert stored.order_no == order.order_no
    assert stored.status == S.DELIVERED
    assert stored.payment_method == Order.PaymentMethod.WALLET
    assert stored.amount == Decimal("19.60") and stored.unit_price == Decimal("9.80")
    assert stored.price_breakdown["total"] == "19.60"
    assert [layer["code"] for layer in stored.price_breakdown["layers"]] == ["base"]
    assert stored.paid_at is not None and stored.delivered_at is not None
    sold = list(CardCode.objects.filter(order_ref=stored.order_no).order_by("id"))
    assert [code.id for code in sold] == stored.delivery["code_ids"]
    assert {code.status for code in sold} == {"sold"}
    assert [
        (e.from_status, e.to_status, e.actor_id)
        for e in OrderEvent.objects.filter(order=stored).order_by("id")
    ] == [
        (S.PENDING_PAYMENT, S.PAID, buyer.pk),
        (S.PAID, S.DELIVERED, buyer.pk),
    ]
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("30.40")
    entry = LedgerEntry.objects.get(wallet=buyer.wallet, kind="purchase")
    assert (entry.amount, entry.balance_after, entry.reference) == (
        Decimal("-19.60"),
        Decimal("30.40"),
        stored.order_no,
    )
    sku.refresh_from_db()
    assert sku.stock == 1
    assert SkuSalesDay.objects.get(sku=sku).quantity == 2
    paid = dict(sent)["order_paid"]
    assert paid == {
        "sender": Order,
        "order_id": stored.pk,
        "buyer_id": buyer.pk,
        "amount": Decimal("19.60"),
        "payment_method": "wallet",
        "category_id": sku.product.category_id,
    }
    assert dict(sent)["order_delivered"]["order_id"] == stored.pk
    assert buyer.stats.order_count == 1  # growth: the order_paid receiver ran


@pytest.mark.django_db
def test_short_of_balance_writes_nothing(sale_path):
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("5.00"))
    with pytest.raises(InsufficientBalance) as refused:
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert refused.value.extra["balance"] == Decimal("5.00")
    assert not Order.objects.exists()
    assert not LedgerEntry.objects.filter(kind="purchase").exists()
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("5.00")
    assert CardCode.objects.get().status == "available"


@pytest.mark.django_db
def test_a_buyer_without_a_wallet_is_short_of_balance(sale_path):
    sku = make_sku()
    stock_codes(sku, 1)
    with pytest.raises(InsufficientBalance):
        buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer())
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_sold_out_charges_nothing(sale_path):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    with pytest.raises(SoldOut):
        buy_with_wallet(sku=sku, quantity=2, buyer=buyer)
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("10.00")
    assert not Order.objects.exists()
    assert CardCode.objects.get().status == "available"


@pytest.mark.django_db
def test_member_price_and_a_price_edit_are_both_seen(sale_path):
    sku = make_sku(price=Decimal("10.00"))
    stock_codes(sku, 3)
    level = MemberLevel.objects.create(code="gold", name="黄金", rank=3)
    buyer = make_buyer(Decimal("100.00"), member_level=level)
    first = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert first.amount == Decimal("10.00")

    LevelPrice.objects.create(sku=sku, level=level, price=Decimal("8.50"))
    second = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert second.amount == Decimal("8.50")
    assert second.price_breakdown["layers"][-1]["note"].endswith("黄金")

    Sku.objects.filter(pk=sku.pk).update(price=Decimal("8.00"))
    third = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)  # the stale SKU given
    assert third.amount == Decimal("8.00")


@pytest.mark.django_db
def test_an_unlisted_product_is_refused_even_from_a_warm_cache(sale_path):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 2)
    buyer = make_buyer(Decimal("10.00"))
    buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    Product.objects.filter(pk=sku.product_id).update(status=Product.Status.UNLISTED)
    with pytest.raises(CheckoutRefused):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_a_flagged_buyer_is_charged_and_held_not_delivered(sale_path, settings):
    settings.RISK_HOLD_FLAGGED_ORDERS = True
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 1)
    buyer = make_buyer(Decimal("10.00"))
    RiskFlag.objects.create(user=buyer, refunds=5, reissues=0)
    order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    order.refresh_from_db()
    assert order.status == S.HELD
    assert CardCode.objects.get().status == "available"
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("9.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_edit_from_another_session_reaches_the_next_sale():
    sku = make_sku(price=Decimal("5.00"))
    stock_codes(sku, 3)
    buyer = make_buyer(Decimal("100.00"))
    assert buy_with_wallet(sku=sku, quantity=1, buyer=buyer).amount == Decimal("5.00")
    level = MemberLevel.objects.create(code="vip", name="钻石", rank=4)
    buyer.member_level = level
    buyer.save(update_fields=["member_level"])
    with psycopg.connect(conninfo(), autocommit=True) as other:
        other.execute(
            f"UPDATE {Sku._meta.db_table} SET price = 6.00 WHERE id = %s", [sku.pk]
        )
        assert buy_with_wallet(sku=sku, quantity=1, buyer=buyer).amount == Decimal(
            "6.00"
        )
        other.execute(
            f"INSERT INTO {LevelPrice._meta.db_table} (sku_id, level_id, price) "
            "VALUES (%s, %s, 4.00)",
            [sku.pk, level.pk],
        )
        assert buy_with_wallet(sku=sku, quantity=1, buyer=buyer).amount == Decimal(
            "4.00"
        )


@pytest.mark.django_db
def test_the_sale_version_moves_with_what_a_sale_reads_only():
    """The triggers (both vendors): stock alone does not move it."""
    sku = make_sku(price=Decimal("5.00"))

    def version():
        return Sku.objects.values_list("sale_version", flat=True).get(pk=sku.pk)

    start = version()
    Sku.objects.filter(pk=sku.pk).update(stock=7)
    assert version() == start
    Sku.objects.filter(pk=sku.pk).update(price=Decimal("5.50"))
    assert version() == start + 1
    Product.objects.filter(pk=sku.product_id).update(name="改名")
    assert version() == start + 2
    level = MemberLevel.objects.create(code="silver", name="白银", rank=2)
    price = LevelPrice.objects.create(sku=sku, level=level, price=Decimal("5.00"))
    assert version() == start + 3
    MemberLevel.objects.filter(pk=level.pk).update(name="银牌")
    assert version() == start + 4
    price.delete()
    assert version() == start + 5
    # A save from an instance read before all that never takes it back.
    sku.name = "面值 20"
    sku.save()
    assert version() == start + 6


@pytest.mark.django_db
def test_a_product_listed_again_sells_at_once_though_the_cache_saw_it_unlisted(
    sale_path,
):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 2)
    buyer = make_buyer(Decimal("10.00"))
    product = Product.objects.filter(pk=sku.product_id)
    product.update(status=Product.Status.UNLISTED)
    with pytest.raises(CheckoutRefused):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)  # the cache reads it now
    product.update(status=Product.Status.LISTED)
    order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)  # an old SKU instance
    assert order.status == S.DELIVERED


@pytest.fixture
def a_taken_number_first(monkeypatch):
    """The next order number drawn by the hand-written sale is one an order
    already has (a collision of the random part); the draws after it, fresh."""
    taken = []

    def draw(at=None):
        return taken.pop(0) if taken else new_order_no(at)

    monkeypatch.setattr(sale_sql, "new_order_no", draw)
    return taken


@pytest.mark.django_db
@pytest.mark.postgres
def test_an_order_number_drawn_twice_is_drawn_again(a_taken_number_first):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 3)
    first = buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("5.00")))
    a_taken_number_first.append(first.order_no)
    second = buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("5.00")))
    assert second.order_no != first.order_no
    (code,) = CardCode.objects.filter(pk__in=second.delivery["code_ids"])
    assert code.order_ref == second.order_no  # the code renamed with it


@pytest.mark.django_db
@pytest.mark.postgres
def test_a_flash_sale_claim_naming_a_number_drawn_twice_starts_again(
    a_taken_number_first,
):
    """The claim records the order's number before the order exists: a number
    that turns out taken rolls the claim back with the rest, and the sale
    starts again with another; the sale counts one unit, under the number the
    order has."""
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 3)
    sale = make_flash_sale(sku, cap=5, per_buyer=2)
    first = buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("50.00")))
    a_taken_number_first.append(first.order_no)
    buyer = make_buyer(Decimal("50.00"))
    second = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert second.order_no != first.order_no
    sale.refresh_from_db()
    assert sale.sold == 2
    claim = FlashSaleClaim.objects.get(buyer_id=buyer.pk)
    assert (claim.order_id, claim.order_no) == (second.pk, second.order_no)
    assert FlashSaleBuyer.objects.get(sale=sale, buyer=buyer).bought == 1
