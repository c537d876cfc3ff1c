"""Malformed numbers and signatures from a request are refused, never a 500.

Each input here once crashed a page: "²" passes str.isdigit() but int() refuses
it, a 5,000-digit number passes too but int() refuses more than 4,300 digits,
and hmac.compare_digest raises TypeError on a signature that is not ASCII.
"""

import json
import time

import pytest
from django.core.cache import cache
from django.urls import reverse
from django.utils import translation

from catalog.imports.products import parse_product_rows
from catalog.models import CardBatch, CardCode, SandboxOrder, SupplierCall
from catalog.suppliers import signing
from kameng import crypto
from tests.catalog.factories import make_sku
from tests.catalog.suppliers_factories import KEY, make_supplier

pytestmark = pytest.mark.django_db

SUPERSCRIPT_TWO = "²"
HUGE_NUMBER = "9" * 5000
NON_ASCII_SIGNATURE = "é" * 64
CALLBACK = {"order_no": "KM-9", "status": "success", "trade_no": "T-9"}


@pytest.fixture(autouse=True)
def _fresh_cache():
    cache.clear()


def _signed_headers(*, merchant, path, body, **override):
    headers = signing.sign(
        key=KEY, merchant=merchant, method="POST", path=path, body=body
    )
    headers.update(override)
    return headers


def _post_callback(client, supplier, **override):
    body = json.dumps(CALLBACK).encode()
    path = reverse("supplier-callback", kwargs={"supplier_id": supplier.pk})
    headers = _signed_headers(
        merchant=supplier.merchant_id, path=path, body=body, **override
    )
    return client.post(path, body, content_type="application/json", headers=headers)


# --- our supplier callback endpoint ----------------------------------------------


@pytest.mark.parametrize("timestamp", [SUPERSCRIPT_TWO, HUGE_NUMBER])
def test_callback_with_a_timestamp_that_is_no_number_is_refused(client, timestamp):
    supplier = make_supplier()
    response = _post_callback(client, supplier, **{signing.HEADER_TIMESTAMP: timestamp})
    assert response.status_code == 401
    assert response.json()["error"] == "bad_timestamp"
    assert not SupplierCall.objects.exists()


def test_callback_with_a_non_ascii_signature_is_refused(client):
    supplier = make_supplier()
    response = _post_callback(
        client, supplier, **{signing.HEADER_SIGNATURE: NON_ASCII_SIGNATURE}
    )
    assert response.status_code == 401
    assert response.json()["error"] == "bad_signature"
    assert not SupplierCall.objects.exists()


def test_callback_for_a_supplier_id_beyond_any_column_is_404(client):
    response = client.post(
        f"/supplier-callback/{HUGE_NUMBER}/", b"{}", content_type="application/json"
    )
    assert response.status_code == 404


def test_signing_reads_a_timestamp_only_in_ascii_digits():
    for timestamp in (SUPERSCRIPT_TWO, HUGE_NUMBER, "٣", "-1", ""):
        headers = signing.SignedHeaders(
            merchant="m-1", timestamp=timestamp, nonce="n" * 16, signature="0" * 64
        )
        with pytest.raises(signing.SignatureError) as exc:
            signing.verify(
                keys=[KEY],
                signed=headers,
                method="POST",
                path="/cb/",
                body=b"",
                scope="test",
            )
        assert exc.value.reason == "bad_timestamp"


def test_signing_still_accepts_a_fresh_ascii_timestamp():
    body = b"{}"
    headers = signing.read_headers(
        signing.sign(
            key=KEY,
            merchant="m-1",
            method="POST",
            path="/cb/",
            body=body,
            now=time.time(),
        )
    )
    assert (
        signing.verify(
            keys=[KEY],
            signed=headers,
            method="POST",
            path="/cb/",
            body=body,
            scope="test",
        )
        == KEY
    )


# --- the sandbox supplier -----------------------------------------------------------

SANDBOX_SUBMIT = "/sandbox/supplier/orders/"
ORDER = {"order_no": "KM-1", "sku": "UP-1", "quantity": 1}


@pytest.mark.parametrize(
    "override",
    [
        {signing.HEADER_TIMESTAMP: SUPERSCRIPT_TWO},
        {signing.HEADER_TIMESTAMP: HUGE_NUMBER},
        {signing.HEADER_SIGNATURE: NON_ASCII_SIGNATURE},
    ],
    ids=["superscript-timestamp", "huge-timestamp", "non-ascii-signature"],
)
def test_sandbox_supplier_refuses_a_malformed_signature(client, override):
    supplier = make_supplier()
    body = json.dumps(ORDER).encode()
    headers = _signed_headers(
        merchant=supplier.merchant_id, path=SANDBOX_SUBMIT, body=body, **override
    )
    response = client.post(
        SANDBOX_SUBMIT, body, content_type="application/json", headers=headers
    )
    assert response.status_code == 401
    assert response.json()["error"] in {"bad_timestamp", "bad_signature"}
    assert not SandboxOrder.objects.exists()


# --- back office ---------------------------------------------------------------------


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, HUGE_NUMBER, "abc"])
def test_code_list_ignores_a_sku_filter_that_is_no_id(admin_client, value):
    response = admin_client.get(
        reverse("admin:catalog_cardcode_changelist"), {"sku": value}
    )
    assert response.status_code == 200


def test_code_list_still_filters_by_a_real_sku(admin_client):
    wanted, other = make_sku(code="QB-10"), make_sku(code="QB-20")
    batch = CardBatch.objects.create(sku=wanted, file_name="t.txt", file_format="txt")
    for sku, text in ((wanted, "WANTED-CODE-1111"), (other, "OTHER-CODE-2222")):
        CardCode.objects.create(
            sku=sku,
            batch=batch,
            secret=crypto.encrypt(text),
            code_hash=crypto.code_hash(text),
            key_version=crypto.current_key_version(),
            hint=crypto.mask(text),
        )
    response = admin_client.get(
        reverse("admin:catalog_cardcode_changelist"), {"sku": str(wanted.pk)}
    )
    page = response.content.decode()
    assert crypto.mask("WANTED-CODE-1111") in page
    assert crypto.mask("OTHER-CODE-2222") not in page


@pytest.mark.parametrize("object_id", [SUPERSCRIPT_TWO, HUGE_NUMBER])
def test_batch_change_url_with_no_id_is_the_admins_not_found(admin_client, object_id):
    url = reverse("admin:catalog_cardbatch_change", args=[object_id])
    response = admin_client.get(url)
    # Django's answer to an unknown object: back to the index with a message.
    assert response.status_code == 302
    assert response["Location"] == reverse("admin:index")


def test_batch_change_url_still_leads_to_the_batch_page(admin_client):
    batch = CardBatch.objects.create(
        sku=make_sku(), file_name="t.txt", file_format="txt"
    )
    response = admin_client.get(
        reverse("admin:catalog_cardbatch_change", args=[batch.pk])
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:import_batch", args=[batch.pk])


@pytest.mark.parametrize("value", [SUPERSCRIPT_TWO, HUGE_NUMBER])
def test_code_import_page_ignores_a_sku_that_is_no_id(admin_client, value):
    response = admin_client.get(reverse("catalog:import_codes"), {"sku": value})
    assert response.status_code == 200
    assert response.context["form"].initial == {}


# --- product import files ----------------------------------------------------------

HEADER = [
    "category",
    "product",
    "sku",
    "spec",
    "delivery_type",
    "price",
    "min_quantity",
]


def _row_errors(price="9.80", min_quantity="1"):
    rows = [
        (1, HEADER),
        (2, ["游戏/腾讯", "Q币", "QB-10", "10元", "card", price, min_quantity]),
    ]
    with translation.override("en"):
        [parsed] = list(parse_product_rows(rows))
    return parsed if isinstance(parsed, list) else []


@pytest.mark.parametrize("quantity", [SUPERSCRIPT_TWO, HUGE_NUMBER, "٣", "-1", "1.5"])
def test_a_product_row_with_a_quantity_that_is_no_number_is_that_rows_error(
    quantity,
):
    errors = _row_errors(min_quantity=quantity)
    assert [error.field for error in errors] == ["minimum per order"]


def test_a_product_row_reads_full_width_digits_as_a_quantity():
    assert _row_errors(min_quantity="１２") == []


@pytest.mark.parametrize("price", ["1e100", "9" * 30, "-" + "9" * 30, "1E+999999"])
def test_a_product_row_with_an_enormous_price_is_that_rows_error(price):
    errors = _row_errors(price=price)
    assert [error.field for error in errors] == ["price"]
