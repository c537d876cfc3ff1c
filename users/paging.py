"""A paginator for lists of millions of rows: it never counts them.

Django's admin asks its paginator for `count` to draw the page links. This one
answers from the requested page alone: it reads the ids of that page plus one
row (`LIMIT per_page + 1 OFFSET …`), so the count is exact up to the current
page and "at least one more" beyond it. The page links show the pages up to the
next one; the list has no "N results in total" (its own pagination template says
whether more follow), and the filters offer no per-choice counts (facets).
"""

from __future__ import annotations

from django.contrib.admin.options import ShowFacets
from django.core.paginator import Paginator
from django.utils.functional import cached_property

from kameng.parsing import parse_ascii_int


class NoCountPaginator(Paginator):
    template_name = "users/no_count_pagination.html"  # read by unfold's list

    def __init__(self, object_list, per_page, *, page_number: int = 1, **kwargs):
        super().__init__(object_list, per_page, **kwargs)
        self.page_number = max(1, page_number)

    @cached_property
    def count(self) -> int:
        start = (self.page_number - 1) * self.per_page
        window = self.object_list[start : start + self.per_page + 1]
        return start + len(window.values_list("pk", flat=True))

    @property
    def has_more(self) -> bool:
        """Rows follow the requested page."""
        return self.count > self.page_number * self.per_page


class NoCountPaginationMixin:
    """For a ModelAdmin: page its list with NoCountPaginator (and no full count)."""

    show_full_result_count = False
    show_facets = ShowFacets.NEVER

    def get_paginator(
        self, request, queryset, per_page, orphans=0, allow_empty_first_page=True
    ):
        page = parse_ascii_int(request.GET.get("p", "1"), max_digits=9) or 1
        return NoCountPaginator(
            queryset,
            per_page,
            page_number=page,
            orphans=0,
            allow_empty_first_page=allow_empty_first_page,
        )
