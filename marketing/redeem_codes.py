"""Redeem codes (兑换码): batches of single-use codes, each worth one coupon.

A code is an optional prefix and CODE_LENGTH characters drawn by `secrets`
from an alphabet without look-alikes (no 0/O, 1/I/L): 31^16 ≈ 2^79 codes, so
guessing one is hopeless, and the shop's redeem page is rate-limited besides.
Codes are stored as issued (marketing exports them again as often as needed);
the unique index keeps two codes from ever being the same.

Redeeming locks the code's row, issues the coupon through the coupon core
(issue key "code:<id>", the template's limits apply) and marks the code used,
all in one transaction: two buyers with the same code at the same moment get
one coupon between them, the second is told the code is used.
"""

from __future__ import annotations

import re
import secrets
from collections.abc import Iterator
from datetime import datetime

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.exceptions import DomainError
from kameng.modules import is_enabled
from kameng.spreadsheet import spreadsheet_row
from marketing.coupons.issue import issue_coupons
from marketing.issuing import MODULE
from marketing.models import Coupon, CouponTemplate, RedeemCode, RedeemCodeBatch
from users.models import User

ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
MAX_BATCH = 50_000
INSERT_CHUNK = 5000
PREFIX_PATTERN = re.compile(r"^[A-Z0-9]{0,6}$")
SEPARATORS = re.compile(r"[\s\-_]+")


class RedeemRefused(DomainError):
    code = "marketing_redeem_refused"


def new_code(prefix: str = "") -> str:
    return prefix + "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def normalise_code(typed: str) -> str:
    """What a buyer typed, as stored: capitals, no spaces or dashes."""
    return SEPARATORS.sub("", typed or "").upper()[:40]


@transaction.atomic
def create_redeem_batch(
    *,
    template: CouponTemplate,
    name: str,
    count: int,
    expires_at: datetime,
    prefix: str = "",
    actor: User | None = None,
) -> RedeemCodeBatch:
    """A batch and its `count` codes, all or nothing."""
    prefix = (prefix or "").strip().upper()
    if not PREFIX_PATTERN.match(prefix):
        raise RedeemRefused(
            _("Prefix: at most 6 capital letters or digits."), field="prefix"
        )
    if not 1 <= count <= MAX_BATCH:
        raise RedeemRefused(
            _("Number of codes: from 1 to %(max)s.") % {"max": MAX_BATCH},
            field="count",
        )
    if expires_at <= timezone.now():
        raise RedeemRefused(
            _("The codes must stay redeemable beyond now."), field="expires_at"
        )
    batch = RedeemCodeBatch(
        template=template,
        name=name,
        prefix=prefix,
        count=count,
        expires_at=expires_at,
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    batch.full_clean()
    batch.save()
    made = 0
    while made < count:  # a collision (never seen at 2^79) only asks for more
        wanted = min(INSERT_CHUNK, count - made)
        RedeemCode.objects.bulk_create(
            [RedeemCode(batch=batch, code=new_code(prefix)) for _ in range(wanted)],
            ignore_conflicts=True,
        )
        made = RedeemCode.objects.filter(batch=batch).count()
    return batch


def redeem_code(*, user: User, typed: str, at: datetime | None = None) -> Coupon:
    """Give `user` the coupon of the code they typed, or refuse with the reason
    (unknown, used, expired, no longer offered, limit reached)."""
    if not is_enabled(MODULE):
        raise RedeemRefused(_("Coupons are not available right now."))
    code = normalise_code(typed)
    if not code:
        raise RedeemRefused(_("Enter the redeem code."), reason="empty")
    at = at or timezone.now()
    with transaction.atomic():
        found = (
            RedeemCode.objects.select_for_update(of=("self",))
            .select_related("batch__template")
            .filter(code=code)
            .first()
        )
        if found is None:
            raise RedeemRefused(
                _("There is no such redeem code: check what you typed."),
                reason="unknown",
            )
        if found.redeemed_at is not None:
            if found.redeemed_by_id == user.pk:
                raise RedeemRefused(
                    _("You have already redeemed this code: see My coupons."),
                    reason="used",
                )
            raise RedeemRefused(
                _("This redeem code has already been used."), reason="used"
            )
        batch = found.batch
        if batch.expires_at <= at:
            raise RedeemRefused(
                _("This redeem code expired on %(day)s.")
                % {"day": timezone.localtime(batch.expires_at).strftime("%Y-%m-%d")},
                reason="expired",
            )
        template = batch.template
        if not template.active:
            raise RedeemRefused(
                _("The coupon of this code is no longer offered."), reason="inactive"
            )
        key = f"code:{found.pk}"
        issued = issue_coupons(
            template=template,
            user_ids=[user.pk],
            source=Coupon.Source.REDEEM_CODE,
            issue_key=key,
            actor=user,
        )
        if not issued:
            raise RedeemRefused(
                _(
                    "This coupon cannot be given to you: you already hold as many "
                    "as one buyer may, or none are left."
                ),
                reason="limit",
            )
        coupon = Coupon.objects.get(template=template, owner=user, issue_key=key)
        found.redeemed_by, found.redeemed_at, found.coupon = user, at, coupon
        found.save(update_fields=["redeemed_by", "redeemed_at", "coupon"])
    return coupon


# --- export ---------------------------------------------------------------

EXPORT_HEADERS = (
    gettext_lazy("Redeem code"),
    gettext_lazy("Coupon template"),
    gettext_lazy("Redeemable until"),
    gettext_lazy("Status"),
    gettext_lazy("Redeemed by"),
    gettext_lazy("Redeemed at"),
)


def export_rows(batch: RedeemCodeBatch) -> Iterator[list]:
    """The batch's codes as spreadsheet rows (header first), streamed."""
    yield spreadsheet_row(str(header) for header in EXPORT_HEADERS)
    until = timezone.localtime(batch.expires_at).strftime("%Y-%m-%d %H:%M")
    template = str(batch.template)
    used, unused = _("Used"), _("Not used")
    rows = (
        RedeemCode.objects.filter(batch=batch)
        .order_by("pk")
        .values_list("code", "redeemed_at", "redeemed_by__username")
    )
    for code, redeemed_at, username in rows.iterator(chunk_size=5000):
        yield spreadsheet_row(
            [
                code,
                template,
                until,
                used if redeemed_at else unused,
                username or "",
                timezone.localtime(redeemed_at).strftime("%Y-%m-%d %H:%M")
                if redeemed_at
                else "",
            ]
        )
