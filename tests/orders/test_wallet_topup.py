"""Wallet top-up (钱包充值) through the payment gateways: the form on the wallet
page, the sandbox gateway's page, signed notifies routed by the "W" number, the
epay notify, the sweepers, and racing notifies on Postgres."""

import hashlib
import json
import random
import threading
import urllib.parse
from datetime import timedelta
from decimal import Decimal
from unittest import mock

import pytest
from django.db import connection
from django.db.models import Sum
from django.test import Client

from orders.models import Payment, WalletTopUp
from orders.payments import sandbox_remote
from orders.payments.base import UnknownChannel
from orders.payments.selectors import payments_for_finance, unsettled_gateway_topups
from orders.payments.services import settle_pending_gateway_orders
from orders.payments.tasks import cancel_unpaid_orders_task, notify_in_process
from orders.payments.topups import TopUpRefused, start_topup
from tests.orders.factories import make_buyer
from tests.orders.payments_helpers import (
    card_order,
    post_sandbox_notify,
    sandbox_message,
)
from users.models import LedgerEntry, Wallet

pytestmark = pytest.mark.django_db

EPAY_KEY = "Zx9vK2mQ7pL4tR8w"
EPAY_PID = "1024"


def _balance(user) -> Decimal:
    wallet = Wallet.objects.filter(user=user).first()
    return wallet.balance if wallet else Decimal("0.00")


def _ledger_total(user) -> Decimal:
    total = LedgerEntry.objects.filter(wallet__user=user).aggregate(s=Sum("amount"))
    return total["s"] or Decimal("0.00")


def _topup(buyer=None, amount="50.00", channel="sandbox") -> WalletTopUp:
    topup, _url = start_topup(
        buyer=buyer or make_buyer(), amount=Decimal(amount), channel=channel
    )
    return topup


def _age(topup, minutes):
    WalletTopUp.objects.filter(pk=topup.pk).update(
        created_at=topup.created_at - timedelta(minutes=minutes)
    )


# The storefront ---------------------------------------------------------------------
def test_a_buyer_tops_up_through_the_sandbox_gateway(client):
    buyer = make_buyer()
    client.force_login(buyer)
    page = client.get("/shop/wallet/")
    assert page.status_code == 200
    assert "sandbox" in dict(page.context["form"].fields["channel"].choices)

    response = client.post(
        "/shop/wallet/", {"amount": "88.50", "channel": "sandbox"}, follow=True
    )
    topup = WalletTopUp.objects.get(buyer=buyer)
    assert topup.topup_no.startswith("W") and topup.topup_no[1:].isdigit()
    assert topup.status == WalletTopUp.Status.PENDING
    assert response.redirect_chain[-1][0] == f"/pay/sandbox/{topup.topup_no}/"
    assert "88.50" in response.content.decode()
    assert response.context["is_topup"] is True
    # The pending top-up is listed on the wallet page.
    listed = client.get("/shop/wallet/").context["topups"]
    assert [t.status for t in listed] == ["pending"]

    paid = client.post(
        f"/pay/sandbox/{topup.topup_no}/", {"action": "pay"}, follow=True
    )
    assert paid.redirect_chain[-1][0] == "/shop/wallet/"
    assert paid.context["wallet"].balance == Decimal("88.50")
    assert [t.status for t in paid.context["topups"]] == ["paid"]
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.PAID and topup.paid_at is not None
    entry = LedgerEntry.objects.get(wallet__user=buyer)
    assert entry.kind == LedgerEntry.Kind.TOPUP
    assert entry.reference == topup.topup_no
    assert entry.amount == Decimal("88.50")
    payment = Payment.objects.get(topup=topup)
    assert payment.order_id is None
    assert payment.outcome == Payment.Outcome.TOPPED_UP
    assert payment.trade_no.startswith("SBX")
    # Pressing "pay" again (back button) credits nothing more.
    client.post(f"/pay/sandbox/{topup.topup_no}/", {"action": "pay"})
    assert _balance(buyer) == Decimal("88.50") == _ledger_total(buyer)


def test_failing_on_the_sandbox_page_leaves_the_top_up_pending(client):
    buyer = make_buyer()
    client.force_login(buyer)
    client.post("/shop/wallet/", {"amount": "10", "channel": "sandbox"})
    topup = WalletTopUp.objects.get(buyer=buyer)
    response = client.post(f"/pay/sandbox/{topup.topup_no}/", {"action": "fail"})
    assert response["Location"] == "/shop/wallet/"
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.PENDING
    assert _balance(buyer) == 0


def test_the_sandbox_page_reopens_a_pending_top_up_it_forgot(client):
    topup = _topup(amount="12.30")
    sandbox_remote.forget_trade(topup.topup_no)
    page = client.get(f"/pay/sandbox/{topup.topup_no}/")
    assert page.status_code == 200 and "12.30" in page.content.decode()
    assert client.get("/pay/sandbox/W26010100000000/").status_code == 404


@pytest.mark.parametrize(
    "amount", ["0", "-1", "1.001", "0.99", "5000.01", "abc", "", "NaN", "1e3.5"]
)
def test_bad_amounts_give_form_errors_and_create_nothing(client, amount):
    buyer = make_buyer()
    client.force_login(buyer)
    response = client.post("/shop/wallet/", {"amount": amount, "channel": "sandbox"})
    assert response.status_code == 200
    assert "amount" in response.context["form"].errors
    assert not WalletTopUp.objects.exists()


def test_the_maximum_comes_from_the_setting(client, settings):
    settings.WALLET_TOPUP_MAX = Decimal("100.00")
    client.force_login(make_buyer())
    response = client.post("/shop/wallet/", {"amount": "100.01", "channel": "sandbox"})
    assert "amount" in response.context["form"].errors
    response = client.post("/shop/wallet/", {"amount": "100.00", "channel": "sandbox"})
    assert response.status_code == 302
    assert WalletTopUp.objects.get().amount == Decimal("100.00")


def test_an_unknown_channel_is_a_form_error(client):
    client.force_login(make_buyer())
    response = client.post("/shop/wallet/", {"amount": "10", "channel": "bitcoin"})
    assert "channel" in response.context["form"].errors
    assert not WalletTopUp.objects.exists()


def test_the_service_refuses_what_the_form_would(settings):
    buyer = make_buyer()
    for amount in (Decimal("0"), Decimal("1.001"), Decimal("5000.01"), "10"):
        with pytest.raises(TopUpRefused):
            start_topup(buyer=buyer, amount=amount, channel="sandbox")
    with pytest.raises(UnknownChannel):
        start_topup(buyer=buyer, amount=Decimal("10"), channel="epay")  # off
    assert not WalletTopUp.objects.exists()


def test_too_many_unpaid_top_ups_are_refused(client):
    buyer = make_buyer()
    for _ in range(5):
        _topup(buyer)
    client.force_login(buyer)
    response = client.post("/shop/wallet/", {"amount": "10", "channel": "sandbox"})
    assert response.context["form"].non_field_errors()
    assert WalletTopUp.objects.count() == 5


def test_an_unpaid_top_up_can_be_paid_again_from_the_wallet(client):
    buyer = make_buyer()
    topup = _topup(buyer)
    client.force_login(buyer)
    page = client.get("/shop/wallet/").content.decode()
    assert f"/shop/wallet/topups/{topup.topup_no}/pay/" in page
    response = client.post(f"/shop/wallet/topups/{topup.topup_no}/pay/")
    assert response.status_code == 302
    assert response["Location"] == f"/pay/sandbox/{topup.topup_no}/"


def test_someone_elses_or_a_paid_top_up_cannot_be_paid_again(client):
    topup = _topup()
    client.force_login(make_buyer())
    response = client.post(f"/shop/wallet/topups/{topup.topup_no}/pay/", follow=True)
    assert "该充值当前无法支付" in response.content.decode()
    body, headers = sandbox_message(topup)
    post_sandbox_notify(client, body, headers)
    client.force_login(topup.buyer)
    page = client.get("/shop/wallet/").content.decode()
    assert 'data-testid="pay-topup"' not in page
    response = client.post(f"/shop/wallet/topups/{topup.topup_no}/pay/", follow=True)
    assert "该充值当前无法支付" in response.content.decode()
    assert client.get(f"/shop/wallet/topups/{topup.topup_no}/pay/").status_code == 405


def test_guests_are_sent_to_log_in(client):
    response = client.post("/shop/wallet/", {"amount": "10", "channel": "sandbox"})
    assert response.status_code == 302 and "/shop/login/" in response["Location"]
    assert not WalletTopUp.objects.exists()


def test_top_up_numbers_never_look_like_order_numbers():
    topups = [_topup() for _ in range(3)]
    assert all(t.topup_no[0] == "W" for t in topups)
    assert len({t.topup_no for t in topups}) == 3


# Notifies ---------------------------------------------------------------------------
def test_a_replayed_notify_credits_once(client):
    topup = _topup(amount="30.00")
    for _ in range(3):  # fresh nonces: replays the gateway itself would send
        body, headers = sandbox_message(topup, trade_no="SBX-W-1")
        assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    assert _balance(topup.buyer) == Decimal("30.00") == _ledger_total(topup.buyer)
    assert Payment.objects.filter(topup=topup).count() == 1


def test_an_amount_mismatch_is_recorded_not_credited_and_shown_to_finance(client):
    topup = _topup(amount="30.00")
    body, headers = sandbox_message(topup, trade_no="SBX-W-2", amount="0.30")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.PENDING
    assert _balance(topup.buyer) == 0
    payment = Payment.objects.get(topup=topup)
    assert payment.outcome == Payment.Outcome.AMOUNT_MISMATCH
    assert list(payments_for_finance()) == [payment]


def test_the_finance_page_lists_a_top_up_mismatch(client, role_user, settings):
    topup = _topup(amount="30.00")
    body, headers = sandbox_message(topup, trade_no="SBX-W-F", amount="3.00")
    post_sandbox_notify(client, body, headers)
    staff = Client()
    staff.force_login(role_user("finance"))
    page = staff.get("/pay/finance/")
    assert page.status_code == 200
    assert topup.topup_no in page.content.decode()


def test_a_late_notify_after_cancel_is_credited(client, settings):
    topup = _topup(amount="20.00")
    _age(topup, settings.ORDER_PAYMENT_TIMEOUT_MINUTES + 1)
    assert cancel_unpaid_orders_task() == 1
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.CANCELLED
    body, headers = sandbox_message(topup, trade_no="SBX-W-3")
    assert post_sandbox_notify(client, body, headers).json() == {"ok": True}
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.PAID
    assert _balance(topup.buyer) == Decimal("20.00") == _ledger_total(topup.buyer)
    assert Payment.objects.get(topup=topup).outcome == Payment.Outcome.TOPPED_UP


def test_the_cancel_task_asks_the_gateway_first(settings):
    topup = _topup(amount="20.00")
    sandbox_remote.finish_trade(order_no=topup.topup_no, pay=True)  # paid, notify lost
    _age(topup, settings.ORDER_PAYMENT_TIMEOUT_MINUTES + 1)
    assert cancel_unpaid_orders_task() == 0
    topup.refresh_from_db()
    assert topup.status == WalletTopUp.Status.PAID
    assert _balance(topup.buyer) == Decimal("20.00")


def test_the_sweeper_credits_a_top_up_whose_notify_was_lost():
    topup = _topup(amount="15.00")
    trade = sandbox_remote.finish_trade(order_no=topup.topup_no, pay=True)
    _age(topup, 5)
    assert settle_pending_gateway_orders()["paid"] == 1
    assert _balance(topup.buyer) == Decimal("15.00")
    # The notify arriving after all changes nothing.
    assert notify_in_process(order_no=topup.topup_no)
    assert Payment.objects.get(topup=topup).trade_no == trade["trade_no"]
    assert _balance(topup.buyer) == Decimal("15.00") == _ledger_total(topup.buyer)


def test_a_top_up_the_gateway_cannot_answer_about_is_listed_for_finance():
    topup = _topup(amount="15.00")
    sandbox_remote.forget_trade(topup.topup_no)
    _age(topup, 5)
    assert settle_pending_gateway_orders()["unknown"] == 1
    assert list(unsettled_gateway_topups()) == [topup]


def test_a_trade_of_an_order_cannot_pay_a_top_up(client):
    order, _texts = card_order()
    body, headers = sandbox_message(order, trade_no="SBX-X")
    post_sandbox_notify(client, body, headers)
    topup = _topup(amount="9.80")
    body, headers = sandbox_message(topup, trade_no="SBX-X")
    response = post_sandbox_notify(client, body, headers)
    assert response.json() == {"ok": False, "error": "trade_conflict"}
    assert _balance(topup.buyer) == 0


def test_a_notify_for_an_unknown_top_up_is_rejected(client):
    fake = WalletTopUp(topup_no="W26010199999999", amount=Decimal("5.00"))
    body, headers = sandbox_message(fake)
    response = post_sandbox_notify(client, body, headers)
    assert response.json() == {"ok": False, "error": "unknown_order"}


# Epay -------------------------------------------------------------------------------
def _md5_sign(params: dict, key: str) -> str:
    kept = {k: v for k, v in params.items() if k not in ("sign", "sign_type") and v}
    text = "&".join(f"{k}={kept[k]}" for k in sorted(kept))
    return hashlib.md5((text + key).encode()).hexdigest()


def _epay_notify(out_trade_no: str, money: str) -> dict:
    params = {
        "pid": EPAY_PID,
        "trade_no": "2026112515301234567",
        "out_trade_no": out_trade_no,
        "type": "wxpay",
        "name": "钱包充值",
        "money": money,
        "trade_status": "TRADE_SUCCESS",
    }
    params["sign"] = _md5_sign(params, EPAY_KEY)
    params["sign_type"] = "MD5"
    return params


@pytest.fixture
def epay_on(settings):
    settings.PAYMENT_CHANNELS = {
        **settings.PAYMENT_CHANNELS,
        "epay": {
            "enabled": True,
            "url": "https://pay.example.com/",
            "pid": EPAY_PID,
            "key": EPAY_KEY,
            "type": "alipay",
        },
    }


def test_an_epay_top_up_redirects_and_its_notify_credits_once(client, epay_on):
    buyer = make_buyer()
    client.force_login(buyer)
    response = client.post("/shop/wallet/", {"amount": "66.60", "channel": "epay"})
    topup = WalletTopUp.objects.get(buyer=buyer)
    url = urllib.parse.urlsplit(response["Location"])
    assert f"{url.scheme}://{url.netloc}{url.path}" == (
        "https://pay.example.com/submit.php"
    )
    query = dict(urllib.parse.parse_qsl(url.query))
    assert query["out_trade_no"] == topup.topup_no and query["money"] == "66.60"
    assert query["return_url"].endswith("/shop/wallet/")
    assert query["sign"] == _md5_sign(query, EPAY_KEY)

    params = _epay_notify(topup.topup_no, "66.60")
    for _ in range(2):  # epay retries until it reads "success"
        answer = client.get("/pay/epay/notify/", params)
        assert answer.content == b"success"
    assert _balance(buyer) == Decimal("66.60") == _ledger_total(buyer)
    payment = Payment.objects.get(topup=topup)
    assert payment.channel == "epay" and payment.trade_no == "2026112515301234567"
    # A forged copy (bad signature) is refused.
    forged = {**params, "money": "666.00"}
    assert client.get("/pay/epay/notify/", forged).content == b"fail"


def test_a_lost_epay_top_up_notify_is_settled_by_the_query(epay_on):
    topup = _topup(amount="5.00", channel="epay")
    _age(topup, 5)

    class _Answer:
        def __init__(self, data):
            self.data = data

        def read(self):
            return json.dumps(self.data).encode()

        def __enter__(self):
            return self

        def __exit__(self, *exc):
            return False

    answer = {
        "code": 1,
        "status": 1,
        "trade_no": "EPW1",
        "out_trade_no": topup.topup_no,
        "money": "5.00",
    }
    with mock.patch("urllib.request.urlopen", return_value=_Answer(answer)):
        assert settle_pending_gateway_orders()["paid"] == 1
    assert _balance(topup.buyer) == Decimal("5.00")


# Racing notifies (Postgres) -----------------------------------------------------------
TOPUPS, WORKERS = 20, 16


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_racing_notifies_credit_each_top_up_once(settings):
    settings.PAYMENT_QUERY_AFTER_MINUTES = 0  # the sweeper joins the race
    rng = random.Random(7)
    buyers = [make_buyer() for _ in range(5)]
    topups = [
        _topup(buyers[i % 5], amount=f"{rng.randint(1, 500)}.{rng.randint(0, 99):02d}")
        for i in range(TOPUPS)
    ]
    trades = {
        t.topup_no: sandbox_remote.finish_trade(order_no=t.topup_no, pay=True)[
            "trade_no"
        ]
        for t in topups
    }
    # Each top-up's copies (2-4) go out together, in waves of at most WORKERS.
    waves, wave = [], []
    for topup in topups:
        copies = [topup] * rng.randint(2, 4)
        if len(wave) + len(copies) > WORKERS:
            waves.append(wave)
            wave = []
        wave += copies
    waves.append(wave)

    answers, errors = [], []
    go = threading.Barrier(WORKERS + 1, timeout=60)
    done = threading.Barrier(WORKERS + 1, timeout=60)
    sweeping = threading.Event()

    def worker(slot: int):
        client = Client()
        try:
            for current in waves:
                topup = current[slot] if slot < len(current) else None
                go.wait()
                if topup is not None:
                    try:
                        body, headers = sandbox_message(
                            topup, trade_no=trades[topup.topup_no]
                        )
                        answers.append(
                            post_sandbox_notify(client, body, headers).json()
                        )
                    except Exception as exc:  # noqa: BLE001 - fails the test
                        errors.append(repr(exc))
                done.wait()
        except threading.BrokenBarrierError as exc:
            errors.append(repr(exc))
        finally:
            connection.close()

    def sweep():
        try:
            while not sweeping.is_set():
                settle_pending_gateway_orders(limit=WORKERS)
        except Exception as exc:  # noqa: BLE001 - fails the test
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=worker, args=(i,)) for i in range(WORKERS)]
    threads.append(threading.Thread(target=sweep))
    for thread in threads:
        thread.start()
    try:
        for _wave in waves:
            go.wait()
            done.wait()
    finally:
        sweeping.set()
        for thread in threads:
            thread.join()

    assert errors == []
    assert answers == [{"ok": True}] * sum(len(w) for w in waves)
    assert WalletTopUp.objects.filter(status="paid").count() == TOPUPS
    assert Payment.objects.filter(topup__isnull=False).count() == TOPUPS
    for topup in topups:
        entries = LedgerEntry.objects.filter(reference=topup.topup_no)
        assert [e.amount for e in entries] == [topup.amount]
    for buyer in buyers:
        expected = sum((t.amount for t in topups if t.buyer_id == buyer.pk), Decimal(0))
        assert _balance(buyer) == expected == _ledger_total(buyer)


def test_top_ups_and_their_payments_show_in_the_back_office(client, role_user):
    topup = _topup(amount="7.00")
    body, headers = sandbox_message(topup, trade_no="SBX-W-ADMIN")
    post_sandbox_notify(client, body, headers)
    staff = Client()
    staff.force_login(role_user("superadmin"))
    listing = staff.get("/admin/orders/wallettopup/")
    assert listing.status_code == 200 and topup.topup_no in listing.content.decode()
    payments = staff.get("/admin/orders/payment/", {"q": "SBX-W-ADMIN"})
    assert payments.status_code == 200 and topup.topup_no in payments.content.decode()
