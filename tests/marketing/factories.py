"""Marketing test data: buyers with hand-made figures (through the users
service that sets them), views, favourites and category purchases."""

from datetime import timedelta
from decimal import Decimal
from itertools import count

from django.utils import timezone

from marketing.services import record_category_purchase
from users.levels import BuyerFigures, recompute_buyer_stats
from users.models import User

_seq = count(1)


def buyer_with(
    *,
    spent: str = "0.00",
    orders: int = 0,
    last_order_days_ago: float | None = None,
    joined_days_ago: float = 400,
    last_order_at=None,
    **fields,
) -> User:
    now = timezone.now()
    user = User.objects.create_user(username=f"mk-buyer-{next(_seq)}", **fields)
    User.objects.filter(pk=user.pk).update(
        date_joined=now - timedelta(days=joined_days_ago)
    )
    if orders:
        recompute_buyer_stats(
            figures={
                user.pk: BuyerFigures(
                    total_spent=Decimal(spent),
                    order_count=orders,
                    last_order_at=last_order_at
                    or now - timedelta(days=last_order_days_ago or 0),
                )
            }
        )
    user.refresh_from_db()
    return user


def bought_in(user: User, category) -> None:
    record_category_purchase(user_id=user.pk, category_id=category.pk)
