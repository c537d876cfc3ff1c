"""Refunding a wallet top-up (finance): the money the buyer paid in leaves the
wallet, and the top-up bonus it earned goes with it.

- Only finance (users.adjust_wallet), only a paid top-up, always with a reason.
- The wallet pays back at most its cash part (users.wallet_bonus: cash is
  spent first, the bonus last): a top-up whose cash was spent already is
  refused, with what is left. The bonus is never paid out as cash.
- In one transaction, the wallet locked: the top-up amount is debited
  (ledger kind `topup`, negative, reference = the top-up number), the bonus
  is taken back (marketing.topup_bonus: what is left of it; the rest is
  recorded on the bonus row as not recovered, for finance), the top-up
  becomes `refunded` and an audit row names the actor.
- The money itself goes back through the payment channel by finance (no
  gateway here refunds a top-up through an API): the audit row and the top-up
  list say which ones.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import transaction
from django.utils.translation import gettext as _

from kameng import audit
from kameng.exceptions import DomainError
from marketing.topup_bonus import take_back_topup_bonus
from orders.models import WalletTopUp
from users.models import LedgerEntry
from users.services import change_balance
from users.wallet_bonus import wallet_split

PERMISSION = "users.adjust_wallet"


class TopUpRefundRefused(DomainError):
    code = "wallet_topup_refund_refused"


@transaction.atomic
def refund_topup(*, topup: WalletTopUp, actor, reason: str) -> WalletTopUp:
    if not actor.has_perm(PERMISSION):
        raise TopUpRefundRefused(_("Only finance may refund a wallet top-up."))
    reason = (reason or "").strip()
    if not reason:
        raise TopUpRefundRefused(_("A refund needs a reason."), field="reason")
    topup = (
        WalletTopUp.objects.select_for_update(of=("self",))
        .select_related("buyer")
        .get(pk=topup.pk)
    )
    if topup.status != WalletTopUp.Status.PAID:
        raise TopUpRefundRefused(
            _("Top-up %(no)s is %(status)s and cannot be refunded.")
            % {
                "no": topup.topup_no,
                "status": WalletTopUp.Status(topup.status).label,
            }
        )
    cash, bonus = wallet_split(user=topup.buyer, lock=True)
    if cash < topup.amount:
        raise TopUpRefundRefused(
            _(
                "Only %(cash)s of the wallet is cash (bonus %(bonus)s is never "
                "refunded as cash): top-up %(no)s of %(amount)s cannot be refunded."
            )
            % {
                "cash": cash,
                "bonus": bonus,
                "no": topup.topup_no,
                "amount": topup.amount,
            }
        )
    change_balance(
        user=topup.buyer,
        amount=-topup.amount,
        kind=LedgerEntry.Kind.TOPUP,
        reference=topup.topup_no,
        note=_("Top-up refunded: %(reason)s") % {"reason": reason[:200]},
        actor=actor,
    )
    grant = take_back_topup_bonus(topup_no=topup.topup_no, actor=actor)
    topup.status = WalletTopUp.Status.REFUNDED
    topup.save(update_fields=["status", "updated_at"])
    audit.record(
        actor=actor,
        action="wallet.topup_refund",
        obj=topup,
        before={"status": "paid"},
        after={
            "status": "refunded",
            "amount": str(topup.amount),
            "bonus_taken_back": str(grant.reversed_amount if grant else Decimal(0)),
            "bonus_not_recovered": str(grant.shortfall if grant else Decimal(0)),
        },
        note=reason,
    )
    return topup
