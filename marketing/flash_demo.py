"""Demo flash sales (seed_demo, from marketing.demo): one live now on a card
SKU (the shop's product page counts down to its end, the back office's live page
shows its figures) and one starting tomorrow evening on another SKU."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Product, Sku
from marketing.flash_sales import save_flash_sale
from marketing.models import FlashSale


def _flash_price(sku: Sku) -> Decimal:
    return max((sku.price * Decimal("0.7")).quantize(Decimal("0.01")), Decimal("0.01"))


def seed_flash_sales() -> None:
    if FlashSale.objects.exists():
        return
    skus = list(
        Sku.objects.filter(
            delivery_type=Sku.DeliveryType.CARD,
            is_active=True,
            product__status=Product.Status.LISTED,
            price__gte=Decimal("1.00"),
        )
        .select_related("product")
        .order_by("-pk")[:2]
    )
    if not skus:
        return
    now = timezone.now().replace(second=0, microsecond=0)
    save_flash_sale(
        sale=FlashSale(
            sku=skus[0],
            title=f"限时秒杀 · {skus[0].product.name}",
            starts_at=now - timedelta(minutes=30),
            ends_at=now + timedelta(hours=6),
            price=_flash_price(skus[0]),
            quantity_cap=100,
            per_buyer_cap=2,
        )
    )
    upcoming = skus[-1]
    tomorrow = timezone.localtime(now + timedelta(days=1)).replace(hour=20, minute=0)
    save_flash_sale(
        sale=FlashSale(
            sku=upcoming,
            title=f"明晚八点秒杀 · {upcoming.product.name}",
            starts_at=tomorrow,  # after the live one ends, on the same SKU too
            ends_at=tomorrow + timedelta(hours=1),
            price=_flash_price(upcoming),
            quantity_cap=50,
            per_buyer_cap=1,
        )
    )
