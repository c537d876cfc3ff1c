"""Group buy test data: a card SKU with codes and a running campaign."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import CardCode
from marketing.models import GroupBuyCampaign
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes


def group_campaign(
    *,
    size: int = 3,
    price: Decimal = Decimal("10.00"),
    group_price: Decimal = Decimal("7.50"),
    hours: int = 24,
    codes: int = 10,
    **sku_fields,
) -> GroupBuyCampaign:
    sku = make_sku(price=price, **sku_fields)
    if codes:
        stock_codes(sku, codes)
    now = timezone.now()
    return GroupBuyCampaign.objects.create(
        sku=sku,
        name=f"拼团 {sku.code}",
        group_size=size,
        group_price=group_price,
        hours=hours,
        starts_at=now - timedelta(hours=1),
        ends_at=now + timedelta(days=7),
    )


def buyers(count: int, balance: Decimal = Decimal("100.00")) -> list:
    return [make_buyer(balance) for _ in range(count)]


def sold_codes(sku) -> int:
    return CardCode.objects.filter(sku=sku, status=CardCode.Status.SOLD).count()
