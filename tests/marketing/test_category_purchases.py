"""A paid order tells marketing its category (order_paid carries it), so a
segment can ask “bought in 话费充值”."""

from decimal import Decimal

import pytest

from marketing.models import CategoryPurchase
from marketing.segments import SegmentFilters, filtered_buyers
from orders.checkout import buy_with_wallet
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes

pytestmark = pytest.mark.django_db(transaction=True)


def test_wallet_purchase_counts_its_category():
    sku = make_sku(price=Decimal("9.80"))
    stock_codes(sku, 3)
    buyer = make_buyer(balance=Decimal("100.00"))
    other = make_buyer()
    buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    buy_with_wallet(sku=sku, quantity=1, buyer=buyer)
    bought = CategoryPurchase.objects.get(user=buyer)
    assert bought.category_id == sku.product.category_id
    assert bought.orders == 2
    found = filtered_buyers(SegmentFilters(category_ids=(sku.product.category_id,)))
    assert list(found.values_list("pk", flat=True)) == [buyer.pk]
    assert other.pk not in found.values_list("pk", flat=True)
