"""Coupon templates and issued coupons in the back office (imported from
marketing/admin.py). Templates are edited by marketing; issued coupons are
read only (services write them)."""

from django.contrib import admin
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.admin_base import ModelAdmin
from kameng.admin_pages import ReadOnlyMixin
from kameng.contact_search import ContactSearchMixin
from marketing.coupons.rules import describe_returns, describe_stacking, describe_value
from marketing.models import Coupon, CouponTemplate
from users.paging import NoCountPaginationMixin


@admin.register(CouponTemplate)
class CouponTemplateAdmin(ModelAdmin):
    list_display = (
        "name",
        "value",
        "scope",
        "validity",
        "issued_count",
        "total_quantity",
        "active",
        "issue_link",
    )
    list_filter = ("kind", "active")
    search_fields = ("name",)
    filter_horizontal = ("categories",)
    raw_id_fields = ("products", "skus")
    readonly_fields = ("issued_count", "stacking_rule", "return_rule")
    fieldsets = (
        (None, {"fields": ("name", "kind", "active")}),
        (_("What it takes off"), {"fields": ("amount", "threshold", "percent", "cap")}),
        (_("Validity"), {"fields": ("valid_from", "valid_until", "valid_days")}),
        (_("Scope"), {"fields": ("scope", "categories", "products", "skus")}),
        (
            _("Limits"),
            {"fields": ("per_buyer_limit", "total_quantity", "issued_count")},
        ),
        (
            _("Stacking and returns"),
            {
                "fields": (
                    "stacks_with_member_price",
                    "stacks_with_flash_sale",
                    "stacking_rule",
                    "return_on_refund",
                    "return_rule",
                )
            },
        ),
    )

    def has_delete_permission(self, request, obj=None):
        return False  # issued coupons keep their template: switch it off instead

    def get_list_display(self, request):
        shown = super().get_list_display(request)
        if request.user.has_perm("marketing.issue_coupon"):
            return shown
        return tuple(name for name in shown if name != "issue_link")

    @admin.display(description=_("value"))
    def value(self, template):
        return describe_value(template)

    @admin.display(description=_("validity"))
    def validity(self, template):
        if template.valid_days:
            return gettext("%(days)s days after issue") % {"days": template.valid_days}
        return f"{template.valid_from:%Y-%m-%d} – {template.valid_until:%Y-%m-%d}"

    @admin.display(description=_("stacking rule"))
    def stacking_rule(self, template):
        return describe_stacking(template) if template.pk else "—"

    @admin.display(description=_("when an order is cancelled or refunded"))
    def return_rule(self, template):
        return describe_returns(template) if template.pk else "—"

    @admin.display(description=_("issue"))
    def issue_link(self, template):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            reverse("marketing:coupon_named_issue", args=[template.pk]),
            gettext("Issue to buyers"),
        )


@admin.register(Coupon)
class CouponAdmin(
    ContactSearchMixin, NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin
):
    list_display = (
        "id",
        "owner",
        "template",
        "state",
        "valid_until",
        "source",
        "order_id",
        "discount",
        "used_at",
    )
    list_select_related = ("owner", "template")
    list_filter = ("status", "source")
    search_fields = ("=owner__username",)
    contact_search_fields = ("owner__phone",)  # exact, by its blind index
    raw_id_fields = ("owner", "template")
    fields = (
        "template",
        "owner",
        "state",
        "valid_from",
        "valid_until",
        "issued_at",
        "source",
        "issue_key",
        "order_id",
        "used_at",
        "order_amount",
        "discount",
    )
    readonly_fields = fields

    @admin.display(description=_("status"))
    def state(self, coupon):
        return coupon.display_status()
