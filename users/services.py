"""Writes of users: buyer sign-up, and every change to a wallet (locked,
checked, one ledger row)."""

from decimal import Decimal

from django.contrib.auth.models import Group
from django.db import IntegrityError, transaction
from django.utils import timezone
from django.utils.translation import gettext

from kameng import events
from kameng.db import joins_transaction
from users.exceptions import InsufficientBalance, InvalidAmount, UsernameTaken
from users.models import LedgerEntry, User, Wallet
from users.roles import ROLES

CENT = Decimal("0.01")


def _checked_amount(amount) -> Decimal:
    if not isinstance(amount, Decimal):
        raise InvalidAmount(
            gettext("Amounts must be decimals, not %(type)s.")
            % {"type": type(amount).__name__}
        )
    if amount.quantize(CENT) != amount or not amount.is_finite():
        raise InvalidAmount(
            gettext("Amount %(amount)s has more than two decimal places.")
            % {"amount": amount}
        )
    return amount


def register_buyer(*, username: str, email: str, password: str) -> User:
    """A new buyer account (no staff rights, no role), with its password hashed.
    `user_registered` is sent after commit. The form checked the username is
    free; one taken meanwhile by a parallel sign-up raises UsernameTaken and
    writes nothing."""
    try:
        with transaction.atomic():
            user = User.objects.create_user(
                username=username, email=email, password=password
            )
    except IntegrityError as exc:
        raise UsernameTaken(
            gettext("A user with that username already exists."), field="username"
        ) from exc
    transaction.on_commit(
        lambda: events.user_registered.send(sender=User, user_id=user.pk)
    )
    return user


def get_or_create_wallet(*, user: User) -> Wallet:
    wallet, _created = Wallet.objects.get_or_create(user=user)
    return wallet


@joins_transaction  # refuses (raises) before it writes anything
def change_balance(
    *,
    user: User,
    amount: Decimal,
    kind: str,
    reference: str = "",
    note: str = "",
    actor: User | None = None,
) -> LedgerEntry:
    """Add `amount` (negative to debit) to the wallet and write its ledger row.

    The wallet row is locked for the rest of the caller's transaction, so two
    debits cannot both pass the balance check. Raises InsufficientBalance rather
    than drive the balance below zero.
    """
    amount = _checked_amount(amount)
    if amount == 0:
        raise InvalidAmount(gettext("A balance change cannot be zero."))
    wallet = Wallet.objects.select_for_update().filter(user=user).first()
    if wallet is None:  # the first movement of a new buyer
        get_or_create_wallet(user=user)
        wallet = Wallet.objects.select_for_update().get(user=user)
    new_balance = wallet.balance + amount
    if new_balance < 0:
        raise InsufficientBalance(
            gettext("Insufficient balance: %(balance)s available, %(needed)s needed.")
            % {"balance": wallet.balance, "needed": -amount},
            balance=wallet.balance,
        )
    # update() skips auto_now: the time of the movement is set here.
    Wallet.objects.filter(pk=wallet.pk).update(
        balance=new_balance, updated_at=timezone.now()
    )
    wallet.balance = new_balance
    return LedgerEntry.objects.create(
        wallet=wallet,
        amount=amount,
        balance_after=new_balance,
        kind=kind,
        reference=reference,
        note=note,
        actor=actor,
    )


def credit_wallet(*, user: User, amount: Decimal, kind: str, **kwargs) -> LedgerEntry:
    amount = _checked_amount(amount)
    if amount <= 0:
        raise InvalidAmount(gettext("A credit must be positive."))
    return change_balance(user=user, amount=amount, kind=kind, **kwargs)


def debit_wallet(*, user: User, amount: Decimal, kind: str, **kwargs) -> LedgerEntry:
    amount = _checked_amount(amount)
    if amount <= 0:
        raise InvalidAmount(gettext("A debit must be positive."))
    return change_balance(user=user, amount=-amount, kind=kind, **kwargs)


@transaction.atomic
def set_staff_roles(*, user: User, roles: list) -> list[str]:
    """Give a staff member exactly these roles (users.roles.Role), by their
    groups; groups that are no role stay as they are. Returns the group names."""
    role_groups = {
        group.name: group
        for group in Group.objects.filter(name__in=[r.group_name for r in ROLES])
    }
    wanted = {role.group_name for role in roles}
    user.groups.remove(*(g for name, g in role_groups.items() if name not in wanted))
    user.groups.add(*(role_groups[name] for name in wanted if name in role_groups))
    return sorted(wanted & set(role_groups))
