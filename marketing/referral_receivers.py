"""Referral's receivers: an invited buyer's first paid order (kameng.events)."""

from django.dispatch import receiver

from kameng import events
from marketing.referral import note_paid_order


@receiver(events.order_paid, dispatch_uid="marketing.referral_first_order")
def reward_first_order(sender, order_id, buyer_id=None, amount=None, **kwargs):
    note_paid_order(buyer_id=buyer_id, order_id=order_id, amount=amount)
