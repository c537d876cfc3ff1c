"""The kameng-v1 adapter against a deliberately broken HTTP peer: every way an
answer can be unusable maps to a typed error."""

import json
import threading
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.cache import cache

from catalog.models import Supplier
from catalog.suppliers import (
    SupplierBadResponse,
    SupplierRejected,
    get_adapter,
    signing,
)
from catalog.suppliers.base import SupplierUnavailable
from catalog.suppliers.kameng_v1 import KamengV1Adapter

KEY = "adapter-key-0123456789abcdef"


class Peer(BaseHTTPRequestHandler):
    """Answers with whatever the test put in `server.answer`: (status, body,
    signed: bool, signing key)."""

    def log_message(self, *args):
        pass

    def _answer(self):
        length = int(self.headers.get("Content-Length") or 0)
        self.rfile.read(length)
        status, body, sign_it = self.server.answer
        self.send_response(status)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        if sign_it:
            for name, value in signing.sign(
                key=sign_it,
                merchant="m-peer",
                method="RESPONSE",
                path=self.path,
                body=body,
            ).items():
                self.send_header(name, value)
        self.end_headers()
        self.wfile.write(body)

    do_GET = do_POST = _answer


@pytest.fixture
def peer():
    server = ThreadingHTTPServer(("127.0.0.1", 0), Peer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield server
    server.shutdown()
    server.server_close()


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def adapter_for(peer) -> KamengV1Adapter:
    supplier = Supplier(
        name="peer",
        endpoint=f"http://127.0.0.1:{peer.server_address[1]}/api",
        merchant_id="m-peer",
        timeout_seconds=2,
    )
    return KamengV1Adapter(supplier, key=KEY)


def submit(adapter):
    return adapter.submit(
        order_no="KM1",
        supplier_sku="UP-1",
        quantity=1,
        account={"phone": "13800138000"},
        callback_url="http://127.0.0.1/cb/",
    )


def ok_body(**fields):
    return json.dumps(
        {"order_no": "KM1", "status": "success", "trade_no": "T1", **fields}
    ).encode()


def test_signed_success_is_a_result(peer):
    peer.answer = (200, ok_body(), KEY)
    result = submit(adapter_for(peer))
    assert (result.status, result.trade_no, result.http_status) == (
        "success",
        "T1",
        200,
    )


@pytest.mark.parametrize("status", [500, 502, 503])
def test_http_5xx_is_a_bad_response(peer, status):
    peer.answer = (status, b'{"error":"down"}', KEY)
    with pytest.raises(SupplierBadResponse) as exc:
        submit(adapter_for(peer))
    assert exc.value.http_status == status


def test_unsigned_json_is_rejected(peer):
    peer.answer = (200, ok_body(), None)
    with pytest.raises(SupplierRejected):
        submit(adapter_for(peer))


def test_response_signed_with_another_key_is_rejected(peer):
    peer.answer = (200, ok_body(), "not-our-key-0123456789abcdef")
    with pytest.raises(SupplierRejected):
        submit(adapter_for(peer))


@pytest.mark.parametrize(
    "body",
    [
        b"",
        b"<html>oops</html>",
        b"\xff\xfe\x00garbage",
        b'{"order_no": "KM1", "status": "success"',
    ],
)
def test_garbage_is_a_bad_response(peer, body):
    peer.answer = (200, body, KEY)
    with pytest.raises(SupplierBadResponse):
        submit(adapter_for(peer))


@pytest.mark.parametrize(
    "fields",
    [
        {"status": "done"},
        {"order_no": "KM2"},
        {"trade_no": ""},
        {"trade_no": "T" * 41},
        {"message": 5},
    ],
)
def test_signed_json_with_wrong_fields_is_a_bad_response(peer, fields):
    peer.answer = (200, ok_body(**fields), KEY)
    with pytest.raises(SupplierBadResponse):
        submit(adapter_for(peer))


def test_signed_4xx_with_error_code_is_a_failed_result(peer):
    peer.answer = (400, b'{"error":"invalid_account","message":"no such QQ"}', KEY)
    result = submit(adapter_for(peer))
    assert (result.status, result.code) == ("failed", "invalid_account")
    assert not result.supplier_at_fault


def test_401_from_supplier_is_rejected(peer):
    peer.answer = (401, b'{"error":"bad_signature"}', None)
    with pytest.raises(SupplierRejected):
        submit(adapter_for(peer))


def test_malformed_order_no_is_refused_before_sending(peer):
    with pytest.raises(ValueError):
        adapter_for(peer).query(order_no="../etc/passwd")


@pytest.mark.django_db
def test_supplier_without_key_has_no_adapter():
    supplier = Supplier.objects.create(
        name="no key", endpoint="http://127.0.0.1:9/", merchant_id="m"
    )
    with pytest.raises(SupplierUnavailable):
        get_adapter(supplier)


@pytest.mark.django_db
def test_secret_is_stored_encrypted():
    from tests.catalog.suppliers_factories import make_supplier

    supplier = make_supplier(key="plain-signing-key-123456")
    supplier.refresh_from_db()
    assert "plain-signing-key" not in supplier.secret
    assert get_adapter(supplier).key == "plain-signing-key-123456"
