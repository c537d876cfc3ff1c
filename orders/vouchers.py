"""Redeeming a voucher (兑换券) on the shop: an order for the voucher's SKU,
paid by the voucher, delivered as any paid order.

One transaction: the voucher row is locked (marketing.vouchers), the order is
placed with `options={"voucher_id": ...}` (its price step makes it 0.00 and
its claim marks the voucher used) and settled by `settle_by_voucher` (card
codes taken now, a top-up queued for its supplier, a manual item waiting for
staff). Any refusal (off sale, sold out, a bad recharge account) rolls all of
it back: no order, the voucher still unused. Two buyers with one code: the
second waits for the lock and is told the voucher is used.
"""

from __future__ import annotations

from django.db import transaction
from django.utils.translation import gettext as _

from catalog.models import Sku
from kameng.exceptions import DomainError
from marketing.vouchers import VoucherRefused, lock_redeemable, refuse_unless_enabled
from orders.checkout import place_order, settle_by_voucher
from orders.exceptions import CheckoutRefused
from orders.fulfilment import SoldOut
from orders.models import Order


class VoucherRedeemRefused(DomainError):
    code = "orders_voucher_refused"


def voucher_sku(*, code: str) -> Sku | None:
    """The SKU an unused, valid voucher names (the page asks for its recharge
    account before redeeming), or VoucherRefused. Reads only."""
    with transaction.atomic():
        voucher = lock_redeemable(code=code)
        return Sku.objects.select_related("product").get(pk=voucher.batch.sku_id)


def redeem_voucher(
    *, code: str, buyer, recharge_account: dict | None = None, ip: str = ""
) -> Order:
    """The order the voucher `code` pays for, or VoucherRedeemRefused with the
    reason a buyer reads (nothing written then)."""
    if buyer is None or not buyer.is_authenticated:
        raise VoucherRedeemRefused(_("Log in to redeem a voucher."))
    try:
        refuse_unless_enabled()
        with transaction.atomic():
            voucher = lock_redeemable(code=code)
            order = place_order(
                sku=Sku(pk=voucher.batch.sku_id),
                quantity=1,
                buyer=buyer,
                recharge_account=recharge_account,
                ip=ip,
                options={"voucher_id": voucher.pk},
            )
            return settle_by_voucher(order=order, actor=buyer)
    except SoldOut as exc:
        raise VoucherRedeemRefused(
            _("This item is sold out right now; your voucher is still unused."),
            **exc.extra,
        ) from exc
    except CheckoutRefused as exc:
        raise VoucherRedeemRefused(
            _("%(reason)s Your voucher is still unused.") % {"reason": exc.message},
            **exc.extra,
        ) from exc
    except VoucherRefused as exc:
        raise VoucherRedeemRefused(exc.message, **exc.extra) from exc
