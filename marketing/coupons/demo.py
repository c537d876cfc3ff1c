"""Demo coupons (seed_demo): one template of each kind and a few coupons in the
first demo buyers' hands, so the shop's 我的优惠券, the product page's coupon
<select> and the report show something. Re-seeding issues nothing twice (the
issue keys)."""

from datetime import timedelta
from decimal import Decimal

from django.utils import timezone

from catalog.models import Category
from marketing.coupons.issue import issue_coupons
from marketing.models import Coupon, CouponTemplate
from users.models import User

D = Decimal


def demo_templates() -> list[CouponTemplate]:
    now = timezone.now()
    rows = [
        {
            "name": "满50减10",
            "kind": CouponTemplate.Kind.AMOUNT_OFF,
            "amount": D("10.00"),
            "threshold": D("50.00"),
            "valid_days": 30,
            "per_buyer_limit": 2,
            "stacks_with_member_price": True,
            "return_on_refund": True,
        },
        {
            "name": "全场9折（最多减20）",
            "kind": CouponTemplate.Kind.PERCENT_OFF,
            "percent": D("10"),
            "cap": D("20.00"),
            "valid_from": now - timedelta(days=1),
            "valid_until": now + timedelta(days=60),
            "total_quantity": 1000,
            "stacks_with_member_price": False,
        },
        {
            "name": "无门槛减3元",
            "kind": CouponTemplate.Kind.NO_THRESHOLD,
            "amount": D("3.00"),
            "valid_days": 7,
            "stacks_with_member_price": True,
            "stacks_with_flash_sale": True,
        },
    ]
    templates = []
    for row in rows:
        template, _created = CouponTemplate.objects.get_or_create(
            name=row.pop("name"), defaults=row
        )
        templates.append(template)
    category = Category.objects.filter(parent=None).order_by("sort_order", "pk").first()
    scoped, created = CouponTemplate.objects.get_or_create(
        name="分类专享满30减5",
        defaults={
            "kind": CouponTemplate.Kind.AMOUNT_OFF,
            "amount": D("5.00"),
            "threshold": D("30.00"),
            "valid_days": 30,
            "scope": CouponTemplate.Scope.CATEGORIES,
        },
    )
    if created and category is not None:
        scoped.categories.set([category])
    return [*templates, scoped]


def seed_coupons() -> None:
    templates = demo_templates()
    buyers = list(
        User.objects.filter(is_staff=False, username__startswith="buyer")
        .order_by("pk")
        .values_list("pk", flat=True)[:30]
    )
    for template in templates:
        issue_coupons(
            template=template,
            user_ids=buyers,
            source=Coupon.Source.MANUAL,
            issue_key="demo",
        )
