"""The referral review queue: held referrals with their reasons, oldest first,
each cleared (its rewards paid, once) or rejected (never paid)."""

from __future__ import annotations

from django.contrib import messages
from django.shortcuts import redirect
from django.utils.translation import gettext as _
from django.views.decorators.http import require_POST

from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page
from kameng.parsing import parse_ascii_int
from marketing.referral import (
    REVIEW_PAGE,
    REVIEW_PERMISSION,
    ReferralRefused,
    clear_referral,
    held_referrals,
    reject_referral,
)

VIEW = "marketing.view_referral"
NOTE_MAX = 255

register_page(
    Page(
        app_label="marketing",
        title=_("Referral review"),
        url_name="marketing:referral_review",
        permission=VIEW,
        icon="how_to_reg",
    )
)


@staff_page(VIEW)
def referral_review(request):
    after = parse_ascii_int(request.GET.get("after", ""), max_digits=18)
    rows = held_referrals(after_id=after)
    more = len(rows) > REVIEW_PAGE
    rows = rows[:REVIEW_PAGE]
    return render_page(
        request,
        "marketing/referral_review.html",
        {
            "rows": rows,
            "next_after": rows[-1].pk if more and rows else None,
            "first_page": after is None,
            "may_decide": request.user.has_perm(REVIEW_PERMISSION),
            "note_max": NOTE_MAX,
            "page_id": "referral-review",
        },
        title=_("Referral review"),
    )


@require_POST
@staff_page(REVIEW_PERMISSION)
def referral_decide(request, pk: int):
    decision = request.POST.get("decision", "")
    note = request.POST.get("note", "")[:NOTE_MAX]
    try:
        if decision == "clear":
            paid = clear_referral(referral_id=pk, actor=request.user, note=note)
            messages.success(
                request,
                _("Referral cleared: %(count)s rewards paid.") % {"count": len(paid)},
            )
        elif decision == "reject":
            reject_referral(referral_id=pk, actor=request.user, note=note)
            messages.success(request, _("Referral rejected: it will never be paid."))
        else:
            messages.error(request, _("Choose to clear or to reject the referral."))
    except ReferralRefused as exc:
        messages.error(request, exc.message)
    return redirect("marketing:referral_review")
