"""seed_demo gives a shop that feels real, and running it again changes nothing."""

from decimal import Decimal

import pytest
from django.contrib.auth.models import Group
from django.core.management import call_command

from catalog.models import Category, Product, Sku
from users.models import (
    BuyerStats,
    LedgerEntry,
    LevelChange,
    MemberLevel,
    User,
    Wallet,
)


@pytest.fixture(autouse=True)
def _development(settings):
    """seed_demo runs with DEBUG on (it refuses otherwise: tests/kameng)."""
    settings.DEBUG = True


def counts():
    return {
        model.__name__: model.objects.count()
        for model in (
            User,
            Wallet,
            LedgerEntry,
            Category,
            Product,
            Sku,
            Group,
            BuyerStats,
            LevelChange,
        )
    }


@pytest.mark.django_db
def test_seed_demo_twice_leaves_the_same_counts(capsys):
    call_command("seed_demo", buyers=40)
    first = counts()
    call_command("seed_demo", buyers=40)
    assert counts() == first

    assert first["User"] == 40 + 5
    assert first["Wallet"] == 40
    assert first["Category"] >= 10
    assert set(Sku.objects.values_list("delivery_type", flat=True)) == {
        "card",
        "topup",
        "manual",
    }
    out = capsys.readouterr().out
    for username in ("admin", "ops", "support", "marketing", "finance"):
        assert username in out


@pytest.mark.django_db
def test_each_demo_login_holds_its_role(client):
    call_command("seed_demo", buyers=3)
    for username, group in [
        ("ops", "运营专员"),
        ("support", "客服"),
        ("marketing", "营销"),
        ("finance", "财务"),
    ]:
        user = User.objects.get(username=username)
        assert list(user.groups.values_list("name", flat=True)) == [group]
        assert user.is_staff and not user.is_superuser
        assert client.login(username=username, password="kameng-demo")
        assert client.get("/admin/").status_code == 200


@pytest.mark.django_db
def test_demo_wallets_equal_their_ledgers():
    call_command("seed_demo", buyers=30)
    for wallet in Wallet.objects.all():
        total = sum(e.amount for e in wallet.entries.all())
        assert wallet.balance == total


@pytest.mark.django_db
def test_demo_buyers_hold_the_level_their_spend_earns():
    call_command("seed_demo", buyers=40)
    assert list(MemberLevel.objects.values_list("name", "growth_threshold")) == [
        ("青铜", Decimal("0.00")),
        ("白银", Decimal("500.00")),
        ("黄金", Decimal("1000.00")),
        ("钻石", Decimal("1600.00")),
    ]
    levels = list(MemberLevel.objects.order_by("-growth_threshold"))
    buyers = User.objects.filter(is_staff=False).select_related("stats", "member_level")
    for buyer in buyers:
        earned = next(lv for lv in levels if lv.growth_threshold <= buyer.stats.growth)
        assert buyer.member_level == earned, buyer.username
    assert BuyerStats.objects.filter(order_count__gt=0).count() == 40
