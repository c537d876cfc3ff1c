"""Redeem codes: a batch of unguessable single-use codes, exported to Excel;
the buyer redeems one on the shop and gets the coupon; unknown, used and
expired codes are refused in words the buyer understands."""

import re
from datetime import timedelta
from io import BytesIO

import pytest
from django.urls import reverse
from django.utils import timezone
from openpyxl import load_workbook

from kameng.modules import forget_switches, switch_module
from marketing.models import Coupon, RedeemCode, RedeemCodeBatch
from marketing.redeem_codes import (
    ALPHABET,
    CODE_LENGTH,
    RedeemRefused,
    create_redeem_batch,
    normalise_code,
    redeem_code,
)
from tests.marketing.factories import buyer_with
from tests.marketing.issuing_helpers import make_template

pytestmark = pytest.mark.django_db


def batch_of(count=3, *, days=30, **fields):
    return create_redeem_batch(
        template=fields.pop("template", None) or make_template(),
        name="双十一兑换码",
        count=count,
        expires_at=timezone.now() + timedelta(days=days),
        **fields,
    )


def test_a_batch_holds_count_unique_codes_from_the_unambiguous_alphabet():
    batch = batch_of(200, prefix="d11")
    codes = list(RedeemCode.objects.filter(batch=batch).values_list("code", flat=True))
    assert len(codes) == len(set(codes)) == 200
    pattern = re.compile(rf"^D11[{ALPHABET}]{{{CODE_LENGTH}}}$")
    assert all(pattern.match(code) for code in codes)
    assert not set("01ILO") & set("".join(code[3:] for code in codes))


@pytest.mark.parametrize(
    ("fields", "field"),
    [
        ({"count": 0}, "count"),
        ({"count": 50_001}, "count"),
        ({"prefix": "too-long!"}, "prefix"),
        ({"days": -1}, "expires_at"),
    ],
)
def test_bad_batches_are_refused_and_nothing_is_written(fields, field):
    count = fields.pop("count", 3)
    with pytest.raises(RedeemRefused) as refused:
        batch_of(count, **fields)
    assert refused.value.extra["field"] == field
    assert not RedeemCodeBatch.objects.exists()


def test_a_buyer_redeems_a_code_once_and_gets_the_coupon():
    batch = batch_of(2)
    code = batch.codes.first()
    buyer = buyer_with()
    typed = "-".join(code.code[i : i + 4] for i in range(0, len(code.code), 4)).lower()
    assert normalise_code(typed) == code.code
    coupon = redeem_code(user=buyer, typed=typed)
    assert coupon.owner == buyer and coupon.source == Coupon.Source.REDEEM_CODE
    code.refresh_from_db()
    assert code.redeemed_by == buyer and code.coupon == coupon
    with pytest.raises(RedeemRefused) as again:
        redeem_code(user=buyer, typed=code.code)
    assert again.value.extra["reason"] == "used"
    with pytest.raises(RedeemRefused) as other:
        redeem_code(user=buyer_with(), typed=code.code)
    assert other.value.extra["reason"] == "used"
    assert Coupon.objects.count() == 1


def test_unknown_and_expired_codes_are_refused():
    batch = batch_of(1)
    code = batch.codes.get().code
    buyer = buyer_with()
    with pytest.raises(RedeemRefused) as unknown:
        redeem_code(user=buyer, typed="NOPE2345NOPE2345")
    assert unknown.value.extra["reason"] == "unknown"
    with pytest.raises(RedeemRefused) as expired:
        redeem_code(user=buyer, typed=code, at=batch.expires_at + timedelta(seconds=1))
    assert expired.value.extra["reason"] == "expired"
    assert not Coupon.objects.exists()


def test_the_templates_per_buyer_limit_holds_across_codes():
    template = make_template(per_buyer_limit=1)
    batch = batch_of(2, template=template)
    first, second = batch.codes.all()
    buyer = buyer_with()
    redeem_code(user=buyer, typed=first.code)
    with pytest.raises(RedeemRefused) as limited:
        redeem_code(user=buyer, typed=second.code)
    assert limited.value.extra["reason"] == "limit"
    second.refresh_from_db()
    assert second.redeemed_at is None  # still there for someone else


def redeem_on_shop(client, code):
    return client.post(reverse("shop:redeem_coupon"), {"code": code}, follow=True)


def test_shop_page_tells_the_buyer_what_happened(client):
    batch = batch_of(2, days=1)
    first, second = batch.codes.all()
    buyer = buyer_with()
    client.force_login(buyer)
    page = client.get(reverse("shop:redeem_coupon")).content.decode()
    assert "兑换优惠券" in page
    done = redeem_on_shop(client, first.code).content.decode()
    assert "兑换成功" in done
    assert "该兑换码已被使用" in redeem_on_shop(
        client, first.code
    ).content.decode() or (
        "你已兑换过此兑换码" in redeem_on_shop(client, first.code).content.decode()
    )
    assert "兑换码不存在" in redeem_on_shop(client, "ABCD2345ABCD2345").content.decode()
    RedeemCodeBatch.objects.filter(pk=batch.pk).update(
        expires_at=timezone.now() - timedelta(minutes=1)
    )
    assert "过期" in redeem_on_shop(client, second.code).content.decode()
    assert Coupon.objects.filter(owner=buyer).count() == 1


def test_shop_page_needs_a_login_and_the_module(
    client, django_capture_on_commit_callbacks
):
    answer = client.get(reverse("shop:redeem_coupon"))
    assert answer.status_code == 302 and "/login/" in answer["Location"]
    client.force_login(buyer_with())
    with django_capture_on_commit_callbacks(execute=True):
        switch_module(code="coupons", enabled=False, actor=None)
    assert client.get(reverse("shop:redeem_coupon")).status_code == 404
    forget_switches()


def test_marketing_creates_a_batch_in_the_admin_and_exports_it(client, role_user):
    template = make_template(name="兑换专享券")
    client.force_login(role_user("marketing"))
    expires = timezone.localtime() + timedelta(days=10)
    answer = client.post(
        reverse("admin:marketing_redeemcodebatch_add"),
        {
            "template": template.pk,
            "name": "门店活动",
            "prefix": "md",
            "count": 25,
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
        },
    )
    assert answer.status_code == 302, answer.content.decode()[:3000]
    batch = RedeemCodeBatch.objects.get()
    assert batch.codes.count() == 25 and batch.prefix == "MD"
    first = batch.codes.order_by("pk").first()
    redeemer = buyer_with()
    redeem_code(user=redeemer, typed=first.code)
    codes = client.get(
        reverse("admin:marketing_redeemcode_changelist"),
        {"batch__id__exact": batch.pk},
    )
    assert codes.status_code == 200 and first.code in codes.content.decode()
    export = client.get(reverse("marketing:redeem_batch_export", args=[batch.pk]))
    assert export.status_code == 200
    sheet = load_workbook(BytesIO(export.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][0] == "兑换码"
    assert len(rows) == 26
    assert (
        rows[1][0] == first.code
        and rows[1][3] == "已使用"
        and rows[1][4] == redeemer.username
    )
    assert rows[2][3] == "未使用"


def test_batch_admin_refuses_a_bad_prefix_in_chinese(client, role_user):
    client.force_login(role_user("marketing"))
    expires = timezone.localtime() + timedelta(days=10)
    page = client.post(
        reverse("admin:marketing_redeemcodebatch_add"),
        {
            "template": make_template().pk,
            "name": "x",
            "prefix": "有中文",
            "count": 5,
            "expires_at_0": expires.strftime("%Y-%m-%d"),
            "expires_at_1": expires.strftime("%H:%M:%S"),
        },
    )
    assert page.status_code == 200
    assert "前缀" in page.content.decode()
    assert not RedeemCodeBatch.objects.exists()
