"""Issuing coupons: set-based (one INSERT … SELECT), once per buyer and issue,
within the template's total quantity and per-buyer limit. Bulk jobs, redeem
codes, campaigns and strategies all come through `issue_coupons`."""

from __future__ import annotations

import re
from collections.abc import Iterable
from datetime import datetime, timedelta

from django.contrib.auth import get_user_model
from django.db import connection, transaction
from django.db.models import F, Q, QuerySet
from django.utils import timezone
from django.utils.translation import gettext

from kameng.exceptions import DomainError
from kameng.fields import blind_index
from marketing.models import Coupon, CouponTemplate

User = get_user_model()
# A list of ids goes to the database this many at a time (SQLite's limit on
# parameters); a queryset goes in one statement.
ID_CHUNK = 5000


class CouponError(DomainError):
    code = "marketing_coupon_error"


class NamedBuyersInvalid(DomainError):
    code = "marketing_coupon_named_buyers_invalid"


def validity(template: CouponTemplate, at: datetime) -> tuple[datetime, datetime]:
    """(valid_from, valid_until) of a coupon issued from `template` at `at`."""
    if template.valid_days:
        return at, at + timedelta(days=template.valid_days)
    return template.valid_from, template.valid_until


def table(model) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model, name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


def id_batches(user_ids) -> Iterable[QuerySet]:
    """Buyers to issue to, as querysets of active users' ids (one column)."""
    active = User._base_manager.filter(is_active=True)
    if isinstance(user_ids, QuerySet):
        yield active.filter(pk__in=user_ids).values("id")
        return
    ids = sorted({int(user_id) for user_id in user_ids})
    for start in range(0, len(ids), ID_CHUNK):
        yield active.filter(pk__in=ids[start : start + ID_CHUNK]).values("id")


def insert_sql(*, limited: bool) -> str:
    """INSERT … SELECT of one coupon per buyer of the inner query who has no
    coupon of this issue yet and holds fewer than the per-buyer limit."""
    coupon = Coupon
    fields = [
        "template",
        "owner",
        "status",
        "valid_from",
        "valid_until",
        "issued_at",
        "source",
        "issue_key",
    ]
    names = ", ".join(column(coupon, name) for name in fields)
    owner, tpl, key = (
        column(coupon, "owner"),
        column(coupon, "template"),
        column(coupon, "issue_key"),
    )
    pk = connection.ops.quote_name("id")  # the inner query's one column
    sql = (
        f"INSERT INTO {table(coupon)} ({names}) "
        f"SELECT %s, buyer.{pk}, %s, %s, %s, %s, %s, %s FROM ({{inner}}) buyer "
        f"WHERE NOT EXISTS (SELECT 1 FROM {table(coupon)} c WHERE c.{tpl} = %s "
        f"AND c.{owner} = buyer.{pk} AND c.{key} = %s) "
        f"AND (SELECT COUNT(*) FROM {table(coupon)} c WHERE c.{tpl} = %s "
        f"AND c.{owner} = buyer.{pk}) < %s"
    )
    if limited:
        sql += f" ORDER BY buyer.{pk} LIMIT %s"
    return sql + " ON CONFLICT DO NOTHING"


@transaction.atomic
def issue_coupons(
    *,
    template: CouponTemplate,
    user_ids,
    source: str,
    issue_key: str,
    actor=None,
    at: datetime | None = None,
) -> int:
    """Issue one coupon of `template` to each buyer of `user_ids` (a queryset of
    user ids, or a list) and return how many were issued.

    Set-based: one INSERT … SELECT (per 5,000 ids of a list). The template row
    is locked, so concurrent issues of one template count its total quantity
    and each buyer's limit one after the other. `issue_key` names the issue
    ("segment job 17", "winback 2026-11"): issued again, it gives no buyer a
    second coupon (unique template + owner + issue_key). Inactive or deleted
    buyers are skipped; when the total quantity runs out, the lowest user ids
    get the rest."""
    if source not in Coupon.Source.values:
        raise CouponError(
            gettext("Unknown coupon source %(source)s.") % {"source": source}
        )
    issue_key = (issue_key or "").strip()
    if not issue_key or len(issue_key) > 80:
        raise CouponError(gettext("An issue needs a key of 1 to 80 characters."))
    template = CouponTemplate.objects.select_for_update().get(pk=template.pk)
    if not template.active:
        raise CouponError(
            gettext("The coupon template %(name)s is switched off.")
            % {"name": template.name}
        )
    at = at or timezone.now()
    valid_from, valid_until = validity(template, at)
    if valid_until <= at:
        raise CouponError(
            gettext("The coupon template %(name)s has expired.")
            % {"name": template.name}
        )
    left = None
    if template.total_quantity is not None:
        left = template.total_quantity - template.issued_count
    adapt = connection.ops.adapt_datetimefield_value
    issued = 0
    with connection.cursor() as cursor:
        for batch in id_batches(user_ids):
            if left is not None and left <= 0:
                break
            inner, inner_params = batch.query.sql_with_params()
            head = [
                template.pk,
                Coupon.Status.AVAILABLE,
                adapt(valid_from),
                adapt(valid_until),
                adapt(at),
                source,
                issue_key,
            ]
            tail = [template.pk, issue_key, template.pk, template.per_buyer_limit]
            if left is not None:
                tail.append(left)
            sql = insert_sql(limited=left is not None).replace("{inner}", inner)
            cursor.execute(sql, [*head, *inner_params, *tail])
            count = max(cursor.rowcount, 0)
            issued += count
            if left is not None:
                left -= count
    if issued:
        CouponTemplate.objects.filter(pk=template.pk).update(
            issued_count=F("issued_count") + issued
        )
    return issued


def issue_for_strategy(*, template_id: int | None, user_ids) -> int:
    """The strategies' coupon issuer (marketing.hooks): a strategy runs at most
    once a day, so a day's run gives each buyer at most one coupon of it. A
    template switched off, expired or gone issues nothing (the run is kept)."""
    template = CouponTemplate.objects.filter(pk=template_id, active=True).first()
    if template is None:
        return 0
    today = timezone.localdate().isoformat()
    try:
        with transaction.atomic():
            return issue_coupons(
                template=template,
                user_ids=user_ids,
                source=Coupon.Source.STRATEGY,
                issue_key=f"strategy {today}",
            )
    except CouponError:
        return 0


NAME_SPLIT = re.compile(r"[\s,，;；]+")


def find_named_buyers(*, text: str) -> list[int]:
    """User ids of the buyers named in `text`, one username or phone per line.
    Raises NamedBuyersInvalid naming every bad line; a name given twice counts
    once."""
    wanted: list[tuple[int, str]] = []
    for number, line in enumerate(text.splitlines(), start=1):
        for name in NAME_SPLIT.split(line.strip()):
            if name:
                wanted.append((number, name))
    if not wanted:
        raise NamedBuyersInvalid(gettext("Enter at least one username or phone."))
    if len(wanted) > 5000:
        raise NamedBuyersInvalid(
            gettext("At most 5,000 buyers at a time: issue to a segment instead.")
        )
    names = {name for _number, name in wanted}
    # Phones are encrypted: they match through their blind index (kameng.fields).
    digests = {name: blind_index(name) for name in names}
    found: dict[str, set[int]] = {}
    by_phone: dict[str, set[int]] = {}
    rows = User._base_manager.filter(
        Q(username__in=names)
        | Q(phone_index__in=sorted({d for d in digests.values() if d})),
        is_active=True,
        is_staff=False,
    ).values_list("pk", "username", "phone_index")
    for pk, username, phone_index in rows:
        found.setdefault(username, set()).add(pk)
        if phone_index:
            by_phone.setdefault(phone_index, set()).add(pk)
    errors, ids = [], []
    for number, name in wanted:
        matches = found.get(name, set()) | by_phone.get(digests[name], set())
        if not matches:
            errors.append(
                gettext("Line %(line)s: no buyer with username or phone “%(name)s”.")
                % {"line": number, "name": name}
            )
        elif len(matches) > 1:
            errors.append(
                gettext(
                    "Line %(line)s: several buyers have the phone “%(name)s”: "
                    "use their usernames."
                )
                % {"line": number, "name": name}
            )
        else:
            ids.append(next(iter(matches)))
    if errors:
        raise NamedBuyersInvalid(" ".join(errors), errors=errors)
    return sorted(set(ids))


def issue_to_named_buyers(
    *, template: CouponTemplate, text: str, issue_key: str, actor=None
) -> int:
    """Issue to the buyers named one per line (username or phone). A bad line
    issues nothing; the same form posted twice (same key) issues once."""
    user_ids = find_named_buyers(text=text)
    return issue_coupons(
        template=template,
        user_ids=user_ids,
        source=Coupon.Source.MANUAL,
        issue_key=issue_key,
        actor=actor,
    )
