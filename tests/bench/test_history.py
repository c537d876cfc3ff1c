"""generate_history: a synthetic history whose per-buyer figures agree with its
orders, with weekends, 双11 and evenings busier than an ordinary weekday."""

from datetime import date
from io import StringIO

import pytest
from django.core.management import call_command
from django.db.models import F, Sum

from bench.history import day_weights, hour_weights
from marketing.models import CategoryPurchase
from orders.models import Order
from users.models import BuyerStats, ProductView, User

pytestmark = pytest.mark.django_db

PAID = ("delivered", "refunded", "partially_refunded")


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
    assert (
        figures["spent"]
        == orders.aggregate(net=Sum(F("amount") - F("refunded_amount")))["net"]
    )
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
