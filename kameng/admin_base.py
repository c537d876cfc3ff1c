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
every registered admin does.
"""

from __future__ import annotations

from django.core.exceptions import FieldDoesNotExist, ValidationError
from django.db import models
from unfold.admin import ModelAdmin as UnfoldModelAdmin

from kameng.access import field_is_hidden
from kameng.parsing import parse_ascii_int

# Lookups no filter of ours builds and that the database, not Django, would judge.
REFUSED_LOOKUPS = frozenset({"range", "regex", "iregex"})
YEAR_LOOKUPS = frozenset({"year", "iso_year"})
# The date drill-down opens [year, year + 1): 9999 has no next year.
LAST_YEAR = 9998


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


class StrictQueryMixin:
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


class ModelAdmin(StrictQueryMixin, UnfoldModelAdmin):
    pass


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
