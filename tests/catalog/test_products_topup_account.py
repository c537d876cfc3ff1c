"""A top-up is never sold without the account it credits: it cannot be listed
(by hand, in the back office, by schedule or by import) and checkout refuses it,
and a missing or bad account is named on its field."""

import io
from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from openpyxl import Workbook

from catalog.imports.errors import FileRejected
from catalog.imports.workbooks import PRODUCT_HEADERS
from catalog.models import Product, Sku
from catalog.services.product_imports import import_products, preview_products
from catalog.services.products import (
    ProductStatusError,
    apply_product_schedules,
    set_product_status,
)
from orders.checkout import place_order
from orders.exceptions import CheckoutRefused
from orders.models import Order
from tests.catalog.factories import make_category, make_product, make_sku
from tests.catalog.test_pricing_admin import admin_form_data
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db
PHONE = [{"key": "phone", "label": "手机号码", "rule": "phone", "required": True}]
NOW = timezone.make_aware(datetime(2027, 2, 1, 10, 0))
CHANGELIST = "/admin/catalog/product/"


def topup(product=None, code=None, **fields):
    fields.setdefault("delivery_type", Sku.DeliveryType.TOPUP)
    return make_sku(code, product=product or make_product(status="draft"), **fields)


def status(product):
    product.refresh_from_db()
    return product.status


@pytest.fixture
def ops(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


# --- the listing service ---------------------------------------------------------


@pytest.mark.parametrize(
    "fields",
    [
        [],
        [{"key": "note", "label": "备注", "rule": "email", "required": False}],
        [{"key": "phone", "label": "手机号码", "rule": "iban"}],
    ],
    ids=["none", "only-optional", "broken"],
)
def test_a_top_up_without_a_required_account_field_is_not_listed(fields):
    product = make_product(status="draft")
    topup(product, "CM-50", recharge_fields=fields)
    fine = make_product(status="draft")
    with pytest.raises(ProductStatusError) as err:
        set_product_status(products=[product, fine], status="listed")
    assert "CM-50" in err.value.message
    assert err.value.extra["skus"] == ["CM-50"]
    assert (status(product), status(fine)) == ("draft", "draft")  # nothing listed


def test_a_top_up_with_its_account_field_lists_and_inactive_ones_do_not_block():
    product = make_product(status="draft")
    topup(product, recharge_fields=PHONE)
    topup(product, is_active=False)  # not sold, so not in the way
    make_sku(product=product)  # a card SKU needs no fields
    assert set_product_status(products=[product], status="listed") == 1
    assert status(product) == "listed"


def test_pausing_or_unlisting_a_product_with_a_bad_top_up_is_allowed():
    product = make_product(status="listed")
    topup(product)
    assert set_product_status(products=[product], status="paused") == 1


def test_the_admin_list_action_says_why_nothing_was_listed(client, ops):
    product = make_product(status="draft")
    topup(product, "CM-100")
    response = client.post(
        CHANGELIST,
        {"action": "list_products", "_selected_action": [product.pk]},
        follow=True,
    )
    messages = [str(m) for m in response.context["messages"]]
    assert any("未上架任何商品" in m and "CM-100" in m for m in messages), messages
    assert status(product) == "draft"


# --- the scheduled listing --------------------------------------------------------


def test_the_schedule_holds_a_bad_top_up_back_until_it_is_fixed():
    product = make_product(status="draft", list_at=NOW)
    sku = topup(product)
    other = make_product(status="draft", list_at=NOW)
    result = apply_product_schedules(now=NOW)
    assert (result["listed"], result["held"]) == (1, 1)
    assert (status(product), status(other)) == ("draft", "listed")
    assert product.list_at == NOW  # kept: the list shows the missed time
    Sku.objects.filter(pk=sku.pk).update(recharge_fields=PHONE)
    assert apply_product_schedules(now=NOW + timedelta(minutes=1))["listed"] == 1
    assert status(product) == "listed"
    assert product.list_at is None


# --- the product admin page ----------------------------------------------------------


def product_form(client, product):
    return admin_form_data(client.get(f"{CHANGELIST}{product.pk}/change/"))


def test_the_product_page_refuses_to_list_a_bad_top_up(client, ops):
    product = make_product(status="draft")
    topup(product, "WZ-60")
    data = product_form(client, product)
    data["status"] = "listed"
    response = client.post(f"{CHANGELIST}{product.pk}/change/", data)
    assert response.status_code == 200
    assert "SKU WZ-60 是已上架或已排期上架商品的直充规格" in response.content.decode()
    assert status(product) == "draft"


def test_the_product_page_refuses_to_schedule_a_bad_top_up(client, ops):
    product = make_product(status="draft")
    topup(product, "WZ-60")
    data = product_form(client, product)
    data.update({"list_at_0": "2027-02-01", "list_at_1": "10:00:00"})
    response = client.post(f"{CHANGELIST}{product.pk}/change/", data)
    assert response.status_code == 200
    assert "SKU WZ-60 是已上架或已排期上架商品的直充规格" in response.content.decode()
    product.refresh_from_db()
    assert product.list_at is None


def test_the_product_page_refuses_to_turn_a_listed_card_into_a_bare_top_up(client, ops):
    product = make_product(status="listed")
    sku = make_sku(product=product, stock_mode=Sku.StockMode.COUNTER)
    data = product_form(client, product)
    data["skus-0-delivery_type"] = "topup"
    response = client.post(f"{CHANGELIST}{product.pk}/change/", data)
    assert response.status_code == 200
    assert f"SKU {sku.code} 是已上架" in response.content.decode()
    sku.refresh_from_db()
    assert sku.delivery_type == "card"


def test_the_product_page_lists_a_product_whose_top_ups_ask_for_an_account(client, ops):
    product = make_product(status="draft")
    topup(product, recharge_fields=PHONE)
    topup(product, is_active=False)
    data = product_form(client, product)
    data["status"] = "listed"
    assert client.post(f"{CHANGELIST}{product.pk}/change/", data).status_code == 302
    assert status(product) == "listed"


def test_a_new_listed_product_cannot_bring_a_bare_top_up(client, ops):
    data = {
        "category": make_category().pk,
        "name": "话费快充",
        "description": "",
        "status": "listed",
        "skus-TOTAL_FORMS": "1",
        "skus-INITIAL_FORMS": "0",
        "skus-0-code": "CM-NEW",
        "skus-0-name": "50 元",
        "skus-0-delivery_type": "topup",
        "skus-0-stock_mode": "unlimited",
        "skus-0-stock": "0",
        "skus-0-price": "49.60",
        "skus-0-cost_price": "48.90",
        "skus-0-is_active": "on",
    }
    response = client.post(f"{CHANGELIST}add/", data)
    assert response.status_code == 200
    assert "CM-NEW" in response.content.decode()
    assert not Product.objects.filter(name="话费快充").exists()
    data["status"] = "draft"
    assert client.post(f"{CHANGELIST}add/", data).status_code == 302


# --- product import ----------------------------------------------------------------


def workbook(*rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(PRODUCT_HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def run_import(content, actor):
    return import_products(
        upload=SimpleUploadedFile("p.xlsx", content), name="p.xlsx", actor=actor
    )


@pytest.fixture
def listed_phone_product():
    root = make_category("话费充值")
    child = make_category("中国移动", parent=root)
    product = make_product("移动话费快充", category=child, status="listed")
    topup(product, "CM-50", recharge_fields=PHONE)
    return product


def test_an_import_cannot_add_a_bare_top_up_to_a_listed_product(
    settings, tmp_path, role_user, listed_phone_product
):
    settings.MEDIA_ROOT = tmp_path
    row = ["话费充值/中国移动", "移动话费快充", "CM-100", "100 元", 100, "直充", "", 99]
    with pytest.raises(FileRejected) as err:
        run_import(workbook(row + ["", 1, 10]), role_user("superadmin"))
    assert "第 2 行" in str(err.value.message) or "Row 2" in str(err.value.message)
    assert "CM-100" in str(err.value.message)
    assert not Sku.objects.filter(code="CM-100").exists()


def test_the_import_preview_names_the_row_that_would_sell_a_bare_top_up(
    settings, tmp_path, role_user, listed_phone_product
):
    """An existing SKU of a listed product turned into a top-up, or an old bare
    top-up of a listed product updated: the preview says so on its row."""
    settings.MEDIA_ROOT = tmp_path
    make_sku("CM-CARD", product=listed_phone_product, stock_mode="counter")
    topup(listed_phone_product, "CM-BARE")
    rows = [
        ["话费充值/中国移动", "移动话费快充", "CM-50", "50 元", 50, "直充", "", 49.5],
        ["话费充值/中国移动", "移动话费快充", "CM-CARD", "卡", 10, "直充", "", 9.9],
        ["话费充值/中国移动", "移动话费快充", "CM-BARE", "裸", 10, "直充", "", 9.8],
    ]
    preview = preview_products(
        upload=SimpleUploadedFile(
            "p.xlsx", workbook(*[row + ["", 1, 10] for row in rows])
        ),
        name="p.xlsx",
        actor=role_user("superadmin"),
    )
    assert [(error.row, error.reason[:12]) for error in preview.errors] == [
        (3, "SKU CM-CARD "),
        (4, "SKU CM-BARE "),
    ]
    assert "必填的充值字段" in preview.errors[0].reason
    assert [plan.row.sku_code for plan in preview.plans] == ["CM-50"]


def test_an_import_may_bring_bare_top_ups_as_drafts_and_update_good_ones(
    settings, tmp_path, role_user, listed_phone_product
):
    settings.MEDIA_ROOT = tmp_path
    rows = [
        ["话费充值/中国联通", "联通话费快充", "CU-50", "50 元", 50, "直充", "", 49.7],
        ["话费充值/中国移动", "移动话费快充", "CM-50", "50 元", 50, "直充", "", 49.5],
    ]
    run_import(workbook(*[row + ["", 1, 10] for row in rows]), role_user("superadmin"))
    new = Sku.objects.select_related("product").get(code="CU-50")
    assert new.product.status == "draft" and new.recharge_fields == []
    kept = Sku.objects.get(code="CM-50")
    assert (kept.price, kept.recharge_fields) == (Decimal("49.50"), PHONE)


# --- checkout ------------------------------------------------------------------------


def test_checkout_refuses_a_listed_top_up_that_lacks_its_account_field():
    """A database from before this rule may hold one: it is refused, clearly."""
    sku = topup(make_product(status="listed"))
    with pytest.raises(CheckoutRefused) as err:
        place_order(
            sku=sku, quantity=1, buyer=make_buyer(), recharge_account={"phone": "1"}
        )
    assert "暂时无法购买" in err.value.message
    assert not Order.objects.exists()


@pytest.mark.parametrize(
    ("account", "message"),
    [
        ({}, "手机号码：此项为必填项。"),
        ({"phone": "  "}, "手机号码：此项为必填项。"),
        ({"phone": "12345"}, "手机号码："),
        ({"phone": ["13800138000"]}, "手机号码："),
    ],
)
def test_checkout_names_the_missing_or_bad_account_field(account, message):
    sku = topup(make_product(status="listed"), recharge_fields=PHONE)
    with pytest.raises(CheckoutRefused) as err:
        place_order(sku=sku, quantity=1, buyer=make_buyer(), recharge_account=account)
    assert list(err.value.extra["fields"]) == ["phone"]
    assert err.value.extra["fields"]["phone"][0].startswith(message)
    assert not Order.objects.exists()


def test_the_shop_shows_the_account_error_on_its_field(client):
    sku = topup(make_product(status="listed"), recharge_fields=PHONE)
    client.force_login(make_buyer(Decimal("100.00")))
    page = client.post(
        f"/shop/p/{sku.product_id}/",
        {"quantity": "1", "payment": "wallet", "account_phone": "12345"},
    )
    assert page.status_code == 200
    form = page.context["form"]
    assert form.errors["account_phone"][0].startswith("手机号码：")
    assert not form.non_field_errors()
    assert not Order.objects.exists()


def test_the_shop_says_a_bare_top_up_cannot_be_bought(client):
    sku = topup(make_product(status="listed"))
    client.force_login(make_buyer(Decimal("100.00")))
    page = client.post(
        f"/shop/p/{sku.product_id}/", {"quantity": "1", "payment": "wallet"}
    )
    assert page.status_code == 200
    assert "暂时无法购买" in " ".join(page.context["form"].non_field_errors())
    assert "暂时无法购买" in page.content.decode()
    assert not Order.objects.exists()


# --- finding the ones an older database holds ---------------------------------------


def test_the_sku_list_finds_top_ups_without_an_account_field(client, ops):
    bare = topup(make_product(status="listed"), "CM-OLD")
    optional = topup(
        code="QQ-OLD",
        recharge_fields=[{"key": "qq", "label": "QQ", "rule": "qq", "required": False}],
    )
    topup(code="CM-OK", recharge_fields=PHONE)
    make_sku("CARD-1")
    response = client.get("/admin/catalog/sku/?account=missing")
    assert response.status_code == 200
    found = {sku.code for sku in response.context["cl"].result_list}
    assert found == {bare.code, optional.code}
    assert "未设置充值账号字段的直充 SKU" in response.content.decode()


def test_a_top_up_with_a_broken_stored_definition_is_refused_not_a_crash(client):
    """Written before the admin checked definitions, or by hand in the database."""
    sku = topup(
        make_product(status="listed"),
        recharge_fields=[{"key": "acct", "label": "账号", "rule": "iban"}],
    )
    client.force_login(make_buyer(Decimal("100.00")))
    url = f"/shop/p/{sku.product_id}/"
    assert client.get(url).status_code == 200
    page = client.post(url, {"quantity": "1", "payment": "wallet", "account_acct": "x"})
    assert page.status_code == 200
    assert "暂时无法购买" in page.content.decode()
    assert not Order.objects.exists()


def test_the_product_page_shows_what_each_sku_asks_for(client, ops):
    product = make_product(status="draft")
    good = topup(product, "CM-50", recharge_fields=PHONE)
    bare = topup(product, "CM-100")
    make_sku("CARD-1", product=product)
    html = client.get(f"{CHANGELIST}{product.pk}/change/").content.decode()
    assert f'<a href="/admin/catalog/sku/{good.pk}/change/">手机号码</a>' in html
    assert (
        f'<a href="/admin/catalog/sku/{bare.pk}/change/">没有必填字段：无法销售</a>'
        in html
    )
