"""Receivers: what users learns from orders (kameng.events) and from Django's
login signals. One line each: a service call."""

from django.contrib.auth.signals import user_logged_in, user_login_failed
from django.db.models.signals import post_delete, post_save
from django.dispatch import receiver

from kameng import events
from users import levels, middleware, tracking
from users.models import MemberLevel


@receiver(events.order_paid, dispatch_uid="users.grow_on_paid")
def grow_on_paid(sender, order_id, buyer_id=None, amount=None, **kwargs):
    if buyer_id is not None and amount is not None:
        levels.record_payment(
            user_id=buyer_id,
            amount=amount,
            payment_method=kwargs.get("payment_method", ""),
        )


@receiver(post_save, sender=MemberLevel, dispatch_uid="users.levels_saved")
@receiver(post_delete, sender=MemberLevel, dispatch_uid="users.level_deleted")
def forget_levels(sender, **kwargs):
    levels.LEVELS.changed()


@receiver(events.order_refunded, dispatch_uid="users.take_back_on_refund")
def take_back_on_refund(sender, order_id, amount, buyer_id=None, **kwargs):
    if buyer_id is not None:
        levels.record_refund(user_id=buyer_id, amount=amount)


@receiver(user_logged_in, dispatch_uid="users.record_login")
def record_login(sender, request, user, **kwargs):
    if request is not None:
        tracking.record_login(
            request=request, user=user, username=user.get_username(), success=True
        )


@receiver(user_logged_in, dispatch_uid="users.start_staff_session")
def start_staff_session(sender, request, user, **kwargs):
    if request is not None and user.is_staff:
        middleware.start_staff_session(request.session)


@receiver(user_login_failed, dispatch_uid="users.record_failed_login")
def record_failed_login(sender, credentials, request=None, **kwargs):
    if request is not None:
        tracking.record_login(
            request=request,
            user=None,
            username=str(credentials.get("username", "")),
            success=False,
        )
