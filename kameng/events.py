"""Cross-app signals. `orders` sends them after commit; other apps receive them.

Apps to the left of `orders` (users, catalog, marketing) never import `orders`: they
react to these signals instead. Every signal carries ids, never model instances, so a
receiver reads fresh rows in its own transaction.
"""

from django.dispatch import Signal

# kwargs: order_id, buyer_id (None for a guest), amount (Decimal), payment_method,
# category_id (the product's category: marketing counts categories bought)
order_paid = Signal()
# kwargs: order_id
order_delivered = Signal()
# kwargs: order_id, amount (Decimal refunded), buyer_id (None for a guest)
order_refunded = Signal()
# kwargs: order_id, reason
order_failed = Signal()
# kwargs: user_id
user_registered = Signal()
# kwargs: supplier_id, order_no, status, trade_no, message, call_id (duplicates too)
supplier_callback = Signal()
