"""Stock alerts and the automatic pause of SKUs that cannot be sold.

``check_stock_alerts(*, sku_ids=None)`` looks at SKUs (all, or the ones given, e.g.
after a sale batch) and keeps their StockAlert rows true:

- ``low``: tracked stock (counter or codes) above 0 and at or below
  ``Sku.low_stock_threshold``;
- ``out``: tracked stock 0;
- ``degraded``: a top-up SKU with no healthy offer (no offer, offers or suppliers
  disabled, or every usable offer degraded: catalog.selectors.health).

At most one open alert per (SKU, kind): the partial unique constraint
catalog_alert_one_open_per_kind holds it; a concurrent check that loses the race
keeps the other's row. An alert whose condition cleared is resolved.

Auto-pause: a SKU that is out of stock or degraded (cannot be delivered) is set
inactive with ``auto_paused=True``, and its alert says so; once it can be sold
again it is resumed. A SKU an operator paused by hand (inactive, ``auto_paused``
False) is left alone: never resumed, no new alerts, and its open alerts are
resolved (it is out of sale on purpose).

Newly opened alerts are mailed once, one mail per run, to the operations role
(group 运营专员, active users with an e-mail), after the transaction commits;
``notified_at`` records it. The periodic run also mails alerts whose mail failed
earlier.

Orders call ``check_stock_alerts(sku_ids=[...])`` after a sale batch commits
(``transaction.on_commit`` or a task). Cost when nothing changes: one query for
alerts of hand-paused SKUs, one for the SKUs, two for supplier health (only when
top-up SKUs are among them), one for their open alerts.
"""

from __future__ import annotations

import logging
from dataclasses import dataclass, field
from datetime import datetime

from django.conf import settings
from django.contrib.auth import get_user_model
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from catalog.models import Sku, StockAlert
from catalog.selectors.inventory import sku_supply
from catalog.stock import StockState, stock_state
from users.roles import ROLE_BY_CODE

logger = logging.getLogger(__name__)

Kind = StockAlert.Kind


@dataclass
class AlertReport:
    checked: int = 0
    opened: list[int] = field(default_factory=list)  # alert ids
    resolved: list[int] = field(default_factory=list)  # alert ids
    paused: list[int] = field(default_factory=list)  # sku ids
    resumed: list[int] = field(default_factory=list)  # sku ids


def _conditions(sku: dict, supply) -> dict[str, str]:
    """kind → message for every alert condition that holds for this SKU."""
    found = {}
    level = stock_state(
        stock_mode=sku["stock_mode"],
        stock=sku["stock"],
        low_stock_threshold=sku["low_stock_threshold"],
    )
    if level == StockState.OUT:
        found[Kind.OUT] = gettext("%(code)s is sold out.") % {"code": sku["code"]}
    elif level == StockState.LOW:
        found[Kind.LOW] = gettext(
            "%(code)s has %(stock)s left (threshold %(threshold)s)."
        ) % {
            "code": sku["code"],
            "stock": sku["stock"],
            "threshold": sku["low_stock_threshold"],
        }
    if sku["delivery_type"] == Sku.DeliveryType.TOPUP and not (
        supply and supply.healthy
    ):
        if not supply or not any(offer.usable for offer in supply.offers):
            found[Kind.DEGRADED] = gettext("%(code)s has no usable supplier offer.") % {
                "code": sku["code"]
            }
        else:
            found[Kind.DEGRADED] = gettext(
                "Every supplier of %(code)s is degraded."
            ) % {"code": sku["code"]}
    return found


@transaction.atomic
def check_stock_alerts(
    *, sku_ids: list[int] | None = None, now: datetime | None = None
) -> AlertReport:
    now = now or timezone.now()
    skus = Sku.objects.order_by("pk")
    if sku_ids is not None:
        sku_ids = sorted({int(pk) for pk in sku_ids})
        if not sku_ids:
            return AlertReport()
        skus = skus.filter(pk__in=sku_ids)
    # Paused by hand: not ours to judge, and nothing to alert about while it is.
    hand_paused = StockAlert.objects.filter(
        status=StockAlert.Status.OPEN, sku__is_active=False, sku__auto_paused=False
    )
    if sku_ids is not None:
        hand_paused = hand_paused.filter(sku_id__in=sku_ids)
    quietened = list(hand_paused.values_list("pk", flat=True))
    if quietened:
        StockAlert.objects.filter(pk__in=quietened).update(
            status=StockAlert.Status.RESOLVED, resolved_at=now
        )
    skus = skus.exclude(is_active=False, auto_paused=False)
    rows = list(
        skus.values(
            "pk",
            "code",
            "delivery_type",
            "stock_mode",
            "stock",
            "low_stock_threshold",
            "is_active",
            "auto_paused",
        )
    )
    report = AlertReport(checked=len(rows), resolved=quietened)
    if not rows:
        return report
    topup_ids = [r["pk"] for r in rows if r["delivery_type"] == Sku.DeliveryType.TOPUP]
    supply = sku_supply(sku_ids=topup_ids, now=now) if topup_ids else {}
    open_alerts = {
        (alert.sku_id, alert.kind): alert
        for alert in StockAlert.objects.filter(
            status=StockAlert.Status.OPEN, sku_id__in=[r["pk"] for r in rows]
        ).order_by()
    }

    to_pause, to_resume, to_resolve = [], [], []
    wanted_alerts: list[tuple[dict, str, str, bool]] = []
    for sku in rows:
        conditions = _conditions(sku, supply.get(sku["pk"]))
        must_pause = Kind.OUT in conditions or Kind.DEGRADED in conditions
        if must_pause and sku["is_active"]:
            to_pause.append(sku["pk"])
        elif not must_pause and sku["auto_paused"]:
            to_resume.append(sku["pk"])
        pausing = must_pause and (sku["is_active"] or sku["auto_paused"])
        for kind, message in conditions.items():
            causes_pause = pausing and kind in (Kind.OUT, Kind.DEGRADED)
            wanted_alerts.append((sku, kind, message, causes_pause))
        for kind in Kind.values:
            alert = open_alerts.get((sku["pk"], kind))
            if alert is not None and kind not in conditions:
                to_resolve.append(alert.pk)

    if to_pause:
        paused = Sku.objects.filter(pk__in=to_pause, is_active=True)
        report.paused = list(paused.values_list("pk", flat=True))
        paused.update(is_active=False, auto_paused=True)
    if to_resume:
        resumed = Sku.objects.filter(pk__in=to_resume, auto_paused=True)
        report.resumed = list(resumed.values_list("pk", flat=True))
        resumed.update(is_active=True, auto_paused=False)
    if to_resolve:
        StockAlert.objects.filter(
            pk__in=to_resolve, status=StockAlert.Status.OPEN
        ).update(status=StockAlert.Status.RESOLVED, resolved_at=now)
        report.resolved += to_resolve

    mark_paused = []
    for sku, kind, message, causes_pause in wanted_alerts:
        alert = open_alerts.get((sku["pk"], kind))
        if alert is None:
            alert = _open_alert(
                sku_id=sku["pk"], kind=kind, message=message, auto_paused=causes_pause
            )
            if alert is not None:
                report.opened.append(alert.pk)
        elif causes_pause and not alert.auto_paused:
            mark_paused.append(alert.pk)
    if mark_paused:
        StockAlert.objects.filter(pk__in=mark_paused).update(auto_paused=True)

    if report.opened or sku_ids is None:
        transaction.on_commit(notify_new_alerts, robust=True)
    return report


def _open_alert(*, sku_id, kind, message, auto_paused) -> StockAlert | None:
    """Open one alert; None when a concurrent check opened the same one first."""
    try:
        with transaction.atomic():
            return StockAlert.objects.create(
                sku_id=sku_id, kind=kind, message=message[:300], auto_paused=auto_paused
            )
    except IntegrityError:
        return None


def operations_recipients() -> list[str]:
    group = ROLE_BY_CODE["operations"].group_name
    emails = (
        get_user_model()
        .objects.filter(groups__name=group, is_active=True)
        .exclude(email="")
        .values_list("email", flat=True)
    )
    # E-mail is encrypted (kameng.fields): sorted and deduplicated once read.
    return sorted(set(emails))


def notify_new_alerts() -> int:
    """Mail the open alerts nobody was told about yet (one mail); returns how many
    it listed.

    No transaction is open and no row is locked while the mail server is talked
    to (it can take seconds, and a sale checking the same SKU would wait): the
    alerts are claimed first in a short transaction of their own (``notified_at``
    set; alerts another run holds are skipped), the mail goes out after that
    commits, and a mail that fails un-claims them, so the alerts stay recorded and
    a later run mails them. Call it outside a transaction (check_stock_alerts()
    does, on commit)."""
    recipients = operations_recipients()
    if not recipients:
        return 0
    claimed_at = timezone.now()
    alerts = _claim_unnotified_alerts(at=claimed_at)
    if not alerts:
        return 0
    subject = gettext("[Kameng] %(count)s new stock alert(s)") % {"count": len(alerts)}
    lines = [
        gettext("%(kind)s · %(sku)s: %(message)s%(paused)s")
        % {
            "kind": alert.get_kind_display(),
            "sku": alert.sku,
            "message": alert.message,
            "paused": gettext(" (SKU paused)") if alert.auto_paused else "",
        }
        for alert in alerts
    ]
    body = "\n".join(
        [
            gettext("New stock alerts:"),
            "",
            *lines,
            "",
            gettext("See the inventory monitor in the back office."),
        ]
    )
    ids = [alert.pk for alert in alerts]
    try:
        send_mail(subject, body, settings.DEFAULT_FROM_EMAIL, recipients)
    except Exception:  # any transport error: un-claim, a later run retries
        StockAlert.objects.filter(pk__in=ids, notified_at=claimed_at).update(
            notified_at=None
        )
        logger.exception("stock alert mail failed", extra={"alerts": len(ids)})
        return 0
    logger.info("stock alerts mailed", extra={"alerts": len(ids)})
    return len(ids)


@transaction.atomic
def _claim_unnotified_alerts(*, at: datetime) -> list[StockAlert]:
    """Open alerts not mailed yet, marked as mailed at `at` (skipping any another
    run has locked); committed when this returns."""
    alerts = list(
        StockAlert.objects.select_for_update(skip_locked=True, of=("self",))
        .filter(status=StockAlert.Status.OPEN, notified_at__isnull=True)
        .select_related("sku__product")
        .order_by("pk")
    )
    if alerts:
        StockAlert.objects.filter(pk__in=[a.pk for a in alerts]).update(notified_at=at)
    return alerts
