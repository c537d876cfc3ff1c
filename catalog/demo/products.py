"""Demo catalog: categories, products and SKUs. Every top-up SKU asks for the
account it credits (RECHARGE_FIELDS); a re-run gives those fields to a demo SKU
that lacks them (an older demo database), and leaves any other SKU alone."""

from decimal import Decimal

from catalog.models import Category, Product, Sku

D = Decimal
CARD, TOPUP, MANUAL = (
    Sku.DeliveryType.CARD,
    Sku.DeliveryType.TOPUP,
    Sku.DeliveryType.MANUAL,
)

# category path -> products -> (sku code, spec, face value, delivery, price, cost)
TREE = {
    ("游戏点卡", "腾讯"): {
        "Q币直充卡": [
            ("QB-10", "10 Q币", D("10"), CARD, D("9.80"), D("9.30")),
            ("QB-30", "30 Q币", D("30"), CARD, D("29.40"), D("27.90")),
            ("QB-100", "100 Q币", D("100"), CARD, D("97.00"), D("93.00")),
        ],
        "王者荣耀点券": [
            ("WZ-60", "60 点券", D("6"), TOPUP, D("5.90"), D("5.60")),
            ("WZ-300", "300 点券", D("30"), TOPUP, D("29.50"), D("28.20")),
        ],
        "Q币直充": [
            ("QD-10", "10 Q币", D("10"), TOPUP, D("9.90"), D("9.60")),
            ("QD-50", "50 Q币", D("50"), TOPUP, D("49.50"), D("48.20")),
        ],
    },
    ("游戏点卡", "网易"): {
        "网易一卡通": [
            ("NE-15", "15 元", D("15"), CARD, D("14.60"), D("13.90")),
            ("NE-50", "50 元", D("50"), CARD, D("48.50"), D("46.50")),
        ],
    },
    ("游戏点卡", "Steam"): {
        "Steam 钱包充值卡": [
            ("ST-50", "¥50", D("50"), CARD, D("49.00"), D("46.00")),
            ("ST-100", "¥100", D("100"), CARD, D("97.50"), D("92.00")),
        ],
    },
    ("话费充值", "中国移动"): {
        "移动话费快充": [
            ("CM-50", "50 元", D("50"), TOPUP, D("49.60"), D("48.90")),
            ("CM-100", "100 元", D("100"), TOPUP, D("99.00"), D("97.80")),
        ],
    },
    ("话费充值", "中国联通"): {
        "联通话费快充": [
            ("CU-50", "50 元", D("50"), TOPUP, D("49.70"), D("49.00")),
            ("CU-100", "100 元", D("100"), TOPUP, D("99.20"), D("98.00")),
        ],
    },
    ("视频会员", "爱奇艺"): {
        "爱奇艺黄金会员": [
            ("IQ-M1", "月卡", None, CARD, D("19.80"), D("15.00")),
            ("IQ-Y1", "年卡", None, MANUAL, D("168.00"), D("140.00")),
        ],
    },
    ("视频会员", "腾讯视频"): {
        "腾讯视频 VIP": [
            ("TX-M1", "月卡", None, CARD, D("20.00"), D("16.00")),
            ("TX-Q1", "季卡", None, MANUAL, D("58.00"), D("49.00")),
        ],
    },
}
PHONE = [{"key": "phone", "label": "手机号码", "rule": "phone", "required": True}]
# What each top-up product credits: a phone number, a game role and its server,
# a QQ number.
RECHARGE_FIELDS = {
    "王者荣耀点券": [
        {"key": "role_id", "label": "游戏角色 ID", "rule": "game_id", "required": True},
        {
            "key": "server",
            "label": "大区（如 安卓QQ区）",
            "rule": "regex:(安卓|苹果)(QQ|微信)区",
            "required": True,
        },
    ],
    "Q币直充": [{"key": "qq", "label": "QQ 号码", "rule": "qq", "required": True}],
    "移动话费快充": PHONE,
    "联通话费快充": PHONE,
}
SAMPLE_SERVERS = ("安卓QQ区", "安卓微信区", "苹果QQ区", "苹果微信区")


def sample_account(sku: Sku, rng) -> dict:
    """A plausible account for an order of a demo top-up SKU, valid for its
    recharge fields; {} for any other SKU."""
    makers = {
        "phone": lambda: f"1{rng.choice('3589')}{rng.randrange(10**9):09d}",
        "qq": lambda: str(rng.randrange(10**5, 10**10)),
        "role_id": lambda: f"player_{rng.randrange(10**6):06d}",
        "server": lambda: rng.choice(SAMPLE_SERVERS),
    }
    return {
        field["key"]: makers[field["key"]]()
        for field in sku.recharge_fields or []
        if field.get("key") in makers
    }


SLUGS = {
    "游戏点卡": "game-cards",
    "腾讯": "tencent",
    "网易": "netease",
    "Steam": "steam",
    "话费充值": "phone-credit",
    "中国移动": "china-mobile",
    "中国联通": "china-unicom",
    "视频会员": "video-vip",
    "爱奇艺": "iqiyi",
    "腾讯视频": "tencent-video",
}


def seed(ctx):
    created = fixed = 0
    for order, ((top, sub), products) in enumerate(TREE.items()):
        root, _ = Category.objects.get_or_create(
            parent=None, name=top, defaults={"slug": SLUGS[top]}
        )
        child, _ = Category.objects.get_or_create(
            parent=root,
            name=sub,
            defaults={"slug": f"{SLUGS[top]}-{SLUGS[sub]}", "sort_order": order},
        )
        for product_name, skus in products.items():
            product, _ = Product.objects.get_or_create(
                category=child,
                name=product_name,
                defaults={
                    "status": Product.Status.LISTED,
                    "description": f"{product_name}，秒到账。",
                },
            )
            fields = RECHARGE_FIELDS.get(product_name, [])
            for code, spec, face, delivery, price, cost in skus:
                sku, was_created = Sku.objects.get_or_create(
                    code=code,
                    defaults={
                        "product": product,
                        "name": spec,
                        "face_value": face,
                        "delivery_type": delivery,
                        "stock_mode": {
                            CARD: Sku.StockMode.CODES,
                            TOPUP: Sku.StockMode.UNLIMITED,
                            MANUAL: Sku.StockMode.COUNTER,
                        }[delivery],
                        "stock": 20 if delivery == MANUAL else 0,
                        "price": price,
                        "cost_price": cost,
                        "recharge_fields": fields,
                    },
                )
                created += was_created
                if fields and sku.lacks_recharge_account():
                    sku.recharge_fields = fields
                    sku.save(update_fields=["recharge_fields"])
                    fixed += 1
    existing = Sku.objects.count() - created
    ctx.say(
        f"catalog: {created} SKUs created, {existing} already there, "
        f"{fixed} top-ups given their recharge fields"
    )
