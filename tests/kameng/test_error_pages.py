"""403 and 404 are pages people can read: Chinese, in the back office's layout under
/admin/ (naming the missing permission), in the shop's elsewhere; a refused
permission is logged as one line, not a traceback."""

import logging
import sys

import pytest
from django.core.exceptions import PermissionDenied

from kameng.errors import permission_denied
from kameng.permission_denied import PermissionDeniedOneLine

pytestmark = pytest.mark.django_db


def test_a_refused_model_page_names_the_missing_permission(client, role_user):
    client.force_login(role_user("support"))
    response = client.get("/admin/catalog/sku/add/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "没有权限" in body
    assert "可添加SKU" in body  # catalog.add_sku, in words
    assert 'id="nav-sidebar"' in body or "sidebar" in body  # the back office layout
    assert "Forbidden" not in body


def test_a_refused_custom_page_names_its_permission(client, role_user):
    client.force_login(role_user("marketing"))
    response = client.get("/admin/orders/manual-queue/")
    body = response.content.decode()
    assert response.status_code == 403
    assert "没有权限" in body
    assert 'data-testid="missing-permissions"' in body
    assert "可为人工发货订单发货" in body  # orders.deliver_order


def test_an_unknown_back_office_address_is_a_chinese_404(client, role_user):
    client.force_login(role_user("support"))
    response = client.get("/admin/catalog/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body
    assert "sidebar" in body
    assert "Not Found" not in body


def test_a_shop_404_keeps_the_shop_layout(client):
    response = client.get("/shop/no-such-page/")
    body = response.content.decode()
    assert response.status_code == 404
    assert "页面不存在" in body
    assert "返回商城" in body  # the shop's own way back
    assert "sidebar" not in body


def test_a_404_under_admin_for_a_buyer_shows_no_back_office(client):
    """Only staff get the back office's layout; a guest's /admin/ miss is the
    admin's login redirect or the shop's page, never the sidebar."""
    response = client.get("/admin/orders/manual-queue/nope/")
    assert response.status_code in (302, 404)
    assert "sidebar" not in response.content.decode()


def test_a_refused_permission_is_logged_as_one_line(client, role_user, caplog):
    client.force_login(role_user("support"))
    with caplog.at_level(logging.WARNING, logger="django.request"):
        client.get("/admin/catalog/sku/add/")
    records = [r for r in caplog.records if r.name == "django.request"]
    assert len(records) == 1
    record = records[0]
    assert record.exc_info is None and not record.exc_text
    line = record.getMessage()
    assert "\n" not in line
    assert "/admin/catalog/sku/add/" in line
    assert "user=support-staff" in line
    assert "missing=catalog.add_sku" in line


def test_other_request_errors_keep_their_traceback():
    record = logging.LogRecord(
        "django.request", logging.ERROR, __file__, 1, "boom", (), None
    )
    try:
        raise ValueError("boom")
    except ValueError:
        record.exc_info = sys.exc_info()
    assert PermissionDeniedOneLine().filter(record) is True
    assert record.exc_info is not None


def test_a_services_refusal_is_shown_as_it_was_said(rf, role_user):
    request = rf.get("/admin/catalog/codes/1/reveal/")
    request.user = role_user("support")
    response = permission_denied(request, PermissionDenied("您无权查看卡密。"))
    body = response.content.decode()
    assert response.status_code == 403
    assert "您无权查看卡密。" in body and "没有权限" in body
