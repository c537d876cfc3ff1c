"""Demo points (积分) (seed_demo, from marketing.demo): the rules, a higher
earn rate for the better levels, two points-mall items and some points for
the demo buyers (earned last year, and yesterday's check-in)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Product, Sku
from marketing.models import PointsLevelRate, PointsMallItem
from marketing.points import PointsRefused, award_points, check_in, current_settings
from users.models import MemberLevel, User


def seed_points() -> None:
    rules = current_settings()
    for index, level in enumerate(
        MemberLevel.objects.filter(rank__gt=0).order_by("rank")
    ):
        PointsLevelRate.objects.get_or_create(
            level=level,
            defaults={
                "settings": rules,
                "earn_per_yuan": Decimal("1.00") + Decimal("0.50") * (index + 1),
            },
        )
    if not PointsMallItem.objects.exists():
        skus = Sku.objects.filter(
            delivery_type=Sku.DeliveryType.CARD,
            is_active=True,
            recharge_fields=[],
            product__status=Product.Status.LISTED,
        ).order_by("price", "pk")[:2]
        for sort, sku in enumerate(skus):
            PointsMallItem.objects.create(
                sku=sku, points=max(int(sku.price * 100), 100), sort=sort
            )
    now = timezone.now()
    buyers = User.objects.filter(is_staff=False).order_by("pk")[:5]
    for buyer in buyers:
        award_points(
            buyer_id=buyer.pk,
            amount=1500,
            reference="demo:welcome",
            note="演示积分",
            at=now - timedelta(days=300),
        )
        try:
            check_in(buyer=buyer, at=now - timedelta(days=1))
        except PointsRefused:
            pass  # already checked in (a second seed)
