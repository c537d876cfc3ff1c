"""Flash-sale test data, through the real services."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from marketing.flash_sales import save_flash_sale
from marketing.models import FlashSale


def make_flash_sale(
    sku,
    *,
    price=Decimal("5.00"),
    cap=10,
    per_buyer=2,
    starts_in=timedelta(minutes=-5),
    lasts=timedelta(hours=1),
    title="",
) -> FlashSale:
    start = timezone.now() + starts_in
    return save_flash_sale(
        sale=FlashSale(
            sku=sku,
            title=title,
            starts_at=start,
            ends_at=start + lasts,
            price=price,
            quantity_cap=cap,
            per_buyer_cap=per_buyer,
        )
    )
