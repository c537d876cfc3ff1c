"""The product catalogue imported from a spreadsheet: preview, then commit.

`preview_products` checks every row and writes nothing. Between the preview and
the commit the file waits in storage (`stage_product_file`), known to the
operator's session by a random token; `import_staged_products` imports it in one
transaction (any row error imports nothing) and deletes the staged file whatever
the outcome. `sweep_staged_files` deletes staged files whose preview was never
committed.
"""

from __future__ import annotations

import hashlib
import logging
import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from pathlib import PurePath

from django.core.cache import cache
from django.core.exceptions import NON_FIELD_ERRORS, ValidationError
from django.core.files.storage import default_storage
from django.db import transaction
from django.utils import timezone
from django.utils.text import slugify
from django.utils.translation import gettext as _

from catalog.imports.errors import FileRejected, RowError
from catalog.imports.products import DEFAULT_STOCK, ProductRow, parse_product_rows
from catalog.imports.readers import (
    TXT,
    Limits,
    check_file,
    check_size,
    detect_format,
    iter_rows,
    raw_file,
)
from catalog.models import CardCode, Category, PriceChange, Product, Sku
from catalog.selectors.imports import PREVIEW_TIMEOUT, preview_key
from catalog.services.card_batches import delete_old_files, stored_files
from catalog.services.pricing import record_price_change

logger = logging.getLogger(__name__)

STAGING_DIR = "imports/products"
STAGED_HOURS = 24
PROGRESS_EVERY = 1000
# What the preview page lists; the counts cover every row.
PLANS_SHOWN = 1000
ERRORS_SHOWN = 500


@dataclass
class ProductPlan:
    """What committing one valid row will do."""

    row: ProductRow
    action: str  # "create", "update" or "unchanged"
    sku: Sku | None = None
    changes: list[str] = field(default_factory=list)
    old_price: Decimal | None = None


@dataclass
class ProductPreview:
    plans: list[ProductPlan] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    notices: list[str] = field(default_factory=list)
    total_rows: int = 0

    @property
    def ok(self) -> bool:
        return bool(self.plans) and not self.errors

    def counts(self) -> dict[str, int]:
        counts = {"created": 0, "updated": 0, "unchanged": 0}
        for plan in self.plans:
            counts[
                {"create": "created", "update": "updated"}.get(plan.action, "unchanged")
            ] += 1
        return counts


SKU_FIELDS = (
    ("name", "spec"),
    ("face_value", "face_value"),
    ("delivery_type", "delivery_type"),
    ("stock_mode", "stock_mode"),
    ("price", "price"),
    ("cost_price", "cost_price"),
    ("min_quantity", "min_quantity"),
    ("max_quantity", "max_quantity"),
)


def _sku_values(row: ProductRow, existing: Sku | None, can_cost: bool) -> dict:
    """The SKU fields this row sets; blanks keep what an existing SKU has."""
    values = {
        "name": row.spec,
        "face_value": row.face_value,
        "delivery_type": row.delivery_type,
        "price": row.price,
    }
    values["stock_mode"] = row.stock_mode or (
        existing.stock_mode
        if existing is not None and existing.delivery_type == row.delivery_type
        else DEFAULT_STOCK[row.delivery_type]
    )
    if can_cost and row.cost_price is not None:
        values["cost_price"] = row.cost_price
    for name in ("min_quantity", "max_quantity"):
        value = getattr(row, name)
        if value is not None:
            values[name] = value
        elif existing is None:
            values[name] = {"min_quantity": 1, "max_quantity": 100}[name]
    return values


def _plan_products(rows, *, actor, lock: bool, progress=None) -> ProductPreview:
    preview = ProductPreview()
    valid: list[ProductRow] = []
    seen: dict[str, int] = {}
    sku_label = _("SKU code")
    for item in parse_product_rows(rows):
        preview.total_rows += 1
        if progress is not None and preview.total_rows % PROGRESS_EVERY == 0:
            progress(preview.total_rows)
        if isinstance(item, list):
            preview.errors.extend(item)
            continue
        first = seen.get(item.sku_code.upper())
        if first is not None:
            preview.errors.append(
                RowError(
                    item.row,
                    sku_label,
                    _("repeats row %(row)s of this file") % {"row": first},
                )
            )
            continue
        seen[item.sku_code.upper()] = item.row
        valid.append(item)
    if preview.total_rows == 0:
        raise FileRejected(_("The file holds no products."))
    can_cost = bool(actor is not None and actor.has_perm("catalog.view_cost"))
    if not can_cost and any(row.cost_price is not None for row in valid):
        preview.notices.append(
            _("The cost price column is ignored: you may not set cost prices.")
        )
    codes = [row.sku_code for row in valid]
    existing: dict[str, Sku] = {}
    queryset = Sku.objects.select_related("product__category")
    if lock:
        queryset = queryset.select_for_update(of=("self",))
    for start in range(0, len(codes), 1000):
        for sku in queryset.filter(code__in=codes[start : start + 1000]):
            existing[sku.code] = sku
    with_codes = (
        set(
            CardCode.objects.filter(sku__in=list(existing.values()))
            .values_list("sku_id", flat=True)
            .distinct()
        )
        if existing
        else set()
    )
    # Every existing SKU's category path, from one query for the whole tree.
    tree = _category_tree() if existing else {}
    for row in valid:
        sku = existing.get(row.sku_code)
        values = _sku_values(row, sku, can_cost)
        if sku is None:
            preview.plans.append(ProductPlan(row=row, action="create"))
            continue
        changes = [
            str(Sku._meta.get_field(name).verbose_name)
            for name, _source in SKU_FIELDS
            if name in values and getattr(sku, name) != values[name]
        ]
        product = sku.product
        moved = (
            product.name != row.product
            or _category_path(product.category_id, tree) != row.category_path
        )
        if moved:
            changes.insert(0, str(_("product")))
        if sku.pk in with_codes and (
            values["delivery_type"] != sku.delivery_type
            or values["stock_mode"] != sku.stock_mode
        ):
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("delivery type")),
                    _(
                        "SKU %(sku)s has card codes; change its delivery type or "
                        "stock mode on the SKU page, not by import"
                    )
                    % {"sku": sku.code},
                )
            )
            continue
        if sku.reusable_code and values["delivery_type"] != Sku.DeliveryType.CARD:
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("delivery type")),
                    _("SKU %(sku)s sells a reusable code; it must stay a card SKU")
                    % {"sku": sku.code},
                )
            )
            continue
        # A top-up staying in a listed product must ask for its account; one
        # moving to another product is checked by the model at commit.
        staying = Sku(
            product=product,
            code=sku.code,
            is_active=sku.is_active,
            delivery_type=values["delivery_type"],
            recharge_fields=sku.recharge_fields,
        )
        problem = None if moved else staying.account_problem()
        if problem:
            preview.errors.append(RowError(row.row, str(_("delivery type")), problem))
            continue
        low = values.get("min_quantity", sku.min_quantity)
        high = values.get("max_quantity", sku.max_quantity)
        if high < low:
            preview.errors.append(
                RowError(
                    row.row,
                    str(_("maximum per order")),
                    _("is smaller than the minimum"),
                )
            )
            continue
        preview.plans.append(
            ProductPlan(
                row=row,
                action="update" if changes else "unchanged",
                sku=sku,
                changes=changes,
                old_price=sku.price,
            )
        )
    preview.errors.sort(key=lambda error: error.row)
    return preview


def _category_tree() -> dict[int, tuple[str, int | None]]:
    """{pk: (name, parent id)} of every category (one query)."""
    return {
        pk: (name, parent_id)
        for pk, name, parent_id in Category.objects.order_by().values_list(
            "pk", "name", "parent_id"
        )
    }


def _category_path(
    category_id: int | None, tree: dict[int, tuple[str, int | None]]
) -> tuple[str, ...]:
    """Names from the root down to the category, from _category_tree() (no query)."""
    names = []
    seen = set()
    while category_id is not None and category_id not in seen and category_id in tree:
        seen.add(category_id)
        name, parent_id = tree[category_id]
        names.append(name)
        category_id = parent_id
    return tuple(reversed(names))


def _open_product_file(upload, name: str):
    limits = Limits.from_settings()
    check_size(getattr(upload, "size", None), limits)
    raw = raw_file(upload)
    fmt = detect_format(name, raw)
    if fmt == TXT:
        raise FileRejected(_("Products are imported from the xlsx template or a CSV."))
    check_file(raw, fmt, limits)
    return iter_rows(raw, fmt, limits=limits)


def preview_products(*, upload, name: str, actor, progress=None) -> ProductPreview:
    """Check every row of a product file; writes nothing."""
    return _plan_products(
        _open_product_file(upload, name), actor=actor, lock=False, progress=progress
    )


def _category_for(
    path: tuple[str, ...], known: dict[tuple[str, ...], Category]
) -> Category:
    """The category at path, created level by level where missing. `known`
    remembers every level found or created (path prefix → category), so a
    path or prefix is looked up once per import."""
    parent = None
    for depth, name in enumerate(path, start=1):
        prefix = path[:depth]
        category = known.get(prefix)
        if category is None:
            category = Category.objects.filter(parent=parent, name=name).first()
        if category is None:
            digest = hashlib.sha1("/".join(prefix).encode()).hexdigest()[:8]
            base = (slugify(name) or "cat")[:40]
            slug = f"{base}-{digest}"
            suffix = 1
            while Category.objects.filter(slug=slug).exists():
                suffix += 1
                slug = f"{base}-{digest}-{suffix}"
            category = Category.objects.create(parent=parent, name=name, slug=slug)
        known[prefix] = category
        parent = category
    return parent


@transaction.atomic
def import_products(*, upload, name: str, actor) -> ProductPreview:
    """Create or update every SKU of the file in one transaction; any row error
    imports nothing (FileRejected). Price changes are recorded as PriceChange
    rows with cause=import; cost prices only for actors with catalog.view_cost."""
    preview = _plan_products(_open_product_file(upload, name), actor=actor, lock=True)
    if preview.errors:
        raise FileRejected(
            _("%(count)s rows have errors; nothing was imported.")
            % {"count": len(preview.errors)}
        )
    if not preview.plans:
        raise FileRejected(_("The file holds no products."))
    can_cost = bool(actor is not None and actor.has_perm("catalog.view_cost"))
    note = _("Product import: %(file)s") % {"file": name[:150]}
    products: dict[tuple, Product] = {}
    categories: dict[tuple[str, ...], Category] = {}
    for plan in preview.plans:
        if plan.action == "unchanged":
            continue
        row = plan.row
        key = (row.category_path, row.product)
        product = products.get(key)
        if product is None:
            category = _category_for(row.category_path, categories)
            product = Product.objects.filter(
                category=category, name=row.product
            ).first()
            if product is None:
                product = Product.objects.create(
                    category=category, name=row.product, status=Product.Status.DRAFT
                )
            products[key] = product
        values = _sku_values(row, plan.sku, can_cost)
        sku = plan.sku or Sku(code=row.sku_code)
        old_price = plan.sku.price if plan.sku else None
        old_cost = plan.sku.cost_price if plan.sku else None
        sku.product = product
        for field_name, value in values.items():
            setattr(sku, field_name, value)
        try:
            sku.full_clean(validate_unique=plan.sku is None)
        except ValidationError as exc:
            raise FileRejected(
                _("Row %(row)s: %(error)s; nothing was imported.")
                % {"row": row.row, "error": _field_errors(exc)}
            ) from exc
        sku.save()
        record_price_change(
            sku=sku,
            layer="base",
            old=old_price,
            new=sku.price,
            cause=PriceChange.Cause.IMPORT,
            actor=actor,
            note=note,
        )
        if can_cost and "cost_price" in values:
            record_price_change(
                sku=sku,
                layer="cost",
                old=old_cost,
                new=sku.cost_price,
                cause=PriceChange.Cause.IMPORT,
                actor=actor,
                note=note,
            )
    return preview


def _field_errors(exc: ValidationError) -> str:
    """ "售价: …; 最小购买数量: …": each message after the name of its field."""
    if not hasattr(exc, "error_dict"):
        return "; ".join(exc.messages)
    parts = []
    for name, errors in exc.message_dict.items():
        label = ""
        if name != NON_FIELD_ERRORS:
            label = str(Sku._meta.get_field(name).verbose_name)
        for message in errors:
            parts.append(f"{label}: {message}" if label else message)
    return "; ".join(parts)


# --- staging between preview and commit -----------------------------------------------


def stage_product_upload(*, upload, name: str) -> str:
    """Make the checks that need no parsing (size, type, a workbook's unpacked
    size), then stage the file for a worker to preview; its storage path."""
    limits = Limits.from_settings()
    check_size(getattr(upload, "size", None), limits)
    raw = raw_file(upload)
    fmt = detect_format(name, raw)
    if fmt == TXT:
        raise FileRejected(_("Products are imported from the xlsx template or a CSV."))
    check_file(raw, fmt, limits)
    return stage_product_file(upload=upload, name=name)


def start_product_preview(*, token: str) -> None:
    cache.set(preview_key(token), {"state": "checking", "rows": 0}, PREVIEW_TIMEOUT)


def check_staged_products(*, token: str, path: str, name: str, actor) -> dict:
    """Preview a staged file (the task's body) and keep the result where the
    page reads it (catalog.selectors.imports.product_preview). A file that
    cannot be imported as it is (rejected, or with row errors) is deleted."""

    def progress(rows: int) -> None:
        cache.set(
            preview_key(token), {"state": "checking", "rows": rows}, PREVIEW_TIMEOUT
        )

    keep = False
    try:
        with default_storage.open(path, "rb") as staged:
            preview = preview_products(
                upload=staged, name=name, actor=actor, progress=progress
            )
    except FileNotFoundError:
        result = {
            "state": "failed",
            "failure": _("That preview has expired; upload the file again."),
        }
    except FileRejected as exc:
        result = {"state": "failed", "failure": str(exc.message)}
    except Exception:
        logger.exception("product import preview %s failed", token)
        result = {
            "state": "failed",
            "failure": _(
                "Checking the file stopped on an unexpected error; upload it again."
            ),
        }
    else:
        keep = preview.ok
        result = preview_summary(preview)
    if not keep:
        default_storage.delete(path)
    cache.set(preview_key(token), result, PREVIEW_TIMEOUT)
    return result


def preview_summary(preview: ProductPreview) -> dict:
    """The preview as the page shows it (plain data, kept in the cache)."""
    return {
        "state": "done",
        "ok": preview.ok,
        "total_rows": preview.total_rows,
        "counts": preview.counts(),
        "notices": [str(notice) for notice in preview.notices],
        "error_count": len(preview.errors),
        "errors": [error.as_dict() for error in preview.errors[:ERRORS_SHOWN]],
        "plan_count": len(preview.plans),
        "plans": [
            {
                "row": plan.row.row,
                "action": plan.action,
                "sku_code": plan.row.sku_code,
                "product": plan.row.product,
                "spec": plan.row.spec,
                "price": str(plan.row.price),
                "old_price": None if plan.old_price is None else str(plan.old_price),
                "changes": [str(change) for change in plan.changes],
            }
            for plan in preview.plans[:PLANS_SHOWN]
        ],
    }


def stage_product_file(*, upload, name: str) -> str:
    """Store a previewed file until it is committed; its storage path."""
    upload.seek(0)
    token = secrets.token_hex(16)
    return default_storage.save(
        f"{STAGING_DIR}/{token}{PurePath(name).suffix.lower()}", upload
    )


def import_staged_products(*, path: str, name: str, actor) -> ProductPreview:
    """Import a staged file (see `import_products`) and delete it, imported or
    not: a rejected commit starts again from the upload."""
    try:
        with default_storage.open(path, "rb") as upload:
            return import_products(upload=upload, name=name, actor=actor)
    finally:
        default_storage.delete(path)


def drop_staged_file(*, path: str) -> None:
    default_storage.delete(path)


def sweep_staged_files(*, now: datetime | None = None) -> int:
    """Delete staged files whose preview nobody committed within a day."""
    now = now or timezone.now()
    return delete_old_files(
        stored_files(STAGING_DIR),
        keep=set(),
        before=now - timedelta(hours=STAGED_HOURS),
    )
