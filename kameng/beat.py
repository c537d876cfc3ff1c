"""Periodic work, declared once in code and synced into django-celery-beat.

Operators see (and may pause or retime) these entries in the admin under
"Periodic tasks"; `sync_beat_schedule` creates missing entries and updates the task
name and arguments of existing ones, but keeps an operator's enabled flag and timing.
BEAT_INTERVAL_CAP_SECONDS (the stack tests) shortens the intervals of new entries.
Later issues append their entries to SCHEDULE.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field

from django.conf import settings
from django.db import transaction
from django.utils.translation import gettext_noop


@dataclass(frozen=True)
class Every:
    seconds: int


@dataclass(frozen=True)
class Cron:
    minute: str = "*"
    hour: str = "*"
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"


@dataclass(frozen=True)
class Entry:
    name: str  # shown to operators; the key of the entry
    task: str
    schedule: Every | Cron
    kwargs: dict = field(default_factory=dict)
    # English, stored as is; the admin shows it in the reader's language
    # (gettext), so it is marked for makemessages with gettext_noop.
    description: str = ""


SCHEDULE: list[Entry] = [
    Entry(
        name="kameng: worker heartbeat",
        task="kameng.record_worker_heartbeat",
        schedule=Every(seconds=30),
        description=gettext_noop(
            "Proves a worker and beat are alive; /healthz reads it."
        ),
    ),
    Entry(
        name="catalog: product listing schedule",
        task="catalog.apply_product_schedules",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Lists and unlists products at their list_at / unlist_at."
        ),
    ),
    Entry(
        name="catalog: stock alerts",
        task="catalog.check_stock_alerts",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Opens and resolves stock alerts, pauses and resumes SKUs, "
            "mails new alerts to operations."
        ),
    ),
    Entry(
        name="orders: settle pending gateway payments",
        task="orders.settle_pending_payments",
        schedule=Every(seconds=120),
        description=gettext_noop(
            "Asks the payment gateway about orders still unpaid a few "
            "minutes after the buyer was sent there (a lost notify) and settles them."
        ),
    ),
    Entry(
        name="orders: cancel unpaid orders",
        task="orders.cancel_unpaid_orders",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Cancels orders unpaid after ORDER_PAYMENT_TIMEOUT_MINUTES."
        ),
    ),
    Entry(
        name="orders: top-up sweeper",
        task="orders.sweep_fulfilments",
        schedule=Every(seconds=30),
        description=gettext_noop(
            "Re-enqueues top-ups a lost message left behind and asks "
            "suppliers about orders still processing."
        ),
    ),
    Entry(
        name="orders: paid-order announcements",
        task="orders.drain_paid_announcements",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Announces paid orders a lost wake-up left in the outbox "
            "(growth, points, first-order coupon, referral, category counts)."
        ),
    ),
    Entry(
        name="catalog: card batch sweeper",
        task="catalog.sweep_card_batches",
        schedule=Every(seconds=300),
        description=gettext_noop(
            "Re-enqueues card-code batches a lost message left checking "
            "or queued and discards previews (plaintext uploads) not committed within "
            "a day."
        ),
    ),
    Entry(
        name="catalog: import file sweeper",
        task="catalog.sweep_import_files",
        schedule=Every(seconds=3600),
        description=gettext_noop(
            "Deletes stored import files no live batch refers to: card-code "
            "uploads and error reports left behind, product files never committed."
        ),
    ),
    Entry(
        name="users: member level review",
        task="users.review_member_levels",
        schedule=Cron(minute="30", hour="3"),
        description=gettext_noop(
            "Re-evaluates every buyer's member level from their growth "
            "value: up at once, down after the grace period."
        ),
    ),
    Entry(
        name="orders: gateway refund sweeper",
        task="orders.sweep_gateway_refunds",
        schedule=Every(seconds=600),
        description=gettext_noop(
            "Asks the gateway again about guest refunds it has not "
            "confirmed (a lost message, a failed call)."
        ),
    ),
    Entry(
        name="users: ledger check",
        task="users.check_ledgers",
        schedule=Cron(minute="50", hour="2"),
        description=gettext_noop(
            "Checks that every wallet balance equals the sum of its "
            "ledger; a mismatch opens an alert and mails finance."
        ),
    ),
    Entry(
        name="orders: risk flag recount",
        task="orders.recount_risk_flags",
        schedule=Cron(minute="40", hour="2"),
        description=gettext_noop(
            "Recounts every buyer's refunds and reissues in the risk "
            "window: flags those above the limit, unflags the rest."
        ),
    ),
    Entry(
        name="users: behaviour roll-up",
        task="users.roll_up_behaviour",
        schedule=Cron(minute="45", hour="3"),
        description=gettext_noop(
            "Counts logins, product views and shop searches older than "
            "the retention per day and deletes the raw events."
        ),
    ),
    Entry(
        name="marketing: nightly segments",
        task="marketing.refresh_segments",
        schedule=Cron(minute="15", hour="4"),
        description=gettext_noop(
            "Scores every buyer's RFM quintiles and refreshes the members "
            "of every segment, built-in and custom."
        ),
    ),
    Entry(
        name="marketing: strategies",
        task="marketing.run_strategies",
        schedule=Cron(minute="45", hour="4"),
        description=gettext_noop(
            "Runs every active strategy due today on its segment (once a "
            "day at most) and logs whom it acted on."
        ),
    ),
    Entry(
        name="marketing: automatic coupon campaigns",
        task="marketing.run_coupon_campaigns",
        schedule=Cron(minute="5", hour="5"),
        description=gettext_noop(
            "Issues the birthday gifts, monthly coupons and win-back "
            "coupons of the campaigns switched on (each once per buyer per year, "
            "month or dormant spell)."
        ),
    ),
    Entry(
        name="marketing: coupon issue job sweeper",
        task="marketing.sweep_coupon_issue_jobs",
        schedule=Every(seconds=300),
        description=gettext_noop(
            "Queues again bulk coupon issue jobs a lost message or "
            "worker left behind (a rerun gives nobody a second coupon)."
        ),
    ),
    Entry(
        name="kameng: audit sealer",
        task="kameng.seal_audit",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Hash-chains the new rows of the audit log and of the other "
            "append-only records (admin log, code reveals, price history, order "
            "timelines, wallet ledgers)."
        ),
    ),
    Entry(
        name="kameng: audit verification",
        task="kameng.verify_audit",
        schedule=Cron(minute="15", hour="4"),
        description=gettext_noop(
            "Recomputes the audit seal chain and alerts the super admin "
            "about any edited, deleted or unsealed record."
        ),
    ),
    Entry(
        name="orders: bought-together recommendations",
        task="orders.compute_co_purchases",
        schedule=Cron(minute="30", hour="4"),
        description=gettext_noop(
            "Counts, over paid orders, the buyers who bought each pair of "
            "products, for the shop's bought-together recommendations."
        ),
    ),
    Entry(
        name="analytics: sales rollup refresh",
        task="analytics.refresh_rollups",
        schedule=Every(seconds=120),
        description=gettext_noop(
            "Rebuilds the sales rollup days of orders paid, refunded or "
            "changed since the last run."
        ),
    ),
    Entry(
        name="analytics: sales rollup close",
        task="analytics.close_rollups",
        schedule=Cron(minute="10", hour="2"),
        description=gettext_noop(
            "Rebuilds the last two days' sales rollups whatever changed."
        ),
    ),
    Entry(
        name="analytics: demand forecasts",
        task="analytics.refresh_forecasts",
        schedule=Cron(minute="40", hour="2"),
        description=gettext_noop(
            "Forecasts each SKU's demand for the next 7 and 30 days and "
            "the card codes to import."
        ),
    ),
    Entry(
        name="orders: order export sweeper",
        task="orders.sweep_order_exports",
        schedule=Cron(minute="35"),
        description=gettext_noop(
            "Removes old order workbench Excel exports and fails exports "
            "a lost worker left unfinished."
        ),
    ),
    Entry(
        name="orders: group buy deadlines",
        task="orders.refund_expired_groups",
        schedule=Every(seconds=60),
        description=gettext_noop(
            "Fails group buys not full by their deadline and refunds "
            "every member to their wallet, with the reason on the order page."
        ),
    ),
    Entry(
        name="marketing: points expiry",
        task="marketing.expire_points",
        schedule=Cron(minute="20", hour="0"),
        description=gettext_noop(
            "Expires unspent points past their date and writes the "
            "notices buyers see before their points expire."
        ),
    ),
    Entry(
        name="marketing: points ledger check",
        task="marketing.check_points",
        schedule=Cron(minute="50", hour="3"),
        description=gettext_noop(
            "Checks that every points balance equals the sum of its "
            "entries and of its unspent points."
        ),
    ),
]


@transaction.atomic
def sync_beat_schedule(schedule: list[Entry] | None = None) -> dict[str, int]:
    from django_celery_beat.models import (
        CrontabSchedule,
        IntervalSchedule,
        PeriodicTask,
    )

    counts = {"created": 0, "updated": 0}
    for entry in schedule if schedule is not None else SCHEDULE:
        timing = {}
        if isinstance(entry.schedule, Every):
            seconds = entry.schedule.seconds
            if settings.BEAT_INTERVAL_CAP_SECONDS > 0:
                seconds = min(seconds, settings.BEAT_INTERVAL_CAP_SECONDS)
            timing["interval"], _ = IntervalSchedule.objects.get_or_create(
                every=seconds, period=IntervalSchedule.SECONDS
            )
        else:
            timing["crontab"], _ = CrontabSchedule.objects.get_or_create(
                minute=entry.schedule.minute,
                hour=entry.schedule.hour,
                day_of_week=entry.schedule.day_of_week,
                day_of_month=entry.schedule.day_of_month,
                month_of_year=entry.schedule.month_of_year,
                timezone=settings.CELERY_TIMEZONE,
            )
        wanted = {
            "task": entry.task,
            "kwargs": json.dumps(entry.kwargs),
            "description": entry.description,
        }
        task, created = PeriodicTask.objects.get_or_create(
            name=entry.name, defaults={**wanted, **timing}
        )
        if created:
            counts["created"] += 1
            continue
        changed = [k for k, v in wanted.items() if getattr(task, k) != v]
        if changed:
            for key in changed:
                setattr(task, key, wanted[key])
            task.save(update_fields=changed)
            counts["updated"] += 1
    return counts


def sync_beat_schedule_after_migrate(sender, **kwargs):
    from kameng.migrating import is_last_post_migrate

    if is_last_post_migrate(sender):
        sync_beat_schedule()
