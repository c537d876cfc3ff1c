"""The back office reads list filters and add-form values from the URL strictly:
a malformed one is the list's "incorrect parameters" answer or an empty field,
never a 500."""

import pytest
from django.apps import apps
from django.contrib import admin
from django.urls import reverse

from kameng.admin_base import StrictQueryMixin

pytestmark = pytest.mark.django_db

BATCHES = "admin:catalog_cardbatch_changelist"  # has a date drill-down
CALLS = "admin:catalog_suppliercall_changelist"


@pytest.mark.parametrize(
    "query",
    [
        {"status__range": "²"},  # IndexError compiling BETWEEN
        {"created_at__range": "2026-01-01"},
        {"created_at__year": "99999"},  # ValueError: year out of range
        {"created_at__year": "9" * 20},  # OverflowError
        {"created_at__year": "9999"},  # the drill-down's next year
        {"created_at__year": "²"},
        {"status__regex": "("},  # PostgreSQL refuses the pattern
        {"status__iregex": "["},
    ],
)
def test_a_list_refuses_a_lookup_it_cannot_run_with_400(admin_client, query):
    response = admin_client.get(reverse(BATCHES), query)
    assert response.status_code == 400


@pytest.mark.parametrize(
    "query", [{"created_at__year": "2026"}, {"status__exact": "done"}, {}]
)
def test_a_list_still_filters_by_what_its_filters_offer(admin_client, query):
    response = admin_client.get(reverse(BATCHES), query)
    assert response.status_code == 200


@pytest.mark.parametrize("value", ["x", "²", "9" * 5000, "2026-02-30 10:00"])
def test_an_add_form_leaves_out_a_date_from_the_url_that_does_not_parse(
    admin_client, value
):
    response = admin_client.get(
        reverse("admin:catalog_product_add"), {"list_at": value}
    )
    assert response.status_code == 200
    assert "list_at" not in response.context["adminform"].form.initial


def test_an_add_form_still_takes_a_date_from_the_url(admin_client):
    response = admin_client.get(
        reverse("admin:catalog_product_add"), {"list_at": "2026-12-01 09:30"}
    )
    assert response.status_code == 200
    initial = response.context["adminform"].form.initial["list_at"]
    assert (initial.year, initial.month, initial.day, initial.hour) == (
        2026,
        12,
        1,
        9,
    )


def test_supplier_calls_refuse_a_range_of_one_value(admin_client):
    """Found by the fuzz suite: ?operation__range=² answered 500."""
    response = admin_client.get(reverse(CALLS), {"operation__range": "²"})
    assert response.status_code == 400


def test_a_schedule_add_form_leaves_out_a_time_that_does_not_parse(admin_client):
    """Found by the fuzz suite in django-celery-beat's admin: ?clocked_time=²."""
    response = admin_client.get(
        reverse("admin:django_celery_beat_clockedschedule_add"), {"clocked_time": "²"}
    )
    assert response.status_code == 200


def test_every_admin_of_the_back_office_reads_the_url_strictly():
    lax = [
        f"{model._meta.label}: {type(admin.site.get_model_admin(model)).__name__}"
        for model in apps.get_models()
        if admin.site.is_registered(model)
        and not isinstance(admin.site.get_model_admin(model), StrictQueryMixin)
    ]
    assert lax == []


def test_a_list_refuses_a_filter_value_with_a_nul_with_400(admin_client):
    """PostgreSQL answered "cannot contain NUL" with a 500."""
    response = admin_client.get(reverse(BATCHES), {"file_name": "a\x00b"})
    assert response.status_code == 400


def test_a_relation_picker_searches_past_a_nul_in_its_term(admin_client):
    response = admin_client.get(
        reverse("admin:autocomplete"),
        {
            "term": "a\x00b",
            "app_label": "catalog",
            "model_name": "product",
            "field_name": "category",
        },
    )
    assert response.status_code == 200
    assert response.json()["results"] == []


def test_a_url_typed_without_a_scheme_is_taken_as_https():
    from catalog.models import Supplier

    model_admin = admin.site._registry[Supplier]
    endpoint = model_admin.formfield_for_dbfield(
        Supplier._meta.get_field("endpoint"), request=None
    )
    assert (
        endpoint.clean("api.supplier.example/v1") == "https://api.supplier.example/v1"
    )
    assert endpoint.clean("http://10.0.0.5/api") == "http://10.0.0.5/api"
