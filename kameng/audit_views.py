"""The audit log for the super admin: who changed what, filterable, newest first.

Paged by id ("older" links carry the last id shown), never counted: the log
grows with every back-office change. Card-code reveals and full contact views
are rows like any other (actions code.reveal and contact.view).
"""

from __future__ import annotations

import datetime
import json

from django import forms
from django.apps import apps
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, PermissionDenied
from django.db.models import QuerySet
from django.urls import NoReverseMatch, reverse
from django.utils import timezone
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from kameng.admin_pages import render_page, staff_page
from kameng.audit import ACTIONS, action_label
from kameng.models import AuditEntry
from kameng.navigation import Page, register_page
from kameng.parsing import parse_ascii_int

PAGE_SIZE = 50
# Dates the filter accepts (a day's bounds outside these overflow).
FIRST_YEAR, LAST_YEAR = 1900, 9998
# Keys of before/after that are no model field: what the viewer calls them.
EXTRA_KEYS = {
    "action": gettext_lazy("list action"),
    "objects": gettext_lazy("objects"),
    "more": gettext_lazy("more objects than listed"),
    "layer": gettext_lazy("price layer"),
    "price": gettext_lazy("price"),
    "refund": gettext_lazy("refund amount"),
}

register_page(
    Page(
        app_label="auth",
        title=gettext_lazy("Audit log"),
        url_name="audit_log",
        permission="kameng.view_auditentry",
        icon="policy",
    )
)


def staff_choices():
    staff = get_user_model().objects.filter(is_staff=True).order_by("username")
    return [("", gettext_lazy("Anyone"))] + [
        (str(user.pk), user.get_username()) for user in staff.only("pk", "username")
    ]


def object_type_choices():
    """The back office's models (and the models behind its proxies, which
    services name): what an audit row can be about."""
    models = set()
    for model in apps.get_models():
        if admin.site.is_registered(model):
            models.update({model, model._meta.concrete_model})
    content_types = ContentType.objects.get_for_models(
        *models, for_concrete_models=False
    )
    types = sorted(
        (
            (str(content_type.pk), str(model._meta.verbose_name))
            for model, content_type in content_types.items()
        ),
        key=lambda choice: choice[1],
    )
    return [("", gettext_lazy("Any type"))] + types


def model_title(content_type: ContentType) -> str:
    model = content_type.model_class()
    return str(model._meta.verbose_name) if model else content_type.model


class AuditFilterForm(forms.Form):
    actor = forms.ChoiceField(label=gettext_lazy("Who"), required=False)
    action = forms.ChoiceField(label=gettext_lazy("Action"), required=False)
    object_type = forms.ChoiceField(label=gettext_lazy("Object type"), required=False)
    object_id = forms.CharField(
        label=gettext_lazy("Object id"), required=False, max_length=64
    )
    since = forms.DateField(
        label=gettext_lazy("From"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )
    until = forms.DateField(
        label=gettext_lazy("To"),
        required=False,
        widget=forms.DateInput(attrs={"type": "date"}),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["actor"].choices = staff_choices()
        self.fields["action"].choices = [("", gettext_lazy("Any action"))] + list(
            ACTIONS.items()
        )
        self.fields["object_type"].choices = object_type_choices()

    def clean(self):
        cleaned = super().clean()
        for name in ("since", "until"):
            day = cleaned.get(name)
            if day and not FIRST_YEAR <= day.year <= LAST_YEAR:
                self.add_error(
                    name,
                    _("Choose a date between the years %(first)s and %(last)s.")
                    % {"first": FIRST_YEAR, "last": LAST_YEAR},
                )
                cleaned.pop(name, None)
        since, until = cleaned.get("since"), cleaned.get("until")
        if since and until and since > until:
            self.add_error("until", _("The end date is before the start date."))
        return cleaned


def day_start(day: datetime.date) -> datetime.datetime:
    return timezone.make_aware(datetime.datetime.combine(day, datetime.time.min))


def filtered_entries(filters: dict) -> QuerySet[AuditEntry]:
    entries = AuditEntry.objects.select_related("content_type").order_by("-id")
    if filters.get("actor"):
        entries = entries.filter(actor_id=int(filters["actor"]))
    if filters.get("action"):
        entries = entries.filter(action=filters["action"])
    if filters.get("object_type"):
        entries = entries.filter(content_type_id=int(filters["object_type"]))
    if filters.get("object_id"):
        entries = entries.filter(object_id=filters["object_id"].strip())
    if filters.get("since"):
        entries = entries.filter(created_at__gte=day_start(filters["since"]))
    if filters.get("until"):
        next_day = filters["until"] + datetime.timedelta(days=1)
        entries = entries.filter(created_at__lt=day_start(next_day))
    return entries


def shown_value(model, name: str, value) -> str:
    """A stored value as a person reads it: a choice's label, yes/no, a dash."""
    if value is None or value == "":
        return "—"
    if isinstance(value, bool):
        return _("Yes") if value else _("No")
    if isinstance(value, list):
        return ", ".join(str(item) for item in value) or "—"
    if model is not None:
        try:
            field = model._meta.get_field(name)
        except FieldDoesNotExist:
            field = None
        if field is not None and field.choices:
            return str(dict(field.flatchoices).get(value, value))
    return str(value)


def field_title(model, name: str) -> str:
    if model is not None:
        try:
            return str(model._meta.get_field(name).verbose_name)
        except FieldDoesNotExist:
            pass
    return str(EXTRA_KEYS.get(name, name))


def changes(entry: AuditEntry) -> list[dict]:
    model = entry.content_type.model_class() if entry.content_type_id else None
    before, after = entry.before or {}, entry.after or {}
    names = list(dict.fromkeys([*before, *after]))
    return [
        {
            "field": field_title(model, name),
            "before": shown_value(model, name, before.get(name))
            if name in before
            else "",
            "after": shown_value(model, name, after.get(name)) if name in after else "",
        }
        for name in names
    ]


def object_link(entry: AuditEntry) -> str:
    if not (entry.content_type_id and entry.object_id):
        return ""
    try:
        return reverse(
            f"admin:{entry.content_type.app_label}_{entry.content_type.model}_change",
            args=[entry.object_id],
        )
    except NoReverseMatch:
        return ""


# Django's own words for an inline object's change (its catalogue has them).
INLINE_CHANGES = (
    ("added", "Added {name} “{object}”."),
    ("changed", "Changed {name} “{object}”."),
    ("deleted", "Deleted {name} “{object}”."),
)


def shown_note(entry: AuditEntry) -> str:
    """An admin edit's note is Django's change message (JSON). The fields it
    names are in the table already; what it adds is the inline objects added,
    changed or deleted with the edit, said here in the reader's language."""
    if entry.action != "admin.change":
        return entry.note
    try:
        message = json.loads(entry.note or "[]")
    except ValueError:
        return entry.note
    parts = []
    for item in message if isinstance(message, list) else []:
        for kind, words in INLINE_CHANGES:
            detail = item.get(kind) if isinstance(item, dict) else None
            if isinstance(detail, dict) and "object" in detail:
                parts.append(
                    _(words).format(
                        name=_(str(detail.get("name", ""))), object=detail["object"]
                    )
                )
    return " ".join(parts)


def shown_entry(entry: AuditEntry) -> dict:
    return {
        "id": entry.pk,
        "when": entry.created_at,
        "who": entry.actor_name or _("The system"),
        "action": action_label(entry.action),
        "type": model_title(entry.content_type) if entry.content_type_id else "",
        "object": entry.object_repr,
        "link": object_link(entry),
        "ip": entry.ip_address or "",
        "note": shown_note(entry),
        "changes": changes(entry),
    }


@staff_page(None)
def audit_log(request):
    if not request.user.is_superuser:
        raise PermissionDenied(_("Only the super admin may read the audit log."))
    form = AuditFilterForm(request.GET or None)
    filters = form.cleaned_data if form.is_bound and form.is_valid() else {}
    entries = filtered_entries(filters)
    older_than = parse_ascii_int(request.GET.get("before", ""), max_digits=18)
    if older_than:
        entries = entries.filter(pk__lt=older_than)
    page = list(entries[: PAGE_SIZE + 1])
    shown = [shown_entry(entry) for entry in page[:PAGE_SIZE]]
    query = request.GET.copy()
    query.pop("before", None)
    if len(page) > PAGE_SIZE:
        query["before"] = str(page[PAGE_SIZE - 1].pk)
        older_link = "?" + query.urlencode()
    else:
        older_link = ""
    return render_page(
        request,
        "admin/kameng/audit_log.html",
        {
            "form": form,
            "entries": shown,
            "older_link": older_link,
            "first_page": not older_than,
            "page_id": "audit-log",
        },
        title=_("Audit log"),
    )
