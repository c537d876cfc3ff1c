"""The admin's search box over encrypted contacts (issue 15, kameng.fields).

A list whose search box also finds rows by a phone number or e-mail address
names the paths of those encrypted fields in `contact_search_fields`; the box
then matches them exactly, through their blind index, beside the ordinary
`search_fields`. Part of a number finds nothing: the columns hold tokens, and
the help text under the box says so.
"""

from __future__ import annotations

from django.db.models import Q
from django.utils.translation import gettext_lazy

from kameng.fields import contact_match

EXACT_CONTACT_HELP = gettext_lazy(
    "Phone numbers and e-mail addresses are stored encrypted: type the whole "
    "number or address (exact match); part of one finds nothing."
)


def search_term(text: str) -> str:
    return text.replace("\x00", "").strip()


class ContactSearchMixin:
    contact_search_fields: tuple[str, ...] = ()
    search_help_text = EXACT_CONTACT_HELP

    def get_search_results(self, request, queryset, search_term_text):
        found, duplicates = super().get_search_results(
            request, queryset, search_term_text
        )
        term = search_term(search_term_text)
        if term and self.contact_search_fields:
            match = Q()
            for path in self.contact_search_fields:
                match |= self.contact_search_match(path, term)
            found = found | queryset.filter(match)
        return found, duplicates

    def contact_search_match(self, path: str, term: str) -> Q:
        """Rows whose encrypted `path` equals `term` (a list whose values are
        normalised otherwise, e.g. the blacklist, says how)."""
        return contact_match(path, term)
