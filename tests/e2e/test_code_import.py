"""An operator imports card codes in a real browser: upload a small CSV, check the
preview, commit, watch the progress bar reach 100% and the SKU's stock move."""

import pytest
from playwright.sync_api import expect

from catalog.models import CardBatch, Sku
from tests.catalog.factories import make_sku
from tests.e2e.helpers import VIEWPORTS, screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

CSV = (
    "卡号,密码\r\nE2E-AAAA-0001,pw1\r\nE2E-AAAA-0002,pw2\r\n"
    "E2E-AAAA-0002,pw2\r\nx,y\r\n"
)


@pytest.mark.parametrize("viewport", VIEWPORTS)
def test_operator_imports_codes_and_sees_stock_move(
    live_server, new_page, role_user, screenshot_dir, settings, tmp_path, viewport
):
    settings.MEDIA_ROOT = tmp_path
    sku = make_sku("E2E-10")
    user = role_user("operations")
    page, watcher = new_page(viewport)
    shots = screenshot_dir / viewport

    page.goto(f"{live_server.url}/admin/login/?next=/admin/catalog/imports/codes/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("code-upload-form")).to_be_visible()

    page.locator("select[name=sku]").select_option(str(sku.pk))
    page.locator("input[name=file]").set_input_files(
        files=[{"name": "codes.csv", "mimeType": "text/csv", "buffer": CSV.encode()}]
    )
    screenshot(page, f"{shots}-upload.png")
    page.locator("[data-testid=code-upload-form] button[type=submit]").click()

    counts = page.get_by_test_id("batch-counts")
    expect(counts.locator("[data-count=to_import]")).to_have_text("2")
    expect(counts.locator("[data-count=duplicates]")).to_have_text("1")
    expect(counts.locator("[data-count=rejected]")).to_have_text("1")
    expect(page.get_by_test_id("batch-errors")).to_contain_text("5")  # row 5
    assert Sku.objects.get(pk=sku.pk).stock == 0  # the preview wrote nothing
    screenshot(page, f"{shots}-preview.png")

    page.get_by_test_id("commit-import").click()

    progress = page.get_by_test_id("batch-progress")
    expect(progress).to_have_attribute("data-percent", "100", timeout=20_000)
    expect(page.get_by_test_id("batch-status")).to_have_attribute("data-status", "done")
    expect(counts.locator("[data-count=imported]")).to_have_text("2")
    expect(page.get_by_test_id("sku-stock")).to_have_text("2")
    screenshot(page, f"{shots}-done.png")
    assert Sku.objects.get(pk=sku.pk).stock == 2
    assert CardBatch.objects.get().created_by == user
    watcher.assert_clean()
