"""Group buy (拼团) in the back office: campaigns (marketing edits them), the
groups with their members and state, and the failed groups (refunded by the
beat task). Groups and members are written by the shop's services only."""

from django.contrib import admin
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.models import BuyerGroup, FailedGroup, GroupBuyCampaign, GroupMember
from users.paging import NoCountPaginationMixin


@admin.register(GroupBuyCampaign)
class GroupBuyCampaignAdmin(ModelAdmin):
    list_display = (
        "name",
        "sku",
        "group_size",
        "group_price",
        "hours",
        "starts_at",
        "ends_at",
        "is_active",
    )
    list_filter = ("is_active",)
    search_fields = ("name", "sku__code", "sku__name")
    autocomplete_fields = ("sku",)
    fields = (
        "name",
        "sku",
        "group_size",
        "group_price",
        "hours",
        "starts_at",
        "ends_at",
        "is_active",
    )


class GroupMemberInline(ReadOnlyMixin, admin.TabularInline):
    model = GroupMember
    extra = 0
    fields = ("buyer_name", "order_no", "joined_at", "paid_at", "left_at")
    readonly_fields = fields

    @admin.display(description=_("buyer"))
    def buyer_name(self, member):
        return member.buyer


class BaseGroupAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "id",
        "campaign",
        "leader",
        "seats_taken",
        "size",
        "state",
        "opened_at",
        "deadline",
        "closed_at",
    )
    list_select_related = ("campaign", "leader")
    search_fields = ("token", "campaign__name", "leader__username")
    ordering = ("-id",)
    inlines = (GroupMemberInline,)
    fields = (
        "campaign",
        "token",
        "leader",
        "size",
        "seats_taken",
        "state",
        "opened_at",
        "deadline",
        "closed_at",
    )


@admin.register(BuyerGroup)
class BuyerGroupAdmin(BaseGroupAdmin):
    list_filter = ("state", "campaign")


@admin.register(FailedGroup)
class FailedGroupAdmin(BaseGroupAdmin):
    """Groups not full by their deadline: every member was refunded."""

    list_filter = ("campaign",)
    ordering = ("-closed_at", "-id")


@admin.register(GroupMember)
class GroupMemberAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("group", "buyer", "order_no", "joined_at", "paid_at", "left_at")
    list_select_related = ("group__campaign", "buyer")
    search_fields = ("order_no", "buyer__username")
    ordering = ("-id",)
