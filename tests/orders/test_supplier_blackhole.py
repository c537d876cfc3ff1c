"""A supplier that accepts connections and never answers must not slow the shop:
no supplier call happens inside a web request, so top-ups are queued and card
sales go on as usual. Checked by what the supplier's port saw (no connection
during the requests), not by a stopwatch."""

import socket
import threading
from dataclasses import dataclass, field
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog.models import SupplierCall
from kameng.celery import app as celery_app
from orders.models import Fulfilment, Order
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import make_offer, make_supplier, make_topup_sku
from tests.orders.factories import make_buyer, stock_codes

pytestmark = [pytest.mark.redis, pytest.mark.django_db(transaction=True)]


@dataclass
class BlackHole:
    url: str
    accepted: list = field(default_factory=list)  # connections made to it


@pytest.fixture
def black_hole():
    """A TCP port that accepts and then says nothing, ever."""
    server = socket.socket()
    server.bind(("127.0.0.1", 0))
    server.listen(64)
    hole = BlackHole(url=f"http://127.0.0.1:{server.getsockname()[1]}/")
    stop = threading.Event()

    def accept():
        server.settimeout(0.2)
        while not stop.is_set():
            try:
                hole.accepted.append(server.accept()[0])
            except OSError:
                continue

    thread = threading.Thread(target=accept, daemon=True)
    thread.start()
    yield hole
    stop.set()
    thread.join()
    for conn in hole.accepted:
        conn.close()
    server.close()


@pytest.fixture
def real_queue():
    """Tasks go to Redis (nobody consumes them here) instead of running inline."""
    celery_app.conf.task_always_eager = False
    yield
    celery_app.control.purge()
    celery_app.conf.task_always_eager = True


def test_a_hanging_supplier_never_holds_up_the_shop(client, black_hole, real_queue):
    cache.clear()
    topup = make_topup_sku(
        price=Decimal("10.00"),
        recharge_fields=[{"key": "phone", "label": "手机号", "rule": "phone"}],
    )
    make_offer(
        make_supplier(endpoint=black_hole.url, timeout_seconds=Decimal("30")), topup
    )
    card = make_sku(price=Decimal("1.00"))
    stock_codes(card, 5)
    client.force_login(make_buyer(Decimal("100.00")))

    for _ in range(3):
        response = client.post(
            f"/shop/p/{topup.product_id}/",
            {"quantity": "1", "payment": "wallet", "account_phone": "13800138000"},
        )
        assert response.status_code == 302
    # The requests never opened a connection to the supplier (one that had would
    # have hung for its 30 s timeout and be listed here): the top-ups wait in
    # the queue for a worker.
    assert black_hole.accepted == []
    for _ in range(5):
        response = client.post(
            f"/shop/p/{card.product_id}/", {"quantity": "1", "payment": "wallet"}
        )
        assert response.status_code == 302

    assert Order.objects.filter(sku=topup, status="paid").count() == 3
    assert Fulfilment.objects.filter(state="pending").count() == 3
    assert Order.objects.filter(sku=card, status="delivered").count() == 5
    assert not SupplierCall.objects.exists()
