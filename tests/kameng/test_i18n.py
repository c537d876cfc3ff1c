"""The back office speaks Chinese first; English only when a person picks it."""

from datetime import UTC, datetime

import pytest
from django.template import Context, Template


@pytest.mark.django_db
def test_login_page_is_chinese_even_for_an_english_browser(client):
    response = client.get("/admin/login/", HTTP_ACCEPT_LANGUAGE="en-US,en;q=0.9")
    body = response.content.decode()
    assert response.status_code == 200
    assert '<html lang="zh-hans"' in body
    assert "用户名" in body and "密码" in body
    assert response["Content-Language"] == "zh-hans"


@pytest.mark.django_db
def test_english_is_one_switch_away(client):
    response = client.post(
        "/i18n/setlang/", {"language": "en", "next": "/admin/login/"}
    )
    assert response.status_code == 302
    body = client.get("/admin/login/").content.decode()
    assert '<html lang="en"' in body
    assert "Username" in body


@pytest.mark.django_db
def test_our_own_strings_are_translated(client, role_user):
    client.force_login(role_user("superadmin"))
    body = client.get("/admin/").content.decode()
    assert "按角色统计员工" in body  # "Staff by role"
    assert "商品目录" in body  # the Catalog app


def test_times_show_in_shanghai_time():
    """Stored in UTC, shown to staff as Beijing time (UTC+8)."""
    midnight_utc = datetime(2026, 1, 1, 0, 0, tzinfo=UTC)
    shown = Template("{{ moment|date:'Y-m-d H:i' }}").render(
        Context({"moment": midnight_utc})
    )
    assert shown == "2026-01-01 08:00"
