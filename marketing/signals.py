"""Receivers: what marketing learns from orders (kameng.events). One line each."""

from django.dispatch import receiver

from kameng import events
from marketing import campaigns
from marketing.services import record_category_purchase


@receiver(events.order_paid, dispatch_uid="marketing.count_category_purchase")
def count_category_purchase(sender, order_id, buyer_id=None, **kwargs):
    if buyer_id is not None and kwargs.get("category_id") is not None:
        record_category_purchase(user_id=buyer_id, category_id=kwargs["category_id"])


@receiver(events.user_registered, dispatch_uid="marketing.signup_gift")
def signup_gift(sender, user_id, **kwargs):
    campaigns.give_signup_gift(user_id=user_id)


@receiver(events.order_paid, dispatch_uid="marketing.first_order_reward")
def first_order_reward(sender, order_id, buyer_id=None, **kwargs):
    if buyer_id is not None:
        campaigns.give_first_order_reward(buyer_id=buyer_id)
