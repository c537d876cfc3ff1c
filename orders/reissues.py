"""Card codes a buyer reports as not working: staff check them and mark them
invalid, or reissue them (补发: a fresh code of the same SKU replaces each).

Beside orders.refunds and built the same way: the order row is locked first, so
a second click (or a retry) of the same form waits for the first and then finds
its rows by `key` instead of taking more codes. Fresh codes are taken with
catalog's FOR UPDATE SKIP LOCKED pick, as at checkout. Every change is one
CodeInvalidation row per code (who, why, the replacement) and one line in the
order's timeline; the buyer sees the new code on the order page.
"""

from __future__ import annotations

import uuid

from django.db import transaction
from django.utils.translation import gettext as _
from django.utils.translation import ngettext

from catalog.exceptions import NotEnoughCodes
from catalog.models import CardCode
from catalog.services.codes import take_codes
from kameng import audit
from orders.aftersales import staff_reply
from orders.exceptions import ReissueRefused
from orders.models import CodeInvalidation, Order, OrderEvent, Ticket
from orders.refunds import delivered_code_ids
from orders.risk import recount_buyer

S = Order.Status
REISSUE_PERMISSION = "orders.add_codeinvalidation"
# Orders whose delivered codes may be checked or replaced.
REISSUE_STATES = (S.DELIVERED, S.AFTER_SALES, S.PARTIALLY_REFUNDED)


def open_invalidations(order: Order):
    """Codes of `order` found invalid and not replaced yet."""
    return CodeInvalidation.objects.filter(order=order, replacement__isnull=True)


def _locked(order: Order) -> Order:
    return (
        Order.objects.select_for_update(of=("self",))
        .select_related("sku")
        .get(pk=order.pk)
    )


def _check_request(*, actor, reason: str) -> str:
    if not actor.has_perm(REISSUE_PERMISSION):
        raise ReissueRefused(_("You may not mark card codes invalid or reissue them."))
    reason = reason.strip()
    if not reason:
        raise ReissueRefused(_("Say what you checked: a reason is needed."))
    return reason[:300]


def _check_order(order: Order, code_ids: list[int]) -> list[int]:
    if order.sku.delivery_type != "card" or not delivered_code_ids(order):
        raise ReissueRefused(
            _("Order %(no)s has no delivered card codes.") % {"no": order.order_no}
        )
    if order.status not in REISSUE_STATES:
        raise ReissueRefused(
            _("Order %(no)s is %(status)s: its codes can no longer be changed.")
            % {"no": order.order_no, "status": S(order.status).label}
        )
    if order.sku.reusable_code:
        raise ReissueRefused(
            _(
                "%(sku)s sells one shared code to every buyer: replace the code "
                "in the catalog instead."
            )
            % {"sku": order.sku.name}
        )
    chosen = list(dict.fromkeys(code_ids))
    if not chosen:
        raise ReissueRefused(_("Choose at least one card code."))
    foreign = set(chosen) - set(delivered_code_ids(order))
    if foreign:
        raise ReissueRefused(
            _("Only the codes delivered with order %(no)s can be chosen.")
            % {"no": order.order_no}
        )
    return chosen


def _timeline(*, order: Order, actor, text: str) -> None:
    """A line in the order's timeline; the status stays what it is."""
    OrderEvent.objects.create(
        order=order,
        from_status=order.status,
        to_status=order.status,
        actor=actor,
        reason=text[:300],
    )


def _tell(ticket: Ticket | None, *, actor, body: str, internal: bool) -> None:
    if ticket is not None:
        staff_reply(ticket=ticket, actor=actor, body=body, internal=internal)


@transaction.atomic
def mark_codes_invalid(
    *,
    order: Order,
    code_ids: list[int],
    actor,
    reason: str,
    key: uuid.UUID,
    ticket: Ticket | None = None,
) -> list[CodeInvalidation]:
    """Staff checked these delivered codes and found them invalid: void them,
    with who and why. The same `key` again returns the first rows."""
    reason = _check_request(actor=actor, reason=reason)
    order = _locked(order)
    done = list(CodeInvalidation.objects.filter(key=key))
    if done:
        if done[0].order_id != order.pk:
            raise ReissueRefused(_("This form belongs to another order."))
        return done
    chosen = _check_order(order, code_ids)
    codes = CardCode.objects.select_for_update().in_bulk(chosen)
    if any(codes[pk].status != CardCode.Status.SOLD for pk in chosen):
        raise ReissueRefused(_("Some of these codes were already marked invalid."))
    CardCode.objects.filter(pk__in=chosen).update(
        status=CardCode.Status.VOID, sold_at=None
    )
    rows = CodeInvalidation.objects.bulk_create(
        CodeInvalidation(
            key=key, order=order, ticket=ticket, code_id=pk, actor=actor, reason=reason
        )
        for pk in chosen
    )
    text = ngettext(
        "%(count)d card code checked and marked invalid: %(reason)s",
        "%(count)d card codes checked and marked invalid: %(reason)s",
        len(chosen),
    ) % {"count": len(chosen), "reason": reason}
    _timeline(order=order, actor=actor, text=text)
    _tell(ticket, actor=actor, body=text, internal=True)
    return rows


@transaction.atomic
def reissue_codes(
    *,
    order: Order,
    code_ids: list[int],
    actor,
    reason: str,
    key: uuid.UUID,
    ticket: Ticket | None = None,
) -> list[CodeInvalidation]:
    """补发: replace each chosen delivered code with a fresh code of the same
    SKU. A code still counted as sold is marked invalid on the way; one already
    marked invalid gets its replacement. Exactly once per `key`, however often
    the form is sent."""
    reason = _check_request(actor=actor, reason=reason)
    order = _locked(order)  # a second click waits here for the first
    done = list(CodeInvalidation.objects.filter(key=key, replacement__isnull=False))
    if done:
        if done[0].order_id != order.pk:
            raise ReissueRefused(_("This form belongs to another order."))
        return done
    chosen = _check_order(order, code_ids)
    codes = CardCode.objects.select_for_update().in_bulk(chosen)
    marked = {row.code_id: row for row in open_invalidations(order)}
    for pk in chosen:
        if codes[pk].status != CardCode.Status.SOLD and pk not in marked:
            raise ReissueRefused(
                _("Code %(hint)s was already replaced or voided.")
                % {"hint": codes[pk].hint}
            )
    try:
        fresh = take_codes(
            sku=order.sku, quantity=len(chosen), order_ref=order.order_no
        )
    except NotEnoughCodes as exc:
        raise ReissueRefused(
            _("Not enough codes in stock to reissue: %(detail)s")
            % {"detail": exc.message}
        ) from exc
    still_sold = [pk for pk in chosen if pk not in marked]
    CardCode.objects.filter(pk__in=still_sold).update(
        status=CardCode.Status.VOID, sold_at=None
    )
    rows = []
    for pk, new in zip(chosen, fresh, strict=True):
        row = marked.get(pk)
        if row is None:
            row = CodeInvalidation(
                order=order, ticket=ticket, code_id=pk, actor=actor, reason=reason
            )
        row.key, row.replacement_id = key, new.id
        row.actor, row.reason = actor, reason
        row.ticket = row.ticket or ticket
        row.save()
        rows.append(row)
    replaced = dict(zip(chosen, (new.id for new in fresh), strict=True))
    order.delivery = {
        **order.delivery,
        "code_ids": [replaced.get(pk, pk) for pk in delivered_code_ids(order)],
    }
    order.save(update_fields=["delivery", "updated_at"])
    audit.record(
        actor=actor,
        action="order.reissue",
        obj=order,
        before={"code_ids": chosen},
        after={"code_ids": [new.id for new in fresh]},
        note=reason,
    )
    recount_buyer(buyer_id=order.buyer_id)  # reissues count towards risk flags
    _timeline(
        order=order,
        actor=actor,
        text=ngettext(
            "%(count)d card code reissued: %(reason)s",
            "%(count)d card codes reissued: %(reason)s",
            len(chosen),
        )
        % {"count": len(chosen), "reason": reason},
    )
    _tell(
        ticket,
        actor=actor,
        body=ngettext(
            "We have reissued %(count)d card code. The new code is on your "
            "order page; the old one no longer works.",
            "We have reissued %(count)d card codes. The new codes are on your "
            "order page; the old ones no longer work.",
            len(chosen),
        )
        % {"count": len(chosen)},
        internal=False,
    )
    return rows


def reissues_for_buyer(order: Order) -> list[CodeInvalidation]:
    """What the buyer is shown on the order page: each code found invalid, and
    the code that replaced it (if any), oldest first."""
    return list(
        order.code_invalidations.select_related("code", "replacement").order_by("id")
    )
