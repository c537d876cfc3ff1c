"""Paid orders whose announcement (growth, points, rewards) waits in the outbox
are visible: /healthz gives staff and monitoring the figures, and the back
office shows staff a red banner once the oldest has waited too long. A load
balancer reading /healthz never takes the shop out because the worker is behind."""

from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import DatabaseError
from django.test import Client
from django.utils import timezone

from kameng.health import BACKLOGS
from orders import paid_outbox
from orders.models import PaidAnnouncement

pytestmark = pytest.mark.django_db

BANNER = 'data-testid="backlog-banner"'


def waiting(*, minutes_ago: float, order_id: int = 1) -> PaidAnnouncement:
    return PaidAnnouncement.objects.create(
        order_id=order_id,
        buyer_id=None,
        amount=Decimal("9.90"),
        created_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def test_staff_read_how_many_wait_and_for_how_long(role_user):
    waiting(minutes_ago=3, order_id=1)
    waiting(minutes_ago=1, order_id=2)
    client = Client()
    client.force_login(role_user("support"))
    figures = client.get("/healthz").json()["backlogs"]["paid_announcements"]
    assert figures["waiting"] == 2
    assert figures["more"] is False
    assert 180 <= figures["oldest_age_s"] < 240
    assert figures["stale"] is False


def test_an_empty_outbox_reads_nothing_waiting(role_user):
    client = Client()
    client.force_login(role_user("support"))
    figures = client.get("/healthz").json()["backlogs"]["paid_announcements"]
    assert figures == {
        "waiting": 0,
        "more": False,
        "oldest_age_s": None,
        "stale": False,
    }


def test_a_stale_outbox_does_not_make_the_shop_unhealthy(settings):
    settings.PAID_OUTBOX_STALE_AFTER_SECONDS = 60
    waiting(minutes_ago=30)
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}  # anonymous: no figures either


def test_the_count_stops_at_its_cap(monkeypatch):
    monkeypatch.setattr(paid_outbox, "BACKLOG_COUNT_CAP", 2)
    for n in range(3):
        waiting(minutes_ago=1, order_id=n + 1)
    backlog = paid_outbox.backlog()
    assert (backlog.waiting, backlog.more) == (2, True)
    assert backlog.alert.startswith("有 2+ 笔已付款订单")


def test_staff_see_a_banner_once_the_oldest_waited_too_long(role_user, settings):
    settings.PAID_OUTBOX_STALE_AFTER_SECONDS = 15 * 60
    waiting(minutes_ago=20, order_id=1)
    waiting(minutes_ago=1, order_id=2)
    client = Client()
    client.force_login(role_user("operations"))
    page = client.get("/admin/").content.decode()
    assert BANNER in page
    assert "有 2 笔已付款订单的后续处理" in page
    assert "最早的一笔已等待 20 分钟" in page


def test_no_banner_while_the_outbox_keeps_up(role_user, settings):
    settings.PAID_OUTBOX_STALE_AFTER_SECONDS = 15 * 60
    waiting(minutes_ago=2)
    client = Client()
    client.force_login(role_user("operations"))
    assert BANNER not in client.get("/admin/").content.decode()


def test_an_unreadable_outbox_leaves_healthz_and_the_back_office_up(
    role_user, monkeypatch
):
    def unreadable():
        raise DatabaseError("relation orders_paidannouncement does not exist")

    monkeypatch.setitem(BACKLOGS, "paid_announcements", unreadable)
    client = Client()
    client.force_login(role_user("operations"))
    response = client.get("/healthz")
    assert response.status_code == 200
    assert response.json()["backlogs"]["paid_announcements"] == {
        "error": "could not be read"
    }
    page = client.get("/admin/")
    assert page.status_code == 200
    assert BANNER not in page.content.decode()
