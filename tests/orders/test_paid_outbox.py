"""order_paid goes through an outbox (issue 12): the sale writes the row in its
own transaction, a poke after commit queues one drain, the drain announces and
deletes; a lost publish is swept by beat, a dead drain's claim is taken again
after its lease, and two drains never announce one row twice.

The sales run on both checkout paths (orders.sale_sql on PostgreSQL, the ORM
elsewhere), the claims on both of the drain's (one UPDATE … SKIP LOCKED on
PostgreSQL, the ORM elsewhere)."""

import threading
import time
from datetime import timedelta
from decimal import Decimal

import pytest
from django.core.cache import cache
from django.db import connection, transaction
from django.db.models import F
from django.utils import timezone

from kameng import events
from kameng.beat import SCHEDULE, Every
from kameng.celery import app as celery_app
from kameng.db import joins_transaction
from orders import paid_outbox, tasks
from orders.checkout import buy_with_wallet
from orders.models import Order, PaidAnnouncement
from orders.paid_outbox import (
    announce_claimed,
    claim_paid_announcements,
    drain_paid_announcements,
)
from orders.tasks import GATHER_SECONDS, POKE_KEY, drain_paid_announcements_task
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import BuyerStats


@pytest.fixture(autouse=True)
def no_poke():
    """No test leaves the poke key to the next (it would hold back its drains)."""
    cache.delete(POKE_KEY)
    yield
    cache.delete(POKE_KEY)


@pytest.fixture
def published(monkeypatch):
    """The drains queued, not run (as if no worker were there yet): each one's
    countdown, the half second in which a burst's sales gather."""
    log = []

    def queue(countdown=None, **options):
        log.append(countdown)

    monkeypatch.setattr(drain_paid_announcements_task, "apply_async", queue)
    return log


@pytest.fixture
def announced():
    """Order ids order_paid was sent for, in order (thread-safe)."""
    log, lock = [], threading.Lock()

    def record(sender, order_id, **kwargs):
        with lock:
            log.append(order_id)

    events.order_paid.connect(record, weak=False, dispatch_uid="test-outbox")
    yield log
    events.order_paid.disconnect(dispatch_uid="test-outbox")


def order_count(buyer) -> int:
    """Paid orders users' growth counted (its stats row comes with the first)."""
    stats = BuyerStats.objects.filter(user=buyer).first()
    return stats.order_count if stats else 0


def sale(price="9.80", balance="50.00"):
    sku = make_sku(price=Decimal(price))
    stock_codes(sku, 3)
    return sku, make_buyer(Decimal(balance))


def sold_and_drained_with(receiver, capture_on_commit):
    """A sale whose announcement is drained while `receiver` also hears
    order_paid: the buyer. The drain announces the row once."""
    events.order_paid.connect(receiver, weak=False, dispatch_uid="test-receiver")
    try:
        sku, buyer = sale()
        with capture_on_commit(execute=True):
            buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
        assert drain_paid_announcements().announced == 1
    finally:
        events.order_paid.disconnect(dispatch_uid="test-receiver")
    return buyer


def outbox_rows(count: int, **fields) -> list[PaidAnnouncement]:
    """Announcements of orders nobody else hears about (no buyer)."""
    now = timezone.now()
    return PaidAnnouncement.objects.bulk_create(
        PaidAnnouncement(
            order_id=10_000 + n,
            amount=Decimal("1.00"),
            payment_method="wallet",
            created_at=now,
            **fields,
        )
        for n in range(count)
    )


@pytest.mark.django_db
def test_a_sale_leaves_one_row_which_the_drain_announces(
    sale_path, published, django_capture_on_commit_callbacks
):
    sku, buyer = sale()
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=sku, quantity=2, buyer=buyer)

    row = PaidAnnouncement.objects.get()
    assert row.payload() == {
        "order_id": order.pk,
        "buyer_id": buyer.pk,
        "amount": Decimal("19.60"),
        "payment_method": Order.PaymentMethod.WALLET,
        "category_id": sku.product.category_id,
    }
    assert row.claimed_until is None
    assert published == [GATHER_SECONDS]
    assert order_count(buyer) == 0  # nothing announced yet

    assert drain_paid_announcements_task() == 1
    assert not PaidAnnouncement.objects.exists()
    stats = BuyerStats.objects.get(user=buyer)
    assert (stats.order_count, stats.total_spent) == (1, Decimal("19.60"))


@pytest.mark.django_db
def test_with_a_worker_the_sale_is_announced_after_commit(
    sale_path, django_capture_on_commit_callbacks
):
    """Tasks run eagerly here: the poke's drain runs at once, as a worker would."""
    sku, buyer = sale()
    with django_capture_on_commit_callbacks(execute=True):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert not PaidAnnouncement.objects.exists()
    assert order_count(buyer) == 1
    assert cache.get(POKE_KEY) is None  # the drain took the key back first


@pytest.mark.django_db
def test_a_rolled_back_sale_leaves_no_row(sale_path, published):
    sku, buyer = sale()
    with pytest.raises(RuntimeError), transaction.atomic():
        buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
        assert PaidAnnouncement.objects.count() == 1  # inside the sale
        raise RuntimeError("the sale's transaction fails after the sale")
    assert not Order.objects.exists()
    assert not PaidAnnouncement.objects.exists()
    assert published == []


@pytest.mark.django_db
def test_a_failed_publish_leaves_the_row_for_the_beat_sweep(
    sale_path, monkeypatch, django_capture_on_commit_callbacks
):
    def broker_down(**options):
        raise ConnectionError("redis is restarting")

    monkeypatch.setattr(drain_paid_announcements_task, "apply_async", broker_down)
    sku, buyer = sale()
    with django_capture_on_commit_callbacks(execute=True):
        order = buy_with_wallet(sku=sku, quantity=1, buyer=buyer)  # no error page

    assert PaidAnnouncement.objects.get().order_id == order.pk
    assert cache.get(POKE_KEY) is None  # the next sale may queue again
    assert order_count(buyer) == 0

    sweep = next(e for e in SCHEDULE if e.task == drain_paid_announcements_task.name)
    assert sweep.schedule == Every(seconds=60)
    celery_app.tasks[sweep.task].apply()  # what beat queues
    assert not PaidAnnouncement.objects.exists()
    assert order_count(buyer) == 1


@pytest.mark.django_db
def test_a_burst_of_sales_queues_one_drain(
    sale_path, published, django_capture_on_commit_callbacks
):
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 10)
    buyers = [make_buyer(Decimal("5.00")) for _ in range(5)]
    for buyer in buyers:
        with django_capture_on_commit_callbacks(execute=True):
            buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    assert published == [GATHER_SECONDS]  # one drain queued for five sales
    assert PaidAnnouncement.objects.count() == 5

    assert drain_paid_announcements_task() == 5
    assert [order_count(buyer) for buyer in buyers] == [1] * 5
    with django_capture_on_commit_callbacks(execute=True):
        buy_with_wallet(sku=sku, quantity=1, buyer=buyers[0])
    # the drain started: the next sale queues again
    assert published == [GATHER_SECONDS, GATHER_SECONDS]


@pytest.mark.django_db
def test_the_drain_claims_in_batches_and_says_when_more_is_left(claim_path, announced):
    rows = outbox_rows(7)
    drained = drain_paid_announcements(batch=3, max_batches=2)
    assert (drained.announced, drained.more) == (6, True)
    assert announced == [row.order_id for row in rows[:6]]  # oldest first
    drained = drain_paid_announcements(batch=3, max_batches=2)
    assert (drained.announced, drained.more) == (1, False)
    assert not PaidAnnouncement.objects.exists()


@pytest.mark.django_db
def test_a_drain_at_its_bound_queues_another(published, announced, monkeypatch):
    monkeypatch.setattr(paid_outbox, "BATCH", 2)
    monkeypatch.setattr(paid_outbox, "MAX_BATCHES", 1)
    monkeypatch.setattr(
        tasks,
        "drain_paid_announcements",
        lambda: drain_paid_announcements(batch=2, max_batches=1),
    )
    outbox_rows(3)
    assert drain_paid_announcements_task() == 2
    assert published == [GATHER_SECONDS]
    assert PaidAnnouncement.objects.count() == 1


@pytest.mark.django_db
def test_a_claim_past_its_lease_is_taken_again_and_announced_once(
    claim_path, announced
):
    (row,) = outbox_rows(1)
    (claimed,) = claim_paid_announcements()  # a drain that then dies
    assert claimed.claimed_until is not None
    assert claim_paid_announcements() == []  # leased: nobody else takes it

    PaidAnnouncement.objects.filter(pk=row.pk).update(
        claimed_until=timezone.now() - timedelta(hours=1)
    )
    assert drain_paid_announcements().announced == 1
    assert announced == [row.order_id]
    # The first drain wakes up late: its lease is gone, it announces nothing.
    assert announce_claimed(claimed) is False
    assert announced == [row.order_id]


@pytest.mark.django_db
def test_a_lease_taken_over_while_still_held_is_not_announced_by_the_loser(
    claim_path, announced
):
    outbox_rows(1)
    (first,) = claim_paid_announcements()
    PaidAnnouncement.objects.update(claimed_until=timezone.now() - timedelta(1))
    (second,) = claim_paid_announcements()
    assert announce_claimed(first) is False
    assert announce_claimed(second) is True
    assert len(announced) == 1


@pytest.mark.django_db
def test_a_failing_receiver_is_logged_and_the_row_still_goes(
    claim_path, sale_path, published, django_capture_on_commit_callbacks, caplog
):
    def broken(sender, **kwargs):
        raise ValueError("receiver bug")

    buyer = sold_and_drained_with(broken, django_capture_on_commit_callbacks)
    assert not PaidAnnouncement.objects.exists()
    assert order_count(buyer) == 1  # the other receivers ran
    assert "receiver bug" in caplog.text or "failed" in caplog.text


@pytest.mark.django_db
def test_a_receiver_that_breaks_the_transaction_is_undone_and_sent_again_once(
    claim_path, sale_path, published, django_capture_on_commit_callbacks
):
    """A failed write outside an atomic block of the receiver's own spoils the
    row's transaction: growth, already counted in it, rolls back with it, and
    the row is sent again outside one; growth counts the order once."""
    calls = []

    def breaks_once(sender, **kwargs):
        calls.append(1)
        if len(calls) == 1:  # order_id NULL: an IntegrityError, no savepoint
            PaidAnnouncement.objects.create(amount=1, created_at=timezone.now())

    buyer = sold_and_drained_with(breaks_once, django_capture_on_commit_callbacks)
    assert len(calls) == 2
    assert not PaidAnnouncement.objects.exists()
    assert order_count(buyer) == 1


@pytest.mark.django_db(transaction=True)  # the drain outside one, as in the worker
def test_a_receiver_failing_halfway_leaves_none_of_its_writes(
    claim_path, sale_path, published, django_capture_on_commit_callbacks, caplog
):
    """Growth and points join the row's transaction without a savepoint: a
    receiver that fails after writing has the whole row rolled back and sent
    again, each receiver then in its own transaction; none of the failed
    receiver's writes stay, and growth counts the order once."""

    @joins_transaction
    def halfway(sender, buyer_id=None, **kwargs):
        BuyerStats.objects.filter(user_id=buyer_id).update(
            order_count=F("order_count") + 100
        )
        raise ValueError("failed after a write")

    buyer = sold_and_drained_with(halfway, django_capture_on_commit_callbacks)
    assert not PaidAnnouncement.objects.exists()
    assert order_count(buyer) == 1
    assert "rolled back; sent again" in caplog.text


def three_sales(buyer, capture_on_commit) -> None:
    sku = make_sku(price=Decimal("1.00"))
    stock_codes(sku, 3)
    for _sale in range(3):
        with capture_on_commit(execute=True):
            buy_with_wallet(sku=sku, quantity=1, buyer=buyer)


@pytest.mark.django_db
def test_a_drain_killed_mid_batch_leaves_the_batch_to_the_next_after_its_lease(
    claim_path, sale_path, published, django_capture_on_commit_callbacks
):
    """The batch is one transaction: the orders announced before the kill roll
    back with it, and the next drain, once the lease is over, counts each once."""
    buyer = make_buyer(Decimal("5.00"))
    three_sales(buyer, django_capture_on_commit_callbacks)
    calls = []

    def killed_on_the_second(sender, **kwargs):
        calls.append(1)
        if len(calls) == 2:
            raise SystemExit("the worker is killed")

    events.order_paid.connect(
        killed_on_the_second, weak=False, dispatch_uid="test-killed"
    )
    try:
        with pytest.raises(SystemExit):
            drain_paid_announcements()
        assert order_count(buyer) == 0  # the first order's growth rolled back too
        assert PaidAnnouncement.objects.count() == 3
        assert drain_paid_announcements().announced == 0  # still leased
        PaidAnnouncement.objects.update(
            claimed_until=timezone.now() - timedelta(hours=1)
        )
        assert drain_paid_announcements().announced == 3
    finally:
        events.order_paid.disconnect(dispatch_uid="test-killed")
    assert order_count(buyer) == 3
    assert not PaidAnnouncement.objects.exists()


@pytest.mark.django_db(transaction=True)  # the drain outside one, as in the worker
def test_a_receiver_failing_in_a_batch_undoes_the_batch_and_each_order_goes_once(
    claim_path, sale_path, published, django_capture_on_commit_callbacks, caplog
):
    """A receiver that writes and then fails on the batch's second order: the
    first order's effects roll back with the batch, then each order is sent
    alone. Growth counts each order once; the failed receiver's write stays
    nowhere; the other orders' receivers all ran."""
    buyer = make_buyer(Decimal("5.00"))
    three_sales(buyer, django_capture_on_commit_callbacks)
    second = PaidAnnouncement.objects.order_by("id")[1].order_id
    heard = []

    @joins_transaction
    def fails_on_the_second(sender, order_id=None, buyer_id=None, **kwargs):
        heard.append(order_id)
        if order_id == second:
            BuyerStats.objects.filter(user_id=buyer_id).update(
                order_count=F("order_count") + 100
            )
            raise ValueError("failed after a write")

    events.order_paid.connect(
        fails_on_the_second, weak=False, dispatch_uid="test-batch"
    )
    try:
        assert drain_paid_announcements().announced == 3
    finally:
        events.order_paid.disconnect(dispatch_uid="test-batch")
    assert order_count(buyer) == 3
    assert not PaidAnnouncement.objects.exists()
    assert "batch of 3 orders rolled back" in caplog.text
    # the batch stopped at the failure; then each order alone, the second
    # twice more (in its own transaction, then each receiver in its own)
    assert heard.count(second) == 3
    assert len(heard) == 2 + 3 + 1


@pytest.mark.django_db
def test_messages_queued_before_the_outbox_are_still_consumed(announced):
    """orders.announce_paid (one message per sale) may be in the queue at deploy."""
    task = celery_app.tasks["orders.announce_paid"]
    task.apply(
        args=[
            {
                "order_id": 41,
                "buyer_id": None,
                "amount": "9.80",
                "payment_method": "wallet",
                "category_id": None,
            }
        ]
    )
    assert announced == [41]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_drains_never_announce_a_row_twice(announced):
    rows = outbox_rows(120)

    def slow(sender, **kwargs):
        time.sleep(0.002)  # let the drains' batches overlap

    events.order_paid.connect(slow, weak=False, dispatch_uid="test-slow")
    start, errors, results = threading.Barrier(4), [], []

    def drain():
        try:
            start.wait()
            results.append(drain_paid_announcements(batch=5).announced)
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=drain) for _ in range(4)]
    try:
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join()
    finally:
        events.order_paid.disconnect(dispatch_uid="test-slow")

    assert errors == []
    assert sorted(announced) == sorted(row.order_id for row in rows)
    assert sum(results) == len(rows)
    assert len([n for n in results if n]) > 1  # the drains did share the work
    assert not PaidAnnouncement.objects.exists()
