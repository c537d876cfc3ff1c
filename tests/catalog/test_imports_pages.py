"""The import pages: upload → preview → commit → batch page, templates, reports,
void, permissions."""

import io

import pytest
from django.core.cache import cache
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from django.utils import translation
from openpyxl import load_workbook

from catalog.models import CardBatch, CardCode
from catalog.selectors.imports import progress_key
from tests.catalog.factories import make_sku

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"):
        yield


@pytest.fixture
def operator(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


@pytest.fixture
def post_file(client, django_capture_on_commit_callbacks):
    """Upload a file as the page does; the check a worker runs after the commit
    runs here too (Celery is eager in tests)."""

    def post(sku, name, content):
        with django_capture_on_commit_callbacks(execute=True):
            return client.post(
                reverse("catalog:import_codes"),
                {"sku": sku.pk, "file": SimpleUploadedFile(name, content)},
            )

    return post


def test_operator_previews_commits_and_sees_stock_move(
    client, operator, post_file, django_capture_on_commit_callbacks
):
    sku = make_sku()
    page = client.get(reverse("catalog:import_codes"))
    assert page.status_code == 200
    assert sku.code in page.content.decode()

    response = post_file(sku, "c.csv", "卡号,密码\r\nAAAA1111,p\r\nAB,p\r\n".encode())
    batch = CardBatch.objects.get()
    assert response.status_code == 302
    assert response["Location"] == reverse("catalog:import_batch", args=[batch.pk])
    preview = client.get(response["Location"]).content.decode()
    assert 'data-count="to_import">1<' in preview
    assert "commit-import" in preview
    assert not CardCode.objects.exists()

    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("catalog:import_batch_commit", args=[batch.pk]))
    batch.refresh_from_db()
    sku.refresh_from_db()
    assert batch.status == CardBatch.Status.DONE and batch.created_by == operator
    assert sku.stock == 1
    page = client.get(reverse("catalog:import_batch", args=[batch.pk])).content.decode()
    assert 'data-percent="100"' in page

    progress = client.get(
        reverse("catalog:import_batch_progress", args=[batch.pk]),
        headers={"HX-Request": "true"},
    )
    assert progress["HX-Refresh"] == "true"

    for fmt in ("csv", "xlsx"):
        report = client.get(
            reverse("catalog:import_batch_report", args=[batch.pk, fmt])
        )
        assert report.status_code == 200
        body = b"".join(report.streaming_content)
        if fmt == "xlsx":
            rows = list(load_workbook(io.BytesIO(body)).active.values)
            assert rows[1][0] == 3
        else:
            assert "AB" not in body.decode("utf-8-sig")  # codes never in the report

    client.post(
        reverse("catalog:import_batch_void", args=[batch.pk]), {"confirm": "yes"}
    )
    sku.refresh_from_db()
    assert sku.stock == 0


def test_file_rejected_by_the_check_is_explained_on_its_batch_page(
    client, operator, post_file, settings
):
    sku = make_sku()
    response = post_file(sku, "x.csv", "订单号,金额\n1,2\n".encode())
    batch = CardBatch.objects.get()
    assert response["Location"] == reverse("catalog:import_batch", args=[batch.pk])
    assert batch.status == CardBatch.Status.FAILED
    page = client.get(response["Location"]).content.decode()
    assert "订单号" in page and 'data-testid="batch-failure"' in page
    assert "commit-import" not in page
    assert not batch.upload and not batch.error_report
    stored = (settings.MEDIA_ROOT / "imports").rglob("*")
    assert not [path for path in stored if path.is_file()]


def test_page_polls_while_the_file_is_checked_then_reloads(client, operator):
    sku = make_sku()
    batch = CardBatch.objects.create(
        sku=sku,
        file_name="big.xlsx",
        file_format="xlsx",
        status=CardBatch.Status.CHECKING,
    )
    page = client.get(reverse("catalog:import_batch", args=[batch.pk])).content.decode()
    url = reverse("catalog:import_batch_progress", args=[batch.pk])
    assert f'hx-get="{url}"' in page and "正在检查文件" in page
    assert "commit-import" not in page
    CardBatch.objects.filter(pk=batch.pk).update(status=CardBatch.Status.PREVIEWED)
    fragment = client.get(url, headers={"HX-Request": "true"})
    assert fragment["HX-Refresh"] == "true"


def test_file_refused_before_it_is_stored_stays_on_the_upload_page(
    client, operator, post_file
):
    sku = make_sku()
    response = post_file(sku, "codes.pdf", b"%PDF-1.4")
    assert response.status_code == 200
    assert "pdf" in response.content.decode()
    assert not CardBatch.objects.exists()


def test_templates_download_as_xlsx_with_notes(client, operator):
    for name in ("catalog:import_codes_template", "catalog:import_products_template"):
        response = client.get(reverse(name))
        assert response.status_code == 200
        workbook = load_workbook(io.BytesIO(response.content))
        assert len(workbook.sheetnames) == 2
        assert workbook.worksheets[0].max_row >= 3  # header + examples


@pytest.mark.parametrize("role", ["support", "marketing", "finance"])
def test_other_roles_cannot_import_or_void(client, role_user, role):
    sku = make_sku()
    client.force_login(role_user(role))
    assert client.get(reverse("catalog:import_codes")).status_code == 403
    assert client.get(reverse("catalog:import_products")).status_code == 403
    batch = CardBatch.objects.create(sku=sku, file_name="x", file_format="txt")
    assert (
        client.post(reverse("catalog:import_batch_void", args=[batch.pk])).status_code
        == 403
    )


def test_sidebar_lists_import_pages_for_operations(client, operator):
    page = client.get(reverse("admin:index")).content.decode()
    assert reverse("catalog:import_codes") in page
    assert reverse("catalog:import_products") in page


def test_void_needs_confirmation(
    client, operator, post_file, django_capture_on_commit_callbacks
):
    sku = make_sku()
    post_file(sku, "c.txt", b"AAAA1111\n")
    batch = CardBatch.objects.get()
    with django_capture_on_commit_callbacks(execute=True):
        client.post(reverse("catalog:import_batch_commit", args=[batch.pk]))
    client.post(reverse("catalog:import_batch_void", args=[batch.pk]))
    batch.refresh_from_db()
    assert batch.status == CardBatch.Status.DONE


def test_progress_fragment_polls_while_importing(client, operator):
    sku = make_sku()
    batch = CardBatch.objects.create(
        sku=sku,
        file_name="big.xlsx",
        file_format="xlsx",
        status=CardBatch.Status.IMPORTING,
        total_rows=200,
    )
    cache.set(progress_key(batch.pk), 50)
    url = reverse("catalog:import_batch_progress", args=[batch.pk])
    fragment = client.get(url, headers={"HX-Request": "true"})
    body = fragment.content.decode()
    assert 'data-percent="25"' in body
    assert f'hx-get="{url}"' in body and 'hx-trigger="every 1s"' in body
    assert "HX-Refresh" not in fragment


def test_file_over_the_size_limit_is_refused_with_the_limit(
    client, operator, post_file, settings
):
    settings.CARD_IMPORT_MAX_BYTES = 1024 * 1024
    sku = make_sku()
    big = b"AAAA1111,pw\n" * (2 * 1024 * 1024 // 12)
    response = post_file(sku, "big.csv", big)
    assert response.status_code == 200
    # "The file is 2.0 MB; the limit is 1.0 MB. Split it into parts."
    assert "文件大小为 2.0\xa0MB，上限为 1.0\xa0MB" in response.content.decode()
    assert not CardBatch.objects.exists()
