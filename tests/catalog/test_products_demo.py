"""The demo's top-ups ask for what they credit: a phone number, a game role and its
server, a QQ number; the shop refuses them without it."""

import random
from decimal import Decimal

import pytest
from django.core.management import call_command

from catalog.demo import products
from catalog.demo.products import sample_account
from catalog.models import Sku
from catalog.recharge import validate_recharge_fields
from kameng.demo import DemoContext
from orders.checkout import place_order
from orders.models import Order
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def demo():
    """The demo catalog alone, as seed_demo lays it down."""
    products.seed(DemoContext(buyers=0))


def keys(code: str) -> list[str]:
    return [field["key"] for field in Sku.objects.get(code=code).recharge_fields]


def test_every_demo_top_up_asks_for_the_account_it_credits(demo):
    top_ups = Sku.objects.filter(delivery_type=Sku.DeliveryType.TOPUP)
    assert top_ups.count() >= 6
    assert [sku.code for sku in top_ups if sku.lacks_recharge_account()] == []
    assert keys("CM-50") == keys("CU-100") == ["phone"]
    assert keys("WZ-60") == ["role_id", "server"]
    assert keys("QD-10") == ["qq"]


def test_the_demo_orders_carry_accounts_their_sku_accepts(settings):
    settings.DEBUG = True  # seed_demo is for a development machine
    call_command("seed_demo", buyers=3)
    assert [
        sku.code
        for sku in Sku.objects.filter(delivery_type=Sku.DeliveryType.TOPUP)
        if sku.lacks_recharge_account()
    ] == []
    rng = random.Random(7)
    for sku in Sku.objects.filter(delivery_type=Sku.DeliveryType.TOPUP):
        account = sample_account(sku, rng)
        assert validate_recharge_fields(sku=sku, data=account) == account
    orders = Order.objects.filter(sku__delivery_type=Sku.DeliveryType.TOPUP)
    assert orders.exists()
    for order in orders.select_related("sku")[:50]:
        assert validate_recharge_fields(sku=order.sku, data=order.recharge_account)


def test_the_shop_asks_for_the_phone_number_of_a_phone_top_up(demo, client):
    sku = Sku.objects.get(code="CM-50")
    buyer = make_buyer(Decimal("100.00"))
    client.force_login(buyer)
    url = f"/shop/p/{sku.product_id}/?sku={sku.pk}"
    page = client.get(url)
    assert 'name="account_phone"' in page.content.decode()
    for phone in ("", "12345"):
        page = client.post(
            url,
            {
                "sku": sku.pk,
                "quantity": "1",
                "payment": "wallet",
                "account_phone": phone,
            },
        )
        assert page.status_code == 200
        assert page.context["form"].errors["account_phone"]
    assert not Order.objects.filter(buyer=buyer).exists()
    order = place_order(
        sku=sku,
        quantity=1,
        buyer=make_buyer(),
        recharge_account={"phone": "138 0013 8000"},
    )
    assert order.recharge_account == {"phone": "13800138000"}


def test_a_re_run_gives_an_old_demo_top_up_its_fields_and_keeps_edited_ones(demo):
    Sku.objects.filter(code="CM-50").update(recharge_fields=[])
    edited = [{"key": "mobile", "label": "手机", "rule": "phone", "required": True}]
    Sku.objects.filter(code="CU-50").update(recharge_fields=edited)
    context = DemoContext(buyers=0)
    products.seed(context)
    assert "1 top-ups given their recharge fields" in context.log[-1]
    assert keys("CM-50") == ["phone"]
    assert Sku.objects.get(code="CU-50").recharge_fields == edited
