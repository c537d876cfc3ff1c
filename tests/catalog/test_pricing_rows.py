"""save_level_prices / save_quantity_tiers history rows, and the quote's tier query."""

from decimal import Decimal

import pytest

from catalog.models import LevelPrice, PriceChange, QuantityTier
from catalog.services.pricing import (
    quote_price,
    save_level_prices,
    save_quantity_tiers,
)
from tests.catalog.factories import make_sku
from users.models import MemberLevel, User

D = Decimal
pytestmark = pytest.mark.django_db


@pytest.fixture
def silver():
    return MemberLevel.objects.create(code="silver", name="白银", rank=10)


@pytest.fixture
def actor():
    return User.objects.create_user("pricing-ops")


def history():
    return list(
        PriceChange.objects.order_by("pk").values_list(
            "layer", "old_price", "new_price", "cause", "actor"
        )
    )


# A guest's quote of one unit reads nothing beyond the SKU it is given.
QUOTE_ONE_UNIT_QUERIES = 0
# savepoint, lock the SKU, its level rows (level joined), update, history, release
REPRICE_ONE_ROW_QUERIES = 6


def queries_on(ctx, table):
    return [q["sql"] for q in ctx.captured_queries if table in q["sql"]]


def test_quote_of_one_unit_runs_no_quantity_tier_query(django_assert_max_num_queries):
    sku = make_sku(price=D("10.00"), max_quantity=100)
    QuantityTier.objects.create(sku=sku, min_quantity=2, price=D("9.00"))
    with django_assert_max_num_queries(QUOTE_ONE_UNIT_QUERIES) as ctx:
        quote = quote_price(sku=sku, quantity=1)
    assert quote.layer_codes == ["base"]
    assert not queries_on(ctx, QuantityTier._meta.db_table)
    assert quote_price(sku=sku, quantity=2).unit_price == D("9.00")


def test_level_prices_add_change_move_and_delete(gold, silver, actor):
    sku = make_sku(price=D("10.00"))
    row = LevelPrice(level=gold, price=D("9.50"))
    save_level_prices(sku=sku, changed=[row], actor=actor)
    assert history() == [("level:gold", None, D("9.50"), "manual", actor.pk)]

    PriceChange.objects.all().delete()
    row = LevelPrice.objects.get(pk=row.pk)
    row.price = D("9.40")
    save_level_prices(sku=sku, changed=[row], actor=actor, cause="import")
    assert history() == [("level:gold", D("9.50"), D("9.40"), "import", actor.pk)]

    PriceChange.objects.all().delete()
    save_level_prices(sku=sku, changed=[LevelPrice.objects.get(pk=row.pk)])
    assert history() == []

    row.level = silver
    save_level_prices(sku=sku, changed=[row], actor=actor)
    assert history() == [
        ("level:gold", D("9.40"), None, "manual", actor.pk),
        ("level:silver", None, D("9.40"), "manual", actor.pk),
    ]

    PriceChange.objects.all().delete()
    save_level_prices(sku=sku, deleted=[row], actor=actor)
    assert not LevelPrice.objects.filter(sku=sku).exists()
    assert history() == [("level:silver", D("9.40"), None, "manual", actor.pk)]


def test_repricing_a_level_row_does_not_fetch_its_level_again(
    gold, django_assert_max_num_queries
):
    sku = make_sku(price=D("10.00"))
    row = LevelPrice.objects.create(sku=sku, level=gold, price=D("9.50"))
    row = LevelPrice.objects.get(pk=row.pk)  # level not loaded
    row.price = D("9.30")
    with django_assert_max_num_queries(REPRICE_ONE_ROW_QUERIES) as ctx:
        save_level_prices(sku=sku, changed=[row])
    level_table = MemberLevel._meta.db_table
    assert len(queries_on(ctx, level_table)) == 1  # the select_related join only
    assert history() == [("level:gold", D("9.50"), D("9.30"), "manual", None)]


def test_quantity_tiers_add_change_move_and_delete(actor):
    sku = make_sku(price=D("10.00"))
    row = QuantityTier(min_quantity=10, price=D("9.70"))
    save_quantity_tiers(sku=sku, changed=[row], actor=actor)
    assert history() == [("tier:10", None, D("9.70"), "manual", actor.pk)]

    PriceChange.objects.all().delete()
    row = QuantityTier.objects.get(pk=row.pk)
    row.price = D("9.60")
    save_quantity_tiers(sku=sku, changed=[row], actor=actor, cause="import")
    assert history() == [("tier:10", D("9.70"), D("9.60"), "import", actor.pk)]

    PriceChange.objects.all().delete()
    row.min_quantity = 20
    save_quantity_tiers(sku=sku, changed=[row], actor=actor)
    assert history() == [
        ("tier:10", D("9.60"), None, "manual", actor.pk),
        ("tier:20", None, D("9.60"), "manual", actor.pk),
    ]

    PriceChange.objects.all().delete()
    save_quantity_tiers(sku=sku, deleted=[row, QuantityTier(pk=-1)], actor=actor)
    assert not QuantityTier.objects.filter(sku=sku).exists()
    assert history() == [("tier:20", D("9.60"), None, "manual", actor.pk)]
