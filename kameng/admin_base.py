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

from kameng.parsing import parse_ascii_int

# Lookups no filter of ours builds and that the database, not Django, would judge.
REFUSED_LOOKUPS = frozenset({"range", "regex", "iregex"})
YEAR_LOOKUPS = frozenset({"year", "iso_year"})
# The date drill-down opens [year, year + 1): 9999 has no next year.
LAST_YEAR = 9998


class StrictQueryMixin:
    def lookup_allowed(self, lookup, value, request):
        last = lookup.rsplit("__", 1)[-1]
        if last in REFUSED_LOOKUPS or "\x00" in str(value):
            return False
        if last in YEAR_LOOKUPS:
            year = parse_ascii_int(value, max_digits=4)
            if year is None or not 1 <= year <= LAST_YEAR:
                return False
        return super().lookup_allowed(lookup, value, request)

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
