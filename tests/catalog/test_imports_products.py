"""Product/SKU import: create or update by SKU code, price history, cost
visibility, all-or-nothing."""

import io
from decimal import Decimal

import pytest
from django.contrib.auth.models import Permission
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import Workbook

from catalog.imports.errors import FileRejected
from catalog.imports.workbooks import PRODUCT_HEADERS
from catalog.models import CardBatch, CardCode, Category, PriceChange, Product, Sku
from catalog.services.product_imports import import_products, preview_products
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"):
        yield


def workbook(*rows, headers=PRODUCT_HEADERS) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(headers)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


ROW = ["游戏点卡/腾讯", "Q币直充卡", "QB-10", "10 Q币", 10, "卡密", "", 9.8, 9.3, 1, 50]


def run_import(content, actor, name="p.xlsx"):
    return import_products(
        upload=SimpleUploadedFile(name, content), name=name, actor=actor
    )


def test_import_creates_category_path_product_and_sku_with_history(role_user):
    actor = role_user("superadmin")
    result = run_import(workbook(ROW), actor)
    assert result.counts() == {"created": 1, "updated": 0, "unchanged": 0}
    sku = Sku.objects.select_related("product__category__parent").get(code="QB-10")
    assert sku.product.name == "Q币直充卡"
    assert sku.product.status == Product.Status.DRAFT
    assert sku.product.category.name == "腾讯"
    assert sku.product.category.parent.name == "游戏点卡"
    assert sku.stock_mode == Sku.StockMode.CODES
    assert sku.price == Decimal("9.80") and sku.cost_price == Decimal("9.30")
    assert sku.max_quantity == 50
    layers = set(
        PriceChange.objects.filter(sku=sku, cause="import").values_list(
            "layer", flat=True
        )
    )
    assert layers == {"base", "cost"}


def test_reimport_updates_price_and_records_the_change(role_user):
    actor = role_user("superadmin")
    run_import(workbook(ROW), actor)
    changed = list(ROW)
    changed[7] = 10.5
    result = run_import(workbook(changed), actor)
    assert result.counts()["updated"] == 1
    change = PriceChange.objects.filter(layer="base").order_by("-id").first()
    assert (change.old_price, change.new_price) == (Decimal("9.80"), Decimal("10.50"))
    assert change.cause == PriceChange.Cause.IMPORT and change.actor == actor
    assert Category.objects.filter(name="腾讯").count() == 1
    again = run_import(workbook(changed), actor)
    assert again.counts()["unchanged"] == 1


def test_cost_is_ignored_without_view_cost(role_user):
    sku = make_sku("QB-10", cost_price=Decimal("5.00"))
    user = role_user("operations")  # catalog.* includes view_cost; take it away
    user.groups.clear()
    user.user_permissions.set(
        Permission.objects.filter(
            content_type__app_label="catalog", codename__in=["add_sku", "change_sku"]
        )
    )
    user = type(user).objects.get(pk=user.pk)
    preview = preview_products(
        upload=SimpleUploadedFile("p.xlsx", workbook(ROW)), name="p.xlsx", actor=user
    )
    assert preview.notices
    run_import(workbook(ROW), user)
    sku.refresh_from_db()
    assert sku.cost_price == Decimal("5.00")
    assert sku.price == Decimal("9.80")


def test_one_bad_row_imports_nothing_and_every_error_is_listed(role_user):
    actor = role_user("superadmin")
    bad = ["游戏点卡", "X", "BAD CODE", "", -1, "飞鸽", "", 0, "", 5, 2]
    content = workbook(ROW, bad, ROW)
    preview = preview_products(
        upload=SimpleUploadedFile("p.xlsx", content), name="p.xlsx", actor=actor
    )
    fields = {(e.row, e.field) for e in preview.errors}
    assert (3, "SKU code") in fields and (3, "spec") in fields
    assert (3, "delivery type") in fields and (3, "price") in fields
    assert (3, "maximum per order") in fields
    assert (4, "SKU code") in fields  # repeats row 2
    with pytest.raises(FileRejected):
        run_import(content, actor)
    assert not Sku.objects.exists() and not Category.objects.exists()


@pytest.mark.parametrize(
    ("headers", "message"),
    [
        (["分类路径", "商品名称", "SKU编码"], "missing"),
        ([*PRODUCT_HEADERS, "颜色"], "颜色"),
    ],
)
def test_wrong_columns_are_rejected(role_user, headers, message):
    with pytest.raises(FileRejected, match=message):
        preview_products(
            upload=SimpleUploadedFile("p.xlsx", workbook(headers=headers)),
            name="p.xlsx",
            actor=role_user("superadmin"),
        )


def test_sku_with_codes_keeps_its_delivery_type(role_user):
    sku = make_sku("QB-10")
    batch = CardBatch.objects.create(sku=sku, file_name="x", file_format="txt")
    CardCode.objects.create(
        sku=sku, batch=batch, secret="x", code_hash="h", key_version="k", hint="h"
    )
    row = list(ROW)
    row[5] = "人工"
    preview = preview_products(
        upload=SimpleUploadedFile("p.xlsx", workbook(row)),
        name="p.xlsx",
        actor=role_user("superadmin"),
    )
    assert "has card codes" in preview.errors[0].reason


def upload_products(client, capture, content, name="p.xlsx"):
    """Upload as the page does; the preview a worker makes after the commit runs
    here too (Celery is eager in tests). The page it redirects to."""
    url = reverse("catalog:import_products")
    with capture(execute=True):
        response = client.post(url, {"file": SimpleUploadedFile(name, content)})
    assert response.status_code == 302
    return client.get(response["Location"])


def test_product_page_previews_then_commits(
    client, role_user, settings, django_capture_on_commit_callbacks
):
    client.force_login(role_user("operations"))
    page = upload_products(client, django_capture_on_commit_callbacks, workbook(ROW))
    body = page.content.decode()
    assert 'data-state="done"' in body and 'data-action="create"' in body
    assert 'hx-trigger="every 1s"' not in body  # done: it stops polling
    assert not Sku.objects.exists()
    token = page.context["token"]
    url = reverse("catalog:import_products")
    response = client.post(url, {"token": token, "commit": "1"})
    assert response.status_code == 302
    assert Sku.objects.filter(code="QB-10").exists()
    # The token is spent and its staged file gone: a second commit is refused.
    client.post(url, {"token": token, "commit": "1"})
    assert Sku.objects.count() == 1
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_product_page_polls_while_a_worker_checks_the_file(client, role_user):
    """Without a worker having run yet, the page shows the check and polls."""
    client.force_login(role_user("operations"))
    url = reverse("catalog:import_products")
    response = client.post(url, {"file": SimpleUploadedFile("p.xlsx", workbook(ROW))})
    page = client.get(response["Location"]).content.decode()
    assert 'data-state="checking"' in page and 'hx-trigger="every 1s"' in page
    assert "commit-products" not in page


def test_product_file_with_errors_shows_them_and_is_not_kept(
    client, role_user, settings, django_capture_on_commit_callbacks
):
    client.force_login(role_user("operations"))
    bad = ["游戏点卡", "X", "BAD CODE", "", -1, "飞鸽", "", 0, "", 5, 2]
    page = upload_products(client, django_capture_on_commit_callbacks, workbook(bad))
    body = page.content.decode()
    assert 'data-testid="product-errors"' in body and "commit-products" not in body
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_rejected_product_file_is_explained_on_the_upload_form(
    client, role_user, settings, django_capture_on_commit_callbacks
):
    client.force_login(role_user("operations"))
    content = workbook(["x"], headers=["分类路径", "商品名称", "SKU编码"])
    page = upload_products(client, django_capture_on_commit_callbacks, content)
    assert "缺少必填列" in page.context["failure"]  # "required columns missing"
    assert 'data-testid="file-error"' in page.content.decode()
    assert not [p for p in settings.MEDIA_ROOT.rglob("*") if p.is_file()]


def test_a_preview_of_another_session_is_not_shown(client, role_user):
    client.force_login(role_user("operations"))
    response = client.get(reverse("catalog:import_products") + "?preview=abc123")
    assert response.status_code == 302


def test_a_row_the_model_refuses_at_commit_names_row_and_field(role_user, monkeypatch):
    """A rule only the model knows (checked by full_clean at commit) is reported
    with its row and field, and the rows before it are rolled back."""
    actor = role_user("superadmin")
    second = [*ROW[:2], "QB-20", *ROW[3:]]

    def refuse_qb20(sku, *args, **kwargs):
        if sku.code == "QB-20":
            raise ValidationError({"price": ["is not allowed today"]})

    monkeypatch.setattr(Sku, "full_clean", refuse_qb20)
    with pytest.raises(FileRejected) as excinfo:
        run_import(workbook(ROW, second), actor)
    assert str(excinfo.value) == (
        "Row 3: price: is not allowed today; nothing was imported."
    )
    assert not Sku.objects.exists() and not Product.objects.exists()
