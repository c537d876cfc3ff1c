"""Demo vouchers and top-up bonus rules (seed_demo, from marketing.demo): a
batch of 20 vouchers for the first listed card SKU (export them on the batch
page to try one) and a "充 100 送 5 / 充 500 送 40" rule for three months."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Product, Sku
from marketing.models import BonusRule, BonusTier, VoucherBatch
from marketing.vouchers import generate_voucher_batch


def seed_vouchers_and_bonuses() -> None:
    now = timezone.now()
    if not BonusRule.objects.filter(name="充值有礼").exists():
        rule = BonusRule.objects.create(
            name="充值有礼",
            starts_at=now - timedelta(days=1),
            ends_at=now + timedelta(days=90),
            per_buyer_limit=3,
        )
        BonusTier.objects.bulk_create(
            [
                BonusTier(
                    rule=rule, threshold=Decimal("100.00"), bonus=Decimal("5.00")
                ),
                BonusTier(
                    rule=rule, threshold=Decimal("500.00"), bonus=Decimal("40.00")
                ),
            ]
        )
    sku = (
        Sku.objects.filter(
            delivery_type=Sku.DeliveryType.CARD,
            is_active=True,
            product__status=Product.Status.LISTED,
        )
        .order_by("pk")
        .first()
    )
    if sku is not None and not VoucherBatch.objects.exists():
        today = timezone.localdate()
        generate_voucher_batch(
            sku=sku,
            count=20,
            valid_from=today,
            valid_until=today + timedelta(days=60),
            note="演示：客户答谢兑换券",
            actor=None,
        )
