"""The audit log: what the back office and staff's services write into it, and
who may read it."""

import uuid
from decimal import Decimal

import pytest
from django.contrib.admin.models import LogEntry
from django.urls import reverse
from django.utils import translation

from catalog.models import CardCode, Category
from kameng import audit
from kameng.models import AuditEntry
from tests.catalog.factories import make_category, make_product
from tests.kameng.test_backoffice_chinese import english_words, visible_text
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def superadmin_client(client, role_user):
    admin_user = role_user("superadmin", "boss")
    client.force_login(admin_user)
    return client


def test_an_admin_edit_is_an_audit_row_with_the_fields_before_and_after(
    superadmin_client,
):
    category = make_category("点卡")
    url = reverse("admin:catalog_category_change", args=[category.pk])
    response = superadmin_client.post(
        url,
        {
            "name": "游戏点卡",
            "slug": category.slug,
            "sort_order": "5",
            "is_active": "on",
            "parent": "",
        },
        REMOTE_ADDR="203.0.113.9",
    )
    assert response.status_code == 302, response.content[:2000]

    entry = AuditEntry.objects.get(action="admin.change")
    assert entry.actor_name == "boss"
    assert entry.object_repr == "游戏点卡"
    assert entry.object_id == str(category.pk)
    assert entry.before == {"name": "点卡", "sort_order": 0}
    assert entry.after == {"name": "游戏点卡", "sort_order": 5}
    assert entry.ip_address == "203.0.113.9"
    # Django's own admin log is still written beside it.
    assert LogEntry.objects.filter(object_id=str(category.pk)).count() == 1
    with translation.override("zh-hans"):
        page = superadmin_client.get(reverse("audit_log")).content.decode()
    assert "后台修改" in page and "游戏点卡" in page
    for raw in ("&quot;changed&quot;", "&#x27;changed&#x27;"):  # no raw JSON
        assert raw not in page


def test_an_admin_delete_keeps_the_deleted_object_in_the_audit_row(
    superadmin_client,
):
    category = make_category("旧分类")
    url = reverse("admin:catalog_category_delete", args=[category.pk])
    response = superadmin_client.post(url, {"post": "yes"})
    assert response.status_code == 302
    assert not Category.objects.filter(pk=category.pk).exists()
    entry = AuditEntry.objects.get(action="admin.delete")
    assert entry.before["name"] == "旧分类"
    assert entry.object_id == str(category.pk)


def test_a_list_action_is_an_audit_row_naming_the_objects(superadmin_client):
    products = [make_product(), make_product()]
    response = superadmin_client.post(
        reverse("admin:catalog_product_changelist"),
        {
            "action": "pause_products",
            "_selected_action": [str(p.pk) for p in products],
        },
    )
    assert response.status_code == 302
    entry = AuditEntry.objects.get(action="admin.action")
    assert entry.after["action"] == "pause_products"
    assert sorted(entry.after["objects"]) == sorted(str(p.pk) for p in products)


def test_a_refund_by_finance_records_who_and_from_which_address(
    client, role_user, settings
):
    settings.REFUND_APPROVAL_THRESHOLD = Decimal("500.00")
    settings.TRUSTED_PROXIES = ["10.0.0.1/32"]
    finance = role_user("finance", "finance-1")
    client.force_login(finance)
    order = delivered_card_order()  # 2 × 50.00
    response = client.post(
        reverse("orders:refund", args=[order.pk]),
        {
            "key": str(uuid.uuid4()),
            "amount": "30.00",
            "reason": "卡密无法使用",
            "confirm": "1",
        },
        REMOTE_ADDR="10.0.0.1",  # the reverse proxy
        HTTP_X_FORWARDED_FOR="198.51.100.23",
    )
    assert response.status_code == 302

    entry = AuditEntry.objects.get()  # the service's row, no generic page row
    assert entry.action == "order.refund_request"
    assert entry.actor == finance
    assert entry.ip_address == "198.51.100.23"
    assert entry.object_repr == str(order)
    assert entry.before == {"status": "delivered", "refunded_amount": "0.00"}
    assert entry.after == {
        "status": "partially_refunded",
        "refunded_amount": "30.00",
        "refund": "30.00",
    }
    assert entry.note == "卡密无法使用"


def test_secrets_never_enter_the_log():
    order = delivered_card_order(quantity=1)
    code = CardCode.objects.get(pk=order.delivery["code_ids"][0])
    assert audit.snapshot(code)["secret"] == audit.HIDDEN_VALUE
    assert audit.snapshot(code)["code_hash"] == audit.HIDDEN_VALUE


def test_an_unknown_action_code_is_refused():
    with pytest.raises(audit.UnknownAuditAction):
        audit.record(actor=None, action="order.teleport")


@pytest.mark.parametrize("role", ["operations", "support", "marketing", "finance"])
def test_the_audit_log_is_refused_to_every_role_but_the_super_admin(
    client, role_user, role
):
    client.force_login(role_user(role))
    response = client.get(reverse("audit_log"))
    assert response.status_code == 403


def test_the_audit_log_is_refused_to_a_buyer_and_a_visitor(client):
    response = client.get(reverse("audit_log"))
    assert response.status_code == 302
    assert reverse("admin:login") in response["Location"]
    client.force_login(make_buyer())
    response = client.get(reverse("audit_log"))
    assert response.status_code == 302


def test_the_super_admin_reads_reveals_and_filters_the_log_in_chinese(
    superadmin_client, role_user
):
    operator = role_user("operations", "ops-1")
    order = delivered_card_order(quantity=1)
    code = CardCode.objects.get(pk=order.delivery["code_ids"][0])
    reveal = audit.record(
        actor=operator, action="code.reveal", obj=code, ip="192.0.2.4", note="核对"
    )
    audit.record(actor=operator, action="contact.view", obj=order, ip="192.0.2.4")
    audit.record(actor=None, action="order.cancel", obj=order)

    with translation.override("zh-hans"):
        page = superadmin_client.get(reverse("audit_log"))
        assert page.status_code == 200
        text = page.content.decode()
        assert "卡密已查看" in text
        assert "完整查看联系方式" in text
        assert "ops-1" in text and "192.0.2.4" in text
        start = text.index(">", text.index('data-testid="page-audit-log"')) + 1
        page_text = " ".join(visible_text(text[start : text.index("</ol>", start)]))
        for data in ("ops-1", "boss", str(code)):  # usernames, a code's hint
            page_text = page_text.replace(data, "")
        english = english_words(page_text)
        assert english == set(), english

        only_reveals = superadmin_client.get(
            reverse("audit_log"),
            {"action": "code.reveal", "actor": str(operator.pk)},
        )
    entries = only_reveals.context["entries"]
    assert [entry["id"] for entry in entries] == [reveal.pk]


def test_the_log_pages_by_id_without_counting(superadmin_client):
    for _ in range(55):
        audit.record(actor=None, action="order.cancel", note="x")
    first = superadmin_client.get(reverse("audit_log"))
    assert len(first.context["entries"]) == 50
    older = first.context["older_link"]
    assert older
    second = superadmin_client.get(reverse("audit_log") + older)
    assert len(second.context["entries"]) == 5
    assert not second.context["older_link"]
