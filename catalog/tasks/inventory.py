"""Celery tasks: catalog inventory (stock alerts). Thin: the rules live in
catalog.services.inventory."""

from celery import shared_task

from catalog.services.inventory import check_stock_alerts


@shared_task(name="catalog.check_stock_alerts", ignore_result=True)
def check_stock_alerts_task(sku_ids: list[int] | None = None) -> dict:
    report = check_stock_alerts(sku_ids=sku_ids)
    return {
        "checked": report.checked,
        "opened": len(report.opened),
        "resolved": len(report.resolved),
        "paused": len(report.paused),
        "resumed": len(report.resumed),
    }
