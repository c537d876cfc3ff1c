"""Scheduled listing: list_at / unlist_at applied every minute, once each."""

from datetime import datetime, timedelta

import pytest
from django.utils import timezone

from catalog.models import Product
from catalog.services.products import apply_product_schedules, set_product_status
from kameng.beat import SCHEDULE, Every
from tests.catalog.factories import make_product

pytestmark = pytest.mark.django_db
NOW = timezone.make_aware(datetime(2027, 2, 1, 10, 0))
MINUTE = timedelta(minutes=1)


def status(product):
    product.refresh_from_db()
    return product.status


@pytest.mark.parametrize("start", ["draft", "paused", "unlisted"])
def test_product_is_listed_when_its_list_time_comes(start):
    product = make_product(status=start, list_at=NOW)
    apply_product_schedules(now=NOW - MINUTE)
    assert status(product) == start
    assert apply_product_schedules(now=NOW)["listed"] == 1
    assert status(product) == "listed"
    assert product.list_at is None


def test_listed_product_is_unlisted_when_its_unlist_time_comes():
    product = make_product(status="listed", unlist_at=NOW)
    apply_product_schedules(now=NOW - MINUTE)
    assert status(product) == "listed"
    assert apply_product_schedules(now=NOW)["unlisted"] == 1
    assert status(product) == "unlisted"
    assert product.unlist_at is None


def test_a_seasonal_window_lists_then_unlists():
    product = make_product(status="draft", list_at=NOW, unlist_at=NOW + 30 * MINUTE)
    apply_product_schedules(now=NOW + MINUTE)
    assert status(product) == "listed"
    assert product.unlist_at == NOW + 30 * MINUTE
    apply_product_schedules(now=NOW + 31 * MINUTE)
    assert status(product) == "unlisted"


def test_running_twice_changes_nothing_more():
    make_product(status="draft", list_at=NOW)
    make_product(status="listed", unlist_at=NOW)
    first = apply_product_schedules(now=NOW)
    second = apply_product_schedules(now=NOW)
    assert (first["listed"], first["unlisted"]) == (1, 1)
    assert second == {"listed": 0, "unlisted": 0, "cleared": 0, "held": 0}


def test_an_operator_pausing_after_the_listing_is_not_overridden():
    product = make_product(status="draft", list_at=NOW)
    apply_product_schedules(now=NOW)
    set_product_status(products=[product], status="paused")
    apply_product_schedules(now=NOW + MINUTE)
    assert status(product) == "paused"


def test_an_operator_relisting_after_the_unlisting_is_not_overridden():
    product = make_product(status="listed", unlist_at=NOW)
    apply_product_schedules(now=NOW)
    set_product_status(products=[product], status="listed")
    apply_product_schedules(now=NOW + MINUTE)
    assert status(product) == "listed"


def test_a_missed_window_lists_nothing_and_is_cleared():
    """Beat was down for the whole window: the product is not listed late."""
    product = make_product(status="draft", list_at=NOW, unlist_at=NOW + MINUTE)
    result = apply_product_schedules(now=NOW + 2 * MINUTE)
    assert result["listed"] == 0
    assert status(product) == "draft"
    assert (product.list_at, product.unlist_at) == (None, None)


def test_passed_times_on_products_already_in_that_state_are_cleared():
    already = make_product(status="listed", list_at=NOW)
    make_product(status="draft", unlist_at=NOW)
    result = apply_product_schedules(now=NOW)
    assert result == {"listed": 0, "unlisted": 0, "cleared": 2, "held": 0}
    already.refresh_from_db()
    assert already.list_at is None
    assert not Product.objects.filter(unlist_at__isnull=False).exists()


def test_future_times_are_left_alone():
    product = make_product(status="draft", list_at=NOW + MINUTE)
    apply_product_schedules(now=NOW)
    product.refresh_from_db()
    assert (product.status, product.list_at) == ("draft", NOW + MINUTE)


def test_beat_runs_the_schedule_every_minute():
    entry = next(e for e in SCHEDULE if e.task == "catalog.apply_product_schedules")
    assert entry.schedule == Every(seconds=60)


def test_the_task_applies_schedules():
    from catalog.tasks.products import apply_product_schedules_task

    product = make_product(status="draft", list_at=timezone.now() - MINUTE)
    apply_product_schedules_task.delay()
    assert status(product) == "listed"
