"""The five back-office roles, declared once.

Each role is a Django group whose permissions are exactly what this table says;
`sync_roles()` makes the database match it and runs after every `migrate`, so a
later issue grants a new permission by adding it here. Entries are
"app_label.codename", or "app_label.*" for every permission of an app, or "*".
An exact name that does not exist is an error: a typo must not silently grant
nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.db import transaction


@dataclass(frozen=True)
class Role:
    code: str
    group_name: str
    permissions: tuple[str, ...]


CATALOG_READ = (
    "catalog.view_category",
    "catalog.view_product",
    "catalog.view_sku",
    "catalog.view_levelprice",
    "catalog.view_quantitytier",
    "catalog.view_pricechange",
    "catalog.view_stockalert",
)
BUYERS_READ = ("users.view_buyer",)
MONEY_READ = ("users.view_wallet", "users.view_ledgerentry")
ORDERS_READ = (
    "orders.view_order",
    "orders.view_orderevent",
    "orders.view_ticket",
    "orders.view_ticketmessage",
    "orders.view_payment",
    "orders.view_paymentattempt",
    "orders.view_fulfilment",
    "orders.view_wallettopup",
    "orders.view_ordernote",
    "orders.view_refundrequest",
    "orders.view_aftersalesrule",
    "orders.view_codeinvalidation",
)
# After-sales work: open and answer tickets, write notes on orders.
TICKETS_WORK = (
    "orders.add_ticket",
    "orders.change_ticket",
    "orders.add_ticketmessage",
    "orders.add_ordernote",
    # Support slice: insert canned replies, check and reissue card codes.
    "orders.view_cannedreply",
    "orders.add_codeinvalidation",
)
# Support leads (the ticket desk's leads, operations) keep the canned replies and
# the after-sales rules.
SUPPORT_LEAD = (
    "orders.add_cannedreply",
    "orders.change_cannedreply",
    "orders.delete_cannedreply",
    "orders.add_aftersalesrule",
    "orders.change_aftersalesrule",
    "orders.delete_aftersalesrule",
)
# What a top-up went through at its supplier (no costs): what support answers from.
SUPPLIER_CALLS_READ = ("catalog.view_suppliercall",)
# Risk (issue 11): the blacklist and risk flags; managing the blacklist and
# deciding on orders held for review.
RISK_READ = ("orders.view_blacklistentry", "users.view_riskflag")
RISK_WORK = (
    "orders.add_blacklistentry",
    "orders.change_blacklistentry",
    "orders.delete_blacklistentry",
    "orders.review_held_order",
)
# The insight pages (analytics): who buys what, when, and how levels grow.
INSIGHTS_READ = ("analytics.view_insights",)
# Reports: managers (operations, finance) define templates and schedules;
# marketing makes and downloads them. Cost columns follow catalog.view_cost.
REPORTS_READ = ("analytics.view_reporttemplate",)
REPORTS_MANAGE = (
    "analytics.view_reporttemplate",
    "analytics.add_reporttemplate",
    "analytics.change_reporttemplate",
    "analytics.delete_reporttemplate",
)
# Segments and strategies (marketing): marketing works them (marketing.*);
# operations look at who is in which segment and what strategies did.
SEGMENTS_READ = (
    "marketing.view_segment",
    "marketing.view_segmentmember",
    "marketing.view_strategy",
    "marketing.view_strategyrun",
    "marketing.view_strategyrunbuyer",
    "marketing.view_prioritysupport",
    "marketing.view_promotedproduct",
)
# Flash sales (marketing works them): operations follow them live.
FLASH_SALES_READ = ("marketing.view_flashsale",)

# Referral (marketing): support reads referrals, rewards and settings to answer
# buyers; marketing reviews and configures them (marketing.*).
REFERRALS_READ = (
    "marketing.view_referral",
    "marketing.view_referralreward",
    "marketing.view_referralsettings",
)

# Group buy (拼团): marketing runs it (marketing.*); operations and support
# look at groups and their members to answer buyers.
GROUP_BUY_READ = (
    "marketing.view_groupbuycampaign",
    "marketing.view_buyergroup",
    "marketing.view_failedgroup",
    "marketing.view_groupmember",
)

ROLES: tuple[Role, ...] = (
    Role("superadmin", "超级管理员", ("*",)),
    Role(
        "operations",
        "运营专员",
        (
            "catalog.*",
            *BUYERS_READ,
            *ORDERS_READ,
            *TICKETS_WORK,
            "orders.work_all_tickets",  # operations lead the ticket desk
            *SUPPORT_LEAD,
            "orders.deliver_order",
            *RISK_READ,
            *RISK_WORK,
            "django_celery_beat.view_periodictask",
            *INSIGHTS_READ,
            *REPORTS_MANAGE,
            *SEGMENTS_READ,
            *FLASH_SALES_READ,
            *GROUP_BUY_READ,
            "kameng.switch_modules",
        ),
    ),
    Role(
        "support",
        "客服",
        (
            *CATALOG_READ,
            *BUYERS_READ,
            *MONEY_READ,
            *ORDERS_READ,
            *TICKETS_WORK,
            *SUPPLIER_CALLS_READ,
            *RISK_READ,
            *REFERRALS_READ,
            # coupons: a buyer's coupons, read only ("why was mine not applied?")
            "marketing.view_coupon",
            "marketing.view_coupontemplate",
            *GROUP_BUY_READ,
        ),
    ),
    Role(
        "marketing",
        "营销",
        (
            *CATALOG_READ,
            *BUYERS_READ,
            "marketing.*",
            *INSIGHTS_READ,
            *REPORTS_READ,
            "kameng.switch_modules",
        ),
    ),
    Role(
        "finance",
        "财务",
        (
            *CATALOG_READ,
            "catalog.view_cost",
            "catalog.view_costplusrule",
            "catalog.view_supplier",
            "catalog.view_supplieroffer",
            *SUPPLIER_CALLS_READ,
            *BUYERS_READ,
            *MONEY_READ,
            "users.adjust_wallet",
            # Points (积分): finance reads the ledger and adjusts it too.
            "marketing.view_pointsaccount",
            "marketing.view_pointsentry",
            "marketing.adjust_points",
            *ORDERS_READ,
            "orders.add_ordernote",
            "orders.refund_order",
            "orders.approve_refundrequest",
            *RISK_READ,
            *RISK_WORK,
            "users.view_ledgeralert",
            "marketing.view_bonusrule",  # top-up bonuses: the rules and
            "marketing.view_bonusgrant",  # the bonus ledger (taken back, short)
            "marketing.view_bonusrule",  # top-up bonuses: the rules and
            "marketing.view_bonusgrant",  # the bonus ledger (taken back, short)
            *INSIGHTS_READ,
            *REPORTS_MANAGE,
            "users.view_full_contact",  # contacts (users.contacts): exports
        ),
    ),
)

ROLE_BY_CODE = {role.code: role for role in ROLES}


def _resolve(permission_model, patterns: tuple[str, ...]):
    qs = permission_model.objects.select_related("content_type")
    if "*" in patterns:
        return list(qs.all())
    wanted = []
    for pattern in patterns:
        app_label, _dot, codename = pattern.partition(".")
        if codename == "*":
            wanted.extend(qs.filter(content_type__app_label=app_label))
            continue
        found = list(qs.filter(content_type__app_label=app_label, codename=codename))
        if not found:
            raise LookupError(f"Role permission {pattern!r} does not exist.")
        wanted.extend(found)
    return wanted


@transaction.atomic
def sync_roles(*, apps=None) -> dict[str, int]:
    """Create the role groups and set their permissions; returns group → count."""
    if apps is None:
        from django.contrib.auth.models import Group, Permission
    else:
        Group = apps.get_model("auth", "Group")
        Permission = apps.get_model("auth", "Permission")
    result = {}
    for role in ROLES:
        group, _created = Group.objects.get_or_create(name=role.group_name)
        permissions = _resolve(Permission, role.permissions)
        group.permissions.set(permissions)
        result[role.group_name] = len(permissions)
    return result


def sync_roles_after_migrate(sender, **kwargs):
    from kameng.migrating import is_last_post_migrate

    if is_last_post_migrate(sender):
        sync_roles()
