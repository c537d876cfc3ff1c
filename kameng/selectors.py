"""Figures for the dashboard, gathered from each app's selectors."""

from __future__ import annotations

from django.utils.translation import gettext_lazy as _

from catalog.selectors import catalog_figures
from users.selectors import buyer_figures, staff_by_role


def dashboard_sections(*, user) -> list[dict]:
    sections = []
    if user.has_perm("users.view_buyer"):
        sections.append({"title": _("Staff by role"), "figures": staff_by_role()})
        sections.append({"title": _("Buyers"), "figures": buyer_figures(user=user)})
    if user.has_perm("catalog.view_product"):
        sections.append({"title": _("Catalog"), "figures": catalog_figures()})
    return sections
