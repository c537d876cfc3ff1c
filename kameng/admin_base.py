"""The back office's ModelAdmin: unfold's, reading the query string strictly.

Django's admin lets any lookup on a model's own fields through from the URL of a
list (`?created_at__year=…`, `?operation__range=…`) and takes an add form's
initial values from the URL as they are. Some of those it only checks when the
SQL is built or the form is drawn, so a malformed value is a 500 instead of the
list's "incorrect parameters" or an empty field:

- `?field__range=²`: IndexError while compiling BETWEEN (one value, not two);
- `?field__year=99999` or a 20-digit year: ValueError or OverflowError building
  the year's bounds, and `9999` in the date drill-down's "next year";
- `?field__regex=(`: the database's error for an invalid pattern (PostgreSQL);
- `add/?list_at=x`: the date-time widget calls .utcoffset() on the string;
- a NUL character in a filter value or an autocomplete term: PostgreSQL refuses
  it in text ("cannot contain NUL").

Every admin of the project derives from this ModelAdmin (or mixes in
StrictQueryMixin, for admins that extend a third-party one); a test checks that
every registered admin does. Through it every admin also writes the audit trail
(AuditMixin: saves, deletes and list actions, with the fields before and after).
"""

from __future__ import annotations

import json
from functools import wraps

from django.contrib.admin.utils import model_format_dict
from django.contrib.contenttypes.models import ContentType
from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from django.http import Http404
from django.template.response import TemplateResponse
from django.urls import URLPattern
from django.utils.translation import gettext
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from kameng import audit, modules
from kameng.access import field_is_hidden
from kameng.parsing import parse_ascii_int

# Lookups no filter of ours builds and that the database, not Django, would judge.
REFUSED_LOOKUPS = frozenset({"range", "regex", "iregex"})
YEAR_LOOKUPS = frozenset({"year", "iso_year"})
# The date drill-down opens [year, year + 1): 9999 has no next year.
LAST_YEAR = 9998
# An admin action's audit row names at most this many of the selected objects.
MAX_ACTION_IDS = 200


def path_is_hidden(model, path: str, user) -> bool:
    """True when a lookup, ordering or search path ("sku__cost_price__lte",
    "-cost_price", "=code") passes through a field kameng.access guards from
    `user`."""
    for part in path.lstrip("-=^@").split("__"):
        try:
            field = model._meta.get_field(part)
        except FieldDoesNotExist:
            return False
        concrete = model._meta.concrete_model  # a proxy guards as its model
        if field_is_hidden(user, concrete._meta.label, field.name):
            return True
        if not field.is_relation or field.related_model is None:
            return False
        model = field.related_model
    return False


class AuditMixin:
    """Every save, delete and list action of the back office is an audit row
    (kameng.audit): who, which object, the fields before and after, from where.

    The state before an edit is taken when the admin loads the object (before
    its form changes it), or from the database when a list's inline edit saves.
    The rows join the admin's transaction, so they exist exactly when the change
    does. Django's own LogEntry is still written (and sealed) as before."""

    def get_object(self, request, object_id, from_field=None):
        obj = super().get_object(request, object_id, from_field)
        if obj is not None:
            states_before(request)[audit_key(obj)] = audit.snapshot(obj)
        return obj

    def save_model(self, request, obj, form, change):
        if change and audit_key(obj) not in states_before(request):
            stored = type(obj)._base_manager.filter(pk=obj.pk).first()
            if stored is not None:
                states_before(request)[audit_key(obj)] = audit.snapshot(stored)
        super().save_model(request, obj, form, change)

    def log_addition(self, request, obj, message):
        entry = super().log_addition(request, obj, message)
        audit.record(
            actor=request.user,
            action="admin.add",
            obj=obj,
            after=audit.snapshot(obj),
            request=request,
        )
        return entry

    def log_change(self, request, obj, message):
        entry = super().log_change(request, obj, message)
        before = states_before(request).pop(audit_key(obj), {})
        old, new = audit.changed_fields(before, audit.snapshot(obj))
        audit.record(
            actor=request.user,
            action="admin.change",
            obj=obj,
            before=old,
            after=new,
            request=request,
            # Django's change message (it names inline and many-to-many changes
            # too); the viewer words it in the reader's language.
            note=message if isinstance(message, str) else json.dumps(message),
        )
        return entry

    def log_deletions(self, request, queryset):
        entries = super().log_deletions(request, queryset)
        for obj in queryset:
            audit.record(
                actor=request.user,
                action="admin.delete",
                obj=obj,
                before=audit.snapshot(obj),
                request=request,
            )
        return entries

    def get_actions(self, request):
        """Each list action, wrapped to write its audit row once it has run
        (delete_selected writes one per object through log_deletions)."""
        actions = super().get_actions(request)
        return {
            name: (
                (func, name, description)
                if name == "delete_selected"
                else (audited_action(func, name, description), name, description)
            )
            for name, (func, name, description) in actions.items()
        }


def states_before(request) -> dict:
    """Objects' fields as the admin loaded them during this request."""
    return request.__dict__.setdefault("kameng_audit_before", {})


def audit_key(obj) -> tuple[str, str]:
    return (obj._meta.label_lower, str(obj.pk))


def audited_action(func, name: str, description):
    @wraps(func)
    def run(modeladmin, request, queryset):
        ids = [
            str(pk)
            for pk in queryset.values_list("pk", flat=True)[: MAX_ACTION_IDS + 1]
        ]
        response = func(modeladmin, request, queryset)
        if isinstance(response, TemplateResponse):
            return response  # a page asking to confirm: nothing done yet
        opts = modeladmin.model._meta
        audit.record(
            actor=request.user,
            action="admin.action",
            content_type=ContentType.objects.get_for_model(
                modeladmin.model, for_concrete_model=False
            ),
            object_repr=str(description) % model_format_dict(opts),
            after={
                "action": name,
                "objects": ids[:MAX_ACTION_IDS],
                "more": len(ids) > MAX_ACTION_IDS,
            },
            request=request,
        )
        return response

    return run


class StrictQueryMixin(AuditMixin):
    def lookup_allowed(self, lookup, value, request):
        last = lookup.rsplit("__", 1)[-1]
        if last in REFUSED_LOOKUPS or "\x00" in str(value):
            return False
        # A guarded field (a cost, a secret) is never a filter for those who may
        # not see it: `?cost_price__lte=9.30` would binary-search its value.
        if path_is_hidden(self.model, lookup, request.user):
            return False
        if last in YEAR_LOOKUPS:
            year = parse_ascii_int(value, max_digits=4)
            if year is None or not 1 <= year <= LAST_YEAR:
                return False
        return super().lookup_allowed(lookup, value, request)

    def get_search_fields(self, request):
        return [
            name
            for name in super().get_search_fields(request)
            if not path_is_hidden(self.model, name, request.user)
        ]

    def get_sortable_by(self, request):
        """Columns whose ordering passes through a guarded field are not
        sortable for those who may not see it."""
        return [
            name
            for name in super().get_sortable_by(request)
            if not path_is_hidden(self.model, self.ordering_path(name), request.user)
        ]

    def ordering_path(self, column) -> str:
        """The field path a list column orders by: its admin_order_field, or the
        column's own name ("" for a callable without one)."""
        if isinstance(column, str):
            name = column
            attribute = getattr(self, column, None) or getattr(self.model, column, None)
        else:
            name, attribute = "", column  # a callable in list_display
        order_field = getattr(attribute, "admin_order_field", None)
        return order_field if isinstance(order_field, str) else name

    def get_changelist(self, request, **kwargs):
        """A list that ignores `?o=` on a column ordered by a guarded field, for
        those who may not see it (the order of rows would tell its values)."""
        base = super().get_changelist(request, **kwargs)
        model_admin = self

        class GuardedOrderChangeList(base):
            def get_ordering_field(self, field_name):
                order_field = super().get_ordering_field(field_name)
                if isinstance(order_field, str) and path_is_hidden(
                    model_admin.model, order_field, request.user
                ):
                    return None
                return order_field

        return GuardedOrderChangeList

    def get_search_results(self, request, queryset, search_term):
        """The list's search box refuses a NUL itself; the autocomplete behind a
        relation's picker hands its term straight here."""
        return super().get_search_results(
            request, queryset, search_term.replace("\x00", "")
        )

    def get_changeform_initial_data(self, request):
        """Initial values from the URL, less the dates and times that do not parse
        (those that do are given to the form as dates, which its widget expects)."""
        initial = super().get_changeform_initial_data(request)
        for name, value in list(initial.items()):
            try:
                field = self.opts.get_field(name)
            except FieldDoesNotExist:
                continue
            if not isinstance(field, (models.DateField, models.TimeField)):
                continue
            try:
                initial[name] = field.to_python(value)
            except ValidationError:
                del initial[name]
        return initial


class ModuleGateMixin:
    """A model of a switched-off optional module (kameng.modules) leaves the
    sidebar and the app index, and its admin URLs answer 404; its rows stay."""

    def module_is_off(self) -> bool:
        module = modules.model_module(self.opts.app_label, self.opts.model_name)
        return module is not None and not modules.is_enabled(module.code)

    def has_module_permission(self, request):
        return not self.module_is_off() and super().has_module_permission(request)

    def get_urls(self):
        urls = super().get_urls()
        for pattern in urls:
            if isinstance(pattern, URLPattern):
                pattern.callback = self.gate(pattern.callback)
        return urls

    def gate(self, view):
        @wraps(view)
        def gated(request, *args, **kwargs):
            if self.module_is_off():
                raise Http404(gettext("This module is switched off."))
            return view(request, *args, **kwargs)

        return gated


class ModelAdmin(ModuleGateMixin, StrictQueryMixin, UnfoldModelAdmin):
    # A URL typed without a scheme (a supplier's API endpoint or callback) is
    # taken as https, never as plain http (Django 6's default; 5.2 warns).
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}


class PasswordHashHiddenMixin:
    """For the admins of accounts: Django's password field shows the hash's
    algorithm and the start of its salt and hash. Only the super admin sees it
    (it also links to setting a new password); others see the account without it.
    """

    def get_fieldsets(self, request, obj=None):
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or request.user.is_superuser:
            return fieldsets
        return [
            (title, {**options, "fields": without_password(options["fields"])})
            for title, options in fieldsets
        ]


def without_password(fields):
    return tuple(name for name in fields if name != "password")
