"""Permissions named for people, in the current language.

Django stores a permission's name in the database in English when `migrate` creates
it ("Can add sku"), and shows that row as "app | model | name"; a Chinese back
office would show English there. These functions build the name at display time
instead: the four built-in actions from the model's translated verbose name, any
other permission from its (translatable) Meta.permissions name.
"""

from __future__ import annotations

from django.apps import apps
from django.contrib.auth.models import Permission
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

BUILTIN_ACTIONS = {
    "add": _("Can add %(model)s"),
    "change": _("Can change %(model)s"),
    "delete": _("Can delete %(model)s"),
    "view": _("Can view %(model)s"),
}


def permission_label(permission: Permission) -> str:
    """ "商品目录 | 可查看SKU" for catalog.view_sku; custom permissions by name."""
    content_type = permission.content_type
    model = content_type.model_class()
    try:
        app_name = apps.get_app_config(content_type.app_label).verbose_name
    except LookupError:
        app_name = content_type.app_label
    action, _sep, model_name = permission.codename.partition("_")
    if (
        model is not None
        and action in BUILTIN_ACTIONS
        and model_name == model._meta.model_name
    ):
        name = BUILTIN_ACTIONS[action] % {"model": model._meta.verbose_name}
    else:
        name = gettext(permission.name)
    return f"{gettext(str(app_name))} | {name}"


def describe_permissions(names) -> list[str]:
    """People's names for "app_label.codename" strings (unknown ones as given)."""
    described = []
    for name in names:
        app_label, _dot, codename = name.partition(".")
        permission = (
            Permission.objects.select_related("content_type")
            .filter(content_type__app_label=app_label, codename=codename)
            .first()
        )
        described.append(permission_label(permission) if permission else name)
    return described


class PermissionNamesMixin:
    """For the group and user admins: their permission pickers list
    permission_label() instead of the stored English names."""

    def formfield_for_manytomany(self, db_field, request, **kwargs):
        field = super().formfield_for_manytomany(db_field, request, **kwargs)
        if field is not None and db_field.related_model is Permission:
            field.label_from_instance = permission_label
        return field
