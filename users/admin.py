"""Users in the back office: 买家 (buyers) and 员工 (staff) as separate lists,
wallets and ledgers (read-only), member levels, logins."""

from django import forms
from django.contrib import admin
from django.contrib.admin import DateFieldListFilter
from django.contrib.auth.admin import GroupAdmin as BaseGroupAdmin
from django.contrib.auth.admin import UserAdmin as BaseUserAdmin
from django.contrib.auth.models import Group
from django.db.models import Q
from django.urls import reverse
from django.utils.html import format_html
from django.utils.translation import gettext_lazy as _
from unfold.admin import TabularInline
from unfold.forms import AdminPasswordChangeForm, UserChangeForm, UserCreationForm
from unfold.widgets import UnfoldAdminCheckboxSelectMultipleWidget

from kameng.admin_base import ModelAdmin, PasswordHashHiddenMixin
from kameng.admin_pages import ReadOnlyMixin
from kameng.contact_search import EXACT_CONTACT_HELP, ContactSearchMixin
from kameng.contact_search import search_term as contact_search_term
from kameng.fields import contact_match
from kameng.permission_names import PermissionNamesMixin
from users.contacts import masked
from users.models import (
    Buyer,
    LedgerAlert,
    LedgerEntry,
    LoginEvent,
    MemberLevel,
    RiskFlag,
    Staff,
    Wallet,
)
from users.paging import NoCountPaginationMixin
from users.roles import ROLE_BY_CODE, ROLES
from users.services import set_staff_roles
from users.tracking import mask_ip

admin.site.unregister(Group)


@admin.register(Group)
class GroupAdmin(PermissionNamesMixin, BaseGroupAdmin, ModelAdmin):
    pass


class RiskFilter(admin.SimpleListFilter):
    """Buyers flagged for frequent after-sales (a RiskFlag row exists)."""

    title = _("risk flag")
    parameter_name = "risk"

    def lookups(self, request, model_admin):
        return [("flagged", _("Flagged")), ("clear", _("Not flagged"))]

    def queryset(self, request, queryset):
        if self.value() == "flagged":
            return queryset.filter(risk_flag__isnull=False)
        if self.value() == "clear":
            return queryset.filter(risk_flag__isnull=True)
        return queryset


class SpendFilter(admin.SimpleListFilter):
    """Paid spend (net of refunds), in ranges."""

    title = _("total spent")
    parameter_name = "spent"
    RANGES = {
        "none": (None, None),
        "lt100": (None, 100),
        "100-1000": (100, 1000),
        "1000-5000": (1000, 5000),
        "gte5000": (5000, None),
    }

    def lookups(self, request, model_admin):
        return [
            ("none", _("Nothing yet")),
            ("lt100", _("Under ¥100")),
            ("100-1000", _("¥100 – ¥1,000")),
            ("1000-5000", _("¥1,000 – ¥5,000")),
            ("gte5000", _("¥5,000 and more")),
        ]

    def queryset(self, request, queryset):
        value = self.value()
        if value not in self.RANGES:
            return queryset
        if value == "none":
            return queryset.filter(Q(stats__isnull=True) | Q(stats__total_spent=0))
        low, high = self.RANGES[value]
        queryset = queryset.filter(stats__total_spent__gt=0)
        if low is not None:
            queryset = queryset.filter(stats__total_spent__gte=low)
        if high is not None:
            queryset = queryset.filter(stats__total_spent__lt=high)
        return queryset


class ExactSearchMixin:
    """The search box finds one person by exact username, phone or e-mail (the
    e-mail case-blind, the phone however spaced): three indexed lookups, no LIKE
    over millions of rows. Phone and e-mail are encrypted (kameng.fields): they
    match through their blind index, never in part."""

    search_fields = ("=username",)  # shows the box; see below
    search_help_text = EXACT_CONTACT_HELP

    def get_search_results(self, request, queryset, search_term):
        term = contact_search_term(search_term)
        if not term:
            return queryset, False
        found = (
            Q(username=term)
            | contact_match("phone", term)
            | contact_match("email", term)
        )
        return queryset.filter(found), False


def profile_url(user_id: int) -> str:
    return reverse("customers:buyer_profile", args=[user_id])


@admin.register(Buyer)
class BuyerAdmin(
    ExactSearchMixin,
    PasswordHashHiddenMixin,
    NoCountPaginationMixin,
    BaseUserAdmin,
    ModelAdmin,
):
    form = UserChangeForm
    add_form = UserCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = (
        "username",
        "nickname",
        "masked_phone",  # contacts masked in every list (users.contacts)
        "masked_email",
        "member_level",
        "growth",
        "total_spent",
        "last_order_at",
        "date_joined",
        "risk",
        "profile",
    )
    list_select_related = ("member_level", "stats", "risk_flag")
    list_filter = (
        "member_level",
        ("date_joined", DateFieldListFilter),
        ("stats__last_order_at", DateFieldListFilter),
        SpendFilter,
        RiskFilter,
        "is_active",
    )
    ordering = ("-id",)
    readonly_fields = ("member_level", "profile", "last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password", "profile")}),
        (_("Contact"), {"fields": ("nickname", "phone", "email", "birthday")}),
        (_("Member level"), {"fields": ("member_level",)}),
        (_("Status"), {"fields": ("is_active", "last_login", "date_joined")}),
    )

    @admin.display(description=_("phone"))
    def masked_phone(self, buyer):
        return masked(buyer.phone) or "—"

    @admin.display(description=_("email address"))
    def masked_email(self, buyer):
        return masked(buyer.email) or "—"

    def get_fieldsets(self, request, obj=None):
        """Whoever may only look at a buyer sees the contacts masked here too
        (a full contact is shown on the page of an order, users.contacts)."""
        fieldsets = super().get_fieldsets(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fieldsets
        swap = {"phone": "masked_phone", "email": "masked_email"}
        return [
            (name, {**opts, "fields": [swap.get(f, f) for f in opts["fields"]]})
            for name, opts in fieldsets
        ]

    def get_readonly_fields(self, request, obj=None):
        fields = super().get_readonly_fields(request, obj)
        if obj is None or self.has_change_permission(request, obj):
            return fields
        return (*fields, "masked_phone", "masked_email")

    @admin.display(description=_("growth value"), ordering="stats__growth")
    def growth(self, buyer):
        return buyer.stats.growth if hasattr(buyer, "stats") else "—"

    @admin.display(description=_("total spent"), ordering="stats__total_spent")
    def total_spent(self, buyer):
        return buyer.stats.total_spent if hasattr(buyer, "stats") else "—"

    @admin.display(description=_("last order"), ordering="stats__last_order_at")
    def last_order_at(self, buyer):
        stats = getattr(buyer, "stats", None)
        return stats.last_order_at if stats and stats.last_order_at else "—"

    @admin.display(description=_("risk"))
    def risk(self, buyer):
        """The buyer's risk flag (joined in the list's one query)."""
        flag = getattr(buyer, "risk_flag", None)
        if flag is None:
            return "—"
        return format_html(
            '<span class="text-red-600 font-semibold" data-testid="risk-flag">'
            "⚠ {}</span>",
            flag.label,
        )

    @admin.display(description=_("customer profile"))
    def profile(self, buyer):
        if buyer.pk is None:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            profile_url(buyer.pk),
            _("Open profile"),
        )


ROLE_CHOICES = [(role.code, role.group_name) for role in ROLES]


class RolesField(forms.MultipleChoiceField):
    def __init__(self, **kwargs):
        super().__init__(
            choices=ROLE_CHOICES,
            required=False,
            label=_("roles"),
            help_text=_("What this person may do in the back office."),
            widget=UnfoldAdminCheckboxSelectMultipleWidget,
            **kwargs,
        )


def roles_of(user) -> list[str]:
    if user is None or user.pk is None:
        return []
    names = set(user.groups.values_list("name", flat=True))
    return [role.code for role in ROLES if role.group_name in names]


class StaffChangeForm(UserChangeForm):
    roles = RolesField()

    class Meta(UserChangeForm.Meta):
        model = Staff

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["roles"].initial = roles_of(self.instance)


class StaffCreationForm(UserCreationForm):
    roles = RolesField()

    class Meta(UserCreationForm.Meta):
        model = Staff
        fields = ("username",)


@admin.register(Staff)
class StaffAdmin(
    ExactSearchMixin,
    PasswordHashHiddenMixin,
    NoCountPaginationMixin,
    BaseUserAdmin,
    ModelAdmin,
):
    form = StaffChangeForm
    add_form = StaffCreationForm
    change_password_form = AdminPasswordChangeForm
    list_display = ("username", "nickname", "email", "role_names", "is_active")
    list_filter = ("is_active", "groups")
    ordering = ("username",)
    readonly_fields = ("last_login", "date_joined")
    fieldsets = (
        (None, {"fields": ("username", "password")}),
        (
            _("Contact"),
            {"fields": ("nickname", "first_name", "last_name", "email", "phone")},
        ),
        (_("Roles"), {"fields": ("is_active", "roles")}),
        (_("Important dates"), {"fields": ("last_login", "date_joined")}),
    )
    add_fieldsets = (
        (None, {"fields": ("username", "password1", "password2", "roles")}),
    )

    def get_queryset(self, request):
        return super().get_queryset(request).prefetch_related("groups")

    @admin.display(description=_("roles"))
    def role_names(self, user):
        names = {group.name for group in user.groups.all()}
        return "、".join(r.group_name for r in ROLES if r.group_name in names) or "—"

    def save_model(self, request, obj, form, change):
        obj.is_staff = True
        super().save_model(request, obj, form, change)

    def save_related(self, request, form, formsets, change):
        super().save_related(request, form, formsets, change)
        set_staff_roles(
            user=form.instance,
            roles=[ROLE_BY_CODE[code] for code in form.cleaned_data["roles"]],
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


def wallet_url(user_id: int) -> str:
    return reverse("wallets:buyer_wallet", args=[user_id])


@admin.register(Wallet)
class WalletAdmin(ContactSearchMixin, ReadOnlyMixin, ModelAdmin):
    list_display = ("user", "balance", "updated_at", "wallet_page")
    list_select_related = ("user",)
    search_fields = ("user__username",)
    contact_search_fields = ("user__phone",)  # exact, by its blind index
    ordering = ("-id",)
    show_full_result_count = False
    inlines = [LedgerEntryInline]

    @admin.display(description=_("wallet page"))
    def wallet_page(self, wallet):
        if wallet.user.is_staff:
            return "—"
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            wallet_url(wallet.user_id),
            _("Ledger and adjustments"),
        )


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
    list_display = (
        "name",
        "code",
        "rank",
        "growth_threshold",
        "priority_support",
        "birthday_gift",
        "monthly_coupon",
        "badge_text",
        "prefers_fastest_supplier",
    )
    list_editable = ("rank",)
    search_fields = ("name", "code")
    ordering = ("growth_threshold", "rank", "id")


@admin.register(LoginEvent)
class LoginEventAdmin(NoCountPaginationMixin, ReadOnlyMixin, ModelAdmin):
    list_display = (
        "created_at",
        "username",
        "success",
        "area",
        "masked_ip",
        "user_agent",
    )
    list_filter = ("success", "area")
    search_fields = ("=username",)
    ordering = ("-id",)
    fields = (
        "created_at",
        "user",
        "username",
        "success",
        "area",
        "masked_ip",
        "user_agent",
    )
    readonly_fields = fields

    @admin.display(description=_("IP address"))
    def masked_ip(self, event):
        return mask_ip(event.ip)


@admin.register(LedgerAlert)
class LedgerAlertAdmin(ReadOnlyMixin, ModelAdmin):
    """Wallets whose balance differed from their ledger (users.wallets)."""

    list_display = (
        "wallet",
        "balance",
        "ledger_sum",
        "found_at",
        "notified_at",
        "resolved_at",
        "wallet_page",
    )
    list_filter = (("resolved_at", admin.EmptyFieldListFilter),)
    list_select_related = ("wallet__user",)
    show_full_result_count = False
    fields = ("wallet", "balance", "ledger_sum", "found_at", "notified_at")
    readonly_fields = fields

    @admin.display(description=_("wallet page"))
    def wallet_page(self, alert):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            wallet_url(alert.wallet.user_id),
            _("Ledger and adjustments"),
        )


@admin.register(RiskFlag)
class RiskFlagAdmin(ReadOnlyMixin, ModelAdmin):
    """Buyers flagged for frequent after-sales (kept by orders.risk)."""

    list_display = ("user", "refunds", "reissues", "flagged_at", "updated_at", "open")
    list_select_related = ("user",)
    search_fields = ("=user__username",)
    ordering = ("-flagged_at",)
    show_full_result_count = False
    fields = ("user", "refunds", "reissues", "flagged_at", "updated_at")
    readonly_fields = fields

    @admin.display(description=_("customer profile"))
    def open(self, flag):
        return format_html(
            '<a class="text-primary-600" href="{}">{}</a>',
            profile_url(flag.user_id),
            _("Open profile"),
        )
