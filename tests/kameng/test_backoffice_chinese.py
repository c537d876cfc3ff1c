"""Every back-office page, for every role, speaks Chinese.

The pages are found, not listed: every URL under /admin/ in the resolver is
rendered with sample objects from the demo data (the same data a newcomer sees),
for each of the five roles. A page fails when it shows one of the English strings
known to have slipped through before (grow KNOWN_ENGLISH when a new one is found),
or when it answers 500. One case per role, over one seeded shop per process
(tests/kameng/conftest.py, `shared_rows`), so a parallel run shares them out.
"""

from __future__ import annotations

import datetime
import re
from decimal import Decimal
from html.parser import HTMLParser
from importlib import import_module

import pytest
from django.apps import apps
from django.contrib import admin
from django.contrib.admin.utils import label_for_field
from django.contrib.auth.models import Group
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from django.utils import timezone, translation
from django.utils.translation import gettext
from django_celery_beat.models import CrontabSchedule, PeriodicTask

from catalog.models import CardCode, Sku, SupplierOffer
from catalog.services.codes import reveal_code
from catalog.services.inventory import check_stock_alerts
from kameng.admin import TASK_TITLES, crontab_in_words
from kameng.beat import SCHEDULE, sync_beat_schedule
from kameng.demo import DemoContext
from orders.aftersales import add_order_note, open_buyer_ticket
from orders.checkout import place_order
from orders.models import Fulfilment, Order, OrderExport, RefundRequest, Ticket
from orders.payments.services import start_gateway_payment
from orders.payments.topups import start_topup
from orders.transitions import open_abnormal_ticket
from users.models import User
from users.roles import ROLES

# English a person has seen in the Chinese back office. Matched case-sensitively
# against the page's visible text and its placeholder/title/aria-label texts.
KNOWN_ENGLISH = (
    # django-unfold, which ships no zh_Hans catalogue
    "Welcome back to",
    "Search apps and models",
    "All applications",
    "Filters",
    "Apply Filters",
    "Reset filters",
    "Type to search",
    "Select action",
    "Select all rows",
    "Select record",
    "No results found",
    "Choose file to upload",
    "More actions",
    "Go back",
    "Return to site",
    "Toggle password visibility",
    "Recent searches",
    "Run",
    # Django's own pages and the stored English permission names
    "Forbidden",
    "Not Found",
    "The requested resource was not found",
    "Can add",
    "Can change",
    "Can delete",
    "Can view",
    "Guardian",
    # django-celery-beat: unwrapped labels and fieldsets without zh_Hans
    "Crontab translation",
    "Scheduler",
    "Task Name",
    "Arguments",
    "Execution Options",
    # our own: column headers, codes where words belong
    "Code sku",
    "Sku",
    "Pending payment",
    "pending_payment",
    "wallet",
    "card codes",
    "supplier_error",
    "did not answer within",
    "demo top-up",
    "submit success",
    "via sandbox",
    "At 03:00 AM",
    '"unit_price"',
    "\\u",
)

# Custom pages whose URL takes an object: which object to open.
SAMPLE_FOR_ROUTE = {
    "customers:buyer_profile": lambda: (
        User.objects.filter(is_staff=False).order_by("pk").first()
    ),
    "catalog:import_batch": lambda: _first("catalog", "cardbatch"),
    "orders:deliver": lambda: (
        Order.objects.filter(sku__delivery_type="manual").order_by("-status").first()
    ),
    "orders:resolve_topup": lambda: (
        Order.objects.filter(sku__delivery_type="topup").order_by("-status").first()
    ),
    "orders:add_note": lambda: Order.objects.order_by("pk").first(),
    "orders:refund": lambda: (
        Order.objects.filter(status="delivered", buyer__isnull=False)
        .order_by("pk")
        .first()
    ),
    "orders:decide_refund": lambda: _first("orders", "refundrequest"),
    "orders:review_held": lambda: Order.objects.order_by("pk").first(),
    "orders:confirm_gateway_refund": lambda: _first("orders", "refundrequest"),
    "wallets:buyer_wallet": lambda: (
        User.objects.filter(is_staff=False).order_by("pk").first()
    ),
    "wallets:adjust": lambda: (
        User.objects.filter(is_staff=False).order_by("pk").first()
    ),
    "orders:ticket_reply": lambda: _first("orders", "ticket"),
    "marketing:coupon_named_issue": lambda: _first("marketing", "coupontemplate"),
    "marketing:segment_edit": lambda: (  # an operator's segment (the demo's)
        apps.get_model("marketing", "segment")
        .objects.filter(builtin="")
        .order_by("pk")
        .first()
    ),
    # the support slice: an open ticket on a delivered card order (demo)
    "orders:ticket_reissue": lambda: (
        Ticket.objects.filter(order__sku__delivery_type="card", status="open")
        .order_by("pk")
        .first()
    ),
    "orders:ticket_invalid_codes": lambda: (
        Ticket.objects.filter(order__sku__delivery_type="card", status="open")
        .order_by("pk")
        .first()
    ),
    # the order workbench: its actions on a top-up, a manual and an unpaid
    # order, and an export (its own page shows only to whoever asked: 404)
    "orders:retry_fulfilment": lambda: (
        Order.objects.filter(sku__delivery_type="topup").order_by("pk").first()
    ),
    "orders:switch_supplier": lambda: (
        Order.objects.filter(sku__delivery_type="topup").order_by("pk").first()
    ),
    "orders:mark_delivered": lambda: (
        Order.objects.filter(sku__delivery_type="manual").order_by("pk").first()
    ),
    "orders:cancel_order": lambda: (
        Order.objects.filter(status="pending_payment").order_by("pk").first()
    ),
    "marketing:flash_sale_live": lambda: _first("marketing", "flashsale"),
    "marketing:flash_sale_results": lambda: _first("marketing", "flashsale"),
    "orders:export": lambda: OrderExport.objects.create(
        requested_by=User.objects.filter(is_superuser=True).first()
    ),
    # finance's top-up refund page: a paid top-up of the first demo buyer
    "orders:refund_topup": lambda: apps.get_model(
        "orders", "wallettopup"
    ).objects.create(
        topup_no="W2026112600000001",
        buyer=User.objects.filter(is_staff=False).order_by("pk").first(),
        amount=Decimal("100.00"),
        channel="sandbox",
        status="paid",
    ),
    # a report run's page: a queued run of the demo's weekly report
    "analytics:report_run": lambda: apps.get_model(
        "analytics", "reportrun"
    ).objects.create(
        template=_first("analytics", "reporttemplate"),
        first_day=datetime.date(2026, 11, 16),
        last_day=datetime.date(2026, 11, 22),
    ),
    # coupon issuing: a queued bulk issue job's page (the demo has none)
    "marketing:coupon_issue_job": lambda: apps.get_model(
        "marketing", "couponissuejob"
    ).objects.create(
        template=_first("marketing", "coupontemplate"),
        segment=_first("marketing", "segment"),
        issue_key="demo",
    ),
}
# Routes that are not pages a person reads: actions (POST only), downloads,
# progress fragments polled by a page, the admin's catch-all redirect.
NOT_PAGES = {
    "admin:logout",
    "admin:autocomplete",
    "admin:jsi18n",
    "admin:view_on_site",
    "catalog:reveal_code",
    "catalog:import_batch_progress",
    "catalog:import_batch_commit",
    "catalog:import_batch_discard",
    "catalog:import_batch_void",
    "catalog:import_batch_report",
    "catalog:import_codes_template",
    "catalog:import_products_template",
    "catalog:inventory_rows",
    "marketing:flash_sale_figures",  # the live page's polled fragment
    "marketing:coupon_issue_progress",  # the issue job page's polled fragment
    "marketing:redeem_batch_export",  # an Excel download
    "marketing:voucher_export",  # an Excel download (vouchers)
    "marketing:referral_decide",  # the review queue's clear / reject (POST)
    "analytics:report_generate",  # 立即生成 (POST)
    "analytics:report_progress",  # the run page's polled fragment
    "analytics:report_download",  # a report file
    "orders:ticket_attachment",
    "orders:workbench_save_filter",
    "orders:workbench_delete_filter",
    "orders:export_start",
    "orders:export_progress",
    "orders:export_download",
}


def _first(app_label: str, model_name: str):
    return apps.get_model(app_label, model_name)._default_manager.order_by("pk").first()


class _VisibleText(HTMLParser):
    """Text a person reads: text nodes outside script/style, and the
    attributes a browser shows (placeholder, title, aria-label, value of buttons)."""

    SHOWN = {"placeholder", "title", "aria-label", "alt"}

    def __init__(self):
        super().__init__(convert_charrefs=True)
        self.parts: list[str] = []
        self._hidden = 0

    def handle_starttag(self, tag, attrs):
        if tag in ("script", "style", "template"):
            self._hidden += 1
        for name, value in attrs:
            if name in self.SHOWN and value:
                self.parts.append(value)
            if name == "value" and tag in ("button",) and value:
                self.parts.append(value)

    def handle_endtag(self, tag):
        if tag in ("script", "style", "template") and self._hidden:
            self._hidden -= 1

    def handle_data(self, data):
        if not self._hidden and data.strip():
            self.parts.append(data.strip())


def visible_text(html: str) -> list[str]:
    parser = _VisibleText()
    parser.feed(html)
    return parser.parts


def _pattern(phrase: str) -> re.Pattern:
    """The phrase as a word: no letter glued on where it starts or ends with one
    ("Run" is not "Runner", "pending_payment" not "settle_pending_payments")."""
    before = r"(?<![A-Za-z_])" if phrase[0].isalpha() else ""
    after = r"(?![A-Za-z_])" if phrase[-1].isalpha() else ""
    return re.compile(before + re.escape(phrase) + after)


KNOWN_PATTERNS = [(phrase, _pattern(phrase)) for phrase in KNOWN_ENGLISH]


def english_in(html: str) -> list[str]:
    found = []
    for part in visible_text(html):
        for phrase, pattern in KNOWN_PATTERNS:
            if pattern.search(part):
                found.append(f"{phrase!r} in {part[:80]!r}")
    return found


def admin_routes():
    """(route name, pattern) for every URL under /admin/."""

    def walk(resolver, prefix, namespace):
        for pattern in resolver.url_patterns:
            if isinstance(pattern, URLResolver):
                ns = f"{namespace}{pattern.namespace}:" if pattern.namespace else ""
                yield from walk(pattern, prefix + str(pattern.pattern), ns or namespace)
            elif isinstance(pattern, URLPattern) and pattern.name:
                route = prefix + str(pattern.pattern)
                if route.lstrip("^").startswith("admin/"):
                    yield f"{namespace}{pattern.name}", pattern

    return list(walk(get_resolver(), "", ""))


def seed_demo_data():
    ctx = DemoContext(buyers=3)
    for config in apps.get_app_configs():
        if config.name == "kameng":
            continue
        try:
            module = import_module(f"{config.name}.demo")
        except ModuleNotFoundError as exc:
            if exc.name != f"{config.name}.demo":
                raise
            continue
        module.seed(ctx)


def add_samples_the_demo_lacks():
    """Rows of the pages the demo leaves empty (an empty list shows no column
    headers), each reached through its service or as the service writes it."""
    admin_user = User.objects.filter(is_superuser=True).first()
    reveal_code(code=CardCode.objects.order_by("pk").first(), actor=admin_user)
    order = Order.objects.order_by("pk").first()
    open_abnormal_ticket(
        order=order, flag=Order.Flag.SUPPLIER_FAILURE, message="货源连续失败"
    )
    check_stock_alerts()
    buyer = User.objects.filter(is_staff=False).order_by("pk").first()
    card = Sku.objects.filter(stock__gt=0, delivery_type="card").order_by("pk").first()
    start_gateway_payment(
        order=place_order(sku=card, quantity=1, buyer=buyer), channel="sandbox"
    )
    start_topup(buyer=buyer, amount=Decimal("50.00"), channel="sandbox")
    topup = Order.objects.filter(sku__delivery_type="topup").order_by("pk").first()
    Fulfilment.objects.get_or_create(
        order=topup,
        defaults={
            "offer": SupplierOffer.objects.filter(sku=topup.sku).first(),
            "next_attempt_at": timezone.now(),
            "last_error": "货源繁忙",
        },
    )
    CrontabSchedule.objects.create(minute="0", hour="3")
    delivered = (
        Order.objects.filter(status="delivered", buyer__isnull=False)
        .order_by("pk")
        .first()
    )
    add_order_note(
        order=delivered, author=admin_user, body="已联系买家", visible_to_buyer=True
    )
    RefundRequest.objects.create(
        order=delivered,
        amount=delivered.amount,
        reason="卡密无效",
        requested_by=admin_user,
    )
    open_buyer_ticket(
        order=delivered, buyer=delivered.buyer, kind="inquiry", body="卡密显示已使用"
    )


def back_office_urls() -> list[str]:
    """Admin index, app indexes, every model's changelist, add form and the
    change form of a sample object, and every custom page."""
    urls = [reverse("admin:index"), reverse("admin:password_change")]
    app_labels = set()
    for model in apps.get_models():
        if not admin.site.is_registered(model):
            continue
        opts = model._meta
        app_labels.add(opts.app_label)
        base = f"admin:{opts.app_label}_{opts.model_name}"
        urls += [reverse(f"{base}_changelist"), reverse(f"{base}_add")]
        sample = model._default_manager.order_by("pk").first()
        if sample is not None:
            urls.append(reverse(f"{base}_change", args=[sample.pk]))
    urls += [reverse("admin:app_list", args=[label]) for label in sorted(app_labels)]
    model_routes = re.compile(r"^admin:\w+_(changelist|add|change|history|delete)$")
    for name, pattern in admin_routes():
        if name in NOT_PAGES or model_routes.match(name) or name.startswith("admin:"):
            continue
        if name in SAMPLE_FOR_ROUTE:
            sample = SAMPLE_FOR_ROUTE[name]()
            assert sample is not None, f"the demo data has no object for {name}"
            urls.append(reverse(name, args=[sample.pk]))
        else:
            assert not pattern.pattern.converters, (
                f"{name} takes arguments: add it to SAMPLE_FOR_ROUTE or NOT_PAGES"
            )
            urls.append(reverse(name))
    return urls


@pytest.fixture(scope="class")
def urls(shared_rows):
    """The pages, over a shop seeded once per process for every role's case
    (seeding takes longer than a role's walk)."""
    with shared_rows.writing():
        seed_demo_data()
        add_samples_the_demo_lacks()
        return back_office_urls()


@pytest.mark.slow
class TestEveryPage:
    """One case per role."""

    @pytest.mark.parametrize("role", [role.code for role in ROLES])
    def test_every_back_office_page_is_chinese_for_every_role(
        self, urls, db, client, role_user, role
    ):
        client.force_login(role_user(role))
        problems = []
        for url in urls:
            response = client.get(url, HTTP_ACCEPT_LANGUAGE="en")
            if response.status_code >= 500:
                problems.append(f"{role} {url}: {response.status_code}")
                continue
            if "text/html" not in response.get("Content-Type", ""):
                continue
            if response.status_code in (301, 302):
                continue
            body = response.content.decode()
            problems += [
                f"{role} {url} ({response.status_code}): {hit}"
                for hit in english_in(body)
            ]
        assert problems == []


def test_the_english_detector_sees_what_a_person_sees():
    html = (
        '<input placeholder="Type to search"><script>var Filters = 1;</script>'
        '<p>筛选</p><span title="Select all rows"></span><b>Runner</b>'
        "<td>orders.settle_pending_payments</td><td>pending_payment</td>"
    )
    assert english_in(html) == [
        "'Type to search' in 'Type to search'",
        "'Select all rows' in 'Select all rows'",
        "'pending_payment' in 'pending_payment'",
    ]


@pytest.mark.django_db
def test_the_login_page_is_chinese(client):
    response = client.get(reverse("admin:login"), HTTP_ACCEPT_LANGUAGE="en")
    body = response.content.decode()
    assert "欢迎回到" in body  # unfold's "Welcome back to"
    assert english_in(body) == []


def test_every_scheduled_task_has_a_chinese_title():
    untitled = [entry.task for entry in SCHEDULE if entry.task not in TASK_TITLES]
    assert untitled == []


@pytest.mark.django_db
def test_periodic_tasks_are_listed_by_title(client, role_user):
    sync_beat_schedule()
    client.force_login(role_user("superadmin"))
    body = client.get("/admin/django_celery_beat/periodictask/").content.decode()
    assert "库存预警检查" in body and "工作进程心跳" in body
    assert "catalog: stock alerts" not in visible_text(body)  # the stored key


def test_every_scheduled_task_is_described_in_chinese():
    with translation.override("zh-hans"):
        english = [e.task for e in SCHEDULE if gettext(e.description) == e.description]
    assert english == []


@pytest.mark.django_db
def test_a_viewer_reads_a_periodic_task_in_chinese(client, role_user):
    sync_beat_schedule()
    task = PeriodicTask.objects.get(task="kameng.record_worker_heartbeat")
    client.force_login(role_user("operations"))  # may view, not change
    url = reverse("admin:django_celery_beat_periodictask_change", args=[task.pk])
    body = client.get(url).content.decode()
    assert "证明工作进程和定时调度在运行" in body
    assert task.description not in body


@pytest.mark.django_db
def test_the_permission_list_is_chinese(client, role_user):
    client.force_login(role_user("superadmin"))
    group = Group.objects.get(name=ROLES[2].group_name)
    body = client.get(reverse("admin:auth_group_change", args=[group.pk])).content
    text = " ".join(visible_text(body.decode()))
    assert "商品目录 | 可查看SKU" in text  # catalog.view_sku
    assert "可退款订单" in text  # orders.refund_order, a permission of its own
    assert "Can view" not in text and "catalog | sku" not in text


# Latin letters a Chinese label may keep: abbreviations Chinese staff use as is.
ABBREVIATIONS = {"SKU", "ID", "VIP", "AMQP", "IP", "API", "HTTP", "QQ", "URL", "Celery"}


def english_words(label) -> set[str]:
    return set(re.findall(r"[A-Za-z]{2,}", str(label))) - ABBREVIATIONS


@pytest.mark.django_db
def test_every_column_header_and_field_label_is_chinese(rf, role_user):
    """Headers and actions of every list (verbose names, display descriptions: not
    "Code sku") and labels and help texts of every form, as the super admin sees
    them."""
    request = rf.get("/admin/")
    request.user = role_user("superadmin")
    english = []
    with translation.override("zh-hans"):
        for model in apps.get_models():
            if not admin.site.is_registered(model):
                continue
            model_admin = admin.site.get_model_admin(model)
            for name in model_admin.get_list_display(request):
                label = label_for_field(name, model, model_admin)
                if name != "action_checkbox" and english_words(label):
                    english.append(f"{model._meta.label} column {name}: {label}")
            for name, label in model_admin.get_action_choices(request)[1:]:
                if english_words(label):
                    english.append(f"{model._meta.label} action {name}: {label}")
            for name, field in model_admin.get_form(request).base_fields.items():
                for text in (field.label, field.help_text):
                    chinese = re.search(r"[\u4e00-\u9fff]", str(text or ""))
                    if text and not chinese and english_words(text):
                        english.append(f"{model._meta.label} field {name}: {text}")
    assert english == []


@pytest.mark.django_db
def test_a_crontab_is_described_in_chinese(client, role_user):
    crontab = CrontabSchedule.objects.create(minute="0", hour="3")
    client.force_login(role_user("superadmin"))
    body = client.get("/admin/django_celery_beat/crontabschedule/").content.decode()
    assert "在 03:00" in body
    assert "At 03:00 AM" not in body
    assert crontab_in_words(crontab).startswith("在 03:00")
