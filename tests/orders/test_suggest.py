"""Smart support on a small hand-made corpus: the right canned reply comes
first, history breaks a tie the reply's own words cannot, similar resolved
tickets are found, and the index follows changes to the canned replies."""

import pytest

from kameng.bm25 import Bm25, tokenize
from orders.aftersales import staff_reply, transition_ticket
from orders.models import CannedReply, CannedReplyUse, Ticket
from orders.suggest import SupportIndex, replies_changed, suggest_for_ticket
from tests.orders.aftersales_helpers import delivered_card_order
from tests.orders.support_helpers import buyer_ticket

REPLIES = [
    (1, "充值未到账 话费 没到账 到账慢 您好，充值一般10分钟内到账，高峰期可能延迟。"),
    (2, "卡密无效 提示已被使用 激活失败 您好，卡密经核实后为您补发新卡密。"),
    (3, "发票 开票 报销 您好，发票可在订单完成后申请，三个工作日内开出。"),
    (4, "重复扣款 扣了两次 多扣 您好，重复扣款会在核实后原路退回。"),
    (5, "如何使用 怎么兑换 兑换码 您好，请在游戏内的兑换页面输入卡密。"),
]
TICKETS = [
    (101, "退款 手机话费充了半小时还没到账", (1,)),
    (102, "补发 买的点卡提示卡密已被使用", (2,)),
    (103, "咨询 公司报销需要开增值税发票", (3,)),
    (104, "退款 付款时银行卡被扣了两次钱", (4,)),
    (105, "咨询 兑换码在哪里输入", (5,)),
    (106, "退款 流量包充值没有到账", (1,)),
]


@pytest.fixture(scope="module")
def index():
    return SupportIndex(replies=REPLIES, tickets=TICKETS)


@pytest.mark.parametrize(
    ("question", "best"),
    [
        ("我的话费充值到现在还没到账，怎么回事", 1),
        ("卡密输入后提示无效，已被使用", 2),
        ("能开发票吗？报销用", 3),
        ("同一个订单扣了我两次钱", 4),
        ("这个兑换码怎么用", 5),
    ],
)
def test_the_right_reply_is_suggested_first(index, question, best):
    replies, _tickets = index.suggest(question)
    assert replies[0].id == best
    assert len(replies) <= 3


def test_similar_resolved_tickets_come_with_the_suggestion(index):
    _replies, tickets = index.suggest("充值了流量一直不到账")
    assert tickets[0].id == 106
    assert {t.id for t in tickets} >= {101, 106}
    assert len(tickets) <= 3


def test_a_ticket_is_never_its_own_similar_ticket(index):
    _replies, tickets = index.suggest("流量包充值没有到账", exclude_ticket=106)
    assert 106 not in {t.id for t in tickets}


def test_history_ranks_the_reply_that_solved_similar_questions():
    """The reply's own words do not mention 点卡, but the tickets that did were
    solved by reply 2."""
    replies = [(1, "补发 您好，已为您补发"), (2, "补发 您好，请稍候")]
    tickets = [(201, "点卡 面值不对", (2,)), (202, "点卡 用不了", (2,))]
    ranked, _ = SupportIndex(replies=replies, tickets=tickets).suggest("点卡 补发")
    assert [s.id for s in ranked] == [2, 1]


def test_text_with_no_known_word_suggests_nothing(index):
    assert index.suggest("？？？") == ([], [])


def test_segmentation_keeps_trade_words_and_drops_noise():
    words = tokenize("您好，我的卡密无效，订单号 24110112345678，请帮忙补发！")
    assert {"卡密", "无效", "补发"} <= set(words)
    assert "24110112345678" not in words
    assert "，" not in words and "您好" not in words


def test_bm25_prefers_rare_words_and_short_documents():
    bm25 = Bm25([["退款", "发票"], ["退款"], ["退款", "到账", "到账", "话费"]])
    assert bm25.top(["发票"], 3) == [(0, pytest.approx(bm25.scores(["发票"])[0]))]
    assert bm25.top(["退款"], 1)[0][0] == 1  # the shortest mention wins


@pytest.mark.django_db
def test_a_ticket_gets_suggestions_from_resolved_tickets_and_replies(role_user):
    support = role_user("support")
    invalid = CannedReply.objects.create(
        title="卡密无效", keywords="卡密 无效 已被使用", body="我们为您补发"
    )
    CannedReply.objects.create(title="发票", keywords="发票 开票", body="三个工作日")
    solved = buyer_ticket(delivered_card_order(quantity=1), body="卡密提示已被使用")
    message = staff_reply(ticket=solved, actor=support, body="我们为您补发")
    CannedReplyUse.objects.create(reply=invalid, ticket=solved, message=message)
    transition_ticket(ticket=solved, to=Ticket.Status.RESOLVED)
    fresh = buyer_ticket(delivered_card_order(quantity=1), body="卡密无效，已被使用")

    replies_changed()  # whatever this process built before is stale
    found = suggest_for_ticket(fresh)
    assert found.replies[0] == invalid
    assert found.tickets == [solved]
    assert suggest_for_ticket(solved).tickets == []  # never itself


@pytest.mark.django_db
def test_the_index_follows_a_new_canned_reply():
    ticket = buyer_ticket(delivered_card_order(quantity=1), body="想开发票报销")
    assert suggest_for_ticket(ticket).replies == []
    invoice = CannedReply.objects.create(
        title="发票", keywords="发票 报销", body="好的"
    )
    assert suggest_for_ticket(ticket).replies == [invoice]
    invoice.is_active = False
    invoice.save()
    assert suggest_for_ticket(ticket).replies == []
