"""Rate limits (django-ratelimit), declared in one map and keyed on the client.

Each limited URL names a group; settings.RATE_LIMITS gives each group its rate
("10/10m": ten requests per ten minutes). Requests are counted per client
address (kameng.client_address: X-Forwarded-For only from a trusted proxy), in
the shared cache, by RateLimitMiddleware before the view runs. Past the limit a
person gets a 429 page in Chinese; a payment gateway or supplier calling back
gets a plain-text 429 and retries later, as they do after any error.

To limit a new URL, add one line to LIMITED_URLS.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass

from django.conf import settings
from django.http import HttpResponse
from django.utils.translation import gettext
from django_ratelimit import ALL
from django_ratelimit.core import is_ratelimited
from redis.exceptions import RedisError

from kameng.client_address import client_address
from kameng.errors import render_error

log = logging.getLogger(__name__)

POST = ("POST",)


@dataclass(frozen=True)
class Limit:
    group: str  # a key of settings.RATE_LIMITS
    methods: tuple[str | None, ...] = POST  # ALL: every method
    machine: bool = False  # called by a gateway or supplier, not a person


# URL name (as kameng.access names it) → the limit it is counted against.
LIMITED_URLS: dict[str, Limit] = {
    "admin:login": Limit("login"),
    "shop:login": Limit("login"),
    "two_factor_verify": Limit("two_factor"),
    "two_factor_setup": Limit("two_factor"),
    "shop:lookup": Limit("lookup"),
    "shop:signup": Limit("signup"),
    "shop:product": Limit("checkout"),  # the buy form posts to the product page
    "shop:pay_order": Limit("checkout"),
    "shop:pay_topup": Limit("checkout"),
    "shop:wallet": Limit("checkout"),  # a top-up
    "shop:redeem_coupon": Limit("redeem"),  # guessing redeem codes
    "shop:voucher_redeem": Limit("lookup"),  # guessing codes: few tries
    "payments:notify": Limit("callback", methods=ALL, machine=True),
    "supplier-callback": Limit("callback", methods=ALL, machine=True),
}


def client_key(group: str, request) -> str:
    return client_address(request)


def rate_for(group: str, request) -> str:
    return settings.RATE_LIMITS[group]


def limit_for(request) -> Limit | None:
    match = request.resolver_match
    if match is None:
        return None
    return LIMITED_URLS.get(match.view_name) or LIMITED_URLS.get(match.route)


def over_limit(request, limit: Limit) -> bool:
    """Count this request; True once the client is past the group's rate. A
    cache that cannot be reached counts nothing (the login lockout, in the
    database, still holds)."""
    try:
        return is_ratelimited(
            request,
            group=limit.group,
            key=client_key,
            rate=rate_for,
            method=limit.methods,
            increment=True,
        )
    except (RedisError, OSError):
        log.warning("rate limit %s not counted: cache unavailable", limit.group)
        return False


def too_many_requests(request, limit: Limit):
    if limit.machine:
        return HttpResponse(
            "too many requests", status=429, content_type="text/plain; charset=utf-8"
        )
    return render_error(
        request,
        status=429,
        title=gettext("Too many requests"),
        message=gettext(
            "You have tried this too many times from your address. Wait a few "
            "minutes and try again."
        ),
    )


class RateLimitMiddleware:
    """Counts requests to the URLs in LIMITED_URLS; past the limit, a 429."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        return self.get_response(request)

    def process_view(self, request, view_func, view_args, view_kwargs):
        limit = limit_for(request)
        if limit is not None and over_limit(request, limit):
            return too_many_requests(request, limit)
        return None
