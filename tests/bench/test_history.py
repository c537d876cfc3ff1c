"""generate_history: a synthetic history whose per-buyer figures agree with its
orders, with weekends, 双11 and evenings busier than an ordinary weekday."""

from datetime import date
from decimal import Decimal
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db.models import F, Sum

from bench.history import day_weights, hour_weights
from marketing.models import CategoryPurchase
from orders.models import Order
from users.models import BuyerStats, ProductView, User

pytestmark = pytest.mark.django_db

PAID = ("delivered", "refunded", "partially_refunded")


def cents(amount) -> Decimal:
    return Decimal(amount).quantize(Decimal("0.01"))


def test_generated_history_adds_up():
    out = StringIO()
    call_command("generate_history", buyers=200, orders=3000, days=120, stdout=out)
    assert "generated 200 buyers, 3000 orders" in out.getvalue()
    buyers = User.objects.filter(is_staff=False)
    assert buyers.count() == 200
    orders = Order.objects.filter(status__in=PAID)
    assert orders.count() == 3000
    assert 0 < orders.filter(refunded_amount__gt=0).count() < 300
    figures = BuyerStats.objects.aggregate(
        n=Sum("order_count"), spent=Sum("total_spent")
    )
    assert figures["n"] == 3000
    # SQLite sums decimals as floats: compare to the cent.
    net = orders.aggregate(net=Sum(F("amount") - F("refunded_amount")))["net"]
    assert cents(figures["spent"]) == cents(net)
    assert CategoryPurchase.objects.aggregate(n=Sum("orders"))["n"] == 3000
    assert ProductView.objects.count() == 1500
    assert not buyers.filter(orders__created_at__lt=F("date_joined")).exists()


def test_weights_make_weekends_holidays_and_evenings_busier():
    weights = day_weights(date(2026, 11, 2), 14)  # Monday 2 Nov … Sunday 15 Nov
    monday, saturday, singles_day = weights[0], weights[5], weights[9]
    assert saturday > monday
    assert singles_day > 3 * monday
    hours = hour_weights(20)
    assert hours.index(max(hours)) == 20
    assert hours[4] < hours[12] < hours[20]


@pytest.mark.postgres
def test_postgres_history_is_made_in_the_database_and_its_rollups_add_up():
    """The PostgreSQL path (INSERT … SELECT generate_series): exact row counts,
    unpaid orders among the paid ones, buyers who joined before they ordered,
    member levels from their growth, and rollups equal to the orders they count."""
    from analytics.models import BuyerDay, SalesRollup
    from bench.history import rebuild_history_rollups
    from users.models import LoginEvent, MemberLevel

    out = StringIO()
    call_command(
        "generate_history",
        buyers=300,
        orders=4000,
        days=60,
        views=900,
        logins=500,
        unpaid_share=0.1,
        stdout=out,
    )
    assert "generated 300 buyers, 4000 orders" in out.getvalue()
    assert "(postgresql)" in out.getvalue()
    buyers = User.objects.filter(is_staff=False)
    assert buyers.count() == 300
    assert Order.objects.count() == 4000
    unpaid = Order.objects.filter(status="cancelled")
    assert 200 < unpaid.count() < 600
    assert not unpaid.filter(paid_at__isnull=False).exists()
    paid = Order.objects.filter(status__in=PAID)
    assert paid.count() + unpaid.count() == 4000
    assert not paid.filter(paid_at__isnull=True).exists()
    assert not buyers.filter(orders__created_at__lt=F("date_joined")).exists()
    assert (ProductView.objects.count(), LoginEvent.objects.count()) == (900, 500)
    figures = BuyerStats.objects.aggregate(
        n=Sum("order_count"), spent=Sum("total_spent")
    )
    assert figures["n"] == paid.count()
    assert (
        figures["spent"]
        == paid.aggregate(net=Sum(F("amount") - F("refunded_amount")))["net"]
    )
    # Levels as users.levels would set them: the highest threshold reached.
    levels = list(MemberLevel.objects.order_by("growth_threshold"))
    assert levels
    for stats in BuyerStats.objects.select_related("user")[:50]:
        reached = [lv for lv in levels if lv.growth_threshold <= stats.growth]
        assert stats.user.member_level_id == (reached[-1].pk if reached else None)

    rows, _seconds = rebuild_history_rollups(days=60)
    assert SalesRollup.objects.exists() and BuyerDay.objects.exists()
    assert rows == SalesRollup.objects.count() + BuyerDay.objects.count()
    rolled = SalesRollup.objects.aggregate(
        orders=Sum("orders"), gmv=Sum("gmv"), refunds=Sum("refunds")
    )
    counted = Order.objects.filter(paid_at__isnull=False).aggregate(
        gmv=Sum("amount"), refunds=Sum("refunded_amount")
    )
    assert rolled == {"orders": paid.count(), **counted}


@pytest.mark.postgres
def test_a_large_load_builds_the_indexes_it_dropped_again(monkeypatch):
    """From DROP_INDEXES_FROM orders on, the secondary indexes of orders, views
    and logins are dropped for the load: afterwards every one is back."""
    from bench import history_sql
    from users.models import LoginEvent

    tables = (Order, ProductView, LoginEvent)
    before = {m: history_sql.secondary_indexes(m) for m in tables}
    assert all(before.values())
    monkeypatch.setattr(history_sql, "DROP_INDEXES_FROM", 100)
    out = StringIO()
    call_command("generate_history", buyers=50, orders=300, days=20, stdout=out)
    assert {m: history_sql.secondary_indexes(m) for m in tables} == before
    assert "indexes of" in out.getvalue()
    assert ProductView.objects.count() == 150


def test_generate_history_refuses_bad_shares():
    with pytest.raises(CommandError, match="unpaid-share"):
        call_command("generate_history", buyers=1, orders=1, unpaid_share=0.9)
