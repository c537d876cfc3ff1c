"""Product admin: bulk status actions, duplicate, filters, schedule form."""

from decimal import Decimal

import pytest

from catalog.models import (
    CardBatch,
    CardCode,
    CostPlusRule,
    LevelPrice,
    PriceChange,
    Product,
    QuantityTier,
    Sku,
)
from catalog.services.products import (
    ProductStatusError,
    duplicate_product,
    set_product_status,
)
from tests.catalog.factories import make_category, make_product, make_sku
from tests.catalog.test_pricing_admin import admin_form_data
from users.models import MemberLevel

D = Decimal
pytestmark = pytest.mark.django_db
CHANGELIST = "/admin/catalog/product/"


@pytest.fixture
def ops(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


@pytest.mark.parametrize(
    ("action", "expected"),
    [
        ("list_products", "listed"),
        ("pause_products", "paused"),
        ("unlist_products", "unlisted"),
    ],
)
def test_bulk_status_actions(client, ops, action, expected):
    products = [make_product(status="draft") for _ in range(3)]
    untouched = make_product(status="draft")
    response = client.post(
        CHANGELIST,
        {"action": action, "_selected_action": [p.pk for p in products]},
        follow=True,
    )
    assert response.status_code == 200
    assert {
        p.status for p in Product.objects.filter(pk__in=[p.pk for p in products])
    } == {expected}
    untouched.refresh_from_db()
    assert untouched.status == "draft"
    assert "3" in " ".join(str(m) for m in response.context["messages"])


def test_marketing_cannot_run_status_actions(client, role_user):
    client.force_login(role_user("marketing"))
    product = make_product(status="listed")
    client.post(
        CHANGELIST, {"action": "pause_products", "_selected_action": [product.pk]}
    )
    product.refresh_from_db()
    assert product.status == "listed"


def test_set_product_status_counts_only_real_changes_and_refuses_nonsense():
    listed, draft = make_product(status="listed"), make_product(status="draft")
    assert set_product_status(products=[listed, draft], status="listed") == 1
    with pytest.raises(ProductStatusError):
        set_product_status(products=[draft], status="deleted")


@pytest.fixture
def full_product():
    gold = MemberLevel.objects.create(code="gold", name="黄金", rank=20)
    product = make_product(name="Q币直充卡", status="listed", description="秒到")
    card = make_sku("QB-10", product=product, price=D("9.80"), stock=5)
    topup = make_sku(
        "QB-TOP",
        product=product,
        delivery_type="topup",
        price=D("10.00"),
        recharge_fields=[{"key": "qq", "label": "QQ", "rule": "qq", "required": True}],
    )
    LevelPrice.objects.create(sku=card, level=gold, price=D("9.50"))
    QuantityTier.objects.create(sku=card, min_quantity=10, price=D("9.60"))
    CostPlusRule.objects.create(sku=topup, margin_percent=D("3"), rounding="x.9")
    batch = CardBatch.objects.create(sku=card, file_name="a.txt", file_format="txt")
    CardCode.objects.create(
        sku=card, batch=batch, secret="x", code_hash="h", key_version="1", hint="A***"
    )
    return product


def test_duplicate_copies_skus_and_prices_but_no_codes_or_stock(full_product, ops):
    copy = duplicate_product(product=full_product, actor=ops)
    assert copy.status == "draft"
    assert copy.name.startswith("Q币直充卡")
    assert copy.category_id == full_product.category_id
    skus = {s.code: s for s in copy.skus.all()}
    assert set(skus) == {"QB-10-COPY", "QB-TOP-COPY"}
    card = skus["QB-10-COPY"]
    assert (card.price, card.stock) == (D("9.80"), 0)
    assert not card.card_codes.exists()
    assert card.level_prices.get().price == D("9.50")
    assert card.quantity_tiers.get().min_quantity == 10
    topup = skus["QB-TOP-COPY"]
    assert topup.recharge_fields[0]["rule"] == "qq"
    assert topup.cost_plus_rule.rounding == "x.9"
    assert PriceChange.objects.filter(sku__product=copy, actor=ops).count() == 2
    # the original is untouched
    assert full_product.skus.count() == 2
    assert Sku.objects.get(code="QB-10").card_codes.count() == 1


def test_duplicating_twice_gives_fresh_codes(full_product):
    duplicate_product(product=full_product)
    second = duplicate_product(product=full_product)
    assert set(second.skus.values_list("code", flat=True)) == {
        "QB-10-COPY2",
        "QB-TOP-COPY2",
    }


def test_long_codes_stay_within_the_column():
    product = make_product()
    make_sku("X" * 40, product=product)
    copy = duplicate_product(product=product)
    assert copy.skus.get().code == "X" * 35 + "-COPY"


def test_duplicate_action_opens_the_copy(client, ops, full_product):
    response = client.post(
        CHANGELIST, {"action": "duplicate", "_selected_action": [full_product.pk]}
    )
    copy = Product.objects.get(skus__code="QB-10-COPY")
    assert response.status_code == 302
    assert response["Location"].endswith(f"/admin/catalog/product/{copy.pk}/change/")


def test_filters_by_delivery_type_and_low_stock(client, ops):
    cards = make_product(name="卡密商品")
    make_sku(product=cards, stock=50, low_stock_threshold=10)
    low = make_product(name="缺货商品")
    make_sku(product=low, stock=3, low_stock_threshold=10)
    make_sku(product=low, stock=100, low_stock_threshold=10)
    topups = make_product(name="直充商品")
    make_sku(product=topups, delivery_type="topup", stock=0)  # unlimited: never low

    def names(query):
        response = client.get(CHANGELIST + query)
        assert response.status_code == 200
        return {p.name for p in response.context["cl"].result_list}

    assert names("?delivery_type=topup") == {"直充商品"}
    assert names("?delivery_type=card") == {"卡密商品", "缺货商品"}
    assert names("?low_stock=yes") == {"缺货商品"}
    assert names(f"?category__id__exact={cards.category_id}") == {"卡密商品"}


def test_search_finds_a_product_by_sku_code(client, ops):
    product = make_product(name="网易一卡通")
    make_sku("NE-15", product=product)
    make_sku("NE-50", product=product)
    response = client.get(CHANGELIST + "?q=NE-15")
    assert [p.name for p in response.context["cl"].result_list] == ["网易一卡通"]


def test_product_form_schedules_and_refuses_unlist_before_list(client, ops):
    category = make_category()
    data = {
        "category": category.pk,
        "name": "春节礼包",
        "description": "",
        "status": "draft",
        "list_at_0": "2027-02-01",
        "list_at_1": "10:00:00",
        "unlist_at_0": "2027-01-01",
        "unlist_at_1": "10:00:00",
        "skus-TOTAL_FORMS": "0",
        "skus-INITIAL_FORMS": "0",
    }
    response = client.post("/admin/catalog/product/add/", data)
    assert response.status_code == 200
    assert "unlist_at" in response.context["adminform"].form.errors
    data["unlist_at_0"] = "2027-03-01"
    assert client.post("/admin/catalog/product/add/", data).status_code == 302
    product = Product.objects.get(name="春节礼包")
    assert product.list_at.date().isoformat() == "2027-02-01"


def test_sku_inline_price_edit_writes_history(client, ops):
    product = make_product()
    sku = make_sku(product=product, price=D("9.80"))
    url = f"/admin/catalog/product/{product.pk}/change/"
    data = admin_form_data(client.get(url))
    data["skus-0-price"] = "9.90"
    response = client.post(url, data)
    assert response.status_code == 302
    change = PriceChange.objects.get(sku=sku)
    assert (change.old_price, change.new_price, change.actor) == (
        D("9.80"),
        D("9.90"),
        ops,
    )
