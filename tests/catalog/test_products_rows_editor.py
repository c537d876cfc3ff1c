"""The SKU page edits recharge fields and specs as rows, not as a JSON box: what
the page shows posts back unchanged, a bad row is named by number and column."""

from decimal import Decimal
from html.parser import HTMLParser

import pytest

from catalog.models import Sku
from tests.catalog.factories import make_product, make_sku

pytestmark = pytest.mark.django_db

FIELDS = [
    {"key": "role_id", "label": "角色 ID", "rule": "game_id", "required": True},
    {"key": "server", "label": "大区", "rule": "regex:(安卓|苹果)区", "required": True},
    {"key": "note", "label": "备注", "rule": "email", "required": False},
]
SPECS = {"区服": ["一区"], "平台": ["安卓", "苹果"], "地区": "全国"}


class FormInputs(HTMLParser):
    """What a browser would post for the page's form: text, hidden and checked
    inputs, each select's chosen option; nothing inside <template>."""

    def __init__(self):
        super().__init__()
        self.data: dict[str, list[str]] = {}
        self.in_template = 0
        self.select: str | None = None
        self.first_option: str | None = None
        self.chosen: str | None = None

    def add(self, name, value):
        self.data.setdefault(name, []).append(value)

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "template":
            self.in_template += 1
        if self.in_template:
            return
        name = attrs.get("name")
        if tag == "input" and name:
            kind = attrs.get("type", "text")
            if kind in ("checkbox", "radio"):
                if "checked" in attrs:
                    self.add(name, attrs.get("value", "on"))
            elif kind not in ("file", "submit", "button"):
                self.add(name, attrs.get("value") or "")
        elif tag == "textarea" and name:
            self.add(name, "")  # the SKU page has none we read back
        elif tag == "select" and name:
            self.select, self.first_option, self.chosen = name, None, None
        elif tag == "option" and self.select:
            value = attrs.get("value", "")
            if self.first_option is None:
                self.first_option = value
            if "selected" in attrs:
                self.chosen = value

    def handle_endtag(self, tag):
        if tag == "template":
            self.in_template -= 1
        elif tag == "select" and self.select and not self.in_template:
            value = self.chosen if self.chosen is not None else self.first_option
            self.add(self.select, value or "")
            self.select = None


def page_inputs(response) -> dict[str, list[str]]:
    parser = FormInputs()
    parser.feed(response.content.decode())
    parser.data.pop("csrfmiddlewaretoken", None)
    return parser.data


@pytest.fixture
def ops(client, role_user):
    user = role_user("operations")
    client.force_login(user)
    return user


def url(sku):
    return f"/admin/catalog/sku/{sku.pk}/change/"


def rows(prefix, *rows_):
    """Post data for rows: rows(("key", "label", "rule", "pattern", required))."""
    data = {f"{prefix}-present": "1"}
    columns = {
        "recharge_fields": ("key", "label", "rule", "pattern", "required"),
        "specs": ("name", "value"),
    }[prefix]
    for index, row in enumerate(rows_):
        for column, value in zip(columns, row, strict=True):
            if column == "required":
                if value:
                    data[f"{prefix}-{index}-required"] = "on"
            else:
                data[f"{prefix}-{index}-{column}"] = value
    return data


def sku_post(client, sku, **changes):
    """The page as rendered, resubmitted, with `changes` on top (None drops)."""
    data = page_inputs(client.get(url(sku)))
    for name in [n for n in data if n.startswith(("recharge_fields-", "specs-"))]:
        if any(n.startswith(name.split("-")[0] + "-") for n in changes):
            del data[name]
    for name, value in changes.items():
        if value is None:
            data.pop(name, None)
        else:
            data[name] = value
    return client.post(url(sku), data)


@pytest.fixture
def topup(ops):
    product = make_product(status="listed")
    return make_sku(
        "WZ-60",
        product=product,
        delivery_type="topup",
        price=Decimal("5.90"),
        recharge_fields=FIELDS,
        specs=SPECS,
    )


def test_the_page_shows_rows_not_json_and_loads_its_script_as_a_file(client, topup):
    html = client.get(url(topup)).content.decode()
    assert 'name="recharge_fields-0-key" value="role_id"' in html
    assert 'name="recharge_fields-1-pattern" value="(安卓|苹果)区"' in html
    assert 'name="specs-0-name" value="区服"' in html
    assert "catalog/rows-editor.js" in html and "catalog/rows-editor.css" in html
    assert 'name="recharge_fields"' not in html  # no raw JSON box
    start = html.index("data-rows-editor")
    assert "<script" not in html[start : html.index("</table>", start)]
    assert "校验规则" in html and "添加一行" in html
    assert 'role="group" aria-label="充值字段"' in html
    assert 'for="id_recharge_fields"' not in html  # no label pointing nowhere


def test_what_the_page_shows_posts_back_unchanged(client, topup):
    response = sku_post(client, topup)
    assert response.status_code == 302, response.context["adminform"].form.errors
    topup.refresh_from_db()
    assert topup.recharge_fields == FIELDS
    assert topup.specs == SPECS


def test_rows_are_saved_as_the_json_the_shop_reads(client, topup):
    response = sku_post(
        client,
        topup,
        **rows(
            "recharge_fields",
            ("qq", " QQ 号码 ", "qq", "", True),
            ("", "", "phone", "", True),  # a blank row is dropped
            ("code", "兑换码", "regex", r"[A-Z]{4}\d{4}", False),
        ),
        **rows("specs", ("区服", "一区"), ("区服", "二区"), ("面值", "10 元")),
    )
    assert response.status_code == 302
    topup.refresh_from_db()
    assert topup.recharge_fields == [
        {"key": "qq", "label": "QQ 号码", "rule": "qq", "required": True},
        {
            "key": "code",
            "label": "兑换码",
            "rule": r"regex:[A-Z]{4}\d{4}",
            "required": False,
        },
    ]
    assert topup.specs == {"区服": ["一区", "二区"], "面值": "10 元"}
    page = client.get(f"/shop/p/{topup.product_id}/")
    assert 'name="account_qq"' in page.content.decode()


@pytest.mark.parametrize(
    ("row", "message"),
    [
        (("Bad Key", "账号", "qq", "", True), "第 2 行「字段键」："),
        (("qq", "", "qq", "", True), "第 2 行「字段名称」：请填写 1 到 40 个字符。"),
        (("phone", "手机", "phone", "", True), "第 2 行「字段键」：phone 重复使用。"),
        (
            ("code", "码", "regex", r"(a)\1", True),
            "第 2 行「校验规则」：正则表达式不可用",
        ),
        (("code", "码", "regex", "", True), "第 2 行「校验规则」：正则表达式不可用"),
        (("code", "码", "qq", r"\d+", True), "第 2 行「正则表达式」："),
        (("code", "码", "iban", "", True), "第 2 行「校验规则」：iban 未知"),
    ],
)
def test_a_bad_row_is_named_by_number_and_column(client, topup, row, message):
    before = list(topup.recharge_fields)
    response = sku_post(
        client,
        topup,
        **rows("recharge_fields", ("phone", "手机号码", "phone", "", True), row),
    )
    assert response.status_code == 200
    errors = response.context["adminform"].form.errors["recharge_fields"]
    assert any(error.startswith(message) for error in errors), errors
    html = response.content.decode()
    assert message.split("：")[0] in html
    assert f'name="recharge_fields-1-key" value="{row[0]}"' in html  # kept as typed
    topup.refresh_from_db()
    assert topup.recharge_fields == before


def test_a_bad_spec_row_is_named_by_number_and_column(client, topup):
    response = sku_post(client, topup, **rows("specs", ("区服", "一区"), ("", "二区")))
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["specs"] == [
        "第 2 行「规格名」：请填写 1 到 40 个字符。"
    ]


def test_a_listed_top_up_cannot_be_saved_without_an_account_field(client, topup):
    response = sku_post(
        client,
        topup,
        **rows("recharge_fields", ("note", "备注", "email", "", False)),
    )
    assert response.status_code == 200
    form = response.context["adminform"].form
    assert "SKU WZ-60 是已上架或已排期上架商品的直充规格" in " ".join(
        form.non_field_errors()
    )
    topup.refresh_from_db()
    assert topup.recharge_fields == FIELDS


def test_a_draft_top_up_may_wait_for_its_fields(client, ops):
    sku = make_sku(product=make_product(status="draft"), delivery_type="topup")
    response = sku_post(client, sku, **{"recharge_fields-present": "1"})
    assert response.status_code == 302
    sku.refresh_from_db()
    assert sku.recharge_fields == []


def test_a_card_sku_of_a_listed_product_may_have_no_fields(client, ops):
    sku = make_sku(product=make_product(status="listed"))
    response = sku_post(client, sku, **rows("specs", ("面值", "10 元")))
    assert response.status_code == 302
    sku.refresh_from_db()
    assert (sku.recharge_fields, sku.specs) == ([], {"面值": "10 元"})


def test_a_post_without_the_rows_keeps_the_stored_value(client, topup):
    data = page_inputs(client.get(url(topup)))
    for name in [n for n in data if n.startswith(("recharge_fields", "specs"))]:
        del data[name]
    assert client.post(url(topup), data).status_code == 302
    topup.refresh_from_db()
    assert (topup.recharge_fields, topup.specs) == (FIELDS, SPECS)


def test_an_unknown_stored_rule_is_shown_and_must_be_fixed(client, ops):
    sku = make_sku(
        product=make_product(status="draft"),
        delivery_type="topup",
        recharge_fields=[{"key": "acct", "label": "账号", "rule": "iban"}],
    )
    html = client.get(url(sku)).content.decode()
    assert '<option value="iban" selected>' in html
    response = sku_post(client, sku)
    assert response.status_code == 200
    assert Sku.objects.get(pk=sku.pk).recharge_fields[0]["rule"] == "iban"


def test_rows_are_read_in_index_order_however_far_apart(client, topup):
    data = rows("recharge_fields")
    data.update(
        {
            "recharge_fields-250-key": "qq",
            "recharge_fields-250-label": "QQ",
            "recharge_fields-250-rule": "qq",
            "recharge_fields-250-required": "on",
            "recharge_fields-7-key": "phone",
            "recharge_fields-7-label": "手机",
            "recharge_fields-7-rule": "phone",
            "recharge_fields-7-required": "on",
            "recharge_fields-" + "9" * 30 + "-key": "ignored",
        }
    )
    assert sku_post(client, topup, **data).status_code == 302
    topup.refresh_from_db()
    assert [field["key"] for field in topup.recharge_fields] == ["phone", "qq"]


def test_too_many_rows_are_refused(client, topup):
    data = rows("specs", *[(f"规格{n}", "值") for n in range(101)])
    response = sku_post(client, topup, **data)
    assert response.status_code == 200
    assert response.context["adminform"].form.errors["specs"] == ["最多 100 行。"]
    topup.refresh_from_db()
    assert topup.specs == SPECS


@pytest.mark.parametrize("role", ["support", "marketing"])
def test_who_may_only_look_reads_rows_not_json(client, role_user, topup, role):
    client.force_login(role_user(role))
    response = client.get(url(topup))
    assert response.status_code == 200
    html = response.content.decode()
    assert "<td>角色 ID</td><td>role_id</td><td>游戏 ID</td><td>是</td>" in html
    assert "正则表达式 <code>(安卓|苹果)区</code>" in html
    assert "<div>平台：安卓、苹果</div>" in html
    assert '"key"' not in html and "&quot;key&quot;" not in html
