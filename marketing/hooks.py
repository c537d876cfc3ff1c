"""Hooks that later marketing modules fill.

Coupons are not built yet: a strategy whose action is “issue a coupon” is
listed as unavailable (and its runs record that) until the coupon module
registers an issuer here:

    register_coupon_issuer(issue_to_buyers)
    # issue_to_buyers(*, template_id: int, user_ids: QuerySet[int]) -> int issued
"""

from __future__ import annotations

from collections.abc import Callable

CouponIssuer = Callable[..., int]

coupon_issuers: list[CouponIssuer] = []


def register_coupon_issuer(issuer: CouponIssuer) -> None:
    coupon_issuers[:] = [issuer]


def coupon_issuer() -> CouponIssuer | None:
    return coupon_issuers[0] if coupon_issuers else None
