"""Price edits in the admin leave history rows with the person who made them."""

from decimal import Decimal

import pytest
from django import forms

from catalog.models import CostPlusRule, LevelPrice, PriceChange, QuantityTier
from tests.catalog.factories import make_sku

D = Decimal
pytestmark = pytest.mark.django_db


def admin_form_data(response) -> dict:
    """The POST body that re-submits an admin change page as it was rendered."""
    data = {}

    def add(form):
        for bound in form:
            if isinstance(bound.field, forms.FileField):
                continue
            value = bound.value()
            widget = bound.field.widget
            if isinstance(widget, forms.MultiWidget):
                for i, part in enumerate(widget.decompress(value)):
                    data[f"{bound.html_name}_{i}"] = "" if part is None else part
                continue
            if isinstance(value, bool):
                if value:
                    data[bound.html_name] = "on"
                continue
            if isinstance(value, list | tuple):
                data[bound.html_name] = list(value)
                continue
            data[bound.html_name] = "" if value is None else value

    add(response.context["adminform"].form)
    for inline in response.context["inline_admin_formsets"]:
        formset = inline.formset
        for bound in formset.management_form:
            data[bound.html_name] = bound.value()
        for form in formset.forms:
            add(form)
    return data


def add_inline_row(data, prefix, **fields):
    n = int(data[f"{prefix}-TOTAL_FORMS"])
    for key, value in fields.items():
        data[f"{prefix}-{n}-{key}"] = value
    data[f"{prefix}-TOTAL_FORMS"] = n + 1


@pytest.fixture
def ops(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


def change_url(sku):
    return f"/admin/catalog/sku/{sku.pk}/change/"


def test_base_price_edit_is_recorded_with_the_admin_as_actor(client, ops):
    sku = make_sku(price=D("9.80"), cost_price=D("9.00"))
    data = admin_form_data(client.get(change_url(sku)))
    data.update(price="9.60", cost_price="8.80")
    response = client.post(change_url(sku), data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    sku.refresh_from_db()
    assert sku.price == D("9.60")
    rows = {r.layer: r for r in PriceChange.objects.filter(sku=sku)}
    assert (rows["base"].old_price, rows["base"].new_price) == (D("9.80"), D("9.60"))
    assert (rows["cost"].old_price, rows["cost"].new_price) == (D("9.00"), D("8.80"))
    assert {(r.cause, r.actor_id) for r in rows.values()} == {("manual", ops.pk)}


def test_saving_without_price_changes_writes_no_history(client, ops):
    sku = make_sku()
    data = admin_form_data(client.get(change_url(sku)))
    data["name"] = "新名字"
    assert client.post(change_url(sku), data).status_code == 302
    assert not PriceChange.objects.exists()


def test_level_price_and_tier_inlines_write_history(client, ops, gold):
    sku = make_sku(price=D("10.00"))
    data = admin_form_data(client.get(change_url(sku)))
    add_inline_row(data, "level_prices", level=gold.pk, price="9.50")
    add_inline_row(data, "quantity_tiers", min_quantity="10", price="9.70")
    assert client.post(change_url(sku), data).status_code == 302
    assert LevelPrice.objects.get(sku=sku).price == D("9.50")
    history = set(
        PriceChange.objects.values_list("layer", "old_price", "new_price", "actor")
    )
    assert history == {
        ("level:gold", None, D("9.50"), ops.pk),
        ("tier:10", None, D("9.70"), ops.pk),
    }

    PriceChange.objects.all().delete()
    data = admin_form_data(client.get(change_url(sku)))
    data["level_prices-0-price"] = "9.40"
    data["quantity_tiers-0-DELETE"] = "on"
    assert client.post(change_url(sku), data).status_code == 302
    assert not QuantityTier.objects.filter(sku=sku).exists()
    history = set(PriceChange.objects.values_list("layer", "old_price", "new_price"))
    assert history == {
        ("level:gold", D("9.50"), D("9.40")),
        ("tier:10", D("9.70"), None),
    }


def test_saving_a_cost_plus_rule_reprices_the_sku(client, ops):
    sku = make_sku(price=D("10.00"), cost_price=D("9.00"))
    data = admin_form_data(client.get(change_url(sku)))
    add_inline_row(
        data,
        "cost_plus_rule",
        margin_percent="5",
        rounding="x.9",
        enabled="on",
        floor="",
        ceiling="",
    )
    response = client.post(change_url(sku), data)
    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.price == D("9.90")
    change = PriceChange.objects.get(sku=sku)
    assert (change.layer, change.cause, change.actor) == ("base", "rule", ops)
    assert CostPlusRule.objects.get(sku=sku).rounding == "x.9"


def test_cost_plus_rule_floor_above_ceiling_is_refused(client, ops):
    sku = make_sku(price=D("10.00"))
    data = admin_form_data(client.get(change_url(sku)))
    add_inline_row(
        data,
        "cost_plus_rule",
        margin_percent="5",
        rounding="0.01",
        enabled="on",
        floor="20",
        ceiling="10",
    )
    response = client.post(change_url(sku), data)
    assert response.status_code == 200
    assert not CostPlusRule.objects.exists()
    assert not PriceChange.objects.exists()


def test_standalone_cost_plus_rule_admin_reprices(client, ops):
    sku = make_sku(price=D("10.00"), cost_price=D("9.00"))
    response = client.post(
        "/admin/catalog/costplusrule/add/",
        {"sku": sku.pk, "margin_percent": "10", "rounding": "1", "enabled": "on"},
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.price == D("10.00")  # 9.9 → 10, no change, no row
    assert not PriceChange.objects.exists()
    rule = CostPlusRule.objects.get(sku=sku)
    response = client.post(
        f"/admin/catalog/costplusrule/{rule.pk}/change/",
        {"sku": sku.pk, "margin_percent": "30", "rounding": "1", "enabled": "on"},
    )
    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.price == D("12.00")  # 11.7 → 12
    assert PriceChange.objects.get().cause == "rule"


def test_price_history_list_filters_and_searches(client, ops):
    sku = make_sku(code="QB-10")
    other = make_sku(code="NE-15")
    PriceChange.objects.create(sku=sku, layer="base", new_price=1, cause="manual")
    PriceChange.objects.create(sku=other, layer="base", new_price=2, cause="import")
    body = client.get("/admin/catalog/pricechange/?q=QB").content.decode()
    assert "QB-10" in body and "NE-15" not in body
    body = client.get("/admin/catalog/pricechange/?cause__exact=import").content
    assert "NE-15" in body.decode() and "QB-10" not in body.decode()
    assert client.get("/admin/catalog/pricechange/add/").status_code == 403
