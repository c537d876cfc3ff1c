"""Our callback endpoint /supplier-callback/<id>/: verified, recorded, signalled;
everything else refused with nothing written."""

import json

import pytest
from django.core.cache import cache
from django.urls import reverse

from catalog.models import SupplierCall
from catalog.services.suppliers import receive_callback
from catalog.suppliers import CallbackRejected, signing
from kameng import events
from tests.catalog.suppliers_factories import make_supplier

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


@pytest.fixture
def callbacks():
    got = []

    def receiver(sender, **kwargs):
        got.append(kwargs)

    events.supplier_callback.connect(receiver)
    yield got
    events.supplier_callback.disconnect(receiver)


def _callback(client, supplier, payload, key="test-signing-key-0123456789abcdef"):
    body = json.dumps(payload).encode()
    path = reverse("supplier-callback", kwargs={"supplier_id": supplier.pk})
    headers = signing.sign(
        key=key, merchant=supplier.merchant_id, method="POST", path=path, body=body
    )
    return client.post(
        path,
        data=body,
        content_type="application/json",
        headers=headers,
    )


CALLBACK = {"order_no": "KM-9", "status": "success", "trade_no": "T-9"}


def test_callback_with_bad_signature_is_401_and_recorded_nowhere(client, callbacks):
    supplier = make_supplier()
    response = _callback(client, supplier, CALLBACK, key="someone-else-0123456789")
    assert response.status_code == 401
    assert not SupplierCall.objects.exists()
    assert callbacks == []


def test_replayed_callback_is_refused(
    client, callbacks, django_capture_on_commit_callbacks
):
    supplier = make_supplier()
    body = json.dumps(CALLBACK).encode()
    path = reverse("supplier-callback", kwargs={"supplier_id": supplier.pk})
    headers = signing.sign(
        key="test-signing-key-0123456789abcdef",
        merchant=supplier.merchant_id,
        method="POST",
        path=path,
        body=body,
    )
    with django_capture_on_commit_callbacks(execute=True):
        first = client.post(
            path, body, content_type="application/json", headers=headers
        )
        again = client.post(
            path, body, content_type="application/json", headers=headers
        )
    assert (first.status_code, again.status_code) == (200, 401)
    assert len(callbacks) == 1


@pytest.mark.parametrize(
    "payload",
    [
        {"order_no": "KM-9", "status": "done", "trade_no": "T"},
        {"order_no": "KM-9", "status": "success"},
        {"status": "success", "trade_no": "T"},
        [1, 2],
    ],
)
def test_signed_but_invalid_callback_is_400(client, callbacks, payload):
    response = _callback(client, make_supplier(), payload)
    assert response.status_code == 400
    assert not SupplierCall.objects.exists()
    assert callbacks == []


def test_callback_for_unknown_supplier_is_404(client):
    response = client.post("/supplier-callback/999999/", b"{}", "application/json")
    assert response.status_code == 404


def test_callback_needs_post(client):
    supplier = make_supplier()
    response = client.get(f"/supplier-callback/{supplier.pk}/")
    assert response.status_code == 405


def test_good_callback_is_recorded_and_signalled_after_commit(
    client, callbacks, django_capture_on_commit_callbacks
):
    supplier = make_supplier()
    with django_capture_on_commit_callbacks(execute=True):
        response = _callback(client, supplier, CALLBACK)
    assert response.status_code == 200
    assert response.json() == {"ok": True, "order_no": "KM-9"}
    call = SupplierCall.objects.get()
    assert (call.operation, call.outcome, call.order_no) == (
        "callback",
        "success",
        "KM-9",
    )
    assert callbacks == [
        {
            "signal": events.supplier_callback,
            "supplier_id": supplier.pk,
            "order_no": "KM-9",
            "status": "success",
            "trade_no": "T-9",
            "message": "",
            "call_id": call.pk,
        }
    ]


def test_callback_signed_by_another_supplier_is_refused(client, callbacks):
    ours = make_supplier()
    other = make_supplier(key="other-supplier-key-0123456789")
    body = json.dumps(CALLBACK).encode()
    path = reverse("supplier-callback", kwargs={"supplier_id": ours.pk})
    headers = signing.sign(
        key="other-supplier-key-0123456789",
        merchant=other.merchant_id,
        method="POST",
        path=path,
        body=body,
    )
    response = client.post(path, body, content_type="application/json", headers=headers)
    assert response.status_code == 401
    assert not SupplierCall.objects.exists()


def test_callback_is_attached_to_the_offer_that_was_called(client):
    from catalog.services.suppliers import record_call
    from tests.catalog.suppliers_factories import make_offer

    supplier = make_supplier()
    offer = make_offer(supplier)
    record_call(
        supplier=supplier,
        offer=offer,
        operation="submit",
        order_no="KM-9",
        outcome="processing",
        latency_ms=50,
    )
    assert _callback(client, supplier, CALLBACK).status_code == 200
    assert SupplierCall.objects.get(operation="callback").offer_id == offer.pk


def _signed(supplier, payload, key="test-signing-key-0123456789abcdef"):
    body = json.dumps(payload).encode()
    path = reverse("supplier-callback", kwargs={"supplier_id": supplier.pk})
    headers = signing.sign(
        key=key, merchant=supplier.merchant_id, method="POST", path=path, body=body
    )
    meta = {"HTTP_" + name.upper().replace("-", "_"): v for name, v in headers.items()}
    return {"method": "POST", "path": path, "headers": meta, "body": body}


def test_receive_callback_records_and_signals_only_after_commit(
    callbacks, django_capture_on_commit_callbacks
):
    supplier = make_supplier()
    with django_capture_on_commit_callbacks(execute=False) as pending:
        data = receive_callback(supplier=supplier, **_signed(supplier, CALLBACK))
    assert (data.order_no, data.status) == ("KM-9", "success")
    assert SupplierCall.objects.get().operation == "callback"
    assert callbacks == []  # nothing sent before the commit
    pending[0]()
    assert [c["order_no"] for c in callbacks] == ["KM-9"]


def test_receive_callback_refuses_a_forgery_and_records_nothing(callbacks):
    supplier = make_supplier()
    forged = _signed(supplier, CALLBACK, key="someone-else-0123456789")
    with pytest.raises(CallbackRejected):
        receive_callback(supplier=supplier, **forged)
    assert not SupplierCall.objects.exists()
    assert callbacks == []
