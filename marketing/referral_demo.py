"""Demo referral (seed_demo, from marketing.demo): rewards configured, one
buyer who invited a few friends (paid), and one suspicious sign-up waiting in
the review queue. Idempotent: a friend already invited is left alone."""

from decimal import Decimal

from marketing.models import Referral, ReferralSettings
from marketing.referral import code_for, record_referral
from users.models import User

DEMO_INVITER = "buyer0001"
DEMO_FRIENDS = ("buyer0002", "buyer0003", "buyer0004", "buyer0005")
DEMO_HELD = "buyer0006"  # signs up from the inviter's own address: held
INVITER_ADDRESS = "203.0.113.10"


def seed_referrals() -> int:
    ReferralSettings.objects.get_or_create(
        pk=1,
        defaults={
            "signup_inviter_kind": "wallet",
            "signup_inviter_amount": Decimal("5.00"),
            "signup_invitee_kind": "wallet",
            "signup_invitee_amount": Decimal("3.00"),
            "first_order_inviter_kind": "wallet",
            "first_order_inviter_amount": Decimal("10.00"),
            "first_order_min_amount": Decimal("10.00"),
        },
    )
    inviter = User.objects.filter(username=DEMO_INVITER).first()
    if inviter is None:
        return 0
    code = code_for(
        user=inviter, device_id="demo-inviter-device-0001", ip=INVITER_ADDRESS
    ).code
    made = 0
    for n, username in enumerate((*DEMO_FRIENDS, DEMO_HELD), start=1):
        friend = User.objects.filter(username=username).first()
        if friend is None or Referral.objects.filter(invitee=friend).exists():
            continue
        held = username == DEMO_HELD
        record_referral(
            code=code,
            invitee=friend,
            ip=INVITER_ADDRESS if held else f"198.51.100.{n}",
            device_id=f"demo-friend-device-{n:04d}",
        )
        made += 1
    return made
