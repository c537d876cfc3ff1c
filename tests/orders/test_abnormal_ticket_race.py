"""open_abnormal_ticket keeps one open abnormal ticket per order under races
(Postgres, real threads): callers racing each other, and a ticket opened by
someone else while our INSERT waits on the partial unique constraint."""

import threading
import time

import pytest
from django.db import connection, connections, transaction

from orders.checkout import place_order
from orders.models import Order, Ticket
from orders.transitions import open_abnormal_ticket
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

CALLERS = 12
WAIT_SECONDS = 10  # an upper bound on waiting for a condition, never a pause


def wait_until(condition, what: str) -> None:
    deadline = time.monotonic() + WAIT_SECONDS
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"gave up waiting for {what}")
        time.sleep(0.01)


def blocked_on_a_lock() -> bool:
    """Another session of this database waits on a lock (our INSERT, queued
    behind the uncommitted ticket on the unique index)."""
    with connections["default"].cursor() as cursor:
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity "
            "WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.fixture
def order() -> Order:
    return place_order(sku=make_sku(), quantity=1, buyer=make_buyer())


def test_racing_callers_share_one_ticket(order):
    start = threading.Barrier(CALLERS)
    errors = []

    def report(n):
        try:
            start.wait()
            open_abnormal_ticket(
                order=order, flag=Order.Flag.SUPPLIER_FAILURE, message=f"problem {n}"
            )
        except Exception as exc:  # noqa: BLE001 - any error fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=report, args=(n,)) for n in range(CALLERS)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    ticket = Ticket.objects.get(order=order)
    assert sorted(ticket.messages.values_list("body", flat=True)) == sorted(
        f"problem {n}" for n in range(CALLERS)
    )


def test_a_ticket_opened_elsewhere_meanwhile_gets_the_message(order):
    """A staff member opens the abnormal ticket (in the admin) while the service
    is about to: our INSERT waits on the unique index, then loses; the message
    joins their ticket instead of failing with IntegrityError."""
    opened, commit = threading.Event(), threading.Event()
    outcome = {}

    def staff_opens_a_ticket():
        try:
            with transaction.atomic():
                outcome["theirs"] = Ticket.objects.create(
                    kind=Ticket.Kind.ABNORMAL, order=order, subject="staff"
                )
                opened.set()
                commit.wait(WAIT_SECONDS)
        finally:
            connection.close()

    def service_reports():
        try:
            outcome["ours"] = open_abnormal_ticket(
                order=order,
                flag=Order.Flag.SUPPLIER_FAILURE,
                message="from the service",
            )
        except Exception as exc:  # noqa: BLE001 - the defect was an IntegrityError
            outcome["error"] = repr(exc)
        finally:
            connection.close()

    staff = threading.Thread(target=staff_opens_a_ticket)
    staff.start()
    assert opened.wait(WAIT_SECONDS)
    service = threading.Thread(target=service_reports)
    service.start()
    try:
        wait_until(blocked_on_a_lock, "the service's INSERT to wait on the index")
    finally:
        commit.set()
    staff.join()
    service.join()

    assert "error" not in outcome, outcome.get("error")
    assert outcome["ours"].pk == outcome["theirs"].pk
    ticket = Ticket.objects.get(order=order)
    assert list(ticket.messages.values_list("body", flat=True)) == ["from the service"]
    order.refresh_from_db()
    assert order.flag == Order.Flag.SUPPLIER_FAILURE
