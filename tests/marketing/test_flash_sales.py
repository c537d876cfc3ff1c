"""Flash sales: the price layer in and out of its window, validation, the caps
(also under concurrency on Postgres), the release on cancel and refund."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from catalog.models import Sku
from catalog.services.pricing import QuoteContext, quote_price
from kameng.modules import switch_module
from marketing.benefits import PARTIALLY_REFUNDED, REFUNDED
from marketing.flash_sales import (
    MODULE,
    FlashSaleInvalid,
    delete_flash_sale,
    flash_sale_step,
    forget_sales,
    release_flash_sale,
    save_flash_sale,
)
from marketing.models import FlashSale, FlashSaleBuyer, FlashSaleClaim
from orders import checkout
from orders.checkout import buy_with_wallet, cancel_order, place_order
from orders.exceptions import CheckoutRefused
from orders.models import Order
from orders.refunds import refund_to_wallet
from tests.catalog.factories import make_sku
from tests.marketing.flash_helpers import make_flash_sale
from tests.orders.factories import make_buyer, stock_codes
from users.models import Wallet

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _cold_flash_cache():
    forget_sales()
    yield
    forget_sales()


def codes_of(sku, n=20):
    stock_codes(sku, n)
    sku.refresh_from_db()
    return sku


# --- the price layer ----------------------------------------------------------


def test_live_sale_gives_a_logged_in_buyer_the_flash_price():
    sku = make_sku(price=Decimal("9.80"))
    make_flash_sale(sku, price=Decimal("4.90"))
    sku.refresh_from_db()
    quote = quote_price(sku=sku, buyer=make_buyer(), quantity=2)
    assert quote.layer_codes == ["base", "flash_sale"]
    assert quote.unit_price == Decimal("4.90")
    assert quote.total == Decimal("9.80")


@pytest.mark.parametrize(
    "starts_in, lasts",
    [
        (timedelta(minutes=10), timedelta(hours=1)),  # not started yet
        (timedelta(hours=-2), timedelta(hours=1)),  # ended an hour ago
    ],
)
def test_no_flash_price_outside_the_window(starts_in, lasts):
    sku = make_sku(price=Decimal("9.80"))
    make_flash_sale(sku, starts_in=starts_in, lasts=lasts)
    sku.refresh_from_db()
    quote = quote_price(sku=sku, buyer=make_buyer())
    assert quote.layer_codes == ["base"]
    assert quote.unit_price == Decimal("9.80")


def test_the_window_opens_and_closes_by_the_clock_alone():
    sku = make_sku(price=Decimal("9.80"))
    sale = make_flash_sale(sku, starts_in=timedelta(minutes=10))
    sku.refresh_from_db()
    buyer = make_buyer()
    assert quote_price(sku=sku, buyer=buyer).unit_price == Decimal("9.80")
    during = sale.starts_at + timedelta(seconds=1)
    assert quote_price(sku=sku, buyer=buyer, at=during).unit_price == Decimal("5.00")
    after = sale.ends_at
    assert quote_price(sku=sku, buyer=buyer, at=after).unit_price == Decimal("9.80")


def test_guests_keep_the_normal_price():
    sku = make_sku(price=Decimal("9.80"))
    make_flash_sale(sku)
    sku.refresh_from_db()
    assert quote_price(sku=sku, buyer=None).unit_price == Decimal("9.80")


def test_a_sale_saved_later_reaches_the_cached_quote():
    """The per-process cache read the SKU without a sale; saving one moves the
    SKU's version, so the next quote of the fresh row has the flash price."""
    sku = make_sku(price=Decimal("9.80"))
    buyer = make_buyer()
    assert quote_price(sku=sku, buyer=buyer).layer_codes == ["base"]
    make_flash_sale(sku)
    sku.refresh_from_db()
    assert quote_price(sku=sku, buyer=buyer).unit_price == Decimal("5.00")


def test_a_sku_without_a_sale_costs_no_query_after_its_first_quote(
    django_assert_num_queries,
):
    sku = make_sku(price=Decimal("9.80"))
    buyer = make_buyer()
    quote_price(sku=sku, buyer=buyer)  # reads the (empty) list of sales once
    with django_assert_num_queries(0):
        ctx = QuoteContext(sku=sku, buyer=buyer, quantity=1, at=timezone.now())
        ctx.unit_price = sku.price
        flash_sale_step(ctx)
    assert ctx.layers == []


def test_module_switched_off_applies_no_layer(django_capture_on_commit_callbacks):
    sku = make_sku(price=Decimal("9.80"))
    make_flash_sale(sku)
    sku.refresh_from_db()
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code=MODULE, enabled=False, actor=None)
    assert quote_price(sku=sku, buyer=make_buyer()).layer_codes == ["base"]


# --- validation -------------------------------------------------------------------


def _sale(sku, **fields):
    now = timezone.now()
    values = {
        "sku": sku,
        "starts_at": now,
        "ends_at": now + timedelta(hours=1),
        "price": Decimal("5.00"),
        "quantity_cap": 10,
        "per_buyer_cap": 1,
    }
    values.update(fields)
    return FlashSale(**values)


@pytest.mark.parametrize(
    "fields, field",
    [
        ({"ends_at": timezone.now() - timedelta(days=1)}, "ends_at"),
        ({"price": Decimal("9.80")}, "price"),  # not below the SKU's price
        ({"price": Decimal("12.00")}, "price"),
        ({"quantity_cap": 0}, "quantity_cap"),
        ({"per_buyer_cap": 0}, "per_buyer_cap"),
        ({"quantity_cap": 2, "per_buyer_cap": 3}, "per_buyer_cap"),
    ],
)
def test_invalid_sales_are_refused_by_field(fields, field):
    sku = make_sku(price=Decimal("9.80"))
    with pytest.raises(ValidationError) as caught:
        save_flash_sale(sale=_sale(sku, **fields))
    assert field in caught.value.message_dict
    assert not FlashSale.objects.exists()


def test_two_overlapping_sales_on_one_sku_are_refused():
    sku = make_sku(price=Decimal("9.80"))
    first = make_flash_sale(sku, starts_in=timedelta(hours=1), lasts=timedelta(hours=2))
    overlapping = _sale(
        sku,
        starts_at=first.starts_at + timedelta(minutes=30),
        ends_at=first.ends_at + timedelta(hours=1),
    )
    with pytest.raises(ValidationError) as caught:
        save_flash_sale(sale=overlapping)
    assert "starts_at" in caught.value.message_dict
    # Back to back is fine, and so is the same window on another SKU.
    save_flash_sale(
        sale=_sale(
            sku, starts_at=first.ends_at, ends_at=first.ends_at + timedelta(hours=1)
        )
    )
    other = make_sku(price=Decimal("9.80"))
    save_flash_sale(sale=_sale(other, starts_at=first.starts_at, ends_at=first.ends_at))
    assert FlashSale.objects.count() == 3


def test_a_sale_with_orders_cannot_be_deleted(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")))
    sale = make_flash_sale(sku)
    buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("50.00")))
    with pytest.raises(FlashSaleInvalid, match="不能删除"):
        delete_flash_sale(sale=sale)
    empty = make_flash_sale(make_sku(price=Decimal("9.80")))
    delete_flash_sale(sale=empty)
    assert FlashSale.objects.filter(pk=sale.pk).exists()
    assert not FlashSale.objects.filter(pk=empty.pk).exists()


# --- the claim and the release -------------------------------------------------------


def test_a_flash_purchase_is_counted_with_its_amount_and_cost(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80"), cost_price=Decimal("3.00")))
    sale = make_flash_sale(sku, price=Decimal("4.90"), per_buyer=2)
    buyer = make_buyer(Decimal("50.00"))
    order = buy_with_wallet(sku=sku, quantity=2, buyer=buyer)
    assert order.amount == Decimal("9.80")
    assert order.status == Order.Status.DELIVERED
    sale.refresh_from_db()
    assert (sale.sold, sale.gmv, sale.cost) == (2, Decimal("9.80"), Decimal("6.00"))
    assert FlashSaleBuyer.objects.get(sale=sale, buyer=buyer).bought == 2
    claim = FlashSaleClaim.objects.get(sale=sale)
    assert (claim.order_id, claim.quantity) == (order.pk, 2)


def test_over_the_buyer_limit_is_refused_and_nothing_charged(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")))
    sale = make_flash_sale(sku, per_buyer=2)
    buyer = make_buyer(Decimal("50.00"))
    buy_with_wallet(sku=sku, quantity=2, buyer=buyer)
    with pytest.raises(CheckoutRefused, match="2"):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("40.00")
    assert Order.objects.filter(buyer=buyer).count() == 1
    sale.refresh_from_db()
    assert sale.sold == 2


def test_sold_out_refuses_the_order(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")))
    sale = make_flash_sale(sku, cap=2, per_buyer=2)
    buy_with_wallet(sku=sku, quantity=2, buyer=make_buyer(Decimal("50.00")))
    late = make_buyer(Decimal("50.00"))
    with pytest.raises(CheckoutRefused, match="已抢光"):
        buy_with_wallet(sku=sku, quantity=1, buyer=late)
    assert not Order.objects.filter(buyer=late).exists()
    sale.refresh_from_db()
    assert sale.sold == 2


def test_cancel_frees_the_units_and_the_buyer_limit():
    sku = codes_of(make_sku(price=Decimal("9.80")))
    sale = make_flash_sale(sku, cap=1, per_buyer=1)
    buyer = make_buyer()
    order = place_order(sku=sku, quantity=1, buyer=buyer)  # pending: gateway
    sale.refresh_from_db()
    assert sale.sold == 1
    cancel_order(order=order, actor=None, reason="test")
    sale.refresh_from_db()
    assert (sale.sold, sale.gmv) == (0, Decimal("0.00"))
    assert FlashSaleBuyer.objects.get(sale=sale, buyer=buyer).bought == 0
    assert FlashSaleClaim.objects.get(order_id=order.pk).released_at is not None
    place_order(sku=sku, quantity=1, buyer=buyer)  # the buyer may buy it again
    sale.refresh_from_db()
    assert sale.sold == 1


def test_full_refund_frees_units_partial_refund_does_not(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")))
    sale = make_flash_sale(sku, per_buyer=2)
    first = buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("50.00")))
    second = buy_with_wallet(sku=sku, quantity=1, buyer=make_buyer(Decimal("50.00")))
    release_flash_sale(order_id=first.pk, reason=PARTIALLY_REFUNDED)
    sale.refresh_from_db()
    assert sale.sold == 2
    release_flash_sale(order_id=second.pk, reason=REFUNDED)
    release_flash_sale(order_id=second.pk, reason=REFUNDED)  # idempotent
    sale.refresh_from_db()
    assert (sale.sold, sale.gmv) == (1, Decimal("5.00"))


# --- the caps under concurrency (Postgres, real threads) -----------------------------


def _race(sku, buyers, *, threads_per_buyer=1):
    outcomes, errors = [], []
    lock = threading.Lock()
    jobs = [b for b in buyers for _ in range(threads_per_buyer)]
    start = threading.Barrier(len(jobs))

    def shop(buyer):
        try:
            start.wait()
            try:
                buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
                result = "sold"
            except CheckoutRefused as exc:
                result = str(exc)
            with lock:
                outcomes.append(result)
        except Exception as exc:  # noqa: BLE001 - any other error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=shop, args=(b,)) for b in jobs]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return outcomes, errors


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_thirty_buyers_racing_for_ten_units_buy_exactly_ten(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")), 40)
    sale = make_flash_sale(sku, cap=10, per_buyer=1)
    buyers = [make_buyer(Decimal("50.00")) for _ in range(30)]
    outcomes, errors = _race(sku, buyers)
    assert errors == []
    assert outcomes.count("sold") == 10
    assert len(outcomes) == 30
    sale.refresh_from_db()
    assert sale.sold == 10
    assert Order.objects.filter(sku=sku, status="delivered").count() == 10
    assert FlashSaleClaim.objects.filter(sale=sale).count() == 10
    # The twenty refused were charged nothing.
    balances = Wallet.objects.filter(user__in=buyers).values_list("balance", flat=True)
    assert sorted(balances) == [Decimal("45.00")] * 10 + [Decimal("50.00")] * 20


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_one_buyer_in_five_threads_gets_the_per_buyer_limit(sale_path):
    sku = codes_of(make_sku(price=Decimal("9.80")), 20)
    sale = make_flash_sale(sku, cap=10, per_buyer=2)
    buyer = make_buyer(Decimal("50.00"))
    outcomes, errors = _race(sku, [buyer], threads_per_buyer=5)
    assert errors == []
    assert outcomes.count("sold") == 2
    assert FlashSaleBuyer.objects.get(sale=sale, buyer=buyer).bought == 2
    assert Order.objects.filter(buyer=buyer, status="delivered").count() == 2


def _thread_work(errors: list):
    """A thread's target running `work`, any error recorded in `errors` (the
    test asserts it empty), the thread's connection closed after."""
    lock = threading.Lock()

    def run(work):
        try:
            work()
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            with lock:
                errors.append(repr(exc))
        finally:
            connection.close()

    return run


def _sessions_waiting_on_a_lock() -> int:
    with connection.cursor() as cursor:
        # a transaction reads the statistics once, then its snapshot: read anew
        cursor.execute("SELECT pg_stat_clear_snapshot()")
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0]


def _wait_for_sessions_waiting(count: int) -> None:
    deadline = time.monotonic() + 10  # a bound on waiting for it, never a pause
    while _sessions_waiting_on_a_lock() < count:
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {count} blocked sessions")
        time.sleep(0.01)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_an_operator_editing_a_live_sale_mid_purchase_deadlocks_nobody(sale_path):
    """A purchase claims the flash sale's row, then moves the SKU's stock; an
    operator raising the cap at that moment takes the rows in the same order,
    so they wait for each other in turn: the purchase goes through and the
    edit is saved, neither is killed by PostgreSQL as a deadlock's victim."""
    sku = codes_of(make_sku(price=Decimal("9.80")), 5)
    sale = make_flash_sale(sku, cap=10, per_buyer=2)
    buyer = make_buyer(Decimal("50.00"))
    errors = []
    run = _thread_work(errors)

    def purchase():
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)

    def raise_the_cap():
        edited = FlashSale.objects.get(pk=sale.pk)
        edited.quantity_cap = 20
        save_flash_sale(sale=edited)

    threads = [threading.Thread(target=run, args=(purchase,))]
    # The purchase is held between its claim and its payment by the buyer's
    # wallet row, locked here; the edit starts while it waits there.
    with transaction.atomic():
        Wallet.objects.select_for_update().get(user=buyer)
        threads[0].start()
        _wait_for_sessions_waiting(1)
        threads.append(threading.Thread(target=run, args=(raise_the_cap,)))
        threads[1].start()
        _wait_for_sessions_waiting(2)
    for thread in threads:
        thread.join()

    assert errors == []
    sale.refresh_from_db()
    assert (sale.quantity_cap, sale.sold) == (20, 1)
    assert Order.objects.get(buyer=buyer).status == Order.Status.DELIVERED


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_refund_during_the_buyers_next_flash_purchase_deadlocks_nobody(
    sale_path, monkeypatch
):
    """A buyer's first flash order is refunded in full (its units freed) while
    the same buyer buys again: the purchase has claimed the units and is about
    to be charged when the refund starts. Both take the buyer's flash counter
    before the wallet, so one waits for the other: both go through."""
    sku = codes_of(make_sku(price=Decimal("9.80")), 5)
    sale = make_flash_sale(sku, cap=10, per_buyer=2)
    buyer = make_buyer(Decimal("50.00"))
    first = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    claimed, go = threading.Event(), threading.Event()
    # what each path calls once the units are claimed, to charge the wallet
    charge = "sell_codes" if sale_path == "sql" else "debit_wallet"
    real_charge = getattr(checkout, charge)

    def charge_once_the_refund_has_started(**kwargs):
        claimed.set()
        go.wait(10)
        return real_charge(**kwargs)

    monkeypatch.setattr(checkout, charge, charge_once_the_refund_has_started)
    errors = []
    run = _thread_work(errors)

    def purchase():
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)

    def refund():
        refund_to_wallet(order=first, reason="customer asked")

    threads = [threading.Thread(target=run, args=(purchase,))]
    threads[0].start()
    assert claimed.wait(10)
    threads.append(threading.Thread(target=run, args=(refund,)))
    threads[1].start()
    _wait_for_sessions_waiting(1)  # the refund, behind the purchase's claim
    go.set()
    for thread in threads:
        thread.join()

    assert errors == []
    sale.refresh_from_db()
    assert sale.sold == 1  # the second order's unit; the first's freed
    assert Wallet.objects.get(user=buyer).balance == Decimal("45.00")


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_operators_swapping_two_sales_between_skus_deadlock_nobody():
    """Tomorrow's sale moves from SKU one to SKU two while the day after's
    moves from two to one, saved by two operators at the same moment. Each
    save touches both SKUs (the one it leaves and the one it joins) and takes
    their rows in id order, so one save waits for the other: both are saved,
    neither is killed by PostgreSQL as a deadlock's victim."""
    one, two = codes_of(make_sku(), 2), codes_of(make_sku(), 2)
    tomorrow = make_flash_sale(one, starts_in=timedelta(days=1))
    after = make_flash_sale(two, starts_in=timedelta(days=2))
    errors = []
    run = _thread_work(errors)

    def move(sale, to):
        def work():
            edited = FlashSale.objects.get(pk=sale.pk)
            edited.sku = to
            save_flash_sale(sale=edited)

        return work

    threads = [
        threading.Thread(target=run, args=(move(tomorrow, two),)),
        threading.Thread(target=run, args=(move(after, one),)),
    ]
    # Both saves start while the SKUs' rows are locked here, so both have
    # their sale's row and wait at the SKUs at once.
    with transaction.atomic():
        list(Sku.objects.select_for_update().filter(pk__in=[one.pk, two.pk]))
        for thread in threads:
            thread.start()
        _wait_for_sessions_waiting(2)
    for thread in threads:
        thread.join()

    assert errors == []
    tomorrow.refresh_from_db()
    after.refresh_from_db()
    assert (tomorrow.sku_id, after.sku_id) == (two.pk, one.pk)
