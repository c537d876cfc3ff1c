"""Vouchers (兑换券, issue 13): codes that redeem a SKU itself, not a discount.

- Marketing generates a batch for one SKU (count, validity dates, note).
  Each code is 16 characters of an alphabet without look-alikes (no 0/O,
  1/I/L): 31^16, about 79 bits, shown as XXXX-XXXX-XXXX-XXXX.
- A code is never stored in clear: `code_hash` is an HMAC under
  CARD_HASH_KEY (kameng.crypto.code_hash, with a "voucher:" prefix so a card
  code never matches) and finds the voucher when a buyer types it;
  `code_encrypted` (Fernet, the card codes' keys) serves the Excel export
  only, each export audited. A database dump hands out no usable code.
- The buyer redeems on the shop (orders.vouchers): the voucher row is locked
  (`lock_redeemable`), the order placed with `options={"voucher_id": ...}`,
  whose price step (`voucher_price_step`) takes the whole total off: the
  order costs 0.00 and is paid by the voucher. The claim (marketing.benefits)
  marks the voucher used in the order's transaction; a refusal anywhere
  (sold out, off sale) rolls it all back and the voucher stays unused.
- A voucher order that fails (a top-up no supplier could deliver) or is
  cancelled gives the voucher back (`return_voucher`).
"""

from __future__ import annotations

import io
import secrets
import unicodedata
from collections.abc import Mapping
from datetime import date, datetime

from django.db import transaction
from django.dispatch import receiver
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _
from openpyxl import Workbook

from catalog.models import Sku
from catalog.services.pricing import (
    LAYER_LABELS,
    PriceQuote,
    QuoteContext,
    register_price_step,
)
from kameng import audit, events
from kameng.crypto import code_hash, decrypt, encrypt
from kameng.exceptions import DomainError
from kameng.modules import Module, is_enabled, register_module
from kameng.spreadsheet import spreadsheet_row
from marketing.benefits import Benefit, OrderRef, register_benefit
from marketing.models import Voucher, VoucherBatch

MODULE = "vouchers"
ALPHABET = "23456789ABCDEFGHJKMNPQRSTUVWXYZ"
CODE_LENGTH = 16
MAX_BATCH = 10_000
EXPORT_PERMISSION = "marketing.export_voucherbatch"
LAYER = "voucher"
PRICE_STEP_POSITION = 90  # last: after flash sale 30, coupon 40, points 50

register_module(
    Module(
        code=MODULE,
        title=_("Vouchers"),
        description=_(
            "Voucher codes that redeem a SKU; off: the shop's redeem page and "
            "the voucher pages are hidden, and no code can be redeemed."
        ),
        models=("marketing.voucherbatch", "marketing.voucher"),
        pages=("marketing:voucher_generate", "marketing:voucher_export"),
        order=60,
    )
)


class VoucherRefused(DomainError):
    code = "marketing_voucher_refused"


# Codes --------------------------------------------------------------------------
def new_code() -> str:
    return "".join(secrets.choice(ALPHABET) for _ in range(CODE_LENGTH))


def format_code(code: str) -> str:
    return "-".join(code[i : i + 4] for i in range(0, len(code), 4))


def normalise_voucher_code(text: str) -> str:
    """What a buyer typed, as stored: full-width folded, upper case, without
    spaces and dashes (XXXX-XXXX… and xxxx xxxx… are the same code)."""
    text = unicodedata.normalize("NFKC", text or "").upper()
    return "".join(ch for ch in text if ch not in " -\t\r\n")


def voucher_hash(text: str) -> str:
    return code_hash("voucher:" + normalise_voucher_code(text))


# Generating and exporting -----------------------------------------------------
@transaction.atomic
def generate_voucher_batch(
    *,
    sku: Sku,
    count: int,
    valid_from: date,
    valid_until: date,
    note: str = "",
    actor,
) -> tuple[VoucherBatch, list[str]]:
    """Write a batch of `count` unused vouchers for `sku` and return it with
    the codes in clear (formatted): the only time they exist outside the
    encrypted column."""
    if isinstance(count, bool) or not isinstance(count, int):
        raise VoucherRefused(gettext("Enter a whole number of codes."), field="count")
    if not 1 <= count <= MAX_BATCH:
        raise VoucherRefused(
            gettext("A batch has between 1 and %(max)s codes.") % {"max": MAX_BATCH},
            field="count",
        )
    if valid_until < valid_from:
        raise VoucherRefused(
            gettext("The last valid day cannot be before the first."),
            field="valid_until",
        )
    if valid_until < timezone.localdate():
        raise VoucherRefused(
            gettext("The last valid day is already past."), field="valid_until"
        )
    batch = VoucherBatch.objects.create(
        sku=sku,
        count=count,
        valid_from=valid_from,
        valid_until=valid_until,
        note=(note or "").strip()[:200],
        created_by=actor if getattr(actor, "pk", None) else None,
    )
    codes: set[str] = set()
    while len(codes) < count:
        codes.add(new_code())
    ordered = sorted(codes)
    Voucher.objects.bulk_create(
        [
            Voucher(
                batch=batch,
                code_hash=voucher_hash(code),
                code_encrypted=encrypt(code),
                tail=code[-4:],
            )
            for code in ordered
        ],
        batch_size=1000,
    )
    audit.record(
        actor=actor,
        action="voucher.generate",
        obj=batch,
        after={"sku": sku.code, "count": count, "valid_until": str(valid_until)},
    )
    return batch, [format_code(code) for code in ordered]


def batch_workbook(*, batch: VoucherBatch, codes: Mapping[int, str]) -> bytes:
    """The batch as an .xlsx: one row per voucher, codes from `codes`."""
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet(gettext("Vouchers"))
    sku = batch.sku
    sheet.append(
        [
            gettext("Voucher code"),
            gettext("SKU"),
            gettext("Valid from"),
            gettext("Valid until"),
            gettext("Status"),
            gettext("Used by"),
            gettext("Order number"),
        ]
    )
    rows = (
        Voucher.objects.filter(batch=batch)
        .select_related("used_by")
        .order_by("id")
        .iterator(chunk_size=2000)
    )
    for voucher in rows:
        sheet.append(
            spreadsheet_row(
                [
                    codes.get(voucher.pk, ""),
                    f"{sku.product.name} {sku.name}",
                    batch.valid_from.isoformat(),
                    batch.valid_until.isoformat(),
                    str(Voucher.Status(voucher.status).label),
                    voucher.used_by.username if voucher.used_by else "",
                    voucher.order_no,
                ]
            )
        )
    out = io.BytesIO()
    workbook.save(out)
    return out.getvalue()


def export_voucher_batch(*, batch: VoucherBatch, actor) -> bytes:
    """Every code of the batch in clear, as Excel; only with
    marketing.export_voucherbatch, and each export is an audit row."""
    if not actor.has_perm(EXPORT_PERMISSION):
        raise VoucherRefused(gettext("You may not export voucher codes."))
    batch = VoucherBatch.objects.select_related("sku__product").get(pk=batch.pk)
    codes = {
        pk: format_code(decrypt(token))
        for pk, token in Voucher.objects.filter(batch=batch).values_list(
            "pk", "code_encrypted"
        )
    }
    with transaction.atomic():
        VoucherBatch.objects.filter(pk=batch.pk).update(exports=batch.exports + 1)
        audit.record(
            actor=actor,
            action="voucher.export",
            obj=batch,
            after={"codes": len(codes)},
        )
    return batch_workbook(batch=batch, codes=codes)


# Redeeming ----------------------------------------------------------------------
def refuse_unless_enabled() -> None:
    if not is_enabled(MODULE):
        raise VoucherRefused(gettext("Vouchers are not available right now."))


def lock_redeemable(*, code: str, at: datetime | None = None) -> Voucher:
    """The voucher `code` names, locked for the caller's transaction, or
    VoucherRefused saying why not (unknown, used, not yet valid, expired).
    A second buyer with the same code waits for the lock, then finds it used."""
    refuse_unless_enabled()
    if not normalise_voucher_code(code):
        raise VoucherRefused(gettext("Enter a voucher code."), field="code")
    voucher = (
        Voucher.objects.select_for_update(of=("self",))
        .select_related("batch")
        .filter(code_hash=voucher_hash(code))
        .first()
    )
    if voucher is None:
        raise VoucherRefused(
            gettext("This voucher code does not exist. Check it and try again."),
            field="code",
            reason="unknown",
        )
    if voucher.status == Voucher.Status.USED:
        raise VoucherRefused(
            gettext("This voucher has already been used."),
            field="code",
            reason="used",
        )
    today = timezone.localdate(at or timezone.now())
    if today < voucher.batch.valid_from:
        raise VoucherRefused(
            gettext("This voucher can be used from %(date)s.")
            % {"date": voucher.batch.valid_from.isoformat()},
            field="code",
            reason="not_yet",
        )
    if today > voucher.batch.valid_until:
        raise VoucherRefused(
            gettext("This voucher expired on %(date)s.")
            % {"date": voucher.batch.valid_until.isoformat()},
            field="code",
            reason="expired",
        )
    return voucher


def voucher_price_step(ctx: QuoteContext) -> None:
    """The voucher layer: an order placed to redeem a voucher costs 0.00."""
    if ctx.options.get("voucher_id") and is_enabled(MODULE):
        ctx.pay_in_full(LAYER, LAYER_LABELS[LAYER], gettext("Paid by voucher"))


def claim_voucher(*, order: OrderRef, quote: PriceQuote, options: Mapping) -> None:
    """Mark the voucher used by `order`, in the order's transaction."""
    voucher_id = options.get("voucher_id")
    if not voucher_id:
        return
    if LAYER not in quote.layer_codes:
        raise VoucherRefused(gettext("Vouchers are not available right now."))
    claimed = Voucher.objects.filter(
        pk=voucher_id,
        status=Voucher.Status.UNUSED,
        batch__sku_id=order.sku_id,
    ).update(
        status=Voucher.Status.USED,
        used_by_id=order.buyer_id,
        used_at=order.at,
        order_id=order.order_id,
        order_no=order.order_no,
    )
    if claimed != 1:
        raise VoucherRefused(gettext("This voucher has already been used."))


def return_voucher(*, order_id: int, reason: str = "") -> int:
    """Give the voucher of a cancelled, refunded or failed order back: unused
    again, the same code works once more. Idempotent."""
    return Voucher.objects.filter(order_id=order_id).update(
        status=Voucher.Status.UNUSED,
        used_by=None,
        used_at=None,
        order_id=None,
        order_no="",
    )


register_price_step(voucher_price_step, position=PRICE_STEP_POSITION)
register_benefit(
    Benefit(module=MODULE, layers=(LAYER,), claim=claim_voucher, release=return_voucher)
)


@receiver(events.order_failed, dispatch_uid="marketing.vouchers.return_on_failure")
def return_voucher_on_failure(sender, order_id, **kwargs):
    return_voucher(order_id=order_id, reason="failed")


# Reading ------------------------------------------------------------------------
def batch_counts(*, batch: VoucherBatch) -> dict[str, int]:
    """Used and unused vouchers of one batch (a batch has at most MAX_BATCH)."""
    used = Voucher.objects.filter(batch=batch, status=Voucher.Status.USED).count()
    return {"used": used, "unused": batch.count - used}
