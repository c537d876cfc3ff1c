"""Who may open what: every URL, admin action and guarded field, in one map.

The role table (users/roles.py) says which permissions each role holds; this
module says which permission each page, action and field needs. Nothing here
names a role. `tests/kameng/test_access_map.py` walks every URL pattern of the
resolver as an anonymous visitor, a buyer and each of the five roles, and checks
each answer against this map; a URL without an entry fails that test with its
name, so a new page cannot ship unclassified.

To classify a new page, add one line to URL_ACCESS:

    "orders:add_note": perms("orders.add_ordernote"),

A model registered in the admin gets its five URLs from one line in
MODEL_ADMINS. An admin action gets one line in ACTION_ACCESS.
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True)
class Rule:
    """What a visitor must be to open a URL (or run an action).

    kind: "public" (anyone), "login" (any logged-in account; others go to the
    shop's login), "staff" (an active member of staff; others go to the back
    office's login), "nobody" (no one, not even the super admin: the page
    exists but refuses). For "staff", `all_of` permissions are all needed and,
    when given, at least one of `any_of`.
    """

    kind: str
    all_of: tuple[str, ...] = ()
    any_of: tuple[str, ...] = ()
    superuser_only: bool = False
    # The query string the walk sends (a page that refuses everyone without one).
    sample_query: str = ""

    def allows(self, user) -> bool:
        if self.kind == "public":
            return True
        if not (user.is_authenticated and user.is_active):
            return False
        if self.kind == "login":
            return True
        if self.kind == "nobody" or not user.is_staff:
            return False
        if self.superuser_only and not user.is_superuser:
            return False
        if not user.has_perms(self.all_of):
            return False
        return not self.any_of or any(user.has_perm(p) for p in self.any_of)


PUBLIC = Rule("public")
LOGGED_IN = Rule("login")
STAFF = Rule("staff")
SUPERUSER = Rule("staff", superuser_only=True)
NOBODY = Rule("nobody")


def perms(*names: str) -> Rule:
    """A member of staff holding every one of these permissions."""
    return Rule("staff", all_of=names)


def any_perm(*names: str, also: tuple[str, ...] = ()) -> Rule:
    """A member of staff holding at least one of these (and all of `also`)."""
    return Rule("staff", all_of=also, any_of=names)


def model_admin(
    label: str,
    *,
    read_only: bool = False,
    add: bool = True,
    change: bool = True,
    delete: bool = True,
    also: tuple[str, ...] = (),
) -> dict[str, Rule]:
    """The URLs Django's admin gives a registered model, with what each needs.

    read_only: ReadOnlyMixin (nobody adds, edits or deletes); add/change/delete
    False: that admin refuses the action to everyone; also: permissions needed
    on top of the model's own (a cost-only admin needs catalog.view_cost)."""
    app_label, model = label.split(".")
    prefix = f"admin:{app_label}_{model}_"
    view_perm = f"{app_label}.view_{model}"
    change_perm = f"{app_label}.change_{model}"
    looks = (view_perm,) if read_only or not change else (view_perm, change_perm)
    return {
        f"{prefix}changelist": any_perm(*looks, also=also),
        f"{prefix}change": any_perm(*looks, also=also),
        f"{prefix}history": any_perm(*looks, also=also),
        f"{prefix}add": (
            perms(f"{app_label}.add_{model}", *also)
            if add and not read_only
            else NOBODY
        ),
        f"{prefix}delete": (
            perms(f"{app_label}.delete_{model}", *also)
            if delete and not read_only
            else NOBODY
        ),
        # admin/<app>/<model>/<id>/ redirects to .../change/.
        f"admin/{app_label}/{model}/<path:object_id>/": any_perm(*looks, also=also),
    }


COST = "catalog.view_cost"

MODEL_ADMINS: dict[str, Rule] = {
    **model_admin("auth.group"),
    **model_admin("users.buyer"),
    **model_admin("users.staff"),  # only the super admin holds users.*_staff
    **model_admin("users.loginevent", read_only=True),
    **model_admin("users.wallet", read_only=True),
    **model_admin("users.ledgerentry", read_only=True),
    **model_admin("users.ledgeralert", read_only=True),
    **model_admin("users.riskflag", read_only=True),
    **model_admin("orders.blacklistentry"),
    **model_admin("users.memberlevel"),
    **model_admin("catalog.category"),
    **model_admin("catalog.product"),
    **model_admin("catalog.sku"),
    **model_admin("catalog.codereveal", read_only=True),
    **model_admin("catalog.cardbatch", read_only=True),
    **model_admin("catalog.cardcode", read_only=True),
    **model_admin("catalog.stockalert", read_only=True),
    **model_admin("catalog.costplusrule", also=(COST,)),
    **model_admin("catalog.pricechange", read_only=True),
    **model_admin("catalog.supplier"),
    **model_admin("catalog.sandboxprofile"),
    **model_admin("catalog.sandboxorder", add=False, change=False),
    **model_admin("catalog.suppliercall", read_only=True),
    **model_admin("orders.order", add=False, delete=False),
    **model_admin("orders.ticket"),
    **model_admin("orders.refundrequest", read_only=True),
    **model_admin("orders.ordernote", read_only=True),
    **model_admin("orders.fulfilment", read_only=True),
    **model_admin("orders.payment", read_only=True),
    **model_admin("orders.paymentattempt", read_only=True),
    **model_admin("orders.wallettopup", read_only=True),
    **model_admin("orders.aftersalesrule"),  # support slice (issue 11)
    **model_admin("orders.cannedreply"),
    **model_admin("orders.codeinvalidation", read_only=True),
    # Segments and strategies (marketing): built-in segments are read only,
    # an operator's segment is edited on marketing:segment_edit.
    **model_admin("marketing.segment", change=False),
    **model_admin("marketing.segmentmember", read_only=True),
    **model_admin("marketing.strategy"),
    **model_admin("analytics.reporttemplate"),  # reports (analytics.admin)
    **model_admin("marketing.strategyrun", read_only=True),
    **model_admin("marketing.strategyrunbuyer", read_only=True),
    **model_admin("marketing.prioritysupport", read_only=True),
    **model_admin("marketing.promotedproduct", read_only=True),
    # Coupon issuing (issue 13): jobs and codes are written by services only;
    # a redeem-code batch is added, never edited; campaigns' rows always exist.
    **model_admin("marketing.couponissuejob", read_only=True),
    **model_admin("marketing.redeemcodebatch", change=False, delete=False),
    **model_admin("marketing.redeemcode", read_only=True),
    **model_admin("marketing.couponcampaign", add=False, delete=False),
    # Coupons (issue 13): templates edited by marketing, never deleted (switched
    # off instead); issued coupons only services write.
    **model_admin("marketing.coupontemplate", delete=False),
    **model_admin("marketing.coupon", read_only=True),
    # Vouchers (兑换券): batches are generated on marketing:voucher_generate;
    # top-up bonus rules are edited by marketing, the bonuses read by finance.
    **model_admin("marketing.voucherbatch", read_only=True),
    **model_admin("marketing.voucher", read_only=True),
    **model_admin("marketing.bonusrule"),
    **model_admin("marketing.bonusgrant", read_only=True),
    **model_admin("marketing.flashsale"),  # flash sales (issue 13)
    # Group buy (拼团): marketing edits campaigns; groups, failed groups and
    # members are written by the shop's services only.
    **model_admin("marketing.groupbuycampaign"),
    **model_admin("marketing.buyergroup", read_only=True),
    **model_admin("marketing.failedgroup", read_only=True),
    **model_admin("marketing.groupmember", read_only=True),
    # Referral: every referral and reward read only (reviews on the queue);
    # the one settings row is edited, never added or deleted.
    **model_admin("marketing.referral", read_only=True),
    **model_admin("marketing.referralreward", read_only=True),
    **model_admin("marketing.referralsettings", add=False, delete=False),
    # Points (积分): the ledger is read only (adjusted on marketing:points_adjust);
    # reviews are moderated by list actions; one settings row, edited only.
    **model_admin("marketing.pointsentry", read_only=True),
    **model_admin("marketing.pointsaccount", read_only=True),
    **model_admin("marketing.pointsreview", add=False, delete=False),
    **model_admin("marketing.pointsmallitem"),
    **model_admin("marketing.pointssettings", add=False, delete=False),
    **model_admin("django_celery_beat.periodictask"),
    **model_admin("django_celery_beat.clockedschedule"),
    **model_admin("django_celery_beat.crontabschedule"),
    **model_admin("django_celery_beat.intervalschedule"),
    **model_admin("django_celery_beat.solarschedule"),
}

URL_ACCESS: dict[str, Rule] = {
    # Outside any account: the shop, health, payment and supplier endpoints.
    "": PUBLIC,  # / redirects to the back office
    "favicon.ico": PUBLIC,
    "healthz": PUBLIC,
    "set_language": PUBLIC,
    "payments:notify": PUBLIC,
    "payments:sandbox_page": PUBLIC,
    "sandbox-supplier-submit": PUBLIC,
    "sandbox-supplier-query": PUBLIC,
    "supplier-callback": PUBLIC,
    "shop:home": PUBLIC,
    "shop:product": PUBLIC,
    "shop:quote": PUBLIC,
    "shop:order": PUBLIC,  # a guest order's page; the view checks whose it is
    "shop:pay_order": PUBLIC,
    "shop:lookup": PUBLIC,
    "shop:group": PUBLIC,  # a group buy's share page (module on)
    "shop:group_join": LOGGED_IN,
    "shop:group_open": LOGGED_IN,
    "shop:signup": PUBLIC,
    "shop:invite": PUBLIC,  # an invite link: keeps the code, leads to the signup
    "shop:referral": LOGGED_IN,  # the buyer's own invite page
    "shop:login": PUBLIC,
    "shop:logout": PUBLIC,
    "shop:orders": LOGGED_IN,
    "shop:wallet": LOGGED_IN,
    "shop:points": LOGGED_IN,  # points (积分): 404 while the module is off
    "shop:points_checkin": LOGGED_IN,
    "shop:points_redeem": LOGGED_IN,
    "shop:order_review": LOGGED_IN,
    "shop:voucher_redeem": LOGGED_IN,
    "shop:pay_topup": LOGGED_IN,
    "shop:favourite": LOGGED_IN,
    "shop:favourites": LOGGED_IN,
    "shop:coupons": LOGGED_IN,  # 我的优惠券: 404 while the coupons module is off
    "shop:account": LOGGED_IN,  # the buyer's own account and login history
    "shop:password_change": LOGGED_IN,
    "shop:birthday": LOGGED_IN,  # the buyer's own birthday (birthday gift)
    "shop:redeem_coupon": LOGGED_IN,  # 兑换优惠券 (404 with coupons off)
    "shop:open_ticket": LOGGED_IN,
    "shop:tickets": LOGGED_IN,
    "shop:ticket": LOGGED_IN,  # then only the buyer's own
    "shop:ticket_attachment": LOGGED_IN,  # then only the buyer's own
    # The back office's own pages.
    "admin:login": PUBLIC,
    "admin:logout": PUBLIC,  # logs out whoever is logged in, then the index
    "admin:index": STAFF,
    "admin:app_list": STAFF,
    "admin:search": STAFF,
    "admin:jsi18n": STAFF,
    # The relation picker: refuses a query that names no relation of a model the
    # visitor may edit; then needs the searched model's view permission.
    "admin:autocomplete": Rule(
        "staff",
        any_of=("catalog.view_product", "catalog.change_product"),
        sample_query="?app_label=catalog&model_name=sku&field_name=product",
    ),
    "admin:view_on_site": STAFF,
    "admin:password_change": STAFF,
    "admin:password_change_done": STAFF,
    "my_account": STAFF,  # each member of staff's own account, no one else's
    # Their own two-factor (users.account_views): open before the second step.
    "two_factor_setup": STAFF,
    "two_factor_verify": STAFF,
    "two_factor_disable": STAFF,
    "two_factor_recovery_codes": STAFF,
    "audit_log": SUPERUSER,  # the audit trail (kameng.audit_views)
    "module_switches": perms("kameng.switch_modules"),  # kameng.modules
    "admin/(?P<url>.*)$": STAFF,  # anything else under /admin/: 404 for staff
    # Django names both password pages alike: keyed by route.
    "admin/users/buyer/<id>/password/": perms("users.change_buyer"),
    "admin/users/staff/<id>/password/": perms("users.change_staff"),
    **MODEL_ADMINS,
    # Custom back-office pages.
    "catalog:reveal_code": perms("catalog.reveal_cardcode"),
    "catalog:import_codes": perms("catalog.add_cardbatch"),
    "catalog:import_codes_template": perms("catalog.add_cardbatch"),
    "catalog:import_batch": perms("catalog.view_cardbatch"),
    "catalog:import_batch_progress": perms("catalog.view_cardbatch"),
    "catalog:import_batch_commit": perms("catalog.add_cardbatch"),
    "catalog:import_batch_discard": perms("catalog.add_cardbatch"),
    "catalog:import_batch_void": perms("catalog.change_cardbatch"),
    "catalog:import_batch_report": perms("catalog.view_cardbatch"),
    "catalog:import_products": perms("catalog.add_sku", "catalog.change_sku"),
    "catalog:import_products_template": perms("catalog.add_sku", "catalog.change_sku"),
    "catalog:inventory": perms("catalog.view_sku"),
    "catalog:inventory_rows": perms("catalog.view_sku"),
    "orders:deliver": perms("orders.deliver_order"),
    "orders:resolve_topup": perms("orders.deliver_order"),
    "orders:manual_queue": perms("orders.deliver_order"),
    "payments:finance": perms("orders.refund_order"),
    "orders:add_note": perms("orders.add_ordernote"),
    "orders:refund": perms("orders.refund_order"),
    "orders:refund_topup": perms("users.adjust_wallet"),  # finance: top-up refund
    "orders:decide_refund": perms("orders.approve_refundrequest"),
    "orders:held_queue": perms("orders.review_held_order"),
    "orders:review_held": perms("orders.review_held_order"),
    "orders:gateway_refunds": perms("orders.refund_order"),
    "orders:confirm_gateway_refund": perms("orders.refund_order"),
    "wallets:buyer_wallet": perms("users.view_wallet", "users.view_ledgerentry"),
    "wallets:adjust": perms(
        "users.view_wallet", "users.view_ledgerentry", "users.adjust_wallet"
    ),
    "orders:ticket_reply": perms("orders.change_ticket"),
    "orders:ticket_attachment": perms("orders.view_ticket"),
    "orders:ticket_reissue": perms("orders.add_codeinvalidation"),
    "orders:ticket_invalid_codes": perms("orders.add_codeinvalidation"),
    "customers:buyer_profile": perms("users.view_buyer"),
    # the order workbench (orders.workbench_views): exports and saved filters
    # are each staff member's own; actions are operations', refunds finance's.
    "orders:workbench": perms("orders.view_order"),
    "orders:workbench_save_filter": perms("orders.view_order"),
    "orders:workbench_delete_filter": perms("orders.view_order"),
    "orders:export_start": perms("orders.view_order"),
    "orders:export": perms("orders.view_order"),
    "orders:export_progress": perms("orders.view_order"),
    "orders:export_download": perms("orders.view_order"),
    "orders:retry_fulfilment": perms("orders.deliver_order"),
    "orders:switch_supplier": perms("orders.deliver_order"),
    "orders:mark_delivered": perms("orders.deliver_order"),
    "orders:cancel_order": perms("orders.deliver_order"),
    "marketing:voucher_generate": perms("marketing.add_voucherbatch"),
    "marketing:voucher_export": perms("marketing.export_voucherbatch"),
    "marketing:segment_new": perms("marketing.view_segment"),  # saving: add_segment
    "marketing:segment_edit": perms("marketing.view_segment"),  # saving: change_
    "marketing:coupon_issue": perms("marketing.issue_coupon"),
    "marketing:coupon_issue_job": perms("marketing.issue_coupon"),
    "marketing:coupon_issue_progress": perms("marketing.issue_coupon"),
    "marketing:redeem_batch_export": perms("marketing.export_redeem_codes"),
    "marketing:coupon_named_issue": perms("marketing.issue_coupon"),
    "marketing:coupon_report": perms("marketing.view_coupon_report"),
    # Flash sales: profit on these pages only with catalog.view_cost.
    "marketing:flash_sales_live": perms("marketing.view_flashsale"),
    "marketing:flash_sale_live": perms("marketing.view_flashsale"),
    "marketing:flash_sale_figures": perms("marketing.view_flashsale"),
    "marketing:flash_sale_results": perms("marketing.view_flashsale"),
    "marketing:referral_review": perms("marketing.view_referral"),
    "marketing:referral_decide": perms("marketing.review_referral"),
    "marketing:points_adjust": perms("marketing.adjust_points"),
    "analytics:insight_levels": perms("analytics.view_insights"),
    "analytics:insight_hours": perms("analytics.view_insights"),
    "analytics:insight_growth": perms("analytics.view_insights"),
    "analytics:compare": perms("analytics.view_insights"),
    "analytics:retention": perms("analytics.view_insights"),
    # Reports (analytics.report_views): templates, runs and their files.
    "analytics:reports": perms("analytics.view_reporttemplate"),
    "analytics:report_generate": perms("analytics.view_reporttemplate"),
    "analytics:report_run": perms("analytics.view_reporttemplate"),
    "analytics:report_progress": perms("analytics.view_reporttemplate"),
    "analytics:report_download": perms("analytics.view_reporttemplate"),
}

# Admin actions, "app_label.model:action" → what running it needs. The action
# must be offered exactly to those the rule allows (test_access_map).
ACTION_ACCESS: dict[str, Rule] = {
    "auth.group:delete_selected": perms("auth.delete_group"),
    "analytics.reporttemplate:delete_selected": perms(
        "analytics.delete_reporttemplate"
    ),
    "users.buyer:delete_selected": perms("users.delete_buyer"),
    "users.staff:delete_selected": perms("users.delete_staff"),
    "users.memberlevel:delete_selected": perms("users.delete_memberlevel"),
    "orders.blacklistentry:delete_selected": perms("orders.delete_blacklistentry"),
    "catalog.category:delete_selected": perms("catalog.delete_category"),
    "catalog.product:delete_selected": perms("catalog.delete_product"),
    "catalog.sku:delete_selected": perms("catalog.delete_sku"),
    "catalog.costplusrule:delete_selected": perms("catalog.delete_costplusrule", COST),
    "catalog.supplier:delete_selected": perms("catalog.delete_supplier"),
    "catalog.sandboxprofile:delete_selected": perms("catalog.delete_sandboxprofile"),
    "catalog.sandboxorder:delete_selected": perms("catalog.delete_sandboxorder"),
    "orders.ticket:delete_selected": perms("orders.delete_ticket"),
    "orders.aftersalesrule:delete_selected": perms("orders.delete_aftersalesrule"),
    "orders.cannedreply:delete_selected": perms("orders.delete_cannedreply"),
    "orders.order:refund_in_full": perms("orders.refund_order"),
    "marketing.segment:delete_selected": perms("marketing.delete_segment"),
    "marketing.strategy:delete_selected": perms("marketing.delete_strategy"),
    "marketing.bonusrule:delete_selected": perms("marketing.delete_bonusrule"),
    "marketing.strategy:run_now": perms("marketing.run_strategy"),
    "marketing.groupbuycampaign:delete_selected": perms(
        "marketing.delete_groupbuycampaign"
    ),
    "marketing.pointsreview:approve": perms("marketing.change_pointsreview"),
    "marketing.pointsreview:reject": perms("marketing.change_pointsreview"),
    "marketing.pointsmallitem:delete_selected": perms(
        "marketing.delete_pointsmallitem"
    ),
    "catalog.product:list_products": perms("catalog.change_product"),
    "catalog.product:pause_products": perms("catalog.change_product"),
    "catalog.product:unlist_products": perms("catalog.change_product"),
    "catalog.product:duplicate": perms("catalog.add_product"),
    "catalog.supplier:reset_circuit_breaker": perms("catalog.change_supplier"),
    **{
        f"django_celery_beat.periodictask:{name}": perms(
            "django_celery_beat.change_periodictask"
        )
        for name in ("enable_tasks", "disable_tasks", "toggle_tasks", "run_tasks")
    },
    **{
        f"django_celery_beat.{model}:delete_selected": perms(
            f"django_celery_beat.delete_{model}"
        )
        for model in (
            "periodictask",
            "clockedschedule",
            "crontabschedule",
            "intervalschedule",
            "solarschedule",
        )
    },
}

# Fields no list may filter, order or search on without the permission: a hidden
# column must not be recoverable by asking the list yes/no questions
# (`?cost_price__lte=9.30`, a binary search). None: nobody, not even the super
# admin (secrets and hashes). Keys are "app_label.model" and a field name.
GUARDED_FIELDS: dict[tuple[str, str], str | None] = {
    ("catalog.sku", "cost_price"): COST,
    ("catalog.supplieroffer", "cost"): COST,
    ("marketing.flashsale", "cost"): COST,
    ("catalog.supplier", "secret"): None,
    ("catalog.cardcode", "secret"): None,
    ("catalog.cardcode", "code_hash"): None,
    ("users.user", "password"): None,
    ("orders.order", "lookup_password"): None,
}


def field_is_hidden(user, model_label: str, field_name: str) -> bool:
    """True when `user` may not filter, order or search on this field."""
    key = (model_label.lower(), field_name)
    if key not in GUARDED_FIELDS:
        return False
    needed = GUARDED_FIELDS[key]
    return needed is None or not user.has_perm(needed)
