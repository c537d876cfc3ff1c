from django.contrib import admin
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from kameng.permission_names import PermissionNamesMixin
from users.models import LedgerEntry, MemberLevel, User, Wallet

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionNamesMixin, BaseGroupAdmin, ModelAdmin):
    pass


@admin.register(User)
class UserAdmin(PermissionNamesMixin, BaseUserAdmin, ModelAdmin):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "nickname", "phone", "email", "is_staff", "date_joined")
    list_filter = ("is_staff", "is_active", "groups")
    search_fields = ("username", "nickname", "phone", "email")
    show_full_result_count = False
    fieldsets = (
        *BaseUserAdmin.fieldsets,
        (_("Contact"), {"fields": ("nickname", "phone")}),
    )


class LedgerEntryInline(TabularInline):
    model = LedgerEntry
    fields = ("created_at", "kind", "amount", "balance_after", "reference", "actor")
    readonly_fields = fields
    ordering = ("-id",)
    extra = 0
    max_num = 0
    can_delete = False
    per_page = 20


@admin.register(Wallet)
class WalletAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = ("user", "balance", "updated_at")
    list_select_related = ("user",)
    search_fields = ("user__username", "user__phone")
    ordering = ("-id",)
    show_full_result_count = False
    inlines = [LedgerEntryInline]


@admin.register(LedgerEntry)
class LedgerEntryAdmin(ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "wallet",
        "kind",
        "amount",
        "balance_after",
        "reference",
        "created_at",
    )
    list_filter = ("kind",)
    list_select_related = ("wallet__user",)
    search_fields = ("=reference", "=wallet__user__username")
    show_full_result_count = False


@admin.register(MemberLevel)
class MemberLevelAdmin(ModelAdmin):
    list_display = ("name", "code", "rank", "prefers_fastest_supplier")
    list_editable = ("rank",)
    search_fields = ("name", "code")
    ordering = ("rank", "id")
