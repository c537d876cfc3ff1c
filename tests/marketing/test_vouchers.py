"""Vouchers (兑换券): generation, storage, export, redeeming on the shop, every
refusal, single use under concurrency, the module switch."""

import io
import threading
from datetime import timedelta
from decimal import Decimal

import pytest
from django.db import connection
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from catalog.models import Product
from kameng.models import AuditEntry
from kameng.modules import forget_switches, switch_module
from marketing.models import Voucher, VoucherBatch
from marketing.vouchers import (
    ALPHABET,
    VoucherRefused,
    export_voucher_batch,
    generate_voucher_batch,
    voucher_hash,
)
from orders.models import Order
from orders.vouchers import VoucherRedeemRefused, redeem_voucher
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer, stock_codes
from users.models import User

TODAY = timezone.localdate()


def _marketer():
    user, _created = User.objects.get_or_create(
        username="mk", defaults={"is_staff": True, "is_superuser": True}
    )
    return user


def _batch(sku, count=3, valid_from=None, valid_until=None):
    return generate_voucher_batch(
        sku=sku,
        count=count,
        valid_from=valid_from or TODAY,
        valid_until=valid_until or TODAY + timedelta(days=30),
        note="test",
        actor=_marketer(),
    )


# Generating -------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_batch_has_distinct_unguessable_codes_stored_only_as_hash_and_cipher():
    sku = make_sku(price=Decimal("30.00"))
    batch, codes = _batch(sku, count=50)
    assert len(codes) == len(set(codes)) == 50 == batch.count
    for code in codes:
        raw = code.replace("-", "")
        assert len(raw) == 16 and set(raw) <= set(ALPHABET)
        assert not set(raw) & set("01OIL")
    stored = Voucher.objects.filter(batch=batch)
    assert {v.code_hash for v in stored} == {voucher_hash(c) for c in codes}
    dump = " ".join(f"{v.code_hash} {v.code_encrypted} {v.tail}" for v in stored)
    assert not any(code.replace("-", "") in dump for code in codes)
    assert AuditEntry.objects.filter(action="voucher.generate").count() == 1


@pytest.mark.django_db
@pytest.mark.parametrize(
    ("count", "days_from", "days_until", "message"),
    [
        (0, 0, 5, "每批兑换码数量须在 1 到"),
        (10_001, 0, 5, "每批兑换码数量须在 1 到"),
        (5, 3, 1, "截止日期不能早于生效日期"),
        (5, -9, -1, "截止日期已经过去"),
    ],
)
def test_a_bad_batch_is_refused_and_nothing_is_written(
    count, days_from, days_until, message
):
    sku = make_sku()
    with pytest.raises(VoucherRefused, match=message):
        generate_voucher_batch(
            sku=sku,
            count=count,
            valid_from=TODAY + timedelta(days=days_from),
            valid_until=TODAY + timedelta(days=days_until),
            actor=None,
        )
    assert not VoucherBatch.objects.exists()


@pytest.mark.django_db
def test_export_gives_every_code_once_and_is_audited():
    sku = make_sku()
    batch, codes = _batch(sku, count=4)
    content = export_voucher_batch(batch=batch, actor=_marketer())
    sheet = load_workbook(io.BytesIO(content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert [row[0] for row in rows[1:]] == sorted(codes)
    assert AuditEntry.objects.filter(action="voucher.export").count() == 1
    batch.refresh_from_db()
    assert batch.exports == 1


@pytest.mark.django_db
def test_export_needs_the_permission():
    batch, _codes = _batch(make_sku(), count=1)
    clerk = User.objects.create_user(username="clerk", is_staff=True)
    with pytest.raises(VoucherRefused):
        export_voucher_batch(batch=batch, actor=clerk)


# Redeeming --------------------------------------------------------------------------
@pytest.mark.django_db
def test_a_voucher_redeems_its_card_sku_for_free_with_codes_delivered():
    sku = make_sku(price=Decimal("30.00"))
    stock_codes(sku, 2)
    _batch_, codes = _batch(sku, count=1)
    buyer = make_buyer()
    order = redeem_voucher(code=codes[0].lower().replace("-", " "), buyer=buyer)
    assert order.status == Order.Status.DELIVERED
    assert order.payment_method == Order.PaymentMethod.VOUCHER
    assert order.amount == Decimal("0.00")
    assert [layer["code"] for layer in order.price_breakdown["layers"]][-1] == "voucher"
    assert len(order.delivery["code_ids"]) == 1
    voucher = Voucher.objects.get()
    assert (voucher.status, voucher.used_by, voucher.order_id) == (
        Voucher.Status.USED,
        buyer,
        order.pk,
    )
    assert voucher.order_no == order.order_no


def _refusal(code, buyer=None):
    with pytest.raises(VoucherRedeemRefused) as caught:
        redeem_voucher(code=code, buyer=buyer or make_buyer())
    return caught.value.message


@pytest.mark.django_db
def test_an_unknown_code_is_refused():
    assert _refusal("ABCD-EFGH-JKMN-PQRS") == "兑换码不存在，请核对后重试。"


@pytest.mark.django_db
def test_a_used_code_is_refused():
    sku = make_sku()
    stock_codes(sku, 2)
    _b, codes = _batch(sku, count=1)
    redeem_voucher(code=codes[0], buyer=make_buyer())
    assert _refusal(codes[0]) == "该兑换码已被使用。"
    assert Order.objects.count() == 1


@pytest.mark.django_db
def test_an_expired_or_not_yet_valid_code_is_refused():
    sku = make_sku()
    stock_codes(sku, 2)
    batch, codes = _batch(sku, count=1)
    VoucherBatch.objects.filter(pk=batch.pk).update(
        valid_from=TODAY - timedelta(days=9), valid_until=TODAY - timedelta(days=1)
    )
    assert "已于" in _refusal(codes[0])
    VoucherBatch.objects.filter(pk=batch.pk).update(
        valid_from=TODAY + timedelta(days=1), valid_until=TODAY + timedelta(days=9)
    )
    assert "起可用" in _refusal(codes[0])
    assert Voucher.objects.get().status == Voucher.Status.UNUSED


@pytest.mark.django_db
def test_sold_out_leaves_the_voucher_unused_and_no_order():
    sku = make_sku()  # no codes in stock
    _b, codes = _batch(sku, count=1)
    message = _refusal(codes[0])
    assert message == "该商品暂时售罄，你的兑换码仍未使用。"
    assert Voucher.objects.get().status == Voucher.Status.UNUSED
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_off_sale_leaves_the_voucher_unused_and_no_order():
    sku = make_sku()
    stock_codes(sku, 1)
    _b, codes = _batch(sku, count=1)
    Product.objects.filter(pk=sku.product_id).update(status=Product.Status.DRAFT)
    message = _refusal(codes[0])
    assert message == "该商品当前未在售。 你的兑换码仍未使用。"
    assert Voucher.objects.get().status == Voucher.Status.UNUSED
    assert not Order.objects.exists()


@pytest.mark.django_db
def test_a_guest_cannot_redeem():
    with pytest.raises(VoucherRedeemRefused, match="请登录"):
        redeem_voucher(code="X", buyer=None)


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_two_buyers_redeeming_one_code_at_once_make_one_order():
    sku = make_sku()
    stock_codes(sku, 5)
    _b, codes = _batch(sku, count=1)
    buyers = [make_buyer() for _ in range(6)]
    start = threading.Barrier(len(buyers))
    results, errors = [], []

    def redeem(buyer):
        try:
            start.wait()
            try:
                redeem_voucher(code=codes[0], buyer=buyer)
                results.append("order")
            except VoucherRedeemRefused as exc:
                results.append(exc.message)
        except Exception as exc:  # noqa: BLE001
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=redeem, args=(b,)) for b in buyers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert results.count("order") == 1
    assert all(r == "该兑换码已被使用。" for r in results if r != "order")
    assert Order.objects.count() == 1
    assert Voucher.objects.get().order_id == Order.objects.get().pk


# The shop page and the module switch ------------------------------------------------
@pytest.mark.django_db
def test_the_shop_page_redeems_and_shows_refusals(client):
    sku = make_sku()
    stock_codes(sku, 1)
    _b, codes = _batch(sku, count=1)
    buyer = make_buyer()
    client.force_login(buyer)
    url = reverse("shop:voucher_redeem")
    assert client.get(url).status_code == 200
    wrong = client.post(url, {"code": "WRONG-CODE"})
    assert "兑换码不存在" in wrong.content.decode()
    response = client.post(url, {"code": codes[0]})
    order = Order.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("shop:order", args=[order.order_no])


@pytest.mark.django_db
def test_the_shop_page_needs_a_login(client):
    response = client.get(reverse("shop:voucher_redeem"))
    assert response.status_code == 302 and "login" in response["Location"]


@pytest.mark.django_db(transaction=True)
def test_switched_off_hides_the_shop_page_and_the_back_office_and_refuses(client):
    sku = make_sku()
    stock_codes(sku, 1)
    _b, codes = _batch(sku, count=1)
    switch_module(code="vouchers", enabled=False, actor=None)
    forget_switches()
    buyer = make_buyer()
    client.force_login(buyer)
    assert client.get(reverse("shop:voucher_redeem")).status_code == 404
    with pytest.raises(VoucherRedeemRefused, match="暂不可用"):
        redeem_voucher(code=codes[0], buyer=buyer)
    staff = _marketer()
    client.force_login(staff)
    assert client.get(reverse("marketing:voucher_generate")).status_code == 404
    assert (
        client.get(reverse("admin:marketing_voucherbatch_changelist")).status_code
        == 404
    )
    switch_module(code="vouchers", enabled=True, actor=None)
    forget_switches()
    assert client.get(reverse("marketing:voucher_generate")).status_code == 200


@pytest.mark.django_db
def test_the_back_office_generates_then_lists_and_exports(client):
    sku = make_sku()
    client.force_login(_marketer())
    response = client.post(
        reverse("marketing:voucher_generate"),
        {
            "sku_code": sku.code,
            "count": "5",
            "valid_from": TODAY.isoformat(),
            "valid_until": (TODAY + timedelta(days=3)).isoformat(),
            "note": "活动",
        },
    )
    assert response.status_code == 200
    codes = response.context["codes"]
    assert len(codes) == 5 and codes[0] in response.content.decode()
    batch = VoucherBatch.objects.get()
    listing = client.get(
        reverse("admin:marketing_voucher_changelist") + f"?batch__id__exact={batch.pk}"
    )
    assert listing.status_code == 200
    assert codes[0] not in listing.content.decode()
    export = client.get(reverse("marketing:voucher_export", args=[batch.pk]))
    assert export.status_code == 200
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")
