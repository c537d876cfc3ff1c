"""The segment editor: filters, a preview of the size and the first members,
then save. The same form and queryset serve the preview and the saved segment."""

from __future__ import annotations

from django.contrib import messages
from django.http import Http404
from django.shortcuts import get_object_or_404, redirect
from django.urls import reverse
from django.utils.translation import gettext as _

from kameng.admin_pages import render_page, staff_page
from kameng.exceptions import DomainError
from kameng.navigation import Page, register_page
from marketing.forms import SegmentFilterForm, SegmentForm
from marketing.models import Segment
from marketing.selectors import preview_segment
from marketing.services import save_segment

VIEW = "marketing.view_segment"

register_page(
    Page(
        app_label="marketing",
        title=_("New segment"),
        url_name="marketing:segment_new",
        permission="marketing.add_segment",
        icon="group_add",
    )
)


@staff_page(VIEW)
def segment_editor(request, pk: int | None = None):
    segment = None
    if pk is not None:
        segment = get_object_or_404(Segment, pk=pk)
        if segment.builtin:
            raise Http404
    may_save = request.user.has_perm(
        "marketing.change_segment" if segment else "marketing.add_segment"
    )
    preview = None
    form = SegmentForm(instance=segment)
    errors = {}
    if request.method == "POST":
        if "_save" in request.POST and may_save:
            form = SegmentForm(request.POST, instance=segment)
            if form.is_valid():
                try:
                    saved = save_segment(
                        segment=form.save(commit=False),
                        levels=form.cleaned_data["levels"],
                        categories=form.cleaned_data["categories"],
                        actor=request.user,
                    )
                except DomainError as exc:
                    messages.error(request, exc.message)
                else:
                    messages.success(
                        request,
                        _("Segment “%(name)s” saved: %(count)s buyers.")
                        % {"name": saved.name, "count": saved.member_count},
                    )
                    return redirect(reverse("admin:marketing_segment_changelist"))
            errors = form.errors
        else:
            form = SegmentForm(request.POST, instance=segment)
            filters = SegmentFilterForm(request.POST, instance=segment)
            if filters.is_valid():
                preview = preview_segment(filters.filters())
            errors = filters.errors
    if segment:
        title = _("Edit segment: %(name)s") % {"name": segment}
    else:
        title = _("New segment")
    return render_page(
        request,
        "marketing/segment_editor.html",
        {
            "form": form,
            "segment": segment,
            "preview": preview,
            "errors": errors,
            "may_save": may_save,
            "page_id": "segment-editor",
        },
        title=title,
    )
