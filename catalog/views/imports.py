"""Import pages: card codes (upload → preview → commit → progress → batch page)
and the product catalogue (upload → preview → commit), plus their templates.

Views parse the form, call the services (catalog.services.card_batches and
product_imports), enqueue the next step (catalog.tasks.imports) and render; every
rule lives in the services. A file refused before it is stored is shown on the
upload page and changes nothing; one refused while a worker checks it is shown on
its batch page (status failed, its stored file deleted).
"""

from __future__ import annotations

from pathlib import PurePath

from django import forms
from django.contrib import messages
from django.http import FileResponse, Http404, HttpResponse
from django.shortcuts import redirect, render
from django.urls import reverse
from django.utils.translation import gettext as _
from django.utils.translation import gettext_lazy
from django.views.decorators.cache import never_cache
from django.views.decorators.http import require_GET, require_POST
from unfold.widgets import UnfoldAdminFileFieldWidget

from catalog.imports import workbooks
from catalog.imports.errors import FileRejected, ImportStateError
from catalog.imports.readers import Limits, max_upload_bytes
from catalog.models import CardBatch, Sku
from catalog.selectors import imports as selectors
from catalog.services import card_batches, product_imports
from catalog.tasks.imports import (
    enqueue_card_batch_check,
    enqueue_card_batch_import,
    enqueue_product_preview,
)
from kameng.admin_pages import render_page, staff_page
from kameng.navigation import Page, register_page
from kameng.parsing import parse_ascii_int

IMPORT_CODES = "catalog.add_cardbatch"
VIEW_BATCH = "catalog.view_cardbatch"
VOID_BATCH = "catalog.change_cardbatch"
IMPORT_PRODUCTS = ("catalog.add_sku", "catalog.change_sku")
XLSX_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
# Once the batch reaches one of these, the polling fragment reloads the page.
REFRESH = {
    CardBatch.Status.PREVIEWED,
    CardBatch.Status.DONE,
    CardBatch.Status.FAILED,
    CardBatch.Status.VOIDED,
}

register_page(
    Page(
        app_label="catalog",
        title=gettext_lazy("Import card codes"),
        url_name="catalog:import_codes",
        permission=IMPORT_CODES,
        icon="upload_file",
    )
)
register_page(
    Page(
        app_label="catalog",
        title=gettext_lazy("Import products"),
        url_name="catalog:import_products",
        permission="catalog.change_sku",
        icon="playlist_add",
    )
)


class SkuChoiceField(forms.ModelChoiceField):
    def label_from_instance(self, sku):
        return f"{sku.code} · {sku.product.name} {sku.name}"


class CodeUploadForm(forms.Form):
    sku = SkuChoiceField(
        label=gettext_lazy("SKU"),
        queryset=Sku.objects.filter(delivery_type=Sku.DeliveryType.CARD)
        .select_related("product")
        .order_by("code"),
        empty_label=gettext_lazy("Choose the SKU the codes belong to"),
    )
    file = forms.FileField(
        label=gettext_lazy("File"),
        help_text=gettext_lazy(
            "xlsx, csv or tsv (UTF-8 or GBK) or txt; one code per row, card and "
            "password."
        ),
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ".xlsx,.csv,.tsv,.txt"}),
    )


class ProductUploadForm(forms.Form):
    file = forms.FileField(
        label=gettext_lazy("File"),
        widget=UnfoldAdminFileFieldWidget(attrs={"accept": ".xlsx,.csv,.tsv"}),
    )


# --- card codes -----------------------------------------------------------------------


@never_cache
@staff_page(IMPORT_CODES)
def import_codes(request):
    initial = {}
    if (sku_id := parse_ascii_int(request.GET.get("sku", "").strip())) is not None:
        initial["sku"] = sku_id
    form = CodeUploadForm(request.POST or None, request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            batch = card_batches.upload_card_batch(
                sku=form.cleaned_data["sku"],
                upload=form.cleaned_data["file"],
                actor=request.user,
            )
        except FileRejected as exc:
            form.add_error("file", exc.message)
        else:
            enqueue_card_batch_check(batch.pk)
            return redirect("catalog:import_batch", pk=batch.pk)
    recent = selectors.recent_batches()
    return render_page(
        request,
        "catalog/imports/codes.html",
        {
            "form": form,
            "recent": recent,
            "max_bytes": max_upload_bytes(),
            "max_rows": Limits.from_settings().max_rows,
            "page_id": "import-codes",
        },
        title=_("Import card codes"),
    )


def _batch_or_404(pk: int) -> CardBatch:
    batch = selectors.batch_for_page(pk=pk)
    if batch is None:
        raise Http404(_("No such batch."))
    return batch


def _progress_context(batch: CardBatch) -> dict:
    processed, percent = selectors.batch_progress(batch)
    return {
        "batch": batch,
        "processed": processed,
        "percent": percent,
        "polling": batch.status
        in (
            CardBatch.Status.CHECKING,
            CardBatch.Status.QUEUED,
            CardBatch.Status.IMPORTING,
        ),
    }


@never_cache
@staff_page(VIEW_BATCH)
def batch_detail(request, pk: int):
    batch = _batch_or_404(pk)
    context = {
        **_progress_context(batch),
        "to_import": selectors.to_import(batch),
        "can_import": request.user.has_perm(IMPORT_CODES),
        "can_void": request.user.has_perm(VOID_BATCH),
        "page_id": "import-batch",
    }
    return render_page(
        request,
        "catalog/imports/batch.html",
        context,
        title=_("Card code batch #%(batch)s") % {"batch": batch.pk},
    )


@never_cache
@require_GET
@staff_page(VIEW_BATCH)
def batch_progress(request, pk: int):
    """The progress fragment htmx polls; once the batch is checked or finished
    it asks htmx to reload the page, which then shows the counts."""
    batch = _batch_or_404(pk)
    response = render(
        request, "catalog/imports/progress.html", _progress_context(batch)
    )
    if batch.status in REFRESH and request.headers.get("HX-Request"):
        response["HX-Refresh"] = "true"
    return response


@require_POST
@staff_page(IMPORT_CODES)
def batch_commit(request, pk: int):
    batch = _batch_or_404(pk)
    try:
        card_batches.commit_card_batch(batch=batch, actor=request.user)
    except (ImportStateError, FileRejected) as exc:
        messages.error(request, exc.message)
    else:
        enqueue_card_batch_import(batch.pk)
    return redirect("catalog:import_batch", pk=pk)


@require_POST
@staff_page(IMPORT_CODES)
def batch_discard(request, pk: int):
    batch = _batch_or_404(pk)
    try:
        card_batches.discard_card_batch(batch=batch, actor=request.user)
    except ImportStateError as exc:
        messages.error(request, exc.message)
        return redirect("catalog:import_batch", pk=pk)
    messages.success(request, _("The file was discarded; nothing was imported."))
    return redirect("catalog:import_codes")


@require_POST
@staff_page(VOID_BATCH)
def batch_void(request, pk: int):
    batch = _batch_or_404(pk)
    if request.POST.get("confirm") != "yes":
        messages.error(request, _("Tick the box to confirm voiding the batch."))
        return redirect("catalog:import_batch", pk=pk)
    try:
        batch = card_batches.void_card_batch(batch=batch, actor=request.user)
    except ImportStateError as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _("%(count)s unsold codes were voided and taken off the stock.")
            % {"count": batch.voided},
        )
    return redirect("catalog:import_batch", pk=pk)


@require_GET
@staff_page(VIEW_BATCH)
def batch_report(request, pk: int, fmt: str):
    batch = _batch_or_404(pk)
    if fmt not in ("csv", "xlsx") or not batch.error_report:
        raise Http404(_("This batch has no error report."))
    name = f"batch-{batch.pk}-errors"
    report = batch.error_report.open("rb")
    if fmt == "csv":
        return FileResponse(
            report,
            as_attachment=True,
            filename=f"{name}.csv",
            content_type="text/csv; charset=utf-8",
        )
    with report:
        xlsx = workbooks.csv_report_to_xlsx(report)
    return FileResponse(
        xlsx, as_attachment=True, filename=f"{name}.xlsx", content_type=XLSX_TYPE
    )


def _xlsx_download(content: bytes, filename: str) -> HttpResponse:
    response = HttpResponse(content, content_type=XLSX_TYPE)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response


@require_GET
@staff_page(IMPORT_CODES)
def code_template(request):
    return _xlsx_download(workbooks.code_template(), "card-codes-template.xlsx")


# --- products -------------------------------------------------------------------------

SESSION_KEY = "catalog_product_imports"


@require_GET
@staff_page(IMPORT_PRODUCTS)
def product_template(request):
    return _xlsx_download(workbooks.product_template(), "products-template.xlsx")


@never_cache
@staff_page(IMPORT_PRODUCTS)
def import_products(request):
    """Upload → preview (a worker checks every row, writes nothing; the page
    polls for the result) → commit. The file waits in storage between the
    steps, known to this session by a random token."""
    form = ProductUploadForm()
    pending = request.session.get(SESSION_KEY, {})
    pending = dict(pending) if isinstance(pending, dict) else {}
    if request.method == "POST" and "commit" in request.POST:
        return _commit_products(request, pending)
    if request.method == "POST":
        form = ProductUploadForm(request.POST, request.FILES)
        if form.is_valid():
            upload = form.cleaned_data["file"]
            name = PurePath(upload.name or "products.xlsx").name
            try:
                path = product_imports.stage_product_upload(upload=upload, name=name)
            except FileRejected as exc:
                form.add_error("file", exc.message)
            else:
                token = PurePath(path).stem
                pending[token] = {"path": path, "name": name[:200]}
                request.session[SESSION_KEY] = pending
                enqueue_product_preview(
                    token=token, path=path, name=name, actor_id=request.user.pk
                )
                page = reverse("catalog:import_products")
                return redirect(f"{page}?preview={token}")
    token = request.GET.get("preview", "")
    preview = None
    failure = ""
    if token:
        preview = selectors.product_preview(token) if token in pending else None
        if preview is None:
            messages.error(
                request, _("That preview has expired; upload the file again.")
            )
            return redirect("catalog:import_products")
        if preview["state"] == "failed":
            _forget(request, token)
            failure = preview["failure"]
            preview = None
    return render_page(
        request,
        "catalog/imports/products.html",
        {
            "form": form,
            "preview": preview,
            "failure": failure,
            "token": token,
            "max_bytes": max_upload_bytes(),
            "page_id": "import-products",
        },
        title=_("Import products"),
    )


def _commit_products(request, pending: dict):
    token = request.POST.get("token", "")
    stored = pending.get(token)
    if not stored:
        messages.error(request, _("That preview has expired; upload the file again."))
        return redirect("catalog:import_products")
    _forget(request, token)
    try:
        result = product_imports.import_staged_products(
            path=stored["path"], name=stored["name"], actor=request.user
        )
    except FileNotFoundError:
        messages.error(request, _("That preview has expired; upload the file again."))
    except FileRejected as exc:
        messages.error(request, exc.message)
    else:
        messages.success(
            request,
            _(
                "Products imported: %(created)s SKUs created, %(updated)s "
                "updated, %(unchanged)s unchanged."
            )
            % result.counts(),
        )
    return redirect("catalog:import_products")


def _forget(request, token: str) -> None:
    """Drop a preview from the session (its staged file goes with the import)."""
    pending = request.session.get(SESSION_KEY, {})
    pending = dict(pending) if isinstance(pending, dict) else {}
    pending.pop(token, None)
    request.session[SESSION_KEY] = pending


def batch_url(batch: CardBatch) -> str:
    return reverse("catalog:import_batch", args=[batch.pk])
