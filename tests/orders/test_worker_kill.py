"""A Celery worker killed (SIGKILL) while a top-up is at the supplier: the order
still completes exactly once after recovery, the way production recovers.

Two things bring the job back after the crash:
- the lease on the Fulfilment row expires and the sweeper re-enqueues it;
- the broker redelivers the message the dead worker never acknowledged
  (task_acks_late), once Redis' visibility timeout has passed.
Both clocks are far too long for a test (a 90 s lease, a 1 h visibility timeout)
and live in the worker process, so the test moves the timestamps instead: the
job's next_attempt_at, and the score of the unacknowledged message in Redis.
Both copies then run on the second worker; the claim and the lease turn the
duplicate into a no-op, and the step after the crash asks the supplier before
sending anything again.
"""

import json
import os
import signal
import subprocess
import sys
import time
import urllib.parse
from datetime import timedelta
from decimal import Decimal
from pathlib import Path

import pytest
from django.core.cache import cache
from django.db import connection
from django.utils import timezone

from catalog.models import SandboxOrder, SupplierCall
from kameng.celery import app as celery_app
from orders.checkout import pay_with_wallet, place_order
from orders.models import Fulfilment, Order, OrderEvent
from orders.tasks import sweep_fulfilments_task
from tests.catalog.suppliers_factories import (
    make_offer,
    make_profile,
    make_supplier,
    make_topup_sku,
)
from tests.orders.factories import make_buyer

pytestmark = [
    pytest.mark.postgres,
    pytest.mark.redis,
    pytest.mark.django_db(transaction=True),
]

ROOT = Path(__file__).resolve().parents[2]
ACCOUNT = {"phone": "13800138000"}
FIELDS = [{"key": "phone", "label": "手机号", "rule": "phone"}]
SUPPLIER_LATENCY_MS = 3000  # the kill lands while the supplier "works"
TASK = "orders.advance_fulfilment"


def _test_database_url() -> str:
    """The database this test runs on (test_...), for the worker subprocesses."""
    db = connection.settings_dict
    user = urllib.parse.quote(db["USER"] or "", safe="")
    password = urllib.parse.quote(db["PASSWORD"] or "", safe="")
    auth = f"{user}:{password}@" if password else f"{user}@" if user else ""
    host = f"{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    return f"postgres://{auth}{host}/{db['NAME']}"


class Worker:
    """A real `celery worker` in its own process group, logging to a file."""

    def __init__(self, name: str, log: Path, env: dict):
        self.name, self.log = name, log
        self._file = log.open("wb")
        self.process = subprocess.Popen(
            [
                sys.executable,
                "-m",
                "celery",
                "-A",
                "kameng",
                "worker",
                "--pool=prefork",
                "--concurrency=2",
                "--without-mingle",
                "--without-gossip",
                "--without-heartbeat",
                "-n",
                f"{name}-{os.getpid()}@%h",
                "--loglevel=INFO",
            ],
            cwd=ROOT,
            env=env,
            stdout=self._file,
            stderr=subprocess.STDOUT,
            start_new_session=True,
        )

    def output(self) -> str:
        return self.log.read_text(errors="replace")

    def kill(self) -> None:
        """SIGKILL the whole group (main process and pool children): no warm
        shutdown, no ack, no requeue."""
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGKILL)
        self.process.wait(timeout=30)
        self._file.close()

    def stop(self) -> None:
        if self.process.poll() is None:
            os.killpg(self.process.pid, signal.SIGTERM)
            try:
                self.process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                os.killpg(self.process.pid, signal.SIGKILL)
                self.process.wait(timeout=30)
        self._file.close()


def wait_until(check, seconds: float, what: str, *workers: Worker):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        value = check()
        if value:
            return value
        time.sleep(0.1)
    logs = "\n".join(f"--- {w.name}\n{w.output()[-4000:]}" for w in workers)
    pytest.fail(f"timed out waiting for {what}\n{logs}")


@pytest.fixture
def broker():
    """Tasks published by this test go to Redis; the raw client reads the
    broker's bookkeeping (the `unacked` hash and its `unacked_index`)."""
    celery_app.conf.task_always_eager = False
    with celery_app.connection_for_write() as conn:
        client = conn.default_channel.client
        client.delete("unacked", "unacked_index")
        celery_app.control.purge()
        try:
            yield client
        finally:
            celery_app.control.purge()
            client.delete("unacked", "unacked_index")
            celery_app.conf.task_always_eager = True


@pytest.fixture
def worker_env(live_server, settings):
    settings.SUPPLIER_CALLBACK_BASE_URL = live_server.url
    env = {
        **os.environ,
        "KAMENG_ENV_FILE": os.devnull,
        "DATABASE_URL": _test_database_url(),
        "REDIS_URL": settings.REDIS_URL,
        "SUPPLIER_CALLBACK_BASE_URL": live_server.url,
        "CONN_MAX_AGE": "0",
        "LOG_LEVEL": "INFO",
    }
    env.pop("KAMENG_CELERY_EAGER", None)
    return env


def unacked_tasks(client) -> dict[str, str]:
    """delivery tag -> task id of every message a worker took and never acked."""
    found = {}
    for tag, raw in client.hgetall("unacked").items():
        headers = json.loads(raw)[0].get("headers") or {}
        if headers.get("task") == TASK:
            found[tag.decode()] = headers["id"]
    return found


def test_a_worker_killed_mid_call_still_delivers_exactly_once(
    live_server, worker_env, broker, tmp_path
):
    cache.clear()
    sku = make_topup_sku(price=Decimal("30.00"), recharge_fields=FIELDS)
    supplier = make_supplier(
        endpoint=live_server.url + "/sandbox/supplier/",
        timeout_seconds=Decimal("20.00"),  # the latency is no timeout
    )
    make_profile(supplier, latency_ms=SUPPLIER_LATENCY_MS)
    make_offer(supplier, sku)
    buyer = make_buyer(Decimal("100.00"))

    first = Worker("kill-first", tmp_path / "first.log", worker_env)
    second = None
    try:
        order = place_order(sku=sku, quantity=1, buyer=buyer, recharge_account=ACCOUNT)
        pay_with_wallet(order=order, actor=buyer)  # enqueued to Redis on commit

        # The sandbox writes its order before it sleeps: the call is in flight.
        wait_until(
            lambda: SandboxOrder.objects.filter(order_no=order.order_no).exists(),
            60,
            "the first worker to reach the supplier",
            first,
        )
        first.kill()

        job = Fulfilment.objects.get(order=order)
        assert job.state != Fulfilment.State.SUCCEEDED
        assert job.next_attempt_at > timezone.now()  # leased by the dead worker
        assert not SupplierCall.objects.filter(order_no=order.order_no).exists()
        order.refresh_from_db()
        assert order.status == Order.Status.DELIVERING

        # acks_late: the dead worker's message is still unacknowledged in Redis
        # (no requeue: the whole process group died, nobody could reject it).
        lost = unacked_tasks(broker)
        assert len(lost) == 1, lost
        (lost_tag, lost_id), *_ = lost.items()

        # Time passes: the lease and the visibility timeout both expire.
        Fulfilment.objects.filter(pk=job.pk).update(
            next_attempt_at=timezone.now() - timedelta(seconds=1)
        )
        broker.zadd("unacked_index", {lost_tag: 1.0})

        second = Worker("kill-second", tmp_path / "second.log", worker_env)
        assert sweep_fulfilments_task() == 1  # the sweeper's copy

        wait_until(
            lambda: Order.objects.filter(
                pk=order.pk, status=Order.Status.DELIVERED
            ).exists(),
            60,
            "the order to be delivered after the crash",
            second,
        )
        # Both copies (the redelivered message and the sweeper's) have run.
        wait_until(
            lambda: (
                second.output().count(f"Task {TASK}[") >= 4
                and not unacked_tasks(broker)
                and not broker.llen("celery")
            ),
            60,
            "the second worker to run the redelivered and the swept message",
            second,
        )
        log = second.output()
        # The very message the dead worker held was delivered again by Redis.
        assert f"{TASK}[{lost_id}] received" in log, log[-4000:]
    finally:
        first.kill()
        if second is not None:
            second.stop()

    order.refresh_from_db()
    assert order.status == Order.Status.DELIVERED
    assert (
        OrderEvent.objects.filter(order=order, to_status=Order.Status.DELIVERED).count()
        == 1
    )
    assert SandboxOrder.objects.filter(order_no=order.order_no).count() == 1
    # The submit of the dead worker never returned, so it is not in the log; after
    # the crash the supplier was asked, not sent the order again.
    ops = list(
        SupplierCall.objects.filter(order_no=order.order_no)
        .order_by("id")
        .values_list("operation", "outcome")
    )
    assert [op for op, _outcome in ops] == ["query"], ops
    assert Fulfilment.objects.get(order=order).state == Fulfilment.State.SUCCEEDED
    buyer.wallet.refresh_from_db()
    assert buyer.wallet.balance == Decimal("70.00")  # charged once
