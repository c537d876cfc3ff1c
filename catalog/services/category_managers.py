"""Grant and withdraw category managers (see catalog.selectors.category_managers)."""

from __future__ import annotations

from django.db import transaction
from guardian.shortcuts import assign_perm, remove_perm

from catalog.models import Category
from catalog.selectors.category_managers import MANAGE_PERMISSION, category_managers
from kameng import audit


@transaction.atomic
def set_category_managers(*, category: Category, managers, actor) -> bool:
    """Make exactly `managers` (staff members) the managers of `category`.

    Returns whether anything changed; a change is one audit row with the
    usernames before and after.
    """
    current = {user.pk: user for user in category_managers(category)}
    wanted = {user.pk: user for user in managers}
    if current.keys() == wanted.keys():
        return False
    for pk in current.keys() - wanted.keys():
        remove_perm(MANAGE_PERMISSION, current[pk], category)
    for pk in wanted.keys() - current.keys():
        assign_perm(MANAGE_PERMISSION, wanted[pk], category)
    audit.record(
        actor=actor,
        action="category.managers",
        obj=category,
        before={"managers": sorted(u.get_username() for u in current.values())},
        after={"managers": sorted(u.get_username() for u in wanted.values())},
    )
    return True
