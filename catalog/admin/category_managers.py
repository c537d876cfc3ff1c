"""Category managers in the back office (catalog.selectors.category_managers).

CategoryManagersForm adds a "managers" field to a category's page for whoever
may edit staff accounts (the super admin); ManagedCategoriesMixin narrows the
product and SKU admins for a restricted manager; ManagedInlineMixin lets a
manager edit the SKUs of a product they manage.
"""

from __future__ import annotations

from django import forms
from django.utils.translation import gettext_lazy as _
from unfold.widgets import UnfoldAdminSelectMultipleWidget

from catalog.selectors.category_managers import category_managers, managed_category_ids
from users.models import Staff

# Grants name staff accounts, which only the super admin sees (users.*_staff).
GRANT_PERMISSION = "users.change_staff"


def restriction(request) -> frozenset[int] | None:
    """managed_category_ids for the request's user, read once per request."""
    if not hasattr(request, "managed_category_ids"):
        request.managed_category_ids = managed_category_ids(request.user)
    return request.managed_category_ids


class CategoryManagersForm(forms.ModelForm):
    """A category's page with its managers (the admin supplies model and fields)."""

    managers = forms.ModelMultipleChoiceField(
        label=_("category managers"),
        queryset=Staff.objects.filter(is_active=True, is_superuser=False).order_by(
            "username"
        ),
        required=False,
        widget=UnfoldAdminSelectMultipleWidget,
        help_text=_(
            "These staff members may edit this category's products and their "
            "SKUs. Unless their role lets them edit every product, they see no "
            "other product."
        ),
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        if self.instance.pk is not None:
            self.fields["managers"].initial = [
                user.pk for user in category_managers(self.instance)
            ]


class ManagedCategoriesMixin:
    """A restricted category manager lists, opens and edits only the objects of
    the categories they manage; everyone else keeps their role's rights.
    `category_lookup` leads from the admin's model to its category."""

    category_lookup = "category"
    # Foreign keys whose choices narrow too: field name -> lookup to a category id.
    restricted_choices: dict[str, str] = {}

    def category_id_of(self, obj) -> int | None:
        *path, last = self.category_lookup.split("__")
        for name in path:
            obj = getattr(obj, name)
        return getattr(obj, f"{last}_id")

    def get_queryset(self, request):
        queryset = super().get_queryset(request)
        ids = restriction(request)
        if ids is None:
            return queryset
        return queryset.filter(**{f"{self.category_lookup}__in": ids})

    def formfield_for_foreignkey(self, db_field, request, **kwargs):
        field = super().formfield_for_foreignkey(db_field, request, **kwargs)
        ids = restriction(request)
        lookup = self.restricted_choices.get(db_field.name)
        if ids is not None and lookup and field is not None:
            field.queryset = field.queryset.filter(**{f"{lookup}__in": ids})
        return field

    def has_module_permission(self, request):
        return restriction(request) is not None or super().has_module_permission(
            request
        )

    def allows(self, request, obj) -> bool:
        return obj is None or self.category_id_of(obj) in restriction(request)

    def has_view_permission(self, request, obj=None):
        if restriction(request) is None:
            return super().has_view_permission(request, obj)
        return self.allows(request, obj)

    def has_change_permission(self, request, obj=None):
        if restriction(request) is None:
            return super().has_change_permission(request, obj)
        return self.allows(request, obj)


class ManagedInlineMixin:
    """An inline of a product's page (obj is the product): a restricted manager
    sees and edits the rows of the products they manage."""

    def has_view_permission(self, request, obj=None):
        ids = restriction(request)
        if ids is None:
            return super().has_view_permission(request, obj)
        return obj is None or obj.category_id in ids

    def has_change_permission(self, request, obj=None):
        ids = restriction(request)
        if ids is None:
            return super().has_change_permission(request, obj)
        return obj is None or obj.category_id in ids
