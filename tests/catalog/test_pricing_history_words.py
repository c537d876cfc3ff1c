"""The price history names its layers in words, not codes."""

from decimal import Decimal

import pytest

from catalog.admin.pricing import price_layer_label
from catalog.models import PriceChange
from catalog.services.pricing import record_price_change
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize(
    "layer, level_name, shown",
    [
        ("base", None, "基础价"),
        ("cost", None, "成本价"),
        ("level:gold", "黄金", "会员等级「黄金」价"),
        ("level:gone", None, "会员等级「gone」价"),  # a level since deleted
        ("tier:10", None, "10 件及以上价"),
        ("level:", None, "level:"),
        ("flash", None, "flash"),  # an unknown layer stays as stored
    ],
)
def test_layers_read_as_words(layer, level_name, shown):
    assert price_layer_label(layer, level_name=level_name) == shown


def test_the_history_list_shows_words(client, role_user, gold):
    sku = make_sku(price=Decimal("10.00"))
    for layer in ("level:gold", "tier:10"):
        record_price_change(
            sku=sku,
            layer=layer,
            old=None,
            new=Decimal("9.50"),
            cause=PriceChange.Cause.MANUAL,
        )
    client.force_login(role_user("operations"))
    body = client.get("/admin/catalog/pricechange/").content.decode()
    assert "会员等级「黄金」价" in body and "10 件及以上价" in body
    assert "level:gold" not in body and "tier:10" not in body


def test_a_history_row_page_shows_words(client, role_user, gold):
    sku = make_sku(price=Decimal("10.00"))
    change = record_price_change(
        sku=sku,
        layer="level:gold",
        old=None,
        new=Decimal("9.50"),
        cause=PriceChange.Cause.MANUAL,
    )
    client.force_login(role_user("operations"))
    body = client.get(f"/admin/catalog/pricechange/{change.pk}/change/").content
    body = body.decode()
    assert "会员等级「黄金」价" in body
    assert "level:gold" not in body and "None" not in body
