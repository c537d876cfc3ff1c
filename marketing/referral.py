"""Referral (邀请有礼, issue 13): the optional module, its services and reads.

How an invite travels:

1. A buyer opens the shop's invite page: `code_for` gives them their code
   (made the first time) and remembers the device cookie and IP address they
   came with (the abuse checks compare a friend's signup with them).
2. The friend opens the link (/shop/i/<code>/ or /shop/signup/?invite=<code>);
   the shop keeps the code in a cookie and, once the signup succeeds, calls
   `record_referral` with the new account, the code, the IP address and the
   device cookie. (The shop view captures it rather than a `user_registered`
   receiver: the signal carries only the user id, and the code, address and
   device are the request's.)
3. `record_referral` refuses a self-invite, runs the abuse checks and writes
   the Referral: a clean one pays the signup rewards at once; a flagged one is
   held (审核中) with its reasons and pays nothing.
4. `order_paid` (a receiver in marketing.referral_receivers) calls
   `note_paid_order`: the invited buyer's first paid order is recorded once,
   and pays the first-order rewards if the referral pays.
5. A reviewer clears a held referral (`clear_referral`: the rewards due are
   paid, once) or rejects it (`reject_referral`: never paid). Both are audited.

Each reward is a ReferralReward row, unique per (referral, event, side), written
with the referral row locked: repeated signals, double clicks and a second
order pay nothing more. Wallet credit is a REWARD ledger row (users.services).
"""

from __future__ import annotations

import logging
import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from decimal import Decimal

from django.db import IntegrityError, transaction
from django.db.models import Sum
from django.utils import timezone
from django.utils.translation import gettext
from django.utils.translation import gettext_lazy as _

from kameng import audit
from kameng.compiled import CompiledRead
from kameng.exceptions import DomainError
from kameng.fields import contact_match
from kameng.masking import mask_other
from kameng.modules import Module, is_enabled, register_module
from marketing.coupons.issue import issue_coupons
from marketing.models import (
    Coupon,
    Referral,
    ReferralCode,
    ReferralReward,
    ReferralSettings,
)
from marketing.models.referral import ReferralEvent, ReferralSide, RewardKind
from marketing.points import award_points
from users.models import LedgerEntry, LoginEvent, User
from users.services import change_balance

logger = logging.getLogger(__name__)

MODULE_CODE = "referral"
COUPONS_MODULE = "coupons"
POINTS_MODULE = "points"
REFERRAL = register_module(
    Module(
        code=MODULE_CODE,
        title=_("Referral"),
        description=_(
            "Invite codes and links, rewards for the inviter and the invited "
            "friend, and the review of suspicious invites. Switched off: the "
            "shop's invite page and links are gone, sign-ups record no invite "
            "and no reward is paid."
        ),
        models=(
            "marketing.referral",
            "marketing.referralreward",
            "marketing.referralsettings",
        ),
        pages=("marketing:referral_review", "marketing:referral_decide"),
        order=20,
    )
)

CODE_ALPHABET = "ABCDEFGHJKLMNPQRSTUVWXYZ23456789"  # no 0/O, 1/I
CODE_LENGTH = 8
CODE_PATTERN = re.compile(r"^[A-Z0-9]{4,16}$")
SEEN_KEEP = 10  # devices and addresses remembered per inviter
LOGIN_IP_DAYS = 30  # the inviter's own logins compared with a friend's address
FRIEND_IP_DAYS = 7  # two friends of one inviter from one address
MY_FRIENDS_SHOWN = 100
REVIEW_PAGE = 50
REVIEW_PERMISSION = "marketing.review_referral"


class ReferralRefused(DomainError):
    code = "referral_refused"


class SelfInvite(ReferralRefused):
    code = "referral_self_invite"


class UnknownInviteCode(ReferralRefused):
    code = "referral_unknown_code"


class AlreadyInvited(ReferralRefused):
    code = "referral_already_invited"


class NotAwaitingReview(ReferralRefused):
    code = "referral_not_held"


def module_on() -> bool:
    return is_enabled(MODULE_CODE)


# Settings ------------------------------------------------------------------------
def referral_settings() -> ReferralSettings:
    """The one settings row (created with the defaults when missing)."""
    config, _created = ReferralSettings.objects.get_or_create(pk=1)
    return config


# Codes ---------------------------------------------------------------------------
def normalise_code(text: str | None) -> str:
    """An invite code as typed or linked, upper case; "" when it cannot be one."""
    code = (text or "").strip().upper()
    return code if CODE_PATTERN.match(code) else ""


def new_code() -> str:
    return "".join(secrets.choice(CODE_ALPHABET) for _ in range(CODE_LENGTH))


def remember(values: list, value: str | None) -> bool:
    """Put `value` first in a short most-recent list; True when it changed."""
    if not value or (values and values[0] == value):
        return False
    if value in values:
        values.remove(value)
    values.insert(0, value)
    del values[SEEN_KEEP:]
    return True


@transaction.atomic
def code_for(*, user: User, device_id: str = "", ip: str | None = None) -> ReferralCode:
    """The buyer's invite code, made the first time it is asked for; the device
    cookie and address they came with are remembered for the abuse checks."""
    row = ReferralCode.objects.select_for_update().filter(user=user).first()
    attempts = 0
    while row is None:
        attempts += 1
        try:
            with transaction.atomic():
                row = ReferralCode.objects.create(user=user, code=new_code())
        except IntegrityError:
            # a parallel first visit made it, or (rarely) the code was taken
            row = ReferralCode.objects.select_for_update().filter(user=user).first()
            if attempts >= 5 and row is None:
                raise
    changed = remember(row.seen_devices, device_id)
    changed = remember(row.seen_ips, ip) or changed
    if changed:
        row.save(update_fields=["seen_devices", "seen_ips"])
    return row


def inviter_code(code: str) -> ReferralCode | None:
    """The code's row when it belongs to an active buyer (staff invite no one)."""
    code = normalise_code(code)
    if not code:
        return None
    return (
        ReferralCode.objects.select_related("user")
        .filter(code=code, user__is_active=True, user__is_staff=False)
        .first()
    )


# Abuse checks --------------------------------------------------------------------
def normalise_email(email: str | None) -> str:
    """Lower case, "+tag" dropped from the local part ("a+1@qq.com" = "a@qq.com")."""
    email = (email or "").strip().lower()
    local, at, domain = email.rpartition("@")
    if not at or not local:
        return email
    return f"{local.split('+', 1)[0]}@{domain}"


def normalise_phone(phone: str | None) -> str:
    digits = re.sub(r"\D", "", phone or "")
    if len(digits) > 11 and digits.startswith("86"):
        digits = digits[2:]
    return digits


def same_contact(first: User, second: User) -> bool:
    email = normalise_email(first.email)
    phone = normalise_phone(first.phone)
    return bool(
        (email and email == normalise_email(second.email))
        or (phone and phone == normalise_phone(second.phone))
    )


def counted_since(queryset, since: datetime, limit: int) -> int:
    """How many rows since `since`, counting no further than `limit`."""
    return len(queryset.filter(created_at__gte=since).values_list("pk")[:limit])


def abuse_reasons(
    *,
    owner: ReferralCode,
    invitee: User,
    ip: str | None,
    device_id: str,
    config: ReferralSettings,
    now: datetime,
) -> list[str]:
    """The reasons (Referral.Reason codes) to hold this signup for review."""
    inviter = owner.user
    earlier = Referral.objects.filter(inviter=inviter)
    reasons = []
    if device_id and (
        device_id in owner.seen_devices or earlier.filter(device_id=device_id).exists()
    ):
        reasons.append(Referral.Reason.SAME_DEVICE)
    if ip and (
        ip in owner.seen_ips
        or LoginEvent.objects.filter(
            user=inviter,
            success=True,
            ip=ip,
            created_at__gte=now - timedelta(days=LOGIN_IP_DAYS),
        ).exists()
        or earlier.filter(
            signup_ip=ip, created_at__gte=now - timedelta(days=FRIEND_IP_DAYS)
        ).exists()
    ):
        reasons.append(Referral.Reason.SAME_IP)
    if same_contact(inviter, invitee) or (
        invitee.email
        and earlier.filter(contact_match("invitee__email", invitee.email)).exists()
    ):
        reasons.append(Referral.Reason.SAME_CONTACT)
    hour = config.max_per_hour
    if counted_since(earlier, now - timedelta(hours=1), hour + 1) >= hour:
        reasons.append(Referral.Reason.VELOCITY_HOUR)
    day = config.max_per_day
    if counted_since(earlier, now - timedelta(days=1), day + 1) >= day:
        reasons.append(Referral.Reason.VELOCITY_DAY)
    return [str(reason) for reason in reasons]


# Signup --------------------------------------------------------------------------
@transaction.atomic
def record_referral(
    *,
    code: str,
    invitee: User,
    ip: str | None = None,
    device_id: str = "",
    signed_in_as_id: int | None = None,
) -> Referral | None:
    """Record that `invitee` signed up with `code`. None when the module is off
    or there is no code. Raises SelfInvite (the code is the invitee's own, or
    the signup was made while logged in as the inviter), UnknownInviteCode or
    AlreadyInvited; writes nothing then. A clean referral pays the signup
    rewards now; a flagged one is held with its reasons and pays nothing."""
    if not module_on() or not normalise_code(code):
        return None
    owner = inviter_code(code)
    if owner is None:
        raise UnknownInviteCode(gettext("This invite code does not exist."))
    if owner.user_id in (invitee.pk, signed_in_as_id):
        raise SelfInvite(gettext("You cannot invite yourself."))
    # One inviter's sign-ups one at a time: the velocity counts hold.
    owner = (
        ReferralCode.objects.select_for_update().select_related("user").get(pk=owner.pk)
    )
    if Referral.objects.filter(invitee=invitee).exists():
        raise AlreadyInvited(gettext("This account was already invited."))
    now = timezone.now()
    config = referral_settings()
    reasons = abuse_reasons(
        owner=owner,
        invitee=invitee,
        ip=ip,
        device_id=device_id[:64],
        config=config,
        now=now,
    )
    referral = Referral.objects.create(
        inviter=owner.user,
        invitee=invitee,
        code=owner.code,
        signup_ip=ip,
        device_id=device_id[:64],
        review=Referral.Review.HELD if reasons else Referral.Review.NOT_NEEDED,
        reasons=reasons,
    )
    if not reasons:
        pay_rewards(referral=referral, events=(ReferralEvent.SIGNUP,), config=config)
    return referral


# Rewards -------------------------------------------------------------------------
def first_order_qualifies(referral: Referral, config: ReferralSettings) -> bool:
    return referral.first_order_id is not None and (
        referral.first_order_amount is None
        or referral.first_order_amount >= config.first_order_min_amount
    )


def pay_rewards(
    *,
    referral: Referral,
    events: tuple[str, ...],
    config: ReferralSettings | None = None,
) -> list[ReferralReward]:
    """Pay the rewards of these events that the settings name and that were not
    paid yet. The caller holds the referral row (locked or just created) in its
    transaction."""
    config = config or referral_settings()
    paid = []
    for event in events:
        for side in ReferralSide.values:
            kind, amount = config.reward_for(event, side)
            if kind == RewardKind.NONE:
                continue
            if ReferralReward.objects.filter(
                referral=referral, event=event, side=side
            ).exists():
                continue
            user = (
                referral.inviter if side == ReferralSide.INVITER else referral.invitee
            )
            reference = f"REF-{referral.pk}-{event}-{side}"
            template = None
            if kind == RewardKind.WALLET:
                if amount <= 0:
                    continue
                change_balance(
                    user=user,
                    amount=amount,
                    kind=LedgerEntry.Kind.REWARD,
                    reference=reference,
                    note=gettext("Referral reward: %(event)s")
                    % {"event": ReferralEvent(event).label},
                )
            elif kind == RewardKind.COUPON:
                template = getattr(config, f"{event}_{side}_coupon")
                if not issue_coupon_reward(template, user=user, reference=reference):
                    continue
                amount = Decimal("0.00")
            elif kind == RewardKind.POINTS:
                if not award_points_reward(
                    amount, user=user, reference=reference, event=event
                ):
                    continue
            paid.append(
                ReferralReward.objects.create(
                    referral=referral,
                    event=event,
                    side=side,
                    user=user,
                    kind=kind,
                    amount=amount,
                    coupon_template=template,
                    reference=reference,
                )
            )
    return paid


def award_points_reward(
    amount: Decimal, *, user: User, reference: str, event: str
) -> bool:
    """Whole points as a referral reward (points' own ledger, once per
    reference). False, and logged, when points are switched off or refuse."""
    points = int(amount)
    if points <= 0 or not is_enabled(POINTS_MODULE):
        logger.warning("referral points not awarded (%s): points off", reference)
        return False
    try:
        with transaction.atomic():
            award_points(
                buyer_id=user.pk,
                amount=points,
                reference=f"referral:{reference}",
                note=gettext("Referral reward: %(event)s")
                % {"event": ReferralEvent(event).label},
            )
    except DomainError as exc:
        logger.warning("referral points not awarded (%s): %s", reference, exc)
        return False
    return True


def issue_coupon_reward(template, *, user: User, reference: str) -> bool:
    """One coupon of `template` as a referral reward (coupons' own issue, source
    "referral", keyed by the reward). False, and logged, when it cannot be
    issued (coupons switched off, template off or expired, limits reached): the
    referral and the other rewards stand."""
    if template is None or not is_enabled(COUPONS_MODULE):
        logger.warning("referral coupon not issued (%s): coupons off", reference)
        return False
    try:
        with transaction.atomic():
            issued = issue_coupons(
                template=template,
                user_ids=[user.pk],
                source=Coupon.Source.REFERRAL,
                issue_key=f"referral:{reference}",
            )
    except DomainError as exc:
        logger.warning("referral coupon not issued (%s): %s", reference, exc)
        return False
    if not issued:
        logger.warning("referral coupon not issued (%s): limits reached", reference)
    return bool(issued)


# Whether the buyer has a referral still waiting for its first order: most
# paid orders are by buyers nobody invited, or not their first, and need no
# more than this (one indexed row at most; the ORM compiled it once per
# process). The mark is a buyer id no one has.
_WAITING_FOR_FIRST_ORDER = CompiledRead(
    Referral,
    lambda buyer_id: Referral.objects.filter(
        invitee_id=buyer_id, first_order_id__isnull=True
    ).only("id"),
    -7_021_944_217,
)


def note_paid_order(
    *, buyer_id: int | None, order_id: int, amount: Decimal | None = None
) -> list[ReferralReward]:
    """An order was paid (order_paid). The invited buyer's first one is
    recorded once; it pays the first-order rewards when the referral pays and
    the order reaches the minimum. Any later order (or the same one again)
    changes nothing."""
    if buyer_id is None or not module_on():
        return []
    if _WAITING_FOR_FIRST_ORDER.first(buyer_id) is None:
        return []  # not invited, or the first order already recorded
    return _record_first_order(buyer_id=buyer_id, order_id=order_id, amount=amount)


@transaction.atomic
def _record_first_order(
    *, buyer_id: int, order_id: int, amount: Decimal | None
) -> list[ReferralReward]:
    referral = (
        Referral.objects.select_for_update()
        .select_related("inviter", "invitee")
        .filter(invitee_id=buyer_id)
        .first()
    )
    if referral is None or referral.first_order_id is not None:
        return []
    referral.first_order_id = order_id
    referral.first_order_at = timezone.now()
    referral.first_order_amount = amount
    referral.save(
        update_fields=["first_order_id", "first_order_at", "first_order_amount"]
    )
    config = referral_settings()
    if not referral.pays or not first_order_qualifies(referral, config):
        return []
    return pay_rewards(
        referral=referral, events=(ReferralEvent.FIRST_ORDER,), config=config
    )


# Review --------------------------------------------------------------------------
def locked_held(referral_id: int, actor) -> Referral:
    if not actor.has_perm(REVIEW_PERMISSION):
        raise ReferralRefused(gettext("Only marketing may review referrals."))
    referral = (
        Referral.objects.select_for_update()
        .select_related("inviter", "invitee")
        .filter(pk=referral_id)
        .first()
    )
    if referral is None or referral.review != Referral.Review.HELD:
        raise NotAwaitingReview(gettext("This referral is not awaiting review."))
    return referral


def decide(referral: Referral, *, review: str, actor, note: str) -> None:
    before = referral.review
    referral.review = review
    referral.reviewed_by = actor
    referral.reviewed_at = timezone.now()
    referral.review_note = note.strip()[:255]
    referral.save(update_fields=["review", "reviewed_by", "reviewed_at", "review_note"])
    audit.record(
        actor=actor,
        action=f"referral.{review}",
        obj=referral,
        before={"review": before},
        after={"review": review, "note": referral.review_note},
    )


@transaction.atomic
def clear_referral(*, referral_id: int, actor, note: str = "") -> list[ReferralReward]:
    """A reviewer finds a held referral genuine: the rewards due so far (signup,
    and the first order if there was one) are paid, once."""
    referral = locked_held(referral_id, actor)
    decide(referral, review=Referral.Review.CLEARED, actor=actor, note=note)
    config = referral_settings()
    events = [ReferralEvent.SIGNUP]
    if first_order_qualifies(referral, config):
        events.append(ReferralEvent.FIRST_ORDER)
    return pay_rewards(referral=referral, events=tuple(events), config=config)


@transaction.atomic
def reject_referral(*, referral_id: int, actor, note: str = "") -> Referral:
    """A reviewer finds a held referral abusive: it never pays."""
    referral = locked_held(referral_id, actor)
    decide(referral, review=Referral.Review.REJECTED, actor=actor, note=note)
    return referral


# Reads ---------------------------------------------------------------------------
def describe_reward(config: ReferralSettings, event: str, side: str) -> str:
    """One reward slot in words ("¥5.00 余额", "优惠券「满50减10」"), "" if none."""
    kind, amount = config.reward_for(event, side)
    if kind == RewardKind.WALLET and amount > 0:
        return gettext("%(amount)s wallet credit") % {"amount": f"¥{amount:.2f}"}
    if kind == RewardKind.POINTS and amount > 0:
        return gettext("%(points)s points") % {"points": int(amount)}
    template = getattr(config, f"{event}_{side}_coupon")
    if kind == RewardKind.COUPON and template is not None:
        return gettext("a coupon “%(name)s”") % {"name": template.name}
    return ""


def reward_rules(config: ReferralSettings) -> list[dict]:
    """The rewards as the invite page explains them, one line per event that
    pays anything: {"event": label, "inviter": words, "invitee": words}."""
    lines = []
    for event, label in ReferralEvent.choices:
        sides = {
            side: describe_reward(config, event, side) for side in ReferralSide.values
        }
        if any(sides.values()):
            lines.append({"event": label, **sides})
    return lines


def masked_name(user: User) -> str:
    return mask_other(user.nickname or user.get_username())


STATUS_LABELS = {
    "held": _("Under review"),
    "rejected": _("Not approved"),
    "first_order": _("First order placed"),
    "signed_up": _("Signed up"),
}


def friend_status(referral: Referral) -> str:
    if referral.review == Referral.Review.HELD:
        return "held"
    if referral.review == Referral.Review.REJECTED:
        return "rejected"
    return "first_order" if referral.first_order_id else "signed_up"


@dataclass(frozen=True)
class FriendRow:
    name: str
    joined: datetime
    status: str
    status_label: str


def friends_of(*, user: User, limit: int = MY_FRIENDS_SHOWN) -> list[FriendRow]:
    """The buyer's invited friends, newest first, names masked."""
    rows = []
    for referral in (
        Referral.objects.filter(inviter=user)
        .select_related("invitee")
        .order_by("-id")[:limit]
    ):
        status = friend_status(referral)
        rows.append(
            FriendRow(
                name=masked_name(referral.invitee),
                joined=referral.created_at,
                status=status,
                status_label=str(STATUS_LABELS[status]),
            )
        )
    return rows


def rewards_of(*, user: User) -> dict:
    """What the buyer earned through referrals: wallet credit in total, and the
    latest rewards."""
    rewards = ReferralReward.objects.filter(user=user)
    total = rewards.filter(kind=RewardKind.WALLET).aggregate(total=Sum("amount"))
    points = rewards.filter(kind=RewardKind.POINTS).aggregate(total=Sum("amount"))
    return {
        "wallet_total": total["total"] or Decimal("0.00"),
        "coupons": rewards.filter(kind=RewardKind.COUPON).count(),
        "points": int(points["total"] or 0),
    }


def held_referrals(*, after_id: int | None = None, limit: int = REVIEW_PAGE):
    """The review queue, oldest first, read by keyset (no COUNT)."""
    queryset = (
        Referral.objects.filter(review=Referral.Review.HELD)
        .select_related("inviter", "invitee")
        .order_by("id")
    )
    if after_id is not None:
        queryset = queryset.filter(pk__gt=after_id)
    return list(queryset[: limit + 1])
