"""Receivers: what marketing learns from orders (kameng.events). One line each."""

from django.dispatch import receiver

from kameng import events
from marketing.services import record_category_purchase


@receiver(events.order_paid, dispatch_uid="marketing.count_category_purchase")
def count_category_purchase(sender, order_id, buyer_id=None, **kwargs):
    if buyer_id is not None and kwargs.get("category_id") is not None:
        record_category_purchase(user_id=buyer_id, category_id=kwargs["category_id"])
