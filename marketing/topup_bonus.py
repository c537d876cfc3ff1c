"""Wallet top-up bonuses (充值赠送, issue 13).

Rules
- A rule has tiers ("充 100 送 5", "充 500 送 40"). A paid top-up of `amount`
  gets the bonus of the highest tier it reaches (amount >= threshold) of each
  rule in its window [starts_at, ends_at) that is active and that the buyer
  has not used `per_buyer_limit` times (0: no limit); of several such rules,
  the one with the largest bonus applies (one bonus per top-up).
- `grant_topup_bonus` runs inside the top-up's settling transaction
  (orders.payments.topups), after the top-up credit: one BonusGrant per
  top-up number (unique) and one ledger row of kind BONUS (reference = the
  top-up number). A replayed notify finds the grant and adds nothing.
- The bonus is never cash. The wallet tells them apart by one rule: cash is
  spent first, the bonus last (users.wallet_bonus.wallet_split). Nothing in
  the shop pays a wallet out as cash today (order refunds go back to the
  wallet); a top-up refund (orders.payments.topup_refunds) pays back at most
  the cash part, never the bonus.
- A refunded top-up takes its bonus back (`take_back_topup_bonus`): what is
  still in the bonus part of the wallet is debited (kind BONUS, negative);
  what the buyer already spent is recorded on the grant as `shortfall` and
  listed for finance (the top-up bonus list, filter "not recovered").
- Switched off (kameng.modules "topup_bonus"): no bonus is granted and the
  shop shows no rule; grants already paid stay, and take-backs still run.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import Count
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng.exceptions import DomainError
from kameng.modules import Module, is_enabled, register_module
from marketing.models import BonusGrant, BonusRule
from users.models import LedgerEntry, User
from users.services import change_balance
from users.wallet_bonus import wallet_split

MODULE = "topup_bonus"
ZERO = Decimal("0.00")
FEN = Decimal("0.01")

register_module(
    Module(
        code=MODULE,
        title=_("Top-up bonuses"),
        description=_(
            "Bonus credit on wallet top-ups; off: the shop shows no rule and "
            "no bonus is credited (bonuses already paid stay)."
        ),
        models=("marketing.bonusrule", "marketing.bonusgrant"),
        order=61,
    )
)


class BonusRefused(DomainError):
    code = "marketing_bonus_refused"


@dataclass(frozen=True)
class BonusOffer:
    rule_id: int
    rule_name: str
    threshold: Decimal
    bonus: Decimal


def tier_bonus(*, tiers: list[tuple[Decimal, Decimal]], amount: Decimal) -> Decimal:
    """The bonus of the highest tier `amount` reaches; 0.00 below every tier.
    `tiers`: (threshold, bonus) pairs in any order."""
    reached = [(threshold, bonus) for threshold, bonus in tiers if amount >= threshold]
    if not reached:
        return ZERO
    return max(reached)[1]


def rules_in_force(*, at: datetime | None = None) -> list[BonusRule]:
    """Active rules whose window holds `at`, tiers prefetched (a handful)."""
    at = at or timezone.now()
    return list(
        BonusRule.objects.filter(active=True, starts_at__lte=at, ends_at__gt=at)
        .prefetch_related("tiers")
        .order_by("id")
    )


def bonus_for(
    *, buyer_id: int | None, amount: Decimal, at: datetime | None = None
) -> BonusOffer | None:
    """What a top-up of `amount` by `buyer_id` would get now, or None. Off
    when the module is switched off."""
    if not is_enabled(MODULE) or amount is None or amount <= 0:
        return None
    rules = rules_in_force(at=at)
    if not rules:
        return None
    used = {}
    if buyer_id is not None:
        used = dict(
            BonusGrant.objects.filter(
                buyer_id=buyer_id, rule__in=rules, reversed_at__isnull=True
            )
            .values("rule_id")
            .annotate(times=Count("id"))
            .values_list("rule_id", "times")
        )
    best = None
    for rule in rules:
        if rule.per_buyer_limit and used.get(rule.pk, 0) >= rule.per_buyer_limit:
            continue
        tiers = [(tier.threshold, tier.bonus) for tier in rule.tiers.all()]
        bonus = tier_bonus(tiers=tiers, amount=amount)
        if bonus <= 0:
            continue
        threshold = max(t for t, _bonus in tiers if amount >= t)
        if best is None or bonus > best.bonus:
            best = BonusOffer(rule.pk, rule.name, threshold, bonus)
    return best


def grant_topup_bonus(
    *, buyer: User, topup_no: str, amount: Decimal, at: datetime | None = None
) -> BonusGrant | None:
    """Credit the bonus a paid top-up earns, in the caller's (the settling)
    transaction. Once per top-up number: a second call returns the grant."""
    done = BonusGrant.objects.filter(topup_no=topup_no).first()
    if done is not None:
        return done
    offer = bonus_for(buyer_id=buyer.pk, amount=amount, at=at)
    if offer is None:
        return None
    # The rule row is locked, so two top-ups of one buyer settling at once
    # cannot both pass its per-buyer limit.
    BonusRule.objects.select_for_update().filter(pk=offer.rule_id).first()
    offer = bonus_for(buyer_id=buyer.pk, amount=amount, at=at)
    if offer is None:
        return None
    grant = BonusGrant.objects.create(
        topup_no=topup_no,
        buyer=buyer,
        rule_id=offer.rule_id,
        topup_amount=amount,
        bonus=offer.bonus,
    )
    change_balance(
        user=buyer,
        amount=offer.bonus,
        kind=LedgerEntry.Kind.BONUS,
        reference=topup_no,
        note=gettext("Top up %(threshold)s, get %(bonus)s (%(rule)s)")
        % {"threshold": offer.threshold, "bonus": offer.bonus, "rule": offer.rule_name},
    )
    return grant


@transaction.atomic
def take_back_topup_bonus(*, topup_no: str, actor=None) -> BonusGrant | None:
    """A refunded top-up gives its bonus back: the part still in the wallet's
    bonus is debited; the rest (spent already) is recorded as `shortfall` for
    finance. Idempotent: a grant taken back once is returned as it is."""
    grant = BonusGrant.objects.select_for_update().filter(topup_no=topup_no).first()
    if grant is None or grant.reversed_at is not None:
        return grant
    _cash, bonus_left = wallet_split(user=grant.buyer, lock=True)
    take = min(grant.bonus, bonus_left)
    if take > 0:
        change_balance(
            user=grant.buyer,
            amount=-take,
            kind=LedgerEntry.Kind.BONUS,
            reference=topup_no,
            note=gettext("Bonus taken back: top-up refunded"),
            actor=actor,
        )
    grant.reversed_amount = take
    grant.shortfall = grant.bonus - take
    grant.reversed_at = timezone.now()
    grant.save(update_fields=["reversed_amount", "shortfall", "reversed_at"])
    return grant


# Back office ---------------------------------------------------------------------
def check_tiers(tiers: list[tuple[Decimal, Decimal]]) -> None:
    """Thresholds distinct and positive, bonuses positive and below their
    threshold, a higher tier never giving less (else a buyer topping up more
    would get less)."""
    if not tiers:
        raise BonusRefused(gettext("A rule needs at least one tier."), field="tiers")
    seen = set()
    for row, (threshold, bonus) in enumerate(sorted(tiers), start=1):
        if threshold in seen:
            raise BonusRefused(
                gettext("Tier %(row)s: the threshold %(threshold)s appears twice.")
                % {"row": row, "threshold": threshold},
                field="tiers",
            )
        seen.add(threshold)
        if threshold <= 0 or bonus <= 0:
            raise BonusRefused(
                gettext("Tier %(row)s: threshold and bonus must be above 0.")
                % {"row": row},
                field="tiers",
            )
        if bonus >= threshold:
            raise BonusRefused(
                gettext("Tier %(row)s: the bonus must be less than the threshold.")
                % {"row": row},
                field="tiers",
            )
    bonuses = [bonus for _threshold, bonus in sorted(tiers)]
    if bonuses != sorted(bonuses):
        raise BonusRefused(
            gettext("A higher tier cannot give a smaller bonus."), field="tiers"
        )


def rules_for_shop(*, buyer_id: int | None = None) -> list[dict]:
    """The rules a buyer sees on the wallet page: "充 100 送 5" lines."""
    if not is_enabled(MODULE):
        return []
    rules = rules_in_force()
    used = {}
    if buyer_id is not None and rules:
        used = dict(
            BonusGrant.objects.filter(
                buyer_id=buyer_id, rule__in=rules, reversed_at__isnull=True
            )
            .values("rule_id")
            .annotate(times=Count("id"))
            .values_list("rule_id", "times")
        )
    return [
        {
            "name": rule.name,
            "ends_at": rule.ends_at,
            "per_buyer_limit": rule.per_buyer_limit,
            "times_left": (
                max(rule.per_buyer_limit - used.get(rule.pk, 0), 0)
                if rule.per_buyer_limit
                else None
            ),
            "tiers": [
                {"threshold": tier.threshold, "bonus": tier.bonus}
                for tier in rule.tiers.all()
            ],
        }
        for rule in rules
    ]
