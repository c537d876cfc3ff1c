"""Which part of a wallet's balance is top-up bonus (充值赠送) and which is cash.

One rule: **cash is spent first, the bonus last.** The balance is one number
(orders debit it as before); the split is read from the ledger: before the
wallet's first BONUS row everything is cash; from there each credit adds to
cash (a BONUS credit to the bonus), each debit takes from cash and only then
from the bonus, and a BONUS debit (a bonus taken back) takes from the bonus.
cash + bonus == balance, always.

Whoever pays money out of a wallet as cash (a top-up refund) pays at most the
cash part: the bonus is never refundable as cash. Only buyers who ever got a
bonus read more than one row, and only their rows since that bonus.
"""

from __future__ import annotations

from decimal import Decimal

from users.models import LedgerEntry, User, Wallet

ZERO = Decimal("0.00")


def split_rows(rows, *, opening: Decimal) -> tuple[Decimal, Decimal]:
    """(cash, bonus) after `rows` of (amount, kind), from `opening` cash."""
    cash, bonus = opening, ZERO
    for amount, kind in rows:
        if kind == LedgerEntry.Kind.BONUS:
            bonus += amount
            if bonus < 0:  # more taken back than left: the rest from cash
                cash, bonus = cash + bonus, ZERO
        elif amount > 0:
            cash += amount
        else:
            from_cash = min(cash, -amount)
            cash -= from_cash
            bonus -= -amount - from_cash
    return cash, bonus


def wallet_split(*, user: User, lock: bool = False) -> tuple[Decimal, Decimal]:
    """(cash, bonus) of `user`'s wallet now. `lock`: the wallet row is locked
    for the caller's transaction first (a refund deciding on the split)."""
    wallets = Wallet.objects.filter(user=user)
    if lock:
        wallets = wallets.select_for_update()
    wallet = wallets.first()
    if wallet is None:
        return ZERO, ZERO
    entries = LedgerEntry.objects.filter(wallet=wallet)
    first = (
        entries.filter(kind=LedgerEntry.Kind.BONUS)
        .order_by("id")
        .values_list("id", "balance_after", "amount")
        .first()
    )
    if first is None:
        return wallet.balance, ZERO
    first_id, after, amount = first
    rows = entries.filter(id__gte=first_id).order_by("id").values_list("amount", "kind")
    return split_rows(rows, opening=after - amount)
