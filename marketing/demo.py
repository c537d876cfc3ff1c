"""Demo segments and strategies (seed_demo): an operator's segment and two
strategies, so the pages show what they do. Members are counted by analytics'
seed, which runs after the orders are seeded, and then nightly."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Product, Sku
from marketing.coupons.demo import seed_coupons
from marketing.flash_demo import seed_flash_sales
from marketing.issuing_demo import seed_coupon_issuing
from marketing.models import GroupBuyCampaign, Segment, Strategy
from marketing.points_demo import seed_points
from marketing.referral_demo import seed_referrals
from marketing.services import ensure_builtin_segments, save_segment
from marketing.vouchers_demo import seed_vouchers_and_bonuses


def seed(ctx):
    ensure_builtin_segments()
    seed_group_buy(ctx)
    seed_flash_sales()  # flash sales (限时秒杀): one live now, one upcoming
    seed_vouchers_and_bonuses()  # vouchers (兑换券) and top-up bonuses (充值赠送)
    seed_referrals()  # referral (邀请有礼): invited friends, one held for review
    seed_points()  # points (积分): rules, level rates, the mall, demo balances
    seed_coupons()  # coupons: one template of each kind, coupons for demo buyers
    custom = Segment.objects.filter(name="大额消费买家").first()
    if custom is None:
        save_segment(
            segment=Segment(
                name="大额消费买家",
                description="累计消费 ¥500 以上",
                min_spent=Decimal("500.00"),
            )
        )
    dormant = Segment.objects.get(builtin=Segment.Builtin.DORMANT)
    new = Segment.objects.get(builtin=Segment.Builtin.NEW)
    Strategy.objects.get_or_create(
        name="沉睡买家优先服务",
        defaults={
            "segment": dormant,
            "action": Strategy.Action.PRIORITY_SUPPORT,
            "schedule": Strategy.Schedule.WEEKLY,
            "weekday": Strategy.Weekday.MONDAY,
            "lasts_days": 30,
        },
    )
    welcome, created = Strategy.objects.get_or_create(
        name="新买家推荐热门商品",
        defaults={
            "segment": new,
            "action": Strategy.Action.RECOMMEND,
            "lasts_days": 14,
        },
    )
    if created:
        welcome.products.set(
            Product.objects.filter(status=Product.Status.LISTED).order_by("pk")[:3]
        )
    # After the coupon templates: campaigns on, a redeem-code batch, birthdays.
    seed_coupon_issuing()


def seed_group_buy(ctx) -> None:
    """A group buy (拼团) on a demo card SKU: 2 buyers at 80% of the price,
    24 hours to fill, running for a month (the shop's product page offers it)."""
    if GroupBuyCampaign.objects.exists():
        return
    sku = (
        Sku.objects.filter(
            delivery_type=Sku.DeliveryType.CARD,
            is_active=True,
            product__status=Product.Status.LISTED,
            price__gte=Decimal("5.00"),
        )
        .order_by("pk")
        .first()
    )
    if sku is None:
        return
    now = timezone.now()
    GroupBuyCampaign.objects.create(
        sku=sku,
        name=f"两人拼团 · {sku.product.name}",
        group_size=2,
        group_price=(sku.price * Decimal("0.8")).quantize(Decimal("0.01")),
        hours=24,
        starts_at=now - timedelta(days=1),
        ends_at=now + timedelta(days=30),
    )
