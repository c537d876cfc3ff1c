"""Points (积分) in the back office: the entries (paged without a COUNT), the
accounts, the review moderation queue (approve / reject, pending first), the
points mall's SKUs and the points settings (rates, share, expiry). Staff
adjustments are on marketing:points_adjust (marketing.points_views)."""

from django.contrib import admin, messages
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.models import (
    PointsAccount,
    PointsEntry,
    PointsLevelRate,
    PointsMallItem,
    PointsReview,
    PointsSettings,
)
from marketing.points import moderate_review
from users.paging import NoCountPaginationMixin


@admin.register(PointsEntry)
class PointsEntryAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "created_at",
        "account",
        "kind",
        "amount",
        "balance_after",
        "remaining",
        "expires_at",
        "reference",
        "note",
        "actor",
    )
    list_select_related = ("account__buyer", "actor")
    list_filter = ("kind",)
    search_fields = ("=account__buyer__username", "=reference")
    ordering = ("-id",)
    fields = list_display + ("order_id", "earned_at")
    readonly_fields = fields


@admin.register(PointsAccount)
class PointsAccountAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("buyer", "balance", "updated_at")
    list_select_related = ("buyer",)
    search_fields = ("=buyer__username",)
    ordering = ("-id",)
    fields = list_display
    readonly_fields = fields


@admin.register(PointsReview)
class PointsReviewAdmin(NoCountPaginationMixin, ModelAdmin):
    """The moderation queue: pending reviews, oldest first; approving grants
    the review points once, rejecting grants none."""

    list_display = (
        "order_no",
        "buyer",
        "product",
        "stars",
        "text",
        "status",
        "created_at",
        "moderated_by",
    )
    list_select_related = ("buyer", "product", "moderated_by")
    list_filter = ("status",)
    search_fields = ("=order_no", "=buyer__username")
    ordering = ("id",)
    actions = ["approve", "reject"]
    fields = list_display + ("moderated_at",)
    readonly_fields = fields

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        if not request.GET:  # the queue: pending reviews unless asked otherwise
            query = request.GET.copy()
            query["status__exact"] = PointsReview.Status.PENDING
            request.GET = query
            request.META["QUERY_STRING"] = query.urlencode()
        return super().changelist_view(request, extra_context)

    def _moderate(self, request, queryset, *, approve: bool):
        done = 0
        for review in queryset.filter(status=PointsReview.Status.PENDING).order_by(
            "pk"
        )[:500]:
            moderate_review(review=review, approve=approve, actor=request.user)
            done += 1
        self.message_user(
            request,
            gettext("%(n)s reviews moderated.") % {"n": done},
            messages.SUCCESS,
        )

    @admin.action(
        description=_("Approve (show it, grant points)"), permissions=["change"]
    )
    def approve(self, request, queryset):
        self._moderate(request, queryset, approve=True)

    @admin.action(description=_("Reject (hide it, no points)"), permissions=["change"])
    def reject(self, request, queryset):
        self._moderate(request, queryset, approve=False)


@admin.register(PointsMallItem)
class PointsMallItemAdmin(ModelAdmin):
    list_display = ("sku", "points", "is_active", "sort")
    list_select_related = ("sku__product",)
    list_editable = ("points", "is_active", "sort")
    list_filter = ("is_active",)
    search_fields = ("=sku__code", "sku__product__name")
    autocomplete_fields = ("sku",)
    ordering = ("sort", "id")


class PointsLevelRateInline(admin.TabularInline):
    model = PointsLevelRate
    extra = 1
    fields = ("level", "earn_per_yuan")


@admin.register(PointsSettings)
class PointsSettingsAdmin(ModelAdmin):
    """One row of rules: the list leads to it; it is never added or deleted
    here (it exists from the first read)."""

    list_display = (
        "__str__",
        "earn_per_yuan",
        "points_per_yuan_off",
        "max_share_percent",
        "checkin_points",
        "review_points",
        "expiry_years",
        "notice_days",
    )
    fields = list_display[1:]
    inlines = [PointsLevelRateInline]

    def has_add_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def get_queryset(self, request):
        PointsSettings.objects.get_or_create(pk=1)
        return super().get_queryset(request)
