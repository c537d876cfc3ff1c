"""Supplier back office: pages render for operations, costs stay hidden without
catalog.view_cost, the signing key is write-only, the breaker can be reset."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission

from catalog.models import PriceChange, Sku, Supplier, SupplierCall, SupplierOffer
from catalog.services.suppliers import record_call
from kameng import crypto
from tests.catalog.suppliers_factories import (
    KEY,
    make_offer,
    make_profile,
    make_supplier,
)


@pytest.fixture
def offer(db):
    supplier = make_supplier(name="快充A")
    make_profile(supplier)
    offer = make_offer(supplier, cost=Decimal("47.13"))
    for latency in (100, 120, 140, 900):
        record_call(
            supplier=supplier,
            offer=offer,
            operation="submit",
            order_no="KM1",
            outcome="success",
            latency_ms=latency,
        )
    return offer


def test_operations_sees_suppliers_with_health(client, role_user, offer):
    client.force_login(role_user("operations"))
    response = client.get("/admin/catalog/supplier/")
    assert response.status_code == 200
    body = response.content.decode()
    assert "快充A" in body
    assert "100.0% (4)" in body  # success rate and call count
    assert "<td class" in body
    cells = [c.split("</td>")[0].strip() for c in body.split("<td")]
    assert any(c.endswith(">130") for c in cells)  # p50 of 100,120,140,900


def test_supplier_list_queries_do_not_grow_per_row(
    client, role_user, offer, django_assert_max_num_queries
):
    client.force_login(role_user("operations"))
    client.get("/admin/catalog/supplier/")  # warm up session / content types
    for _n in range(6):
        make_offer(make_supplier())
    with django_assert_max_num_queries(16):
        assert client.get("/admin/catalog/supplier/").status_code == 200


@pytest.mark.parametrize(
    "url",
    [
        "/admin/catalog/supplier/{supplier}/change/",
        "/admin/catalog/supplier/add/",
        "/admin/catalog/suppliercall/",
        "/admin/catalog/sandboxprofile/",
        "/admin/catalog/sandboxorder/",
    ],
)
def test_admin_pages_render_for_operations(client, role_user, offer, url):
    client.force_login(role_user("operations"))
    response = client.get(url.format(supplier=offer.supplier_id))
    assert response.status_code == 200


def test_operations_sees_offer_cost(client, role_user, offer):
    client.force_login(role_user("operations"))
    body = client.get(f"/admin/catalog/supplier/{offer.supplier_id}/change/")
    assert "47.13" in body.content.decode()


def test_support_cannot_open_suppliers(client, role_user, offer):
    client.force_login(role_user("support"))
    response = client.get(f"/admin/catalog/supplier/{offer.supplier_id}/change/")
    assert response.status_code == 403
    assert "47.13" not in response.content.decode()


def test_viewer_without_view_cost_does_not_see_offer_cost(client, role_user, offer):
    user = role_user("support")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog",
            codename__in=["view_supplier", "view_supplieroffer"],
        )
    )
    client.force_login(user)
    response = client.get(f"/admin/catalog/supplier/{offer.supplier_id}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert offer.supplier_sku in body
    assert "47.13" not in body
    assert "offers-0-cost" not in body


def test_signing_key_is_never_rendered(client, role_user, offer):
    client.force_login(role_user("superadmin"))
    body = client.get(
        f"/admin/catalog/supplier/{offer.supplier_id}/change/"
    ).content.decode()
    supplier = Supplier.objects.get(pk=offer.supplier_id)
    assert KEY not in body
    assert supplier.secret not in body
    assert 'name="signing_key"' in body
    assert 'type="password"' in body


def _form(supplier, **overrides):
    data = {
        "name": supplier.name,
        "protocol": supplier.protocol,
        "endpoint": supplier.endpoint,
        "merchant_id": supplier.merchant_id,
        "timeout_seconds": "5",
        "is_sandbox": "on",
        "enabled": "on",
        "signing_key": "",
        "offers-TOTAL_FORMS": "0",
        "offers-INITIAL_FORMS": "0",
        "offers-MIN_NUM_FORMS": "0",
        "offers-MAX_NUM_FORMS": "1000",
    }
    data.update(overrides)
    return data


def test_empty_signing_key_keeps_the_old_one(client, role_user, offer):
    supplier = offer.supplier
    supplier.refresh_from_db()
    before = supplier.secret
    client.force_login(role_user("operations"))
    data = _form(supplier, **{"offers-TOTAL_FORMS": "0"})
    # keep the existing offer in the formset untouched
    data.update(
        {
            "offers-TOTAL_FORMS": "1",
            "offers-INITIAL_FORMS": "1",
            "offers-0-id": str(offer.pk),
            "offers-0-supplier": str(supplier.pk),
            "offers-0-sku": str(offer.sku_id),
            "offers-0-supplier_sku": offer.supplier_sku,
            "offers-0-cost": "47.13",
            "offers-0-priority": "10",
            "offers-0-enabled": "on",
        }
    )
    response = client.post(f"/admin/catalog/supplier/{supplier.pk}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]
    supplier.refresh_from_db()
    assert supplier.secret == before


def test_new_signing_key_is_encrypted(client, role_user, offer):
    supplier = offer.supplier
    client.force_login(role_user("operations"))
    data = _form(supplier, signing_key="brand-new-key-0123456789")
    data.update(
        {
            "offers-TOTAL_FORMS": "1",
            "offers-INITIAL_FORMS": "1",
            "offers-0-id": str(offer.pk),
            "offers-0-supplier": str(supplier.pk),
            "offers-0-sku": str(offer.sku_id),
            "offers-0-supplier_sku": offer.supplier_sku,
            "offers-0-cost": "45.00",
            "offers-0-priority": "10",
            "offers-0-enabled": "on",
        }
    )
    response = client.post(f"/admin/catalog/supplier/{supplier.pk}/change/", data)
    assert response.status_code == 302
    supplier.refresh_from_db()
    assert "brand-new-key" not in supplier.secret
    assert crypto.decrypt(supplier.secret) == "brand-new-key-0123456789"
    offer.refresh_from_db()
    assert offer.cost == Decimal("45.00")
    offer.sku.refresh_from_db()
    assert offer.sku.cost_price == Decimal("45.00")  # pricing re-priced the SKU


def test_new_supplier_needs_a_signing_key(client, role_user, db):
    client.force_login(role_user("operations"))
    data = _form(
        Supplier(
            name="新货源", endpoint="https://up.example.com/api/", merchant_id="m-new"
        )
    )
    del data["is_sandbox"]
    response = client.post("/admin/catalog/supplier/add/", data)
    assert response.status_code == 200
    assert not Supplier.objects.filter(name="新货源").exists()
    data["signing_key"] = "short"
    response = client.post("/admin/catalog/supplier/add/", data)
    assert response.status_code == 200
    data["signing_key"] = "long-enough-key-0123456789"
    response = client.post("/admin/catalog/supplier/add/", data)
    assert response.status_code == 302
    created = Supplier.objects.get(name="新货源")
    assert crypto.decrypt(created.secret) == "long-enough-key-0123456789"


def test_reset_circuit_breaker_action(client, role_user, offer):
    Supplier.objects.filter(pk=offer.supplier_id).update(
        breaker_state=Supplier.Breaker.OPEN, consecutive_failures=7
    )
    client.force_login(role_user("operations"))
    response = client.post(
        "/admin/catalog/supplier/",
        {"action": "reset_circuit_breaker", "_selected_action": [offer.supplier_id]},
    )
    assert response.status_code == 302
    supplier = Supplier.objects.get(pk=offer.supplier_id)
    assert supplier.breaker_state == Supplier.Breaker.CLOSED
    assert supplier.consecutive_failures == 0


def test_call_log_is_read_only(client, role_user, offer):
    client.force_login(role_user("operations"))
    call = SupplierCall.objects.first()
    response = client.get(f"/admin/catalog/suppliercall/{call.pk}/change/")
    assert response.status_code == 200
    assert 'name="outcome"' not in response.content.decode()
    assert client.get("/admin/catalog/suppliercall/add/").status_code == 403


def test_offer_inline_without_view_cost_cannot_add(client, role_user, offer):
    user = role_user("support")
    user.user_permissions.add(
        *Permission.objects.filter(
            content_type__app_label="catalog",
            codename__in=[
                "view_supplier",
                "change_supplier",
                "view_supplieroffer",
                "add_supplieroffer",
            ],
        )
    )
    client.force_login(user)
    body = client.get(
        f"/admin/catalog/supplier/{offer.supplier_id}/change/"
    ).content.decode()
    assert 'name="offers-MAX_NUM_FORMS"' in body
    assert "offers-__prefix__-sku" not in body
    assert SupplierOffer.objects.count() == 1


@pytest.mark.parametrize(
    ("endpoint", "sandbox", "error_on"),
    [
        ("https://up.example.com/api/", True, "endpoint"),
        ("http://127.0.0.1:8000/sandbox/supplier/", False, "is_sandbox"),
    ],
)
def test_sandbox_flag_and_endpoint_must_agree(
    client, role_user, db, endpoint, sandbox, error_on
):
    """A real supplier cannot be turned into a sandbox one (whose key the sandbox
    would then sign with) without pointing it at the sandbox."""
    client.force_login(role_user("operations"))
    data = _form(
        Supplier(name="X", endpoint=endpoint, merchant_id="m-x"),
        signing_key="long-enough-key-0123456789",
    )
    if not sandbox:
        del data["is_sandbox"]
    response = client.post("/admin/catalog/supplier/add/", data)
    assert response.status_code == 200
    assert error_on in response.context["adminform"].form.errors
    assert not Supplier.objects.filter(name="X").exists()


def test_disabling_the_cheapest_offer_reprices_the_sku(client, role_user, offer):
    from catalog.models import Sku

    supplier = offer.supplier
    dearer = make_offer(make_supplier(), offer.sku, cost=Decimal("48.00"))
    Sku.objects.filter(pk=offer.sku_id).update(cost_price=Decimal("47.13"))
    client.force_login(role_user("operations"))
    data = _form(supplier)
    data.update(
        {
            "offers-TOTAL_FORMS": "1",
            "offers-INITIAL_FORMS": "1",
            "offers-0-id": str(offer.pk),
            "offers-0-supplier": str(supplier.pk),
            "offers-0-sku": str(offer.sku_id),
            "offers-0-supplier_sku": offer.supplier_sku,
            "offers-0-cost": "47.13",
            "offers-0-priority": "10",
        }
    )  # enabled unticked
    response = client.post(f"/admin/catalog/supplier/{supplier.pk}/change/", data)
    assert response.status_code == 302
    assert Sku.objects.get(pk=offer.sku_id).cost_price == dearer.cost


def _offer_row(offer, **overrides):
    row = {
        "offers-TOTAL_FORMS": "1",
        "offers-INITIAL_FORMS": "1",
        "offers-0-id": str(offer.pk),
        "offers-0-supplier": str(offer.supplier_id),
        "offers-0-sku": str(offer.sku_id),
        "offers-0-supplier_sku": offer.supplier_sku,
        "offers-0-cost": str(offer.cost),
        "offers-0-priority": str(offer.priority),
        "offers-0-enabled": "on",
    }
    row.update({f"offers-0-{name}": value for name, value in overrides.items()})
    return row


def _save_offer_row(client, offer, **overrides):
    data = _form(offer.supplier, **_offer_row(offer, **overrides))
    response = client.post(f"/admin/catalog/supplier/{offer.supplier_id}/change/", data)
    assert response.status_code == 302, response.content.decode()[:2000]


def test_a_cost_edit_records_the_true_old_and_new_cost(client, role_user, offer):
    Sku.objects.filter(pk=offer.sku_id).update(cost_price=offer.cost)
    client.force_login(role_user("operations"))

    _save_offer_row(client, offer, cost="45.00")

    change = PriceChange.objects.get(sku_id=offer.sku_id, layer="cost")
    assert (change.old_price, change.new_price) == (Decimal("47.13"), Decimal("45.00"))
    assert "47.13 → 45.00" in change.note
    assert SupplierOffer.objects.get(pk=offer.pk).cost == Decimal("45.00")


def test_saving_an_offer_with_its_cost_unchanged_records_no_price_change(
    client, role_user, offer
):
    Sku.objects.filter(pk=offer.sku_id).update(cost_price=offer.cost)
    client.force_login(role_user("operations"))

    _save_offer_row(client, offer, priority="20")

    assert SupplierOffer.objects.get(pk=offer.pk).priority == 20
    assert not PriceChange.objects.filter(sku_id=offer.sku_id).exists()


def test_deleting_the_cheapest_offer_reprices_the_sku(client, role_user, offer):
    dearer = make_offer(make_supplier(), offer.sku, cost=Decimal("48.00"))
    Sku.objects.filter(pk=offer.sku_id).update(cost_price=offer.cost)
    client.force_login(role_user("operations"))

    _save_offer_row(client, offer, DELETE="on")

    assert not SupplierOffer.objects.filter(pk=offer.pk).exists()
    assert Sku.objects.get(pk=offer.sku_id).cost_price == dearer.cost


def test_a_refused_cost_saves_nothing(client, role_user, offer):
    client.force_login(role_user("operations"))
    data = _form(offer.supplier, **_offer_row(offer, cost="-1"))
    response = client.post(f"/admin/catalog/supplier/{offer.supplier_id}/change/", data)
    assert response.status_code == 200  # the form again, with the error
    assert SupplierOffer.objects.get(pk=offer.pk).cost == Decimal("47.13")
    assert not PriceChange.objects.filter(sku_id=offer.sku_id).exists()
