"""Segments and strategies in the back office, and the buyer list's segment
filter (users may not import marketing, so marketing re-registers the buyer
admin with a subclass that adds it)."""

from django.conf import settings
from django.contrib import admin, messages
from django.core.exceptions import PermissionDenied
from django.db.models import Exists, Max, OuterRef
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from kameng.contact_search import ContactSearchMixin
from marketing import (  # noqa: F401
    flash_admin,  # noqa: F401 - flash sales
    issuing_admin,  # noqa: F401 - coupon issuing
    points_admin,  # noqa: F401 - points (积分)
    topup_bonus_admin,
    vouchers_admin,
)
from marketing.coupons import admin as coupons_admin  # noqa: F401 - coupons
from marketing.forms import StrategyForm
from marketing.models import (
    PrioritySupport,
    PromotedProduct,
    Segment,
    SegmentMember,
    Strategy,
    StrategyRun,
    StrategyRunBuyer,
)
from marketing.segments import HIGH_VALUE_MIN_MONETARY, LOW_FREQUENCY_MAX_FREQUENCY
from marketing.services import action_available, run_strategy
from users.admin import BuyerAdmin
from users.models import Buyer
from users.paging import NoCountPaginationMixin


def builtin_rule(code: str) -> str:
    """A built-in segment's rule in words, with today's settings."""
    B = Segment.Builtin
    rules = {
        B.HIGH_VALUE: gettext("Monetary score %(score)s (the top fifth by spend).")
        % {"score": HIGH_VALUE_MIN_MONETARY},
        B.LOW_FREQUENCY: gettext("Has bought; frequency score %(score)s or lower.")
        % {"score": LOW_FREQUENCY_MAX_FREQUENCY},
        B.WOULD_BE: gettext(
            "Viewed or favourited a product in the last %(days)s days, never bought."
        )
        % {"days": settings.SEGMENT_WOULD_BE_DAYS},
        B.DORMANT: gettext("Has bought, but not in the last %(days)s days.")
        % {"days": settings.SEGMENT_DORMANT_DAYS},
        B.NEW: gettext("Registered in the last %(days)s days.")
        % {"days": settings.SEGMENT_NEW_DAYS},
    }
    return rules[code]


@admin.register(Segment)
class SegmentAdmin(ModelAdmin):
    """Built-in segments are shown, never edited; an operator's segment is
    created and edited on the segment editor (filters, preview, save)."""

    list_display = ("name", "kind", "rule", "member_count", "computed_at", "members")
    ordering = ("-builtin", "name")
    search_fields = ("name",)
    readonly_fields = (
        "name",
        "rule",
        "member_count",
        "computed_at",
        "members",
    )
    fields = readonly_fields

    @admin.display(description=_("kind"))
    def kind(self, segment):
        return gettext("Built-in") if segment.builtin else gettext("Custom")

    @admin.display(description=_("rule"))
    def rule(self, segment):
        if segment.builtin:
            return builtin_rule(segment.builtin)
        return segment.description or "—"

    @admin.display(description=_("members"))
    def members(self, segment):
        if segment.pk is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}?segment__id__exact={}">{}</a>',
            reverse("admin:marketing_segmentmember_changelist"),
            segment.pk,
            gettext("List members"),
        )

    def has_change_permission(self, request, obj=None):
        return False  # built-in: read only; custom: the segment editor

    def get_deleted_objects(self, objs, request):
        """A built-in segment is listed as protected: the delete page says it
        cannot go (as it does for a segment a strategy uses)."""
        deleted, counts, perms_needed, protected = super().get_deleted_objects(
            objs, request
        )
        for segment in objs:
            if segment.builtin:
                protected = [
                    *protected,
                    gettext("%(name)s (built-in segment)") % {"name": segment},
                ]
        return deleted, counts, perms_needed, protected

    def add_view(self, request, form_url="", extra_context=None):
        if not self.has_add_permission(request):
            raise PermissionDenied
        return HttpResponseRedirect(reverse("marketing:segment_new"))

    def change_view(self, request, object_id, form_url="", extra_context=None):
        segment = self.get_object(request, object_id)
        if segment is not None and not segment.builtin:
            return HttpResponseRedirect(
                reverse("marketing:segment_edit", args=[segment.pk])
            )
        return super().change_view(request, object_id, form_url, extra_context)


@admin.register(SegmentMember)
class SegmentMemberAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("user", "segment", "level", "total_spent", "profile")
    list_select_related = ("user__member_level", "user__stats", "segment")
    list_filter = ("segment",)
    ordering = ("-id",)

    @admin.display(description=_("member level"))
    def level(self, member):
        return member.user.member_level or "—"

    @admin.display(description=_("total spent"))
    def total_spent(self, member):
        stats = getattr(member.user, "stats", None)
        return stats.total_spent if stats else "—"

    @admin.display(description=_("customer profile"))
    def profile(self, member):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("customers:buyer_profile", args=[member.user_id]),
            gettext("Open profile"),
        )


@admin.register(Strategy)
class StrategyAdmin(ModelAdmin):
    form = StrategyForm
    list_display = (
        "name",
        "segment",
        "action_label",
        "schedule",
        "active",
        "last_run",
    )
    list_select_related = ("segment",)
    list_filter = ("action", "active")
    search_fields = ("name",)
    ordering = ("name",)
    filter_horizontal = ("products",)
    actions = ["run_now"]

    @admin.display(description=_("action"))
    def action_label(self, strategy):
        label = strategy.get_action_display()
        if not action_available(strategy.action):
            return gettext("%(action)s (not available yet)") % {"action": label}
        return label

    @admin.display(description=_("last run"), ordering="last_run_on")
    def last_run(self, strategy):
        return strategy.last_run_on or "—"

    def get_queryset(self, request):
        return super().get_queryset(request).annotate(last_run_on=Max("runs__run_on"))

    def has_run_strategy_permission(self, request):
        return request.user.has_perm("marketing.run_strategy")

    @admin.action(description=_("Run now (once a day)"), permissions=["run_strategy"])
    def run_now(self, request, queryset):
        ran = skipped = 0
        for strategy in queryset.order_by("pk"):
            if run_strategy(strategy=strategy, actor=request.user) is None:
                skipped += 1
            else:
                ran += 1
        self.message_user(
            request,
            gettext("%(ran)s strategies ran; %(skipped)s had already run today.")
            % {"ran": ran, "skipped": skipped},
            messages.SUCCESS,
        )


@admin.register(StrategyRun)
class StrategyRunAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "strategy",
        "run_on",
        "outcome",
        "what",
        "buyers",
        "actor",
        "finished_at",
        "whom",
    )
    list_select_related = ("strategy__segment", "actor")
    list_filter = ("outcome", "strategy")
    ordering = ("-id",)
    fields = list_display
    readonly_fields = fields

    @admin.display(description=_("what it did"))
    def what(self, run):
        strategy = run.strategy
        if run.outcome == StrategyRun.Outcome.UNAVAILABLE:
            return gettext("Nothing: %(action)s is not available yet.") % {
                "action": strategy.get_action_display()
            }
        return gettext("%(action)s for segment “%(segment)s”, %(days)s days") % {
            "action": strategy.get_action_display(),
            "segment": strategy.segment,
            "days": strategy.lasts_days,
        }

    @admin.display(description=_("buyers acted on"))
    def whom(self, run):
        if run.pk is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}?run__id__exact={}">{}</a>',
            reverse("admin:marketing_strategyrunbuyer_changelist"),
            run.pk,
            gettext("List buyers"),
        )


@admin.register(StrategyRunBuyer)
class StrategyRunBuyerAdmin(
    ContactSearchMixin, NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin
):
    list_display = ("user", "run", "strategy", "run_on")
    list_select_related = ("user", "run__strategy")
    search_fields = ("=user__username",)
    contact_search_fields = ("user__phone",)  # exact, by its blind index
    ordering = ("-id",)

    @admin.display(description=_("strategy"))
    def strategy(self, target):
        return target.run.strategy

    @admin.display(description=_("day"))
    def run_on(self, target):
        return target.run.run_on


@admin.register(PrioritySupport)
class PrioritySupportAdmin(
    ContactSearchMixin, NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin
):
    list_display = ("user", "strategy", "granted_on", "expires_on")
    list_select_related = ("user", "strategy")
    search_fields = ("=user__username",)
    contact_search_fields = ("user__phone",)  # exact, by its blind index
    ordering = ("-granted_on", "-pk")


@admin.register(PromotedProduct)
class PromotedProductAdmin(
    ContactSearchMixin, NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin
):
    list_display = ("user", "product", "strategy", "promoted_on", "expires_on")
    list_select_related = ("user", "product", "strategy")
    search_fields = ("=user__username",)
    contact_search_fields = ("user__phone",)  # exact, by its blind index
    ordering = ("-id",)


class SegmentListFilter(admin.SimpleListFilter):
    """Buyers in one segment (as of its last refresh)."""

    title = _("segment")
    parameter_name = "segment"

    def lookups(self, request, model_admin):
        return [
            (str(pk), name) for pk, name in Segment.objects.values_list("pk", "name")
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if not value or not value.isdigit():
            return queryset
        members = SegmentMember.objects.filter(
            segment_id=int(value), user=OuterRef("pk")
        )
        return queryset.filter(Exists(members))


admin.site.unregister(Buyer)


@admin.register(Buyer)
class BuyerWithSegmentsAdmin(BuyerAdmin):
    list_filter = (*BuyerAdmin.list_filter, SegmentListFilter)


from marketing import group_buy_admin  # noqa: E402, F401 - group buy (拼团) admins
