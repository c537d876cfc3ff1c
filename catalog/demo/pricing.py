"""Demo data: member levels, level prices, quantity tiers, a cost-plus rule, a
scheduled seasonal product. Idempotent: rows are looked up by natural keys."""

from datetime import datetime, time, timedelta
from decimal import ROUND_HALF_UP, Decimal

from django.utils import timezone

from catalog.models import (
    Category,
    CostPlusRule,
    LevelPrice,
    PriceChange,
    Product,
    QuantityTier,
    Sku,
)
from catalog.services.pricing import (
    apply_cost_plus,
    save_level_prices,
    save_quantity_tiers,
    save_sku_prices,
)
from users.models import MemberLevel, User

CENT = Decimal("0.01")
# code, name, rank, prefers fastest supplier, discount on level-priced SKUs
LEVELS = [
    ("normal", "普通", 0, False, None),
    ("silver", "白银", 10, False, Decimal("0.99")),
    ("gold", "黄金", 20, False, Decimal("0.98")),
    ("vip", "VIP", 30, True, Decimal("0.97")),
]
LEVEL_PRICED_SKUS = ["QB-10", "QB-30", "QB-100", "WZ-60", "WZ-300", "NE-50"]
TIERS = [(10, Decimal("0.99")), (50, Decimal("0.98"))]
COST_PLUS_SKU = "CM-50"
SEASONAL = "春节礼包"


def _money(value: Decimal) -> Decimal:
    return value.quantize(CENT, rounding=ROUND_HALF_UP)


def _levels() -> dict[str, MemberLevel]:
    levels = {}
    for code, name, rank, fastest, _discount in LEVELS:
        levels[code], _created = MemberLevel.objects.get_or_create(
            code=code,
            defaults={"name": name, "rank": rank, "prefers_fastest_supplier": fastest},
        )
    return levels


def _level_prices(levels) -> int:
    created = 0
    for sku in Sku.objects.filter(code__in=LEVEL_PRICED_SKUS):
        have = set(sku.level_prices.values_list("level__code", flat=True))
        new = [
            LevelPrice(sku=sku, level=levels[code], price=_money(sku.price * discount))
            for code, _n, _r, _f, discount in LEVELS
            if discount is not None and code not in have
        ]
        if new:
            save_level_prices(sku=sku, changed=new, cause=PriceChange.Cause.IMPORT)
            created += len(new)
    return created


def _tiers() -> int:
    created = 0
    for sku in Sku.objects.filter(delivery_type=Sku.DeliveryType.CARD):
        have = set(sku.quantity_tiers.values_list("min_quantity", flat=True))
        new = [
            QuantityTier(sku=sku, min_quantity=n, price=_money(sku.price * factor))
            for n, factor in TIERS
            if n not in have
        ]
        if new:
            save_quantity_tiers(sku=sku, changed=new, cause=PriceChange.Cause.IMPORT)
            created += len(new)
    return created


def _cost_plus() -> None:
    sku = Sku.objects.filter(code=COST_PLUS_SKU).first()
    if sku is None:
        return
    rule, created = CostPlusRule.objects.get_or_create(
        sku=sku,
        defaults={
            "margin_percent": Decimal("1.50"),
            "rounding": CostPlusRule.Rounding.DIME,
            "floor": Decimal("49.00"),
            "ceiling": Decimal("50.00"),
        },
    )
    if created:
        apply_cost_plus(sku=sku, cause=PriceChange.Cause.RULE)


def _buyer_levels(levels) -> int:
    """Every 20th buyer VIP, every 7th gold, every 3rd silver, the rest normal."""
    by_level: dict[str, list[str]] = {code: [] for code in levels}
    for username in User.objects.filter(
        username__startswith="buyer", member_level__isnull=True
    ).values_list("username", flat=True):
        digits = username.removeprefix("buyer")
        n = int(digits) if digits.isdigit() else 1
        code = (
            "vip"
            if n % 20 == 0
            else "gold"
            if n % 7 == 0
            else "silver"
            if n % 3 == 0
            else "normal"
        )
        by_level[code].append(username)
    assigned = 0
    for code, usernames in by_level.items():
        assigned += User.objects.filter(username__in=usernames).update(
            member_level=levels[code]
        )
    return assigned


def _seasonal_product() -> bool:
    category = Category.objects.filter(slug="game-cards-tencent").first()
    if category is None or Product.objects.filter(name=SEASONAL).exists():
        return False
    today = timezone.localdate()
    list_at = timezone.make_aware(
        datetime.combine(today + timedelta(days=7), time(10, 0))
    )
    product = Product.objects.create(
        category=category,
        name=SEASONAL,
        description="春节限定礼包：Q币 + 点券，限时上架。",
        status=Product.Status.DRAFT,
        list_at=list_at,
        unlist_at=list_at + timedelta(days=30),
    )
    save_sku_prices(
        sku=Sku(
            product=product,
            code="CNY-GIFT",
            name="春节礼包 88 元",
            face_value=Decimal("100"),
            delivery_type=Sku.DeliveryType.MANUAL,
            stock_mode=Sku.StockMode.COUNTER,
            stock=200,
            max_quantity=5,
            price=Decimal("88.00"),
            cost_price=Decimal("72.00"),
        ),
        actor=None,
        cause=PriceChange.Cause.IMPORT,
    )
    return True


def seed(ctx):
    levels = _levels()
    level_prices = _level_prices(levels)
    tiers = _tiers()
    _cost_plus()
    assigned = _buyer_levels(levels)
    seasonal = _seasonal_product()
    ctx.say(
        f"pricing: {len(levels)} member levels, {level_prices} level prices and "
        f"{tiers} quantity tiers created, {assigned} buyers given a level"
        + (", seasonal product scheduled" if seasonal else "")
    )
