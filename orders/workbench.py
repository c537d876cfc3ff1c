"""The order workbench: the filtered order list, saved filters, Excel export.

One parser (`WorkbenchFilterForm`) and one query (`orders_matching`) serve the
list page, the saved filters and the export job, so the file holds exactly the
rows the page showed. The list never counts: it reads one page plus one row
(`order_page`), newest first on an index of (status, created_at, id), with a
fixed number of queries whatever the page size. Exact searches are one indexed
lookup each (order number, the buyer's username/phone/e-mail, contact, a
recharge account value).

The export is a Celery job (`run_order_export`, orders.tasks): kameng.xlsx's
streaming sheet writer fed from a database iterator in chunks, so neither the
rows nor the sheet are held in memory; progress is written on the OrderExport
row every PROGRESS_EVERY rows for the page that polls it. Cost columns are
written only for exports asked by someone holding catalog.view_cost, contacts
in full only for someone holding users.view_full_contact (masked otherwise, see
users.contacts), and the writer puts every text cell through kameng.spreadsheet's
formula rule (an apostrophe before = + - @ tab CR).
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import datetime, time, timedelta
from decimal import Decimal
from pathlib import Path

from django import forms
from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet
from django.http import QueryDict
from django.utils import timezone, translation
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy

from catalog.models import Sku, Supplier
from kameng.exceptions import DomainError
from kameng.fields import account_match, contact_match
from kameng.xlsx import Column, SheetWriter
from orders.models import Order, OrderExport, SavedOrderFilter
from users.contacts import export_contact, exports_full_contacts, record_full_export
from users.models import MemberLevel, User

logger = logging.getLogger(__name__)

COST_PERMISSION = "catalog.view_cost"
PAGE_SIZES = (20, 50, 100)
DEFAULT_PAGE_SIZE = 50
# Newest first; id breaks ties so pages never overlap.
ORDERING = ("-created_at", "-id")
ANY_ABNORMAL = "any"
EXPORT_CHUNK = 2000
PROGRESS_EVERY = 5000


class WorkbenchRefused(DomainError):
    code = "orders_workbench_refused"


class SearchIn:
    ORDER_NO = "order_no"
    BUYER = "buyer"
    CONTACT = "contact"
    RECHARGE = "recharge_account"

    CHOICES = [
        (ORDER_NO, gettext_lazy("Order number")),
        (BUYER, gettext_lazy("Buyer (username, phone or e-mail)")),
        (CONTACT, gettext_lazy("Contact")),
        (RECHARGE, gettext_lazy("Recharge account")),
    ]


def _blank(label) -> list[tuple[str, str]]:
    return [("", label)]


class WorkbenchFilterForm(forms.Form):
    """The workbench's filters, from a query string (the page, a saved filter,
    an export job). Every field is optional; a wrong value is a field error."""

    q = forms.CharField(
        label=gettext_lazy("Exact search"),
        max_length=120,
        required=False,
        help_text=gettext_lazy(
            "Whole values only: contacts and recharge accounts are stored "
            "encrypted, so part of a phone number or account finds nothing."
        ),
    )
    search_in = forms.ChoiceField(
        label=gettext_lazy("Search in"), choices=SearchIn.CHOICES, required=False
    )
    status = forms.ChoiceField(label=gettext_lazy("Status"), required=False)
    delivery_type = forms.ChoiceField(
        label=gettext_lazy("Delivery type"), required=False
    )
    supplier = forms.TypedChoiceField(
        label=gettext_lazy("Supplier"), coerce=int, empty_value=None, required=False
    )
    flag = forms.ChoiceField(label=gettext_lazy("Abnormal"), required=False)
    payment_method = forms.ChoiceField(
        label=gettext_lazy("Payment method"), required=False
    )
    member_level = forms.TypedChoiceField(
        label=gettext_lazy("Member level"), coerce=int, empty_value=None, required=False
    )
    created_from = forms.DateField(label=gettext_lazy("Ordered from"), required=False)
    created_to = forms.DateField(label=gettext_lazy("Ordered until"), required=False)
    amount_min = forms.DecimalField(
        label=gettext_lazy("Amount from"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    amount_max = forms.DecimalField(
        label=gettext_lazy("Amount up to"),
        max_digits=14,
        decimal_places=2,
        min_value=Decimal("0"),
        required=False,
    )
    per_page = forms.TypedChoiceField(
        label=gettext_lazy("Rows per page"),
        coerce=int,
        choices=[(size, size) for size in PAGE_SIZES],
        empty_value=DEFAULT_PAGE_SIZE,
        required=False,
    )

    # Fields that narrow the list (per_page and the search box's target do not).
    FILTERS = (
        "q",
        "status",
        "delivery_type",
        "supplier",
        "flag",
        "payment_method",
        "member_level",
        "created_from",
        "created_to",
        "amount_min",
        "amount_max",
    )

    def __init__(self, data=None, **kwargs):
        super().__init__(data, **kwargs)
        fields = self.fields
        fields["status"].choices = _blank(_("Any status")) + Order.Status.choices
        fields["delivery_type"].choices = (
            _blank(_("Any delivery type")) + Sku.DeliveryType.choices
        )
        fields["flag"].choices = (
            _blank(_("Any"))
            + [(ANY_ABNORMAL, _("Any abnormal order"))]
            + [(value, label) for value, label in Order.Flag.choices if value]
        )
        fields["payment_method"].choices = (
            _blank(_("Any payment method")) + Order.PaymentMethod.choices
        )
        fields["supplier"].choices = _blank(_("Any supplier")) + list(
            Supplier.objects.order_by("name").values_list("pk", "name")
        )
        fields["member_level"].choices = _blank(_("Any level")) + list(
            MemberLevel.objects.order_by("rank", "pk").values_list("pk", "name")
        )

    def clean_q(self):
        term = self.cleaned_data["q"].strip()
        if "\x00" in term:
            raise forms.ValidationError(_("The search text contains a NUL character."))
        return term

    def clean(self):
        data = super().clean()
        start, end = data.get("created_from"), data.get("created_to")
        if start and end and start > end:
            self.add_error("created_to", _("The end date is before the start date."))
        low, high = data.get("amount_min"), data.get("amount_max")
        if low is not None and high is not None and low > high:
            self.add_error(
                "amount_max", _("The highest amount is below the lowest amount.")
            )
        if not data.get("search_in"):
            data["search_in"] = SearchIn.ORDER_NO
        if not data.get("per_page"):
            data["per_page"] = DEFAULT_PAGE_SIZE
        return data

    def is_filtered(self) -> bool:
        return any(
            self.cleaned_data.get(name) not in (None, "") for name in self.FILTERS
        )

    def query_string(self) -> str:
        """The filters as a query string (for links, saved filters, the export),
        without empty fields."""
        query = QueryDict(mutable=True)
        for name in (*self.FILTERS, "search_in", "per_page"):
            value = self.data.get(name, "")
            if value not in ("", None):
                query[name] = value
        if query.get("per_page") == str(DEFAULT_PAGE_SIZE):
            del query["per_page"]
        return query.urlencode()


def parse_filters(data) -> WorkbenchFilterForm:
    """A bound filter form for a QueryDict or a plain dict of strings (without
    a page size, the default one, so the page shows which is used)."""
    if not data.get("per_page"):
        data = data.copy()
        data["per_page"] = str(DEFAULT_PAGE_SIZE)
    return WorkbenchFilterForm(data)


def _day_start(day) -> datetime:
    return timezone.make_aware(datetime.combine(day, time.min))


def recharge_match(term: str) -> Q:
    """Orders whose recharge account has `term` as one of its values (whatever
    the field): the account is encrypted, so this is its blind index's digest
    list (kameng.fields.account_match; GIN-indexed on PostgreSQL)."""
    return account_match("recharge_account", term)


def search_match(term: str, search_in: str) -> Q:
    """One exact, indexed lookup for the search box."""
    if search_in == SearchIn.BUYER:
        buyers = User.objects.filter(
            Q(username=term)
            | contact_match("phone", term)
            | contact_match("email", term)
        ).values("pk")
        return Q(buyer_id__in=buyers)
    if search_in == SearchIn.CONTACT:
        return contact_match("contact", term)
    if search_in == SearchIn.RECHARGE:
        return recharge_match(term)
    return Q(order_no=term)


def orders_matching(criteria: dict) -> QuerySet[Order]:
    """The orders a valid filter form's cleaned data selects, newest first."""
    orders = Order.objects.all()
    if term := criteria.get("q"):
        orders = orders.filter(search_match(term, criteria.get("search_in", "")))
    if status := criteria.get("status"):
        orders = orders.filter(status=status)
    if delivery_type := criteria.get("delivery_type"):
        orders = orders.filter(sku__delivery_type=delivery_type)
    if supplier := criteria.get("supplier"):
        orders = orders.filter(fulfilment__offer__supplier_id=supplier)
    flag = criteria.get("flag")
    if flag == ANY_ABNORMAL:
        orders = orders.exclude(flag="")
    elif flag:
        orders = orders.filter(flag=flag)
    if method := criteria.get("payment_method"):
        orders = orders.filter(payment_method=method)
    if level := criteria.get("member_level"):
        orders = orders.filter(buyer__member_level_id=level)
    if start := criteria.get("created_from"):
        orders = orders.filter(created_at__gte=_day_start(start))
    if end := criteria.get("created_to"):
        orders = orders.filter(created_at__lt=_day_start(end + timedelta(days=1)))
    if (low := criteria.get("amount_min")) is not None:
        orders = orders.filter(amount__gte=low)
    if (high := criteria.get("amount_max")) is not None:
        orders = orders.filter(amount__lte=high)
    return orders.order_by(*ORDERING)


@dataclass(frozen=True)
class OrderPage:
    rows: list[Order]
    number: int
    per_page: int
    has_more: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def order_page(criteria: dict, *, number: int) -> OrderPage:
    """One page of the list: one query for the rows (plus one row, to know if
    more follow), never a COUNT; the columns' relations joined in."""
    per_page = criteria.get("per_page") or DEFAULT_PAGE_SIZE
    number = max(1, number)
    start = (number - 1) * per_page
    rows = list(
        orders_matching(criteria).select_related(
            "sku__product", "buyer__member_level", "fulfilment__offer__supplier"
        )[start : start + per_page + 1]
    )
    return OrderPage(
        rows=rows[:per_page],
        number=number,
        per_page=per_page,
        has_more=len(rows) > per_page,
    )


# Saved filters ----------------------------------------------------------------


def saved_filters(*, owner) -> QuerySet[SavedOrderFilter]:
    return SavedOrderFilter.objects.filter(owner=owner).order_by("name", "id")


@transaction.atomic
def save_order_filter(*, owner, name: str, query: str) -> SavedOrderFilter:
    """Keep the list's filters under a name, for `owner` only; the same name
    again replaces them."""
    name = name.strip()
    if not name:
        raise WorkbenchRefused(_("Give the filter a name."))
    if len(name) > 60:
        raise WorkbenchRefused(_("A filter name is at most 60 characters."))
    form = parse_filters(QueryDict(query))
    if not form.is_valid():
        raise WorkbenchRefused(_("Fix the filters before saving them."))
    if not form.is_filtered():
        raise WorkbenchRefused(_("Choose at least one filter to save."))
    saved, _created = SavedOrderFilter.objects.update_or_create(
        owner=owner, name=name, defaults={"query": form.query_string()[:1000]}
    )
    return saved


def delete_order_filter(*, owner, filter_id: int) -> bool:
    """Remove one of `owner`'s saved filters (someone else's is not found)."""
    deleted, _rows = SavedOrderFilter.objects.filter(owner=owner, pk=filter_id).delete()
    return bool(deleted)


# Export ------------------------------------------------------------------------


def export_dir() -> Path:
    return Path(settings.ORDER_EXPORT_DIR)


def export_path(export: OrderExport) -> Path:
    return export_dir() / export.file_name


def start_order_export(*, actor, criteria: dict) -> OrderExport:
    """Record an export of the filtered list; the caller queues the job after
    commit (orders.tasks.enqueue_order_export). Cost columns only for those
    who may see costs, decided now, from the person who asked."""
    form = parse_filters(criteria)
    if not form.is_valid():
        raise WorkbenchRefused(_("Fix the filters before exporting."))
    export = OrderExport.objects.create(
        requested_by=actor,
        criteria={key: value for key, value in criteria.items() if value},
        with_cost=actor.has_perm(COST_PERMISSION),
        with_contacts=exports_full_contacts(actor),  # else masked (users.contacts)
    )
    if export.with_contacts:
        record_full_export(actor=actor, export=export)
    return export


def exports_for(*, user) -> QuerySet[OrderExport]:
    """A member of staff sees only the exports they asked for."""
    return OrderExport.objects.filter(requested_by=user)


def export_percent(export: OrderExport) -> int:
    if export.status == OrderExport.Status.DONE:
        return 100
    if not export.total_rows:
        return 0
    return min(99, export.rows_written * 100 // export.total_rows)


def export_headers(*, with_cost: bool) -> list[str]:
    return [column.title for column in export_columns(with_cost=with_cost)]


def export_columns(*, with_cost: bool) -> list[Column]:
    """The sheet's columns: title, width, money format."""
    columns = [
        Column(_("Order number"), width=24),
        Column(_("Ordered at"), width=20),
        Column(_("Status"), width=10),
        Column(_("Abnormal"), width=12),
        Column(_("Product"), width=24),
        Column(_("Spec"), width=16),
        Column(_("Delivery type"), width=12),
        Column(_("Quantity"), width=8),
        Column(_("Unit price"), width=12, money=True),
        Column(_("Amount"), width=12, money=True),
        Column(_("Refunded amount"), width=12, money=True),
        Column(_("Payment method"), width=12),
        Column(_("Buyer"), width=16),
        Column(_("Member level"), width=10),
        Column(_("Contact"), width=24),
        Column(_("Recharge account"), width=24),
        Column(_("Supplier"), width=14),
        Column(_("Paid at"), width=20),
        Column(_("Delivered at"), width=20),
    ]
    if with_cost:
        columns += [
            Column(_("Cost"), width=12, money=True),
            Column(_("Gross profit"), width=12, money=True),
        ]
    return columns


EXPORT_FIELDS = (
    "order_no",
    "created_at",
    "status",
    "flag",
    "sku__product__name",
    "sku__name",
    "sku__delivery_type",
    "quantity",
    "unit_price",
    "amount",
    "refunded_amount",
    "payment_method",
    "buyer__username",
    "buyer__member_level__name",
    "contact",
    "recharge_account",
    "fulfilment__offer__supplier__name",
    "paid_at",
    "delivered_at",
)
COST_FIELDS = ("fulfilment__offer__cost", "sku__cost_price")


def _labels(choices) -> dict[str, str]:
    return {value: str(label) for value, label in choices}


def export_rows(
    queryset: QuerySet[Order], *, with_cost: bool, with_contacts: bool = False
) -> Iterator[list]:
    """The sheet's rows (no header), streamed from the database in chunks.
    Text is raw: the sheet writer (kameng.xlsx) neutralises formulas as it
    writes each cell."""
    status = _labels(Order.Status.choices)
    flags = _labels(Order.Flag.choices)
    flags[""] = ""
    delivery = _labels(Sku.DeliveryType.choices)
    payment = _labels(Order.PaymentMethod.choices)
    payment[""] = ""
    local = timezone.get_current_timezone()

    def when(moment):  # "2026-11-04 09:30:00" (isoformat: faster than strftime)
        return moment.astimezone(local).isoformat(" ", "seconds")[:19] if moment else ""

    fields = EXPORT_FIELDS + (COST_FIELDS if with_cost else ())
    for values in queryset.values_list(*fields).iterator(chunk_size=EXPORT_CHUNK):
        account = values[15]
        row = [
            values[0],
            when(values[1]),
            status.get(values[2], values[2]),
            flags.get(values[3], values[3]),
            values[4],
            values[5],
            delivery.get(values[6], values[6]),
            values[7],
            values[8],
            values[9],
            values[10],
            payment.get(values[11], values[11]),
            values[12] or "",
            values[13] or "",
            export_contact(values[14], full=with_contacts),
            "；".join(f"{key}: {value}" for key, value in account.items())
            if isinstance(account, dict)
            else "",
            values[16] or "",
            when(values[17]),
            when(values[18]),
        ]
        if with_cost:
            unit_cost = values[19] if values[19] is not None else values[20]
            cost = unit_cost * values[7]
            row += [cost, values[9] - values[10] - cost]
        yield row


def write_order_workbook(
    path: Path,
    queryset: QuerySet[Order],
    *,
    with_cost: bool,
    with_contacts: bool = False,
    progress=None,
) -> int:
    """Write the rows of `queryset` to an xlsx at `path` (kameng.xlsx's
    streaming writer); returns the row count. `progress(rows)` is called every
    PROGRESS_EVERY rows."""
    every = PROGRESS_EVERY
    written = 0
    with SheetWriter(
        path, sheet_name=_("Orders"), columns=export_columns(with_cost=with_cost)
    ) as sheet:
        append = sheet.append
        for row in export_rows(
            queryset, with_cost=with_cost, with_contacts=with_contacts
        ):
            append(row)
            written += 1
            if progress is not None and written % every == 0:
                progress(written)
    return written


def run_order_export(*, export_id: int) -> OrderExport | None:
    """Write a queued export (the Celery task's body); a no-op for any other
    status, so a redelivered message never writes twice."""
    claimed = OrderExport.objects.filter(
        pk=export_id, status=OrderExport.Status.QUEUED
    ).update(status=OrderExport.Status.RUNNING)
    if not claimed:
        return None
    export = OrderExport.objects.get(pk=export_id)
    form = parse_filters(export.criteria)
    if not form.is_valid():
        return fail_order_export(export, _("The filters are no longer valid."))
    queryset = orders_matching(form.cleaned_data)
    limit = settings.ORDER_EXPORT_MAX_ROWS
    total = queryset[: limit + 1].count()  # bounded: counts at most limit + 1
    if total > limit:
        return fail_order_export(
            export,
            _("More than %(limit)s orders match: narrow the filters (a date range).")
            % {"limit": limit},
        )
    OrderExport.objects.filter(pk=export.pk).update(total_rows=total)
    export.file_name = f"orders-{export.pk}-{secrets.token_hex(8)}.xlsx"
    export_dir().mkdir(parents=True, exist_ok=True)
    path = export_path(export)
    try:
        written = write_order_workbook(
            path,
            queryset,
            with_cost=export.with_cost,
            with_contacts=export.with_contacts,
            progress=lambda rows: OrderExport.objects.filter(pk=export.pk).update(
                rows_written=rows
            ),
        )
    except OSError as exc:
        logger.exception("order export %s could not be written", export.pk)
        path.unlink(missing_ok=True)
        return fail_order_export(
            export, _("The file could not be written: %(error)s") % {"error": exc}
        )
    OrderExport.objects.filter(pk=export.pk).update(
        status=OrderExport.Status.DONE,
        rows_written=written,
        total_rows=written,
        file_name=export.file_name,
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export


def fail_order_export(export: OrderExport, message: str) -> OrderExport:
    OrderExport.objects.filter(pk=export.pk).update(
        status=OrderExport.Status.FAILED,
        failure=str(message)[:300],
        finished_at=timezone.now(),
    )
    export.refresh_from_db()
    return export


def export_in_language(*, export_id: int) -> OrderExport | None:
    """The job's body in the back office's language (headers, labels)."""
    with translation.override(settings.LANGUAGE_CODE):
        return run_order_export(export_id=export_id)


def sweep_order_exports(*, now: datetime | None = None) -> dict[str, int]:
    """Remove export files older than ORDER_EXPORT_KEEP_HOURS (the row stays,
    marked expired) and fail exports a lost worker left queued or writing."""
    now = now or timezone.now()
    keep = timedelta(hours=settings.ORDER_EXPORT_KEEP_HOURS)
    expired = 0
    for export in OrderExport.objects.filter(
        status=OrderExport.Status.DONE, created_at__lt=now - keep
    ):
        export_path(export).unlink(missing_ok=True)
        expired += OrderExport.objects.filter(
            pk=export.pk, status=OrderExport.Status.DONE
        ).update(status=OrderExport.Status.EXPIRED, file_name="")
    lost = OrderExport.objects.filter(
        status__in=[OrderExport.Status.QUEUED, OrderExport.Status.RUNNING],
        created_at__lt=now - timedelta(seconds=settings.ORDER_EXPORT_TIME_LIMIT),
    ).update(
        status=OrderExport.Status.FAILED,
        failure=_("The export did not finish in time; start it again."),
        finished_at=now,
    )
    return {"expired": expired, "failed": lost}
