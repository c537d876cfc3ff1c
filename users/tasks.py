"""Thin periodic tasks of users (entries in kameng.beat.SCHEDULE)."""

from celery import shared_task

from users.levels import review_levels
from users.tracking import roll_up_behaviour
from users.wallets import check_ledgers


@shared_task(name="users.review_member_levels")
def review_member_levels() -> dict[str, int]:
    return review_levels()


@shared_task(name="users.roll_up_behaviour")
def roll_up_tracking() -> dict[str, int]:
    return roll_up_behaviour()


@shared_task(name="users.check_ledgers")
def check_ledgers_task() -> dict[str, int]:
    result = check_ledgers()
    return {
        "mismatches": len(result.mismatches),
        "opened": result.opened,
        "resolved": result.resolved,
        "mailed": result.mailed,
    }
