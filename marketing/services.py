"""Every write of segments and strategies.

The nightly work is set-based SQL: RFM quintiles with NTILE window functions
(PostgreSQL and SQLite both have them), and each segment's members with one
INSERT … SELECT over the rule's queryset (marketing.segments). Strategies run at
most once a day: the run row's unique (strategy, day) makes a repeat a no-op,
and what a run does is one statement per action over the buyers it logged.
"""

from __future__ import annotations

from datetime import date, datetime, timedelta

from django.db import IntegrityError, connection, models, transaction
from django.db.models import F
from django.utils import timezone
from django.utils.translation import gettext as _

from kameng.exceptions import DomainError
from kameng.migrating import is_last_post_migrate
from kameng.modules import is_enabled
from marketing.hooks import coupon_issuer
from marketing.models import (
    CategoryPurchase,
    PrioritySupport,
    PromotedProduct,
    RfmScore,
    Segment,
    SegmentMember,
    Strategy,
    StrategyRun,
    StrategyRunBuyer,
)
from marketing.segments import segment_buyers
from users.models import BuyerStats, User


class SegmentRefused(DomainError):
    code = "marketing_segment_refused"


def table(model: type[models.Model]) -> str:
    return connection.ops.quote_name(model._meta.db_table)


def column(model: type[models.Model], name: str) -> str:
    return connection.ops.quote_name(model._meta.get_field(name).column)


# --- RFM -------------------------------------------------------------------


def rfm_sql() -> str:
    """Quintiles by NTILE(5) in the order of each figure (ties broken by id so a
    run is repeatable), then equal figures share the lowest score among them:
    two buyers with the same spend never get different monetary scores."""
    stats, user = BuyerStats, User
    return f"""
        INSERT INTO {table(RfmScore)} (
            {column(RfmScore, "user")}, {column(RfmScore, "recency")},
            {column(RfmScore, "frequency")}, {column(RfmScore, "monetary")},
            {column(RfmScore, "scored_on")}
        )
        SELECT buyer_id,
               MIN(r) OVER (PARTITION BY last_at),
               MIN(f) OVER (PARTITION BY n),
               MIN(m) OVER (PARTITION BY spent),
               %s
        FROM (
            SELECT s.{column(stats, "user")} AS buyer_id,
                   s.{column(stats, "last_order_at")} AS last_at,
                   s.{column(stats, "order_count")} AS n,
                   s.{column(stats, "total_spent")} AS spent,
                   NTILE(5) OVER (ORDER BY s.{column(stats, "last_order_at")},
                                           s.{column(stats, "user")}) AS r,
                   NTILE(5) OVER (ORDER BY s.{column(stats, "order_count")},
                                           s.{column(stats, "user")}) AS f,
                   NTILE(5) OVER (ORDER BY s.{column(stats, "total_spent")},
                                           s.{column(stats, "user")}) AS m
            FROM {table(stats)} s
            JOIN {table(user)} u ON u.{column(user, "id")} = s.{column(stats, "user")}
            WHERE s.{column(stats, "order_count")} > 0
              AND s.{column(stats, "last_order_at")} IS NOT NULL
              AND u.{column(user, "is_staff")} = %s
              AND u.{column(user, "is_active")} = %s
        ) ranked
        WHERE true
        ON CONFLICT ({column(RfmScore, "user")}) DO UPDATE SET
            {column(RfmScore, "recency")} = excluded.{column(RfmScore, "recency")},
            {column(RfmScore, "frequency")} = excluded.{column(RfmScore, "frequency")},
            {column(RfmScore, "monetary")} = excluded.{column(RfmScore, "monetary")},
            {column(RfmScore, "scored_on")} = excluded.{column(RfmScore, "scored_on")}
        WHERE {table(RfmScore)}.{column(RfmScore, "recency")}
                <> excluded.{column(RfmScore, "recency")}
           OR {table(RfmScore)}.{column(RfmScore, "frequency")}
                <> excluded.{column(RfmScore, "frequency")}
           OR {table(RfmScore)}.{column(RfmScore, "monetary")}
                <> excluded.{column(RfmScore, "monetary")}
    """


def unscored_sql() -> str:
    """Scores of buyers who no longer qualify (no paid order left, staff,
    deactivated): deleted."""
    stats, user, rfm = BuyerStats, User, RfmScore
    return f"""
        DELETE FROM {table(rfm)} WHERE NOT EXISTS (
            SELECT 1 FROM {table(stats)} s
            JOIN {table(user)} u ON u.{column(user, "id")} = s.{column(stats, "user")}
            WHERE s.{column(stats, "user")} = {table(rfm)}.{column(rfm, "user")}
              AND s.{column(stats, "order_count")} > 0
              AND s.{column(stats, "last_order_at")} IS NOT NULL
              AND u.{column(user, "is_staff")} = %s
              AND u.{column(user, "is_active")} = %s
        )
    """


# Memory for the nightly statements' sorts and hashes (PostgreSQL): at a
# million buyers the three window sorts spill to disk with the default 4MB.
NIGHTLY_WORK_MEM = "128MB"


def use_nightly_memory(cursor) -> None:
    """Inside the current transaction only (SET LOCAL); a no-op elsewhere."""
    if connection.vendor == "postgresql":
        cursor.execute(f"SET LOCAL work_mem = '{NIGHTLY_WORK_MEM}'")


@transaction.atomic
def score_rfm(*, today: date | None = None) -> int:
    """Score every buyer who has paid for an order; returns how many are
    scored. Only changed scores are written (a night's churn, not a million
    rows): `scored_on` is the day a buyer's scores last changed."""
    today = today or timezone.localdate()
    with connection.cursor() as cursor:
        use_nightly_memory(cursor)
        cursor.execute(unscored_sql(), [False, True])
        cursor.execute(rfm_sql(), [today, False, True])
    return RfmScore.objects.count()


# --- segments --------------------------------------------------------------

# The built-in segments' rows (their rules are code: marketing.segments). The
# data migration creates them; `ensure_builtin_segments` puts back any a test
# flush or a hand removed, after every migrate.
BUILTIN_SEGMENTS = {
    Segment.Builtin.HIGH_VALUE: ("高价值买家", "消费金额位于前五分之一（M 分 5）"),
    Segment.Builtin.LOW_FREQUENCY: ("低频买家", "买过，但购买次数偏少（F 分 1–2）"),
    Segment.Builtin.WOULD_BE: ("潜在买家", "近期浏览或收藏过商品，但从未下单"),
    Segment.Builtin.DORMANT: ("沉睡买家", "买过，但近期没有再下单"),
    Segment.Builtin.NEW: ("新买家", "最近注册的买家"),
}


def ensure_builtin_segments() -> int:
    """Create the built-in segments that are missing; returns how many."""
    created = 0
    for code, (name, description) in BUILTIN_SEGMENTS.items():
        _segment, made = Segment.objects.get_or_create(
            builtin=code, defaults={"name": name, "description": description}
        )
        created += made
    return created


def ensure_builtin_segments_after_migrate(sender, **kwargs) -> None:
    if is_last_post_migrate(sender):
        ensure_builtin_segments()


@transaction.atomic
def refresh_segment(*, segment: Segment, now: datetime | None = None) -> int:
    """Make a segment's members who its rule finds now: delete those who left,
    insert those who joined (a night's churn is written, not every member)."""
    now = now or timezone.now()
    found = segment_buyers(segment, now=now).order_by().values(buyer_id=F("pk"))
    sql, params = found.query.sql_with_params()
    members = SegmentMember
    seg, user = column(members, "segment"), column(members, "user")
    with connection.cursor() as cursor:
        use_nightly_memory(cursor)
        cursor.execute(
            f"DELETE FROM {table(members)} WHERE {seg} = %s AND NOT EXISTS ("
            f"SELECT 1 FROM ({sql}) found "
            f"WHERE found.buyer_id = {table(members)}.{user})",
            [segment.pk, *params],
        )
        cursor.execute(
            f"INSERT INTO {table(members)} ({seg}, {user}) "
            f"SELECT %s, found.buyer_id FROM ({sql}) found "
            f"WHERE NOT EXISTS (SELECT 1 FROM {table(members)} m "
            f"WHERE m.{seg} = %s AND m.{user} = found.buyer_id)",
            [segment.pk, *params, segment.pk],
        )
    count = SegmentMember.objects.filter(segment=segment).count()
    Segment.objects.filter(pk=segment.pk).update(member_count=count, computed_at=now)
    segment.member_count, segment.computed_at = count, now
    return count


def refresh_segments(*, now: datetime | None = None) -> dict[str, int]:
    """The nightly segmentation: RFM scores, then every segment's members (each
    segment in its own transaction)."""
    now = now or timezone.now()
    result = {"scored": score_rfm(today=timezone.localdate(now))}
    for segment in Segment.objects.order_by("pk"):
        result[segment.builtin or f"segment-{segment.pk}"] = refresh_segment(
            segment=segment, now=now
        )
    return result


@transaction.atomic
def save_segment(
    *, segment: Segment, levels=(), categories=(), actor: User | None = None
) -> Segment:
    """Save an operator's segment (with its level and category filters) and
    count its members at once."""
    if segment.builtin:
        raise SegmentRefused(_("Built-in segments cannot be changed."))
    segment.full_clean()
    if segment.pk is None and actor is not None:
        segment.created_by = actor
    segment.save()
    segment.levels.set(levels)
    segment.categories.set(categories)
    refresh_segment(segment=segment)
    return segment


# --- what orders tell us ---------------------------------------------------


def category_purchase_sql() -> str:
    """One statement (both vendors upsert): the buyer's row of the category
    made with 1 order, or its count moved by one. On every paid order; the
    ORM's update-then-create cost more CPU to build than to run (issue 12)."""
    purchase = CategoryPurchase
    user, category = column(purchase, "user"), column(purchase, "category")
    orders, last = column(purchase, "orders"), column(purchase, "last_bought_at")
    return (
        f"INSERT INTO {table(purchase)} ({user}, {category}, {orders}, {last}) "
        f"VALUES (%s, %s, 1, %s) ON CONFLICT ({user}, {category}) DO UPDATE "
        f"SET {orders} = {table(purchase)}.{orders} + 1, {last} = excluded.{last}"
    )


_CATEGORY_PURCHASE_SQL: dict[str, str] = {}  # per vendor


def record_category_purchase(
    *, user_id: int, category_id: int, at: datetime | None = None
) -> None:
    """Count a paid order of this buyer in this category (order_paid)."""
    at = at or timezone.now()
    sql = _CATEGORY_PURCHASE_SQL.get(connection.vendor)
    if sql is None:
        sql = _CATEGORY_PURCHASE_SQL[connection.vendor] = category_purchase_sql()
    with connection.cursor() as cursor:
        cursor.execute(
            sql, [user_id, category_id, connection.ops.adapt_datetimefield_value(at)]
        )


# --- strategies ------------------------------------------------------------


def action_available(action: str) -> bool:
    """Issuing coupons needs the coupon module: registered and switched on."""
    if action == Strategy.Action.ISSUE_COUPON:
        return coupon_issuer() is not None and is_enabled("coupons")
    return True


def is_due(strategy: Strategy, day: date) -> bool:
    if strategy.schedule == Strategy.Schedule.WEEKLY:
        return day.weekday() == strategy.weekday
    if strategy.schedule == Strategy.Schedule.MONTHLY:
        return day.day == 1
    return True


def _upsert_sql(model, conflict: list[str], columns: list[str], updates: list[str]):
    names = ", ".join(column(model, c) for c in columns)
    keys = ", ".join(column(model, c) for c in conflict)
    sets = ", ".join(
        f"{column(model, c)} = excluded.{column(model, c)}" for c in updates
    )
    return (
        f"INSERT INTO {table(model)} ({names}) {{select}} "
        f"ON CONFLICT ({keys}) DO UPDATE SET {sets}"
    )


def _targets_select(extra: str) -> str:
    return (
        f"SELECT {column(StrategyRunBuyer, 'user')}, {extra} "
        f"FROM {table(StrategyRunBuyer)} WHERE {column(StrategyRunBuyer, 'run')} = %s"
    )


def _grant_priority(*, run: StrategyRun, strategy: Strategy, until: date) -> None:
    sql = _upsert_sql(
        PrioritySupport,
        ["user"],
        ["user", "strategy", "granted_on", "expires_on"],
        ["strategy", "granted_on", "expires_on"],
    ).format(select=_targets_select("%s, %s, %s"))
    with connection.cursor() as cursor:
        cursor.execute(sql, [strategy.pk, run.run_on, until, run.pk])


def _promote(*, run: StrategyRun, strategy: Strategy, until: date) -> None:
    sql = _upsert_sql(
        PromotedProduct,
        ["user", "product"],
        ["user", "product", "strategy", "promoted_on", "expires_on"],
        ["strategy", "promoted_on", "expires_on"],
    ).format(select=_targets_select("%s, %s, %s, %s"))
    with connection.cursor() as cursor:
        for product_id in strategy.products.values_list("pk", flat=True):
            cursor.execute(sql, [product_id, strategy.pk, run.run_on, until, run.pk])


@transaction.atomic
def run_strategy(
    *, strategy: Strategy, day: date | None = None, actor: User | None = None
) -> StrategyRun | None:
    """Run a strategy for `day` (today): log its segment's members as the
    buyers acted on, then act on them in one statement per action. Returns
    None when it already ran that day (the unique run row says so)."""
    day = day or timezone.localdate()
    try:
        with transaction.atomic():
            run = StrategyRun.objects.create(
                strategy=strategy,
                run_on=day,
                outcome=StrategyRun.Outcome.DONE,
                actor=actor,
                started_at=timezone.now(),
            )
    except IntegrityError:
        return None
    if not action_available(strategy.action):
        run.outcome = StrategyRun.Outcome.UNAVAILABLE
        run.finished_at = timezone.now()
        run.save(update_fields=["outcome", "finished_at"])
        return run
    targets, members = StrategyRunBuyer, SegmentMember
    with connection.cursor() as cursor:
        cursor.execute(
            f"INSERT INTO {table(targets)} "
            f"({column(targets, 'run')}, {column(targets, 'user')}) "
            f"SELECT %s, {column(members, 'user')} FROM {table(members)} "
            f"WHERE {column(members, 'segment')} = %s",
            [run.pk, strategy.segment_id],
        )
        run.buyers = cursor.rowcount
    until = day + timedelta(days=strategy.lasts_days)
    if strategy.action == Strategy.Action.PRIORITY_SUPPORT:
        _grant_priority(run=run, strategy=strategy, until=until)
    elif strategy.action == Strategy.Action.RECOMMEND:
        _promote(run=run, strategy=strategy, until=until)
    elif strategy.action == Strategy.Action.ISSUE_COUPON:
        coupon_issuer()(
            template_id=strategy.coupon_template_id,
            user_ids=StrategyRunBuyer.objects.filter(run=run).values("user_id"),
        )
    run.finished_at = timezone.now()
    run.save(update_fields=["buyers", "finished_at"])
    return run


def run_due_strategies(*, day: date | None = None) -> dict[str, int]:
    """The daily pass: every active strategy due today runs (once)."""
    day = day or timezone.localdate()
    result = {"ran": 0, "skipped": 0}
    for strategy in Strategy.objects.filter(active=True).order_by("pk"):
        if not is_due(strategy, day):
            continue
        ran = run_strategy(strategy=strategy, day=day)
        result["ran" if ran is not None else "skipped"] += 1
    return result
