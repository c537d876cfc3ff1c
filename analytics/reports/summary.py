"""The report's one paragraph in words: what changed and why.

- Top movers: the categories whose GMV rose and fell most against the previous
  period, in yuan.
- Anomalies against the forecast: for the period's best sellers, what the
  forecasting method (analytics.forecasting) would have predicted from the
  history before the period began, against what sold; a SKU is named when the
  gap is beyond both 30 % of the forecast and three back-tested standard
  deviations over the period.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal

from django.utils.translation import get_language
from django.utils.translation import gettext as _

from analytics.dashboard import Period, sku_name
from analytics.forecasting import forecast_series
from analytics.forecasts import HISTORY_DAYS, sales_histories
from catalog.models import Sku, SkuSalesDay

RELATIVE_GAP = 0.30
SIGMAS = 3.0


@dataclass(frozen=True)
class Mover:
    name: str
    change: Decimal  # yuan, against the previous period


@dataclass(frozen=True)
class Anomaly:
    name: str
    forecast: float  # units the forecast expected over the period
    actual: int

    @property
    def above(self) -> bool:
        return self.actual > self.forecast


def movers(
    *, current: dict[str, Decimal], previous: dict[str, Decimal], limit: int = 2
) -> list[Mover]:
    """The categories that moved most, largest rise first then largest fall."""
    changes = [
        Mover(name, current.get(name, Decimal("0")) - previous.get(name, Decimal("0")))
        for name in set(current) | set(previous)
    ]
    rises = sorted((m for m in changes if m.change > 0), key=lambda m: -m.change)
    falls = sorted((m for m in changes if m.change < 0), key=lambda m: m.change)
    return rises[:limit] + falls[:limit]


def anomalies(*, period: Period, sku_ids: list[int]) -> list[Anomaly]:
    if not sku_ids:
        return []
    histories = sales_histories(
        first_day=period.since - timedelta(days=HISTORY_DAYS),
        last_day=period.since - timedelta(days=1),
    )
    sold: dict[int, int] = {}
    for sku_id, units in SkuSalesDay.objects.filter(
        sku_id__in=sku_ids, day__gte=period.since, day__lte=period.until
    ).values_list("sku_id", "quantity"):
        sold[sku_id] = sold.get(sku_id, 0) + units
    skus = Sku.objects.select_related("product").in_bulk(sku_ids)
    found = []
    for sku_id in sku_ids:
        history = histories.get(sku_id)
        if not history or sku_id not in skus:
            continue  # nothing sold before the period: nothing to expect
        forecast = forecast_series(history, horizon=period.days)
        expected = forecast.units(period.days)
        actual = sold.get(sku_id, 0)
        gap = abs(actual - expected)
        band = max(
            RELATIVE_GAP * expected, SIGMAS * forecast.error_sd * math.sqrt(period.days)
        )
        if gap > band and gap >= 1:
            found.append(Anomaly(sku_name(skus[sku_id]), expected, actual))
    return found


def yuan(amount) -> str:
    return f"¥{Decimal(amount):,.2f}"


def summary_text(content) -> str:
    """One paragraph in Chinese (through the catalogue) of what changed."""
    metrics = {metric.code: metric for metric in content.metrics}
    parts = []
    gmv = metrics.get("gmv")
    if gmv is not None:
        if gmv.change is None:
            parts.append(
                _("GMV was %(gmv)s, with no sales in the previous period to compare.")
                % {"gmv": yuan(gmv.value or 0)}
            )
        else:
            parts.append(
                _(
                    "GMV was %(gmv)s, %(change)s%% against the previous period "
                    "(%(previous)s)."
                )
                % {
                    "gmv": yuan(gmv.value or 0),
                    "change": signed(gmv.change),
                    "previous": yuan(gmv.previous or 0),
                }
            )
    orders = metrics.get("orders")
    if orders is not None and orders.change is not None:
        parts.append(
            _("Orders: %(orders)s (%(change)s%%).")
            % {"orders": orders.value, "change": signed(orders.change)}
        )
    new_buyers = metrics.get("new_buyers")
    if new_buyers is not None:
        parts.append(
            _("New buyers: %(count)s (previous period %(previous)s).")
            % {"count": new_buyers.value, "previous": new_buyers.previous}
        )
    rises = [mover for mover in content.movers if mover.change > 0]
    falls = [mover for mover in content.movers if mover.change < 0]
    if rises:
        parts.append(
            _("Biggest rise: %(names)s.")
            % {"names": "、".join(f"{m.name}（+{yuan(m.change)}）" for m in rises)}
        )
    if falls:
        parts.append(
            _("Biggest fall: %(names)s.")
            % {"names": "、".join(f"{m.name}（-{yuan(-m.change)}）" for m in falls)}
        )
    if content.anomalies:
        parts.append(
            _("Against the forecast: %(items)s.")
            % {
                "items": "、".join(
                    (
                        _("%(name)s sold %(actual)s, above the %(forecast)s forecast")
                        if item.above
                        else _(
                            "%(name)s sold %(actual)s, below the %(forecast)s forecast"
                        )
                    )
                    % {
                        "name": item.name,
                        "actual": item.actual,
                        "forecast": f"{item.forecast:.0f}",
                    }
                    for item in content.anomalies
                )
            }
        )
    elif content.forecast_checked:
        parts.append(_("No best seller strayed from its forecast."))
    # Chinese sentences end in 。 and follow each other without a space.
    return ("" if get_language().startswith("zh") else " ").join(parts)


def signed(value: Decimal) -> str:
    return f"+{value}" if value > 0 else str(value)
