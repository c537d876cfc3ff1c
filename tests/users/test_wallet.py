"""Wallet: every balance change is a ledger row; the balance never goes below zero."""

import threading
from decimal import Decimal

import pytest
from django.db import connection

from users.exceptions import InsufficientBalance, InvalidAmount
from users.models import LedgerEntry, User, Wallet
from users.services import credit_wallet, debit_wallet


@pytest.fixture
def buyer(db):
    return User.objects.create_user("buyer", password="x-test-password")


def test_credit_then_debit_writes_ledger_rows_with_running_balance(buyer):
    credit_wallet(user=buyer, amount=Decimal("100.00"), kind="topup", reference="T1")
    entry = debit_wallet(
        user=buyer, amount=Decimal("30.50"), kind="purchase", reference="O1"
    )
    assert entry.amount == Decimal("-30.50")
    assert entry.balance_after == Decimal("69.50")
    assert Wallet.objects.get(user=buyer).balance == Decimal("69.50")
    assert [e.reference for e in LedgerEntry.objects.filter(wallet__user=buyer)] == [
        "O1",
        "T1",
    ]


def test_debit_beyond_balance_is_refused_and_changes_nothing(buyer):
    credit_wallet(user=buyer, amount=Decimal("10.00"), kind="topup")
    with pytest.raises(InsufficientBalance) as excinfo:
        debit_wallet(user=buyer, amount=Decimal("10.01"), kind="purchase")
    assert "10.00" in excinfo.value.message
    assert Wallet.objects.get(user=buyer).balance == Decimal("10.00")
    assert LedgerEntry.objects.filter(wallet__user=buyer).count() == 1


@pytest.mark.parametrize(
    "amount", [Decimal("0"), Decimal("-5"), Decimal("1.001"), Decimal("NaN"), 5, 5.0]
)
def test_bad_amounts_are_refused(buyer, amount):
    with pytest.raises(InvalidAmount):
        credit_wallet(user=buyer, amount=amount, kind="topup")
    assert not LedgerEntry.objects.exists()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_debits_never_overdraw():
    """20 threads each try to spend 10 from a wallet holding 100: exactly 10 win."""
    buyer = User.objects.create_user("racer", password="x-test-password")
    credit_wallet(user=buyer, amount=Decimal("100.00"), kind="topup")
    barrier = threading.Barrier(20)
    outcomes = []

    def spend():
        try:
            barrier.wait()
            debit_wallet(user=buyer, amount=Decimal("10.00"), kind="purchase")
            outcomes.append("ok")
        except InsufficientBalance:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [threading.Thread(target=spend) for _ in range(20)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert outcomes.count("ok") == 10
    assert outcomes.count("refused") == 10
    wallet = Wallet.objects.get(user=buyer)
    assert wallet.balance == Decimal("0.00")
    assert sum(e.amount for e in wallet.entries.all()) == wallet.balance
    assert sorted(wallet.entries.values_list("balance_after", flat=True)) == [
        Decimal(n) for n in range(0, 101, 10)
    ]
