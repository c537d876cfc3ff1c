from decimal import Decimal

from django.contrib.auth.hashers import make_password
from django.contrib.auth.models import Group
from django.utils.translation import gettext

from users.models import MemberLevel, User, Wallet
from users.roles import ROLES
from users.services import credit_wallet

DEMO_PASSWORD = "kameng-demo"
STAFF = {
    "superadmin": ("admin", "管理员"),
    "operations": ("ops", "运营小王"),
    "support": ("support", "客服小李"),
    "marketing": ("marketing", "营销小张"),
    "finance": ("finance", "财务小赵"),
}
# code, name, rank, growth threshold, badge colour, priority support, birthday
# gift, monthly coupon, fastest supplier. Codes are those catalog's demo prices by.
LEVELS = [
    ("normal", "青铜", 0, "0.00", "#b08d57", False, False, False, False),
    ("silver", "白银", 10, "500.00", "#9ca3af", False, True, False, False),
    ("gold", "黄金", 20, "1000.00", "#d4a017", True, True, True, False),
    ("vip", "钻石", 30, "1600.00", "#38bdf8", True, True, True, True),
]
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何高林罗"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂"


def seed_levels() -> int:
    """The four demo levels, as LEVELS says (re-seeding restores them)."""
    for code, name, rank, threshold, colour, support, gift, coupon, fastest in LEVELS:
        MemberLevel.objects.update_or_create(
            code=code,
            defaults={
                "name": name,
                "rank": rank,
                "growth_threshold": Decimal(threshold),
                "badge_text": name,
                "badge_colour": colour,
                "priority_support": support,
                "birthday_gift": gift,
                "monthly_coupon": coupon,
                "prefers_fastest_supplier": fastest,
            },
        )
    return len(LEVELS)


def seed(ctx):
    seed_levels()
    for role in ROLES:
        username, nickname = STAFF[role.code]
        user, created = User.objects.get_or_create(
            username=username,
            defaults={
                "nickname": nickname,
                "is_staff": True,
                "is_superuser": role.code == "superadmin",
                "email": f"{username}@kameng.example",
            },
        )
        if created:
            user.set_password(DEMO_PASSWORD)
            user.save(update_fields=["password"])
        user.groups.add(Group.objects.get(name=role.group_name))
        ctx.logins.append((username, DEMO_PASSWORD, role.group_name))

    # Buyers share one password hash: hashing 300 passwords would take a minute.
    password = make_password(DEMO_PASSWORD)
    existing = set(
        User.objects.filter(username__startswith="buyer").values_list(
            "username", flat=True
        )
    )
    new = []
    for n in range(1, ctx.buyers + 1):
        username = f"buyer{n:04d}"
        if username in existing:
            continue
        name = ctx.rng.choice(SURNAMES) + ctx.rng.choice(GIVEN)
        new.append(
            User(
                username=username,
                nickname=name,
                phone=f"1{ctx.rng.choice('3578')}{ctx.rng.randrange(10**9):09d}",
                email=f"{username}@buyers.example",
                password=password,
            )
        )
    User.objects.bulk_create(new, batch_size=500)
    for user in User.objects.filter(username__in=[u.username for u in new]):
        Wallet.objects.create(user=user)
        amount = Decimal(ctx.rng.choice([0, 0, 20, 50, 100, 200, 500]))
        if amount:
            credit_wallet(
                user=user,
                amount=amount.quantize(Decimal("0.01")),
                kind="topup",
                reference="demo",
                note=gettext("Demo top-up"),
            )
    ctx.say(f"users: {len(new)} buyers created, {len(existing)} already there")
