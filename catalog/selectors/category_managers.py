"""Category managers: staff who edit only the products of some categories.

A grant is django-guardian's object permission ``catalog.change_category`` on a
Category (given on the category's page in the back office, see
catalog.services.category_managers). A member of staff holding such grants and
no global ``catalog.change_product`` is *restricted*: the product and SKU lists
show only the products of those categories (not of their sub-categories), and
only those can be opened and edited. Whoever holds ``change_product`` globally
(operations, the super admin) is not restricted; staff without any grant keep
what their role gives them.
"""

from __future__ import annotations

from guardian.shortcuts import get_objects_for_user, get_users_with_perms

from catalog.models import Category

MANAGE_PERMISSION = "catalog.change_category"
ALL_PRODUCTS_PERMISSION = "catalog.change_product"


def managed_category_ids(user) -> frozenset[int] | None:
    """The categories `user` is restricted to, or None when not restricted."""
    if not (user.is_active and user.is_staff) or user.has_perm(ALL_PRODUCTS_PERMISSION):
        return None
    granted = get_objects_for_user(
        user,
        MANAGE_PERMISSION,
        klass=Category,
        with_superuser=False,
        accept_global_perms=False,
    )
    return frozenset(granted.values_list("pk", flat=True)) or None


def manages_category(user, category_id: int | None) -> bool:
    """Does a restricted `user` manage the category `category_id`?"""
    ids = managed_category_ids(user)
    return ids is not None and category_id in ids


def category_managers(category: Category):
    """The staff members holding the grant on `category` itself (not via a
    group or a global permission)."""
    return get_users_with_perms(
        category,
        only_with_perms_in=["change_category"],
        with_superusers=False,
        with_group_users=False,
    ).order_by("username")
