"""/healthz tells anyone up or down; components and errors only staff and
monitoring holding the health token."""

from __future__ import annotations

import pytest
from django.db import DatabaseError
from django.db.backends.utils import CursorWrapper
from django.test import Client

TOKEN = "monitoring-secret-token"


@pytest.fixture
def broken_broker(settings, tmp_path):
    settings.REDIS_URL = ""
    settings.BROKER_DIR = tmp_path / "gone"  # a missing folder: the broker is down
    settings.HEALTHZ_TOKEN = TOKEN


@pytest.mark.django_db
def test_an_anonymous_caller_learns_only_up_or_down(broken_broker):
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert response.json() == {"status": "error"}
    assert "gone" not in response.content.decode()


@pytest.mark.django_db
def test_a_healthy_shop_says_ok_and_nothing_more(settings):
    response = Client().get("/healthz")
    assert response.status_code == 200
    assert response.json() == {"status": "ok"}


@pytest.mark.django_db
def test_a_database_error_text_is_not_shown_to_anyone(monkeypatch):
    def broken(self, sql, params=None):
        raise DatabaseError("could not connect to server db-primary.internal")

    monkeypatch.setattr(CursorWrapper, "execute", broken)
    response = Client().get("/healthz")
    assert response.status_code == 503
    assert "db-primary" not in response.content.decode()


def test_staff_see_each_component(broken_broker, role_user):
    client = Client()
    client.force_login(role_user("support"))
    body = client.get("/healthz").json()
    assert body["broker"]["ok"] is False
    assert "gone" in body["broker"]["error"]


@pytest.mark.django_db
def test_a_buyer_is_told_no_more_than_anyone(broken_broker, django_user_model):
    client = Client()
    client.force_login(django_user_model.objects.create_user("buyer-h", "p-ass-123"))
    assert client.get("/healthz").json() == {"status": "error"}


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("sent", "detailed"), [(TOKEN, True), ("wrong", False), ("", False)]
)
def test_monitoring_with_the_token_sees_each_component(broken_broker, sent, detailed):
    body = Client(headers={"X-Health-Token": sent}).get("/healthz").json()
    assert ("broker" in body) is detailed


@pytest.mark.django_db
def test_an_empty_token_setting_opens_nothing(settings):
    settings.HEALTHZ_TOKEN = ""
    body = Client(headers={"X-Health-Token": ""}).get("/healthz").json()
    assert body == {"status": "ok"}
