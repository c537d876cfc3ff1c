"""Receivers: what marketing learns from orders (kameng.events). One line each."""

from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kameng import events
from marketing import campaigns
from marketing.models import CouponCampaign, CouponTemplate
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


@receiver(post_save, sender=CouponCampaign, dispatch_uid="marketing.campaign_saved")
@receiver(post_delete, sender=CouponCampaign, dispatch_uid="marketing.campaign_gone")
@receiver(post_save, sender=CouponTemplate, dispatch_uid="marketing.template_saved")
@receiver(post_delete, sender=CouponTemplate, dispatch_uid="marketing.template_gone")
def forget_campaigns(sender, **kwargs):
    campaigns.campaigns_changed()
