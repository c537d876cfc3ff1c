"""Ticket pages of the support slice: what the ticket page adds (the actions its
rule allows, suggested canned replies, similar resolved tickets) and the page
that marks card codes invalid or reissues them."""

from __future__ import annotations

import uuid

from django import forms
from django.contrib import messages
from django.shortcuts import get_object_or_404, redirect
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy, ngettext

from catalog.models import CardCode
from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.permission_denied import MissingPermission
from orders.aftersales import can_work_ticket, tickets_for_staff
from orders.models import CannedReply, Ticket
from orders.refunds import delivered_code_ids
from orders.reissues import REISSUE_PERMISSION, mark_codes_invalid, reissue_codes
from orders.replies import active_replies, render_reply
from orders.rules import can_take, ticket_actions
from orders.suggest import suggest_for_ticket


def canned_reply_from(request) -> CannedReply | None:
    """The canned reply a staff member clicked (?reply=<id>), if any."""
    raw = request.GET.get("reply", "")
    if not raw.isascii() or not raw.isdigit():
        return None
    return active_replies().filter(pk=int(raw)).first()


def ticket_support_context(request, ticket: Ticket) -> dict:
    """What the ticket page shows beside the thread (a few queries, whatever the
    history: the suggestion index lives in the process)."""
    actions = ticket_actions(ticket)
    suggestions = suggest_for_ticket(ticket)
    visible = set(
        tickets_for_staff(request.user)
        .filter(pk__in=[similar.pk for similar in suggestions.tickets])
        .values_list("pk", flat=True)
    )
    return {
        "actions": actions,
        "may": can_take(request.user, actions),
        "suggested_replies": [
            (reply, render_reply(reply, ticket)) for reply in suggestions.replies
        ],
        "similar_tickets": [t for t in suggestions.tickets if t.pk in visible],
        "all_replies": active_replies().only("pk", "title"),
    }


class CodesForm(forms.Form):
    key = forms.UUIDField(widget=forms.HiddenInput)
    codes = forms.TypedMultipleChoiceField(
        label=gettext_lazy("Card codes"),
        coerce=int,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": gettext_lazy("Choose at least one card code.")},
    )
    reason = forms.CharField(
        label=gettext_lazy("What you checked"),
        max_length=300,
        widget=forms.Textarea(attrs={"rows": 3}),
        help_text=gettext_lazy(
            "Kept with your name on the order's timeline, e.g. "
            "“checked at the issuer: code already redeemed”."
        ),
    )

    def __init__(self, *args, codes, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["codes"].choices = [
            (code.pk, f"{code.hint} · {code.get_status_display()}") for code in codes
        ]


def _ticket_codes_page(request, pk: int, *, reissue: bool):
    ticket = get_object_or_404(
        tickets_for_staff(request.user).select_related("order__sku__product"), pk=pk
    )
    if not can_work_ticket(request.user, ticket):
        raise MissingPermission(["orders.work_all_tickets"])
    actions = ticket_actions(ticket)
    if not (actions.reissue if reissue else actions.mark_invalid):
        messages.error(
            request,
            _("This ticket's after-sales rule does not allow that now.")
            + (f" {actions.explanation}" if actions.explanation else ""),
        )
        return redirect("orders:ticket_reply", ticket.pk)
    order = ticket.order
    ids = delivered_code_ids(order)
    codes = [c for c in CardCode.objects.in_bulk(ids).values()]
    if not reissue:
        codes = [c for c in codes if c.status == CardCode.Status.SOLD]
    form = CodesForm(
        request.POST or None,
        codes=sorted(codes, key=lambda c: ids.index(c.pk)),
        initial={"key": uuid.uuid4()},
    )
    if request.method == "POST" and form.is_valid():
        service = reissue_codes if reissue else mark_codes_invalid
        try:
            rows = service(
                order=order,
                code_ids=form.cleaned_data["codes"],
                actor=request.user,
                reason=form.cleaned_data["reason"],
                key=form.cleaned_data["key"],
                ticket=ticket,
            )
        except DomainError as exc:
            form.add_error(None, exc.message)
        else:
            done = (
                ngettext(
                    "%(count)d card code reissued; the buyer sees the new one.",
                    "%(count)d card codes reissued; the buyer sees the new ones.",
                    len(rows),
                )
                if reissue
                else ngettext(
                    "%(count)d card code marked invalid.",
                    "%(count)d card codes marked invalid.",
                    len(rows),
                )
            )
            messages.success(request, done % {"count": len(rows)})
            return redirect("orders:ticket_reply", ticket.pk)
    title = (
        _("Reissue card codes of order %(no)s")
        if reissue
        else _("Mark card codes of order %(no)s invalid")
    ) % {"no": order.order_no}
    return render_page(
        request,
        "orders/ticket_codes.html",
        {
            "ticket": ticket,
            "order": order,
            "form": form,
            "reissue": reissue,
            "page_id": "ticket-reissue" if reissue else "ticket-invalid-codes",
        },
        title=title,
    )


@staff_page(REISSUE_PERMISSION)
def ticket_reissue(request, pk: int):
    """补发: replace the chosen delivered codes with fresh ones."""
    return _ticket_codes_page(request, pk, reissue=True)


@staff_page(REISSUE_PERMISSION)
def ticket_invalid_codes(request, pk: int):
    """Staff checked the delivered codes: mark the bad ones invalid."""
    return _ticket_codes_page(request, pk, reissue=False)


def reply_text(request, ticket: Ticket) -> tuple[str, CannedReply | None]:
    """The reply box's starting text when a canned reply was clicked."""
    reply = canned_reply_from(request)
    if reply is None:
        return "", None
    return render_reply(reply, ticket), reply
