"""Rate limits (kameng.ratelimits): each limited URL answers 429 past its rate,
counted per client address: behind a trusted proxy per forwarded client, from
anywhere else per REMOTE_ADDR whatever X-Forwarded-For says."""

from __future__ import annotations

import uuid

import pytest
from django.test import Client

from kameng.access import URL_ACCESS
from kameng.ratelimits import LIMITED_URLS

PROXY = "10.0.0.5"
RATE = 3

# (URL, method, form data) for each limited group; a person's or a machine's.
PEOPLE = {
    "admin-login": ("/admin/login/", {"username": "nobody", "password": "x"}),
    "shop-login": ("/shop/login/", {"username": "nobody", "password": "x"}),
    "lookup": (
        "/shop/lookup/",
        {"order_no": "NOSUCHORDER", "contact": "13800000000", "password": "0000"},
    ),
    "signup": ("/shop/signup/", {"username": "", "password1": "", "password2": ""}),
    "checkout": ("/shop/p/999999/", {"quantity": "1"}),
    "two-factor": ("/admin/me/two-factor/verify/", {"code": "123456"}),
}
MACHINES = {
    "payment-notify": "/pay/sandbox/notify/",
    "supplier-callback": "/supplier-callback/999999/",
}


@pytest.fixture(autouse=True)
def _limits_on(settings):
    settings.RATELIMIT_ENABLE = True
    # A bucket of its own per test: counts in a shared Redis outlive a test.
    settings.RATELIMIT_CACHE_PREFIX = f"rl-test-{uuid.uuid4().hex}:"
    settings.RATE_LIMITS = dict.fromkeys(settings.RATE_LIMITS, f"{RATE}/h")
    settings.TRUSTED_PROXIES = [PROXY]


def post(client, url, data=None, **headers):
    return client.post(url, data or {}, headers=headers)


@pytest.mark.django_db
@pytest.mark.parametrize("name", PEOPLE)
def test_a_person_past_the_limit_gets_a_chinese_429_page(name):
    url, data = PEOPLE[name]
    client = Client(REMOTE_ADDR="198.51.100.20")
    for _ in range(RATE):
        assert post(client, url, data).status_code != 429
    refused = post(client, url, data)
    assert refused.status_code == 429
    body = refused.content.decode()
    assert "请求过于频繁" in body
    assert "<html" in body


@pytest.mark.django_db
@pytest.mark.parametrize("name", MACHINES)
def test_a_callback_past_the_limit_gets_a_plain_429(name):
    client = Client(REMOTE_ADDR="198.51.100.21")
    for _ in range(RATE):
        assert client.post(MACHINES[name]).status_code != 429
    refused = client.post(MACHINES[name])
    assert refused.status_code == 429
    assert refused["Content-Type"].startswith("text/plain")


@pytest.mark.django_db
def test_behind_the_trusted_proxy_each_client_has_its_own_count():
    url, data = PEOPLE["lookup"]
    proxied = Client(REMOTE_ADDR=PROXY)
    for _ in range(RATE):
        post(proxied, url, data, **{"X-Forwarded-For": "203.0.113.61"})
    assert (
        post(proxied, url, data, **{"X-Forwarded-For": "203.0.113.61"}).status_code
        == 429
    )
    # Another buyer behind the same proxy, and the first one's forged prefix.
    assert (
        post(proxied, url, data, **{"X-Forwarded-For": "203.0.113.62"}).status_code
        == 200
    )
    forged = post(proxied, url, data, **{"X-Forwarded-For": "1.1.1.1, 203.0.113.61"})
    assert forged.status_code == 429


@pytest.mark.django_db
def test_an_untrusted_senders_forwarded_for_is_ignored():
    url, data = PEOPLE["shop-login"]
    direct = Client(REMOTE_ADDR="192.0.2.63")
    for number in range(RATE):
        post(direct, url, data, **{"X-Forwarded-For": f"198.51.100.{number}"})
    forged = post(direct, url, data, **{"X-Forwarded-For": "198.51.100.99"})
    assert forged.status_code == 429


@pytest.mark.django_db
def test_opening_a_login_page_is_not_counted():
    client = Client(REMOTE_ADDR="198.51.100.22")
    for _ in range(RATE + 2):
        assert client.get("/shop/login/").status_code == 200


@pytest.mark.django_db
def test_logins_share_one_count_per_address():
    """Spraying passwords across the shop and the back office adds up."""
    client = Client(REMOTE_ADDR="198.51.100.23")
    for number in range(RATE):
        url, data = PEOPLE["shop-login" if number % 2 else "admin-login"]
        post(client, url, data)
    url, data = PEOPLE["admin-login"]
    assert post(client, url, data).status_code == 429


@pytest.mark.django_db
def test_switched_off_nothing_is_limited(settings):
    settings.RATELIMIT_ENABLE = False
    url, data = PEOPLE["lookup"]
    client = Client(REMOTE_ADDR="198.51.100.24")
    for _ in range(RATE + 2):
        assert post(client, url, data).status_code == 200


def test_every_limited_url_exists_and_every_group_has_a_rate(settings):
    assert set(LIMITED_URLS) <= set(URL_ACCESS)
    assert {limit.group for limit in LIMITED_URLS.values()} <= set(settings.RATE_LIMITS)
