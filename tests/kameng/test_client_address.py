"""kameng.client_address: X-Forwarded-For believed only from trusted proxies."""

from __future__ import annotations

import pytest
from django.test import Client, RequestFactory

from kameng.client_address import client_address, client_ip
from users.models import LoginEvent, User

PROXIES = ["10.0.0.5", "10.1.0.0/16"]


def request_from(remote: str, forwarded: str | None = None):
    extra = {"REMOTE_ADDR": remote}
    if forwarded is not None:
        extra["HTTP_X_FORWARDED_FOR"] = forwarded
    return RequestFactory().get("/", **extra)


@pytest.fixture(autouse=True)
def _proxies(settings):
    settings.TRUSTED_PROXIES = PROXIES


@pytest.mark.parametrize(
    ("remote", "forwarded", "client"),
    [
        # No proxy: the header is the client's own word.
        ("198.51.100.7", "203.0.113.9", "198.51.100.7"),
        ("198.51.100.7", None, "198.51.100.7"),
        # One trusted proxy: the entry it appended.
        ("10.0.0.5", "203.0.113.9", "203.0.113.9"),
        # A forged entry to the left of the proxy's is ignored.
        ("10.0.0.5", "1.1.1.1, 203.0.113.9", "203.0.113.9"),
        # Two trusted proxies in a row (a network entry): read past both.
        ("10.0.0.5", "203.0.113.9, 10.1.4.4", "203.0.113.9"),
        # The proxy sent no header: the proxy is all we know.
        ("10.0.0.5", None, "10.0.0.5"),
        # Garbage where the proxy's entry should be: stop at the proxy.
        ("10.0.0.5", "203.0.113.9, not-an-ip", "10.0.0.5"),
        ("10.0.0.5", "", "10.0.0.5"),
        ("10.0.0.5", " 2001:db8::1 ", "2001:db8::1"),
        # Every entry a trusted proxy: the leftmost of them.
        ("10.0.0.5", "10.1.0.9", "10.1.0.9"),
    ],
)
def test_the_client_is_the_first_untrusted_hop_from_the_right(
    remote, forwarded, client
):
    assert client_address(request_from(remote, forwarded)) == client


def test_no_trusted_proxy_means_remote_addr_always(settings):
    settings.TRUSTED_PROXIES = []
    assert client_address(request_from("10.0.0.5", "203.0.113.9")) == "10.0.0.5"


@pytest.mark.parametrize("remote", ["", "garbage"])
def test_a_request_without_a_valid_address(remote):
    request = request_from(remote)
    assert client_ip(request) is None
    assert client_address(request) == "unknown"


@pytest.mark.django_db
def test_a_login_behind_the_proxy_is_recorded_with_the_buyers_address():
    buyer = User.objects.create_user(username="proxied-buyer", password="pw-135791")
    Client(REMOTE_ADDR="10.0.0.5").post(
        "/shop/login/",
        {"username": buyer.username, "password": "pw-135791"},
        headers={"X-Forwarded-For": "1.1.1.1, 203.0.113.70"},
    )
    assert LoginEvent.objects.get(user=buyer).ip == "203.0.113.70"
