"""Demo data: 90 days of order history for the demo buyers, so the back office
looks like a shop that has been running for months.

Written in bulk (a few thousand orders in seconds) but by the shop's own rules:
every purchase and refund is a ledger row and each wallet equals its ledger; card
orders own sold codes; the SKU daily-sales rollup is filled from these orders.
Idempotent: it does nothing when the demo buyers already have orders.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from datetime import timedelta
from decimal import Decimal

from django.db import transaction
from django.db.models import Count, F, Max, Q, Sum
from django.utils import timezone

from catalog.demo.products import sample_account
from catalog.models import CardBatch, CardCode, Sku, SkuSalesDay
from kameng import crypto
from orders.aftersales import open_buyer_ticket
from orders.models import CannedReply, Order, OrderEvent, Ticket
from orders.replies import render_reply, reply_on_ticket
from users.levels import BuyerFigures, recompute_buyer_stats
from users.models import LedgerEntry, User, Wallet

DAYS = 90
S = Order.Status


def _path(delivery_type: str, rng) -> list[str]:
    """The statuses one demo order went through."""
    roll = rng.random()
    if roll < 0.04:
        return [S.PENDING_PAYMENT, S.CANCELLED]
    if delivery_type == Sku.DeliveryType.TOPUP:
        if roll < 0.07:
            return [S.PENDING_PAYMENT, S.PAID, S.DELIVERING, S.FAILED, S.REFUNDED]
        return [S.PENDING_PAYMENT, S.PAID, S.DELIVERING, S.DELIVERED]
    if roll < 0.06:
        return [S.PENDING_PAYMENT, S.PAID, S.DELIVERED, S.AFTER_SALES, S.REFUNDED]
    return [S.PENDING_PAYMENT, S.PAID, S.DELIVERED]


@transaction.atomic
def seed(ctx):
    buyers = list(
        User.objects.filter(username__startswith="buyer", is_staff=False).order_by("id")
    )
    if not buyers or Order.objects.filter(buyer__in=buyers).exists():
        ctx.say("orders: demo history already there" if buyers else "orders: no buyers")
        _growth(buyers, ctx)
        seed_support(ctx)
        return
    skus = list(Sku.objects.filter(is_active=True).select_related("product"))
    if not skus:
        return
    rng = ctx.rng
    now = timezone.now()
    weights = [rng.randint(1, 10) for _ in skus]
    orders, paths = [], []
    for day in range(DAYS, -1, -1):
        base = now - timedelta(days=day)
        weekend = 1.5 if base.weekday() >= 5 else 1.0
        for _ in range(round(rng.randint(25, 45) * weekend)):
            sku = rng.choices(skus, weights)[0]
            buyer = rng.choice(buyers)
            quantity = rng.choice([1, 1, 1, 1, 2, 3])
            at = base.replace(
                hour=rng.choice([9, 10, 11, 12, 13, 14, 19, 20, 21, 22, 23]),
                minute=rng.randrange(60),
            )
            if at > now:
                at = now - timedelta(minutes=rng.randrange(1, 120))
            path = _path(sku.delivery_type, rng)
            amount = sku.price * quantity
            orders.append(
                Order(
                    order_no=f"{timezone.localtime(at):%y%m%d}{rng.randrange(10**8):08d}",
                    buyer=buyer,
                    sku=sku,
                    quantity=quantity,
                    unit_price=sku.price,
                    amount=amount,
                    refunded_amount=amount if path[-1] == S.REFUNDED else Decimal(0),
                    price_breakdown={
                        "unit_price": str(sku.price),
                        "total": str(amount),
                        "layers": [{"code": "base", "unit_price": str(sku.price)}],
                    },
                    recharge_account=sample_account(sku, rng),
                    status=path[-1],
                    payment_method=Order.PaymentMethod.WALLET if len(path) > 2 else "",
                    flag=Order.Flag.SUPPLIER_FAILURE if S.FAILED in path else "",
                    paid_at=at + timedelta(seconds=20) if len(path) > 2 else None,
                    delivered_at=at + timedelta(seconds=25)
                    if S.DELIVERED in path
                    else None,
                )
            )
            paths.append((path, at))
    # Order numbers are random: drop the rare clash rather than fail.
    unique = {}
    for order, path in zip(orders, paths, strict=True):
        unique.setdefault(order.order_no, (order, path))
    orders = [o for o, _p in unique.values()]
    paths = [p for _o, p in unique.values()]
    Order.objects.bulk_create(orders, batch_size=1000)
    for order, path in zip(orders, paths, strict=True):
        order.created_at = path[1]
    Order.objects.bulk_update(orders, ["created_at"], batch_size=1000)

    events = [
        OrderEvent(order=order, from_status=src, to_status=dst, reason="demo")
        for order, (path, _at) in zip(orders, paths, strict=True)
        for src, dst in zip(path, path[1:], strict=False)
    ]
    OrderEvent.objects.bulk_create(events, batch_size=2000)
    _ledger(orders, paths, now)
    _codes(orders, paths, ctx)
    _sales(orders, paths)
    ctx.say(f"orders: {len(orders)} orders over the last {DAYS} days")
    _growth(buyers, ctx)
    seed_support(ctx)


def _growth(buyers, ctx) -> None:
    """The demo buyers' spend, growth and member level from this history (the
    shop's receivers of order_paid do the same one order at a time)."""
    rows = (
        Order.objects.filter(buyer__in=buyers, paid_at__isnull=False)
        .values("buyer_id")
        .annotate(
            spent=Sum(F("amount") - F("refunded_amount")),
            n=Count("id"),
            last=Max("paid_at"),
            wallet=Count("id", filter=Q(payment_method=Order.PaymentMethod.WALLET)),
            gateway=Count("id", filter=Q(payment_method=Order.PaymentMethod.GATEWAY)),
        )
        .order_by()
    )
    figures = {
        row["buyer_id"]: BuyerFigures(
            total_spent=row["spent"],
            order_count=row["n"],
            last_order_at=row["last"],
            wallet_payments=row["wallet"],
            gateway_payments=row["gateway"],
        )
        for row in rows
    }
    changed = recompute_buyer_stats(figures=figures)
    ctx.say(f"orders: growth of {len(figures)} buyers, {changed} levels changed")


def _ledger(orders, paths, now) -> None:
    """A top-up before the history starts, then one row per purchase and refund,
    in time order, so every balance_after is right and balance == ledger."""
    per_wallet = defaultdict(list)
    for order, (path, at) in zip(orders, paths, strict=True):
        if S.PAID not in path:
            continue
        per_wallet[order.buyer_id].append((at, -order.amount, "purchase", order))
        if path[-1] == S.REFUNDED:
            per_wallet[order.buyer_id].append(
                (at + timedelta(minutes=5), order.amount, "refund", order)
            )
    wallets = {w.user_id: w for w in Wallet.objects.filter(user_id__in=per_wallet)}
    rows, final = [], {}
    for user_id, moves in per_wallet.items():
        wallet = wallets.get(user_id) or Wallet.objects.create(user_id=user_id)
        spent = -sum(amount for _at, amount, _k, _o in moves if amount < 0)
        balance = wallet.balance
        start = now - timedelta(days=DAYS + 1)
        rows.append(
            LedgerEntry(
                wallet=wallet,
                amount=spent,
                balance_after=balance + spent,
                kind=LedgerEntry.Kind.TOPUP,
                reference="demo-topup",
                created_at=start,
            )
        )
        balance += spent
        for at, amount, kind, order in sorted(moves, key=lambda m: m[0]):
            balance += amount
            rows.append(
                LedgerEntry(
                    wallet=wallet,
                    amount=amount,
                    balance_after=balance,
                    kind=kind,
                    reference=order.order_no,
                    created_at=at,
                )
            )
        final[wallet.pk] = balance
    stamps = [row.created_at for row in rows]
    LedgerEntry.objects.bulk_create(rows, batch_size=2000)  # auto_now_add wins here
    for row, stamp in zip(rows, stamps, strict=True):
        row.created_at = stamp
    LedgerEntry.objects.bulk_update(rows, ["created_at"], batch_size=2000)
    for wallet_id, balance in final.items():
        Wallet.objects.filter(pk=wallet_id).update(balance=balance)


def _codes(orders, paths, ctx) -> None:
    """Sold codes for the delivered card orders (the buyer's order page shows
    them), in one demo batch per SKU."""
    batches, codes = {}, []
    for order, (path, at) in zip(orders, paths, strict=True):
        if order.sku.delivery_type != Sku.DeliveryType.CARD or S.DELIVERED not in path:
            continue
        if order.sku_id not in batches:
            batches[order.sku_id] = CardBatch.objects.create(
                sku=order.sku,
                file_name="demo-history.txt",
                file_format="txt",
                status=CardBatch.Status.DONE,
                total_rows=0,
            )
        ids = []
        for n in range(order.quantity):
            text = (
                f"{order.sku.code}-{order.order_no}-{n}-{ctx.rng.randrange(10**6):06d}"
            )
            codes.append(
                CardCode(
                    sku=order.sku,
                    batch=batches[order.sku_id],
                    secret=crypto.encrypt(text),
                    code_hash=crypto.code_hash(text),
                    key_version=crypto.current_key_version(),
                    hint=crypto.mask(text),
                    status=CardCode.Status.SOLD,
                    order_ref=order.order_no,
                    sold_at=at + timedelta(seconds=20),
                )
            )
            ids.append(len(codes) - 1)
        order.delivery = {"code_index": ids}
    created = CardCode.objects.bulk_create(codes, batch_size=1000)
    changed = []
    for order in orders:
        if "code_index" in order.delivery:
            order.delivery = {
                "code_ids": [created[i].pk for i in order.delivery["code_index"]]
            }
            changed.append(order)
    Order.objects.bulk_update(changed, ["delivery"], batch_size=1000)
    for sku_id, batch in batches.items():
        count = sum(1 for c in codes if c.sku_id == sku_id)
        CardBatch.objects.filter(pk=batch.pk).update(
            total_rows=count, processed_rows=count, imported=count
        )


def _sales(orders, paths) -> None:
    units = Counter()
    for order, (path, at) in zip(orders, paths, strict=True):
        if S.PAID in path:
            units[(order.sku_id, timezone.localdate(at))] += order.quantity
    existing = {
        (row.sku_id, row.day): row
        for row in SkuSalesDay.objects.filter(sku_id__in={k[0] for k in units})
    }
    new = []
    for (sku_id, day), quantity in units.items():
        if (sku_id, day) in existing:
            SkuSalesDay.objects.filter(pk=existing[(sku_id, day)].pk).update(
                quantity=F("quantity") + quantity
            )
        else:
            new.append(SkuSalesDay(sku_id=sku_id, day=day, quantity=quantity))
    SkuSalesDay.objects.bulk_create(new, batch_size=1000)


# After-sales demo: canned replies and resolved tickets (support slice) ---------

# (title, keywords, text): what a shop's support desk answers every day.
DEMO_REPLIES = [
    (
        "充值未到账",
        "没到账 未到账 到账慢 延迟 话费 流量 充值 运营商",
        "{买家} 您好，订单 {订单号}（{商品}）的充值已提交给运营商，通常 10 分钟内"
        "到账，高峰期可能延迟至 2 小时，请以运营商短信为准。超过 2 小时仍未到账，"
        "我们核实后会为您退款到钱包余额。",
    ),
    (
        "充值失败已退回余额",
        "失败 退回 余额 钱去哪 退到哪 没充上 扣钱",
        "{买家} 您好，订单 {订单号} 的充值未成功，款项已全额退回您的钱包余额，"
        "可在“我的钱包”中查看，并可直接用于下次购买。",
    ),
    (
        "卡密无效，核实后补发",
        "卡密 无效 已被使用 错误 激活失败 提示 用不了 不能用",
        "{买家} 您好，订单 {订单号}（{商品}）的卡密我们已向发卡方核实，将为您补发"
        "新卡密。新卡密显示在订单页面，原卡密随即作废。",
    ),
    (
        "卡密使用方法",
        "如何使用 怎么用 兑换 激活 在哪里输入 使用方法 教程",
        "{买家} 您好，请登录 {商品} 对应的平台，在“兑换/激活”页面依次输入卡号和"
        "密码即可。订单 {订单号} 的卡密在订单页面可以复制。",
    ),
    (
        "重复扣款",
        "扣了两次 重复 多扣 扣款 两笔 付了两次 重复支付",
        "{买家} 您好，我们已核实订单 {订单号} 的付款记录。确有重复扣款的，多扣的"
        "金额会在 1-3 个工作日内原路退回，请留意银行或支付平台通知。",
    ),
    (
        "发票申请",
        "发票 开票 报销 税号 抬头 增值税 电子发票",
        "{买家} 您好，订单完成后可以开具电子发票。请回复发票抬头和税号，我们会在"
        "三个工作日内把订单 {订单号} 的发票发送到您的邮箱。",
    ),
    (
        "充值账号填错",
        "填错 账号错误 充错 号码错 写错 手机号错",
        "{买家} 您好，订单 {订单号} 如尚未提交给供货商，我们会为您取消并退款；"
        "已经充入错误账号的，运营商无法追回，敬请谅解。",
    ),
    (
        "退款进度",
        "退款 多久 进度 什么时候到 到账时间 退款没收到",
        "{买家} 您好，订单 {订单号} 的退款已经提交：退回钱包余额的即时到账，"
        "原路退回的需要 1-7 个工作日，以银行处理为准。",
    ),
    (
        "会员开通未生效",
        "会员 视频 没生效 VIP 开通 爱奇艺 腾讯 优酷 未开通",
        "{买家} 您好，{商品} 充值成功后请退出账号重新登录。如果仍未生效，请回复"
        "会员页面截图，我们会联系供货商为您处理。",
    ),
    (
        "人工发货时间",
        "人工 发货 多久 什么时候发 等待 还没发货 没收到",
        "{买家} 您好，人工发货商品在 9:00-23:00 一般 30 分钟内处理，订单 {订单号}"
        " 已在处理队列中，发货后订单页面会显示发货内容。",
    ),
    (
        "买错了想取消",
        "取消 不要了 买错 撤销 退货 拍错",
        "{买家} 您好，未付款订单 15 分钟后会自动取消。卡密类商品一经发放不支持"
        "无理由退款；如卡密尚未查看，请回复说明，我们核实后为您处理。",
    ),
    (
        "投诉处理",
        "投诉 态度 不满意 差评 太慢 没人理",
        "{买家} 您好，非常抱歉给您带来不好的体验。您的反馈已转交客服主管，"
        "我们会在 24 小时内回复处理结果。",
    ),
]
# (reply title, ticket type, delivery type or "" for any, what the buyer wrote)
DEMO_QUESTIONS = [
    ("充值未到账", "refund", "topup", "话费充值已经一个小时了还没到账，怎么回事？"),
    ("充值未到账", "inquiry", "topup", "流量包显示充值成功，可是手机里没看到流量"),
    ("充值未到账", "complaint", "topup", "说好的快充，等半天话费还没到，也没短信"),
    ("充值未到账", "refund", "topup", "充了100块话费一直没有到账，麻烦查一下"),
    ("充值未到账", "inquiry", "topup", "请问充值一般多久能到？我的还没到账"),
    ("充值失败已退回余额", "inquiry", "topup", "订单显示充值失败，钱退到哪里去了？"),
    ("充值失败已退回余额", "refund", "topup", "充值失败了，钱被扣了却没充上，怎么退？"),
    ("充值失败已退回余额", "inquiry", "topup", "失败的订单退款是退回余额吗？在哪里看"),
    ("充值失败已退回余额", "complaint", "topup", "没充上还扣了钱，余额里也找不到"),
    ("卡密无效，核实后补发", "reissue", "card", "卡密输入后提示已被使用，请补发一张"),
    ("卡密无效，核实后补发", "reissue", "card", "游戏点卡提示卡号或密码错误，激活失败"),
    ("卡密无效，核实后补发", "refund", "card", "买的卡密根本用不了，提示无效"),
    ("卡密无效，核实后补发", "complaint", "card", "第二张卡密不能用，显示已被别人使用"),
    ("卡密无效，核实后补发", "reissue", "card", "充值卡提示卡密无效，麻烦核实补发"),
    ("卡密使用方法", "inquiry", "card", "买到的卡密怎么用？在哪里输入？"),
    ("卡密使用方法", "inquiry", "card", "兑换码在游戏里哪个页面兑换"),
    ("卡密使用方法", "inquiry", "card", "第一次买，不知道怎么激活，有教程吗"),
    ("卡密使用方法", "inquiry", "card", "这个点卡要怎么充进游戏账号"),
    ("重复扣款", "refund", "", "付款的时候银行卡被扣了两次钱"),
    ("重复扣款", "refund", "", "同一个订单支付宝扣了两笔，请退回多扣的"),
    ("重复扣款", "complaint", "", "我只买了一次，为什么重复扣款？"),
    ("重复扣款", "refund", "", "网络卡了一下，结果付了两次钱"),
    ("发票申请", "inquiry", "", "公司报销需要开增值税电子发票，怎么申请"),
    ("发票申请", "inquiry", "", "可以开发票吗？抬头和税号发给谁"),
    ("发票申请", "inquiry", "", "上个月的订单还能补开发票吗"),
    ("发票申请", "inquiry", "", "报销要发票，麻烦开一张"),
    ("充值账号填错", "refund", "topup", "手机号填错了一位，能不能取消重新充"),
    ("充值账号填错", "inquiry", "topup", "不小心充错了号码，钱还能退吗"),
    ("充值账号填错", "refund", "topup", "游戏ID写错了，请帮忙撤销这单"),
    ("退款进度", "inquiry", "", "申请的退款什么时候到账？"),
    ("退款进度", "inquiry", "", "退款提交三天了还没收到，进度怎么样了"),
    ("退款进度", "inquiry", "", "退款是退到银行卡还是余额？多久能到"),
    ("会员开通未生效", "inquiry", "topup", "视频会员充值成功了但是账号还不是VIP"),
    ("会员开通未生效", "complaint", "topup", "买的爱奇艺会员没生效，看不了会员剧"),
    ("会员开通未生效", "inquiry", "topup", "腾讯视频会员显示开通成功，登录后没有会员"),
    ("人工发货时间", "inquiry", "manual", "下单半小时了还没发货，人工发货要多久"),
    ("人工发货时间", "complaint", "manual", "等了一晚上都没发货，什么时候发"),
    ("人工发货时间", "inquiry", "manual", "人工发货的商品一般几点处理"),
    ("买错了想取消", "refund", "", "拍错面值了，不要了，可以取消吗"),
    ("买错了想取消", "refund", "card", "买错了商品，卡密还没看，能退吗"),
    ("买错了想取消", "inquiry", "", "下单后想撤销订单怎么操作"),
    ("投诉处理", "complaint", "", "客服回复太慢了，问了半天没人理"),
    ("投诉处理", "complaint", "", "对处理结果很不满意，要投诉"),
    ("投诉处理", "complaint", "", "客服态度很差，我要给差评"),
]
# Questions still waiting for an answer: the ticket desk shows their suggestions.
DEMO_OPEN_QUESTIONS = [
    ("refund", "topup", "交了50元话费到现在还没到账，短信也没收到"),
    ("reissue", "card", "卡密提示已被使用，能不能给我换一张"),
    ("inquiry", "", "请问能开电子发票吗？要报销"),
    ("complaint", "", "刚才付款扣了两次钱，请尽快处理"),
    ("inquiry", "card", "这个兑换码在哪里用？"),
]


def seed_support(ctx) -> None:
    """Canned replies and a few dozen answered tickets on demo orders (each
    answered with the canned reply that fits, then resolved), plus a few open
    ones. Idempotent: nothing is added once the demo replies exist."""
    if CannedReply.objects.filter(title=DEMO_REPLIES[0][0]).exists():
        ctx.say("orders: demo canned replies already there")
        return
    replies = {
        title: CannedReply.objects.create(title=title, keywords=words, body=body)
        for title, words, body in DEMO_REPLIES
    }
    agent = User.objects.filter(username="support", is_staff=True).first()
    orders = _orders_for_tickets()
    if agent is None or not orders.get(""):
        ctx.say(f"orders: {len(replies)} canned replies (no orders for tickets)")
        return
    rng = ctx.rng
    answered = 0
    for title, kind, delivery, question in DEMO_QUESTIONS:
        order = rng.choice(orders.get(delivery) or orders[""])
        ticket = open_buyer_ticket(
            order=order, buyer=order.buyer, kind=kind, body=question
        )
        reply = replies[title]
        reply_on_ticket(
            ticket=ticket,
            actor=agent,
            body=render_reply(reply, ticket),
            status=Ticket.Status.RESOLVED,
            canned=reply,
        )
        answered += 1
    for kind, delivery, question in DEMO_OPEN_QUESTIONS:
        order = rng.choice(orders.get(delivery) or orders[""])
        open_buyer_ticket(order=order, buyer=order.buyer, kind=kind, body=question)
    ctx.say(
        f"orders: {len(replies)} canned replies, {answered} answered tickets, "
        f"{len(DEMO_OPEN_QUESTIONS)} open ones"
    )


def _orders_for_tickets() -> dict[str, list[Order]]:
    """Recent delivered demo orders by delivery type ("" = any)."""
    recent = list(
        Order.objects.filter(
            status=S.DELIVERED,
            buyer__username__startswith="buyer",
            buyer__is_staff=False,
        )
        .select_related("sku__product", "buyer")
        .order_by("-id")[:300]
    )
    by_type = defaultdict(list)
    for order in recent:
        by_type[order.sku.delivery_type].append(order)
        by_type[""].append(order)
    return dict(by_type)
