"""Orders test data, reached through the real services."""

from decimal import Decimal
from itertools import count

from django.db.models import F

from catalog.models import CardBatch, CardCode, Sku
from kameng import crypto
from users.models import LedgerEntry, User
from users.services import credit_wallet

_seq = count(1)


def make_buyer(balance: Decimal = Decimal("0.00"), **fields) -> User:
    user = User.objects.create_user(username=f"buyer-{next(_seq)}", **fields)
    if balance:
        credit_wallet(user=user, amount=balance, kind=LedgerEntry.Kind.TOPUP)
    return user


def stock_codes(sku: Sku, count_: int, prefix: str = "CODE") -> list[str]:
    """Available codes for a card SKU, stored as the import stores them."""
    batch = CardBatch.objects.create(
        sku=sku, file_name="t.txt", file_format="txt", status=CardBatch.Status.DONE
    )
    texts = [f"{prefix}-{sku.pk}-{next(_seq):06d}" for _ in range(count_)]
    CardCode.objects.bulk_create(
        CardCode(
            sku=sku,
            batch=batch,
            secret=crypto.encrypt(text),
            code_hash=crypto.code_hash(text),
            key_version=crypto.current_key_version(),
            hint=crypto.mask(text),
        )
        for text in texts
    )
    Sku.objects.filter(pk=sku.pk).update(stock=F("stock") + count_)
    return texts
