"""The sandbox supplier over real HTTP (live_server), driven through
call_supplier() as the orders app will: every knob and failure mode."""

import json
import threading
import urllib.error
import urllib.request
from decimal import Decimal

import pytest
from django.core.cache import cache

from catalog.models import SandboxOrder, SandboxProfile, SupplierCall
from catalog.services.suppliers import call_supplier
from catalog.suppliers import (
    SupplierBadResponse,
    SupplierRejected,
    SupplierTimeout,
    SupplierUnreachable,
    signing,
)
from catalog.tasks.suppliers import sandbox_callback
from kameng import events
from tests.catalog.suppliers_factories import make_offer, make_profile, make_supplier

pytestmark = pytest.mark.django_db(transaction=True)

SUBMIT = SupplierCall.Operation.SUBMIT
QUERY = SupplierCall.Operation.QUERY


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def sandbox(live_server, settings):
    settings.SUPPLIER_CALLBACK_BASE_URL = live_server.url
    return live_server.url + "/sandbox/supplier/"


@pytest.fixture
def offer_with(sandbox):
    def make(**knobs):
        supplier = make_supplier(endpoint=sandbox)
        make_profile(supplier, **knobs)
        return make_offer(supplier)

    return make


@pytest.fixture
def callbacks():
    """Collects supplier_callback signals; .wait(n) blocks until n arrived."""

    class Box:
        def __init__(self):
            self.items = []
            self.cond = threading.Condition()

        def __call__(self, sender, **kwargs):
            with self.cond:
                self.items.append(kwargs)
                self.cond.notify_all()

        def wait(self, n, timeout=10):
            with self.cond:
                self.cond.wait_for(lambda: len(self.items) >= n, timeout=timeout)
            return self.items

    box = Box()
    events.supplier_callback.connect(box, weak=False)
    yield box
    events.supplier_callback.disconnect(box)


def submit(offer, order_no="KM1001", **kwargs):
    return call_supplier(
        offer=offer,
        operation=SUBMIT,
        order_no=order_no,
        quantity=1,
        account={"phone": "13800138000"},
        **kwargs,
    )


def test_success_is_answered_and_recorded(offer_with):
    offer = offer_with()
    result = submit(offer)
    assert result.status == "success"
    assert result.trade_no.startswith("SB")
    call = SupplierCall.objects.get()
    assert (call.outcome, call.operation, call.http_status) == ("success", SUBMIT, 200)
    assert call.offer == offer and call.order_no == "KM1001"
    order = SandboxOrder.objects.get()
    assert order.account == {"phone": "13800138000"}
    assert order.trade_no == result.trade_no


def test_failure_rate_one_fails_every_order(offer_with):
    offer = offer_with(failure_rate=Decimal("1"))
    result = submit(offer)
    assert result.status == "failed"
    assert result.code == "supplier_error"
    assert result.supplier_at_fault
    offer.supplier.refresh_from_db()
    assert offer.supplier.consecutive_failures == 1
    assert SupplierCall.objects.get().outcome == "failed"


def test_hang_longer_than_timeout_is_a_timeout(offer_with):
    offer = offer_with(timeout_rate=Decimal("1"), hang_seconds=1)
    offer.supplier.timeout_seconds = Decimal("0.30")
    offer.supplier.save()
    with pytest.raises(SupplierTimeout) as exc:
        submit(offer)
    assert exc.value.ambiguous
    call = SupplierCall.objects.get()
    assert call.outcome == "timeout"
    assert 250 <= call.latency_ms < 1000


def test_order_placed_before_a_timeout_is_found_by_query(offer_with):
    offer = offer_with(timeout_rate=Decimal("1"), hang_seconds=1)
    offer.supplier.timeout_seconds = Decimal("0.30")
    offer.supplier.save()
    with pytest.raises(SupplierTimeout):
        submit(offer, order_no="KM-T1")
    SandboxProfile.objects.filter(merchant_id=offer.supplier.merchant_id).update(
        timeout_rate=0
    )
    result = call_supplier(offer=offer, operation=QUERY, order_no="KM-T1")
    assert result.status == "success"


def test_garbage_body_is_a_bad_response(offer_with):
    offer = offer_with(garbage_rate=Decimal("1"))
    with pytest.raises(SupplierBadResponse):
        submit(offer)
    assert SupplierCall.objects.get().outcome == "bad_response"


def test_connection_refused_is_unreachable(db, live_server):
    offer = make_offer(make_supplier(endpoint="http://127.0.0.1:9/sandbox/supplier/"))
    with pytest.raises(SupplierUnreachable):
        submit(offer)
    assert SupplierCall.objects.get().outcome == "error"


def test_response_signed_with_another_key_is_rejected(offer_with, sandbox):
    offer = offer_with()
    # The sandbox knows the merchant under key A; we sign and verify with key B
    # by a second supplier row sharing the merchant id but not the sandbox flag.
    other = make_supplier(
        endpoint=sandbox,
        merchant_id=offer.supplier.merchant_id,
        is_sandbox=False,
        key="another-key-0123456789abcdefgh",
    )
    with pytest.raises(SupplierRejected) as exc:
        submit(make_offer(other), order_no="KM-X")
    assert exc.value.http_status == 401
    assert not SandboxOrder.objects.filter(order_no="KM-X").exists()


def test_same_order_no_twice_is_one_order_with_one_trade_no(offer_with):
    offer = offer_with()
    first = submit(offer, order_no="KM-IDEM")
    second = submit(offer, order_no="KM-IDEM")
    assert first.trade_no == second.trade_no
    assert SandboxOrder.objects.filter(order_no="KM-IDEM").count() == 1
    assert SupplierCall.objects.filter(order_no="KM-IDEM").count() == 2


def test_failed_order_stays_failed_when_submitted_again(offer_with):
    offer = offer_with(failure_rate=Decimal("1"))
    assert submit(offer, order_no="KM-F").status == "failed"
    SandboxProfile.objects.update(failure_rate=0)
    assert submit(offer, order_no="KM-F").status == "failed"


def test_status_query_reports_the_order(offer_with):
    offer = offer_with()
    placed = submit(offer, order_no="KM-Q")
    result = call_supplier(offer=offer, operation=QUERY, order_no="KM-Q")
    assert (result.status, result.trade_no) == ("success", placed.trade_no)
    assert SupplierCall.objects.filter(operation=QUERY).get().outcome == "success"


def test_status_query_of_an_unknown_order_is_not_found(offer_with):
    offer = offer_with()
    result = call_supplier(offer=offer, operation=QUERY, order_no="KM-NONE")
    assert (result.status, result.code) == ("failed", "not_found")
    assert not result.supplier_at_fault
    offer.supplier.refresh_from_db()
    assert offer.supplier.consecutive_failures == 0


def test_processing_then_signed_callback_reaches_our_endpoint(offer_with, callbacks):
    offer = offer_with(processing_then_callback=True, callback_delay_ms=200)
    result = submit(offer, order_no="KM-CB")
    assert result.status == "processing"
    got = callbacks.wait(1)
    assert len(got) == 1
    assert got[0]["order_no"] == "KM-CB"
    assert got[0]["status"] == "success"
    assert got[0]["trade_no"] == result.trade_no
    assert got[0]["supplier_id"] == offer.supplier_id
    call = SupplierCall.objects.get(operation=SupplierCall.Operation.CALLBACK)
    assert call.outcome == "success" and call.order_no == "KM-CB"
    query = call_supplier(offer=offer, operation=QUERY, order_no="KM-CB")
    assert query.status == "success"


def test_processing_order_answers_processing_until_the_callback(
    offer_with, callbacks, monkeypatch
):
    queued = []
    monkeypatch.setattr(sandbox_callback, "apply_async", lambda **kw: queued.append(kw))
    offer = offer_with(processing_then_callback=True, callback_delay_ms=3000)
    submit(offer, order_no="KM-P")
    result = call_supplier(offer=offer, operation=QUERY, order_no="KM-P")
    assert result.status == "processing"
    assert callbacks.items == []

    sandbox_callback.run(**queued[0]["kwargs"])  # the worker's turn comes

    assert callbacks.wait(1)[0]["status"] == "success"
    result = call_supplier(offer=offer, operation=QUERY, order_no="KM-P")
    assert result.status == "success"


def test_duplicate_callbacks_all_arrive_and_are_recorded(offer_with, callbacks):
    offer = offer_with(
        processing_then_callback=True, callback_delay_ms=200, duplicate_callbacks=2
    )
    submit(offer, order_no="KM-DUP")
    got = callbacks.wait(3)
    assert [c["order_no"] for c in got] == ["KM-DUP"] * 3
    assert len({c["trade_no"] for c in got}) == 1
    assert SupplierCall.objects.filter(operation="callback").count() == 3


def test_failed_outcome_can_arrive_by_callback(offer_with, callbacks):
    offer = offer_with(
        processing_then_callback=True, failure_rate=Decimal("1"), callback_delay_ms=200
    )
    assert submit(offer, order_no="KM-CF").status == "processing"
    assert callbacks.wait(1)[0]["status"] == "failed"


# -- the sandbox refuses what is not ours ---------------------------------------------
def _post(url, body=b"{}", headers=None):
    request = urllib.request.Request(
        url, data=body, headers=headers or {}, method="POST"
    )
    try:
        with urllib.request.urlopen(request, timeout=5) as response:
            return response.status, response.read()
    except urllib.error.HTTPError as exc:
        return exc.code, exc.read()


def test_unknown_merchant_gets_401_json(sandbox):
    headers = signing.sign(
        key="x" * 32, merchant="nobody", method="POST", path="/x", body=b"{}"
    )
    status, body = _post(sandbox + "orders/", headers=headers)
    assert status == 401
    assert json.loads(body)["error"] == "unknown_merchant"


def test_bad_signature_gets_401_and_places_nothing(offer_with, sandbox):
    offer = offer_with()
    body = json.dumps({"order_no": "KM-FORGED", "sku": "X", "quantity": 1}).encode()
    headers = signing.sign(
        key="wrong-key-0123456789abcdef",
        merchant=offer.supplier.merchant_id,
        method="POST",
        path="/sandbox/supplier/orders/",
        body=body,
    )
    status, answer = _post(sandbox + "orders/", body=body, headers=headers)
    assert status == 401
    assert json.loads(answer)["error"] == "bad_signature"
    assert not SandboxOrder.objects.exists()


def test_non_sandbox_supplier_merchant_is_not_served(sandbox):
    real = make_supplier(endpoint=sandbox, is_sandbox=False)
    with pytest.raises(SupplierRejected):
        submit(make_offer(real))
    assert not SandboxOrder.objects.exists()


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"order_no": "bad no!", "sku": "X", "quantity": 1}, "order_no"),
        ({"order_no": "KM1", "sku": "", "quantity": 1}, "sku"),
        ({"order_no": "KM1", "sku": "X", "quantity": 0}, "quantity"),
        ({"order_no": "KM1", "sku": "X", "quantity": 1, "account": [1]}, "account"),
        (
            {"order_no": "KM1", "sku": "X", "quantity": 1, "callback_url": "ftp://x"},
            "callback_url",
        ),
    ],
)
def test_invalid_order_fields_are_named(offer_with, sandbox, payload, field):
    offer = offer_with()
    body = json.dumps(payload).encode()
    headers = signing.sign(
        key="test-signing-key-0123456789abcdef",
        merchant=offer.supplier.merchant_id,
        method="POST",
        path="/sandbox/supplier/orders/",
        body=body,
    )
    status, answer = _post(sandbox + "orders/", body=body, headers=headers)
    assert status == 400
    assert json.loads(answer)["field"] == field
    assert not SandboxOrder.objects.exists()


def test_sandbox_can_be_switched_off(offer_with, settings):
    offer = offer_with()
    settings.SANDBOX_SUPPLIER_ENABLED = False
    with pytest.raises(SupplierBadResponse):  # a 404 page, not JSON
        submit(offer)


# -- callbacks through Celery, and concurrent duplicates -----------------------------
def test_callback_task_completes_order_and_calls_back(offer_with, callbacks):
    offer = offer_with(processing_then_callback=True, callback_delay_ms=60_000)
    queued = []
    with pytest.MonkeyPatch.context() as patch:
        patch.setattr(sandbox_callback, "apply_async", lambda **kw: queued.append(kw))
        assert submit(offer, order_no="KM-TASK").status == "processing"
    order = SandboxOrder.objects.get(order_no="KM-TASK")
    delivered = sandbox_callback.delay(
        order_id=order.pk, final_status="success", copies=2
    ).get()
    assert delivered == 2
    assert [c["status"] for c in callbacks.wait(2)] == ["success", "success"]
    order.refresh_from_db()
    assert order.status == "success"


def test_the_callback_is_queued_with_its_countdown(offer_with, monkeypatch):
    sent = []
    monkeypatch.setattr(sandbox_callback, "apply_async", lambda **kw: sent.append(kw))
    offer = offer_with(
        processing_then_callback=True, callback_delay_ms=1500, duplicate_callbacks=1
    )
    submit(offer, order_no="KM-Q1")
    assert len(sent) == 1
    assert sent[0]["countdown"] == 1.5
    order = SandboxOrder.objects.get(order_no="KM-Q1")
    assert sent[0]["kwargs"] == {
        "order_id": order.pk,
        "final_status": "success",
        "copies": 2,
    }


@pytest.mark.postgres
def test_concurrent_duplicate_submits_place_one_order(offer_with):
    from django.db import connection

    offer = offer_with(latency_ms=50)
    results, errors = [], []

    def worker():
        try:
            results.append(submit(offer, order_no="KM-RACE"))
        except Exception as exc:  # noqa: BLE001 - reported by the assertion below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=worker) for _n in range(6)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert SandboxOrder.objects.filter(order_no="KM-RACE").count() == 1
    assert len({r.trade_no for r in results}) == 1
