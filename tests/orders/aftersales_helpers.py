"""After-sales test data: delivered orders reached through the real checkout."""

from decimal import Decimal

from orders.checkout import buy_with_wallet
from orders.models import Order
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import LedgerEntry
from users.services import credit_wallet


def delivered_card_order(
    price: Decimal = Decimal("50.00"), quantity: int = 2, buyer=None
) -> Order:
    """A buyer bought `quantity` card codes with their balance: delivered."""
    sku = make_sku(price=price, max_quantity=10)
    stock_codes(sku, quantity)
    if buyer is None:
        buyer = make_buyer(price * quantity, password="x-test-password")
    else:
        credit_wallet(user=buyer, amount=price * quantity, kind=LedgerEntry.Kind.TOPUP)
    return buy_with_wallet(sku=sku, quantity=quantity, buyer=buyer)
