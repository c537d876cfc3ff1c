"""Contacts (issue 15): masked in every list, in full on the page of one order
(each view an audit row), in exports only for those holding
users.view_full_contact (finance, super admin)."""

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from kameng.masking import mask_contact
from kameng.models import AuditEntry
from orders.models import BlacklistEntry, OrderExport
from orders.workbench import export_path
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer
from tests.orders.workbench_helpers import make_order

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
EMAIL = "alice@qq.com"
GUEST = "guest.bob@163.com"


@pytest.mark.parametrize(
    ("value", "shown"),
    [
        ("13812345678", "138****5678"),
        ("+86 138-1234-5678", "138****5678"),
        ("alice@qq.com", "a***@qq.com"),
        ("wx_alice", "w******e"),
        ("ab", "**"),
        ("", ""),
        (None, ""),
    ],
)
def test_mask_contact(value, shown):
    assert mask_contact(value) == shown


@pytest.fixture
def orders():
    sku = make_sku()
    buyer = make_buyer(phone=PHONE, email=EMAIL)
    return {
        "buyer": buyer,
        "mine": make_order(sku, buyer=buyer),
        "guest": make_order(sku, contact=GUEST),
    }


def page(client, user, url) -> str:
    client.force_login(user)
    response = client.get(url)
    assert response.status_code == 200
    return response.content.decode()


def contact_views():
    return AuditEntry.objects.filter(action="contact.view")


@pytest.mark.parametrize("role", ["support", "finance", "superadmin"])
def test_lists_show_contacts_masked(client, role_user, orders, role):
    user = role_user(role)
    buyers = page(client, user, reverse("admin:users_buyer_changelist"))
    assert "138****5678" in buyers and "a***@qq.com" in buyers
    order_list = page(client, user, reverse("admin:orders_order_changelist"))
    workbench = page(client, user, reverse("orders:workbench"))
    for html in (buyers, order_list, workbench):
        assert PHONE not in html and EMAIL not in html and GUEST not in html
    assert "g***@163.com" in order_list and "g***@163.com" in workbench
    assert not contact_views().exists()


def test_support_sees_the_buyer_page_masked(client, role_user, orders):
    html = page(
        client,
        role_user("support"),
        reverse("admin:users_buyer_change", args=[orders["buyer"].pk]),
    )
    assert "138****5678" in html and PHONE not in html and EMAIL not in html


# Support sees an order's contacts in full only while handling it:
# tests/orders/test_contact_handling.py.
@pytest.mark.parametrize("role", ["finance", "superadmin"])
def test_order_page_shows_the_full_contact_and_logs_one_view(
    client, role_user, orders, role
):
    user = role_user(role)
    order = orders["mine"]
    html = page(client, user, reverse("admin:orders_order_change", args=[order.pk]))
    assert PHONE in html and EMAIL in html
    (entry,) = contact_views()
    assert entry.actor_id == user.pk
    assert entry.object_id == str(order.pk)
    assert entry.ip_address == "127.0.0.1"

    guest = orders["guest"]
    html = page(client, user, reverse("admin:orders_order_change", args=[guest.pk]))
    assert GUEST in html
    assert contact_views().count() == 2


def export_of(client, user, capture):
    client.force_login(user)
    with capture(execute=True):
        client.post(reverse("orders:export_start"), {"query": ""})
    export = OrderExport.objects.get(requested_by=user)
    response = client.get(reverse("orders:export_download", args=[export.pk]))
    path = export_path(export).with_suffix(".read.xlsx")
    path.write_bytes(b"".join(response.streaming_content))
    rows = list(load_workbook(path, read_only=True).active.values)
    column = rows[0].index("联系方式")
    return export, {row[column] for row in rows[1:]}


@pytest.fixture(autouse=True)
def export_folder(settings, tmp_path):
    settings.ORDER_EXPORT_DIR = tmp_path / "exports"


def test_support_export_masks_contacts(
    client, role_user, orders, django_capture_on_commit_callbacks
):
    export, contacts = export_of(
        client, role_user("support"), django_capture_on_commit_callbacks
    )
    assert not export.with_contacts
    assert "g***@163.com" in contacts and GUEST not in contacts
    assert not contact_views().exists()


@pytest.mark.parametrize("role", ["finance", "superadmin"])
def test_finance_and_superadmin_export_full_contacts_logged(
    client, role_user, orders, role, django_capture_on_commit_callbacks
):
    user = role_user(role)
    export, contacts = export_of(client, user, django_capture_on_commit_callbacks)
    assert export.with_contacts
    assert GUEST in contacts
    (entry,) = contact_views()
    assert entry.actor_id == user.pk and entry.object_id == str(export.pk)


def test_the_blacklist_masks_contacts_on_its_list_for_every_role(client, role_user):
    BlacklistEntry.objects.create(
        kind=BlacklistEntry.Kind.CONTACT, value=GUEST, reason="拒付"
    )
    url = reverse("admin:orders_blacklistentry_changelist")
    for role in ("support", "operations", "finance"):
        shown = page(client, role_user(role), url)
        assert "g***@163.com" in shown and GUEST not in shown, role
