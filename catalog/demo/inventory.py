"""Demo data: 30 days of daily sales for the demo SKUs (what the inventory monitor's
sold / days-of-cover columns read), then one stock-alert check so the monitor and
the dashboard show real alerts. Idempotent: a (SKU, day) that exists is kept."""

from datetime import timedelta

from django.utils import timezone

from catalog.demo.products import TREE
from catalog.models import Sku, SkuSalesDay
from catalog.services.inventory import check_stock_alerts

DAYS = 30


def seed(ctx):
    codes = [
        sku[0]
        for products in TREE.values()
        for skus in products.values()
        for sku in skus
    ]
    skus = list(Sku.objects.filter(code__in=codes).order_by("code"))
    today = timezone.localdate()
    rows = []
    for sku in skus:
        usual = ctx.rng.randint(2, 40)  # drawn for every SKU: stable across runs
        for back in range(DAYS + 1):
            day = today - timedelta(days=back)
            weekend = 1.4 if day.weekday() >= 5 else 1.0
            quantity = max(0, round(usual * weekend * ctx.rng.uniform(0.5, 1.5)))
            rows.append(SkuSalesDay(sku=sku, day=day, quantity=quantity))
    before = SkuSalesDay.objects.filter(sku__in=skus).count()
    SkuSalesDay.objects.bulk_create(rows, ignore_conflicts=True, batch_size=500)
    added = SkuSalesDay.objects.filter(sku__in=skus).count() - before
    report = check_stock_alerts()
    ctx.say(
        f"inventory: {added} daily sales rows added for {len(skus)} SKUs; "
        f"{len(report.opened)} stock alerts opened, {len(report.paused)} SKUs paused"
    )
