"""Referral in the back office: every referral (read only, no full count), the
rewards paid, and the one settings row. Held referrals are decided on the
review queue (marketing.referral_views)."""

from django.contrib import admin
from django.http import HttpResponseRedirect
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from marketing.models import Referral, ReferralReward, ReferralSettings
from marketing.referral import referral_settings
from users.paging import NoCountPaginationMixin


@admin.register(Referral)
class ReferralAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "invitee",
        "inviter",
        "created_at",
        "review",
        "reasons_text",
        "first_order",
        "signup_ip",
    )
    list_select_related = ("inviter", "invitee")
    list_filter = ("review",)
    search_fields = ("=code", "=inviter__username", "=invitee__username")
    ordering = ("-id",)
    fields = (
        "inviter",
        "invitee",
        "code",
        "created_at",
        "signup_ip",
        "device_id",
        "review",
        "reasons_text",
        "reviewed_by",
        "reviewed_at",
        "review_note",
        "first_order_id",
        "first_order_at",
        "first_order_amount",
    )
    readonly_fields = fields

    @admin.display(description=_("reasons"))
    def reasons_text(self, referral):
        return "；".join(referral.reason_labels()) or "—"

    @admin.display(description=_("first paid order"))
    def first_order(self, referral):
        if referral.first_order_at is None:
            return "—"
        return referral.first_order_at.strftime("%Y-%m-%d %H:%M")

    def changelist_view(self, request, extra_context=None):
        extra = {
            "subtitle": format_html(
                '<a class="text-primary-600" href="{}">{}</a>',
                reverse("marketing:referral_review"),
                gettext("Open the review queue"),
            )
        }
        return super().changelist_view(request, {**extra, **(extra_context or {})})


@admin.register(ReferralReward)
class ReferralRewardAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("user", "event", "side", "kind", "amount", "referral", "created_at")
    list_select_related = ("user", "referral__inviter", "referral__invitee")
    list_filter = ("event", "side", "kind")
    search_fields = ("=user__username",)
    ordering = ("-id",)


@admin.register(ReferralSettings)
class ReferralSettingsAdmin(ModelAdmin):
    """One row: the list opens it; nobody adds a second or deletes it."""

    fieldsets = (
        (
            _("When the friend signs up"),
            {
                "fields": (
                    (
                        "signup_inviter_kind",
                        "signup_inviter_amount",
                        "signup_inviter_coupon",
                    ),
                    (
                        "signup_invitee_kind",
                        "signup_invitee_amount",
                        "signup_invitee_coupon",
                    ),
                )
            },
        ),
        (
            _("When the friend's first order is paid"),
            {
                "fields": (
                    (
                        "first_order_inviter_kind",
                        "first_order_inviter_amount",
                        "first_order_inviter_coupon",
                    ),
                    (
                        "first_order_invitee_kind",
                        "first_order_invitee_amount",
                        "first_order_invitee_coupon",
                    ),
                    "first_order_min_amount",
                )
            },
        ),
        (
            _("Abuse limits"),
            {
                "fields": ("max_per_hour", "max_per_day"),
                "description": _(
                    "Besides these, a sign-up from the inviter's device or IP "
                    "address, with the inviter's phone or e-mail, or from the "
                    "device or address of another friend of the same inviter is "
                    "held for review; nothing is paid until it is cleared."
                ),
            },
        ),
    )

    def has_add_permission(self, request):
        return False

    def has_delete_permission(self, request, obj=None):
        return False

    def changelist_view(self, request, extra_context=None):
        config = referral_settings()
        return HttpResponseRedirect(
            reverse("admin:marketing_referralsettings_change", args=[config.pk])
        )
