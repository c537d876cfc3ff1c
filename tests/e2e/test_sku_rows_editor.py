"""The SKU page's row editor in a real browser, on a PC and on a phone: rows are
added and removed by the page's script, saved as the JSON the shop reads, and on
a phone the editor fits the screen."""

import pytest
from playwright.sync_api import expect

from catalog.models import Sku
from tests.catalog.factories import make_product, make_sku
from tests.e2e.helpers import screenshot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.mark.parametrize("viewport", ["desktop", "phone"])
def test_operator_edits_recharge_fields_as_rows(
    live_server, new_page, role_user, screenshot_dir, viewport
):
    sku = make_sku(
        "WZ-60",
        product=make_product("王者荣耀点券", status="draft"),
        delivery_type="topup",
        recharge_fields=[
            {"key": "role_id", "label": "角色 ID", "rule": "game_id", "required": True},
            {"key": "note", "label": "备注", "rule": "email", "required": False},
        ],
    )
    user = role_user("operations")
    page, watcher = new_page(viewport)
    page.goto(live_server.url + "/admin/login/")
    page.get_by_label("用户名").fill(user.username)
    page.get_by_label("密码").fill("x-test-password")
    page.get_by_role("button", name="登录").click()
    expect(page.get_by_test_id("dashboard")).to_be_visible()

    page.goto(f"{live_server.url}/admin/catalog/sku/{sku.pk}/change/")
    editor = page.locator("[data-rows-editor]").filter(
        has=page.locator('[name^="recharge_fields-"]')
    )
    rows = editor.locator("tbody tr")
    expect(rows).to_have_count(3)  # two stored, one blank
    editor.get_by_role("button", name="删除此行").nth(1).click()  # drop 备注
    expect(rows).to_have_count(2)
    editor.get_by_role("button", name="添加一行").click()
    expect(rows).to_have_count(3)
    expect(rows.nth(2).locator("[data-rows-number]")).to_have_text("3")
    new_row = rows.nth(2)
    new_row.get_by_label("字段键").fill("server")
    new_row.get_by_label("字段名称").fill("大区")
    new_row.get_by_label("校验规则").select_option("regex")
    new_row.get_by_label("正则表达式").fill("(安卓|苹果)区")
    if viewport == "phone":
        width = page.viewport_size["width"]
        box = editor.bounding_box()
        assert box["x"] >= 0 and box["x"] + box["width"] <= width
        for label in ("字段键", "校验规则"):
            field = new_row.get_by_label(label).bounding_box()
            assert field["x"] + field["width"] <= width
    screenshot(page, screenshot_dir / f"{viewport}.png")
    page.locator('[name="_continue"]').click()
    expect(page.locator(".errornote, .errorlist")).to_have_count(0)

    sku.refresh_from_db()
    assert sku.recharge_fields == [
        {"key": "role_id", "label": "角色 ID", "rule": "game_id", "required": True},
        {
            "key": "server",
            "label": "大区",
            "rule": "regex:(安卓|苹果)区",
            "required": True,
        },
    ]
    assert Sku.objects.count() == 1
    watcher.assert_clean()
