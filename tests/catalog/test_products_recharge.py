"""Recharge fields: what a buyer types for a top-up is checked against the SKU."""

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from catalog import recharge
from catalog.models import Sku
from catalog.recharge import (
    MAX_VALUE_LENGTH,
    has_account_field,
    parse_recharge_fields,
    validate_recharge_fields,
)


@pytest.fixture(autouse=True)
def _english():
    """These tests read the wording of each message; the catalogue's Chinese is
    checked elsewhere (the checkout and admin tests see it)."""
    with translation.override("en"):
        yield


def sku_with(*fields):
    return Sku(code="T", delivery_type="topup", recharge_fields=list(fields))


def field(key="account", rule="phone", label="账号", **extra):
    return {"key": key, "label": label, "rule": rule, **extra}


def errors_of(sku, data) -> dict:
    with pytest.raises(ValidationError) as err:
        validate_recharge_fields(sku=sku, data=data)
    return err.value.message_dict


@pytest.mark.parametrize(
    ("rule", "value", "cleaned"),
    [
        ("phone", "13800138000", "13800138000"),
        ("phone", " 138-0013-8000 ", "13800138000"),
        ("phone", "+8619912345678", "19912345678"),
        ("qq", "10001", "10001"),
        ("qq", "12345678901", "12345678901"),
        ("email", "a.b@example.com", "a.b@example.com"),
        ("game_id", "Player_01-x", "Player_01-x"),
        ("game_id", "abcd", "abcd"),
        (r"regex:\d{3}-[A-Z]{2}", "123-AB", "123-AB"),
    ],
)
def test_good_values_are_cleaned(rule, value, cleaned):
    sku = sku_with(field(rule=rule))
    assert validate_recharge_fields(sku=sku, data={"account": value}) == {
        "account": cleaned
    }


@pytest.mark.parametrize(
    ("rule", "value"),
    [
        ("phone", "12800138000"),  # second digit 2
        ("phone", "1380013800"),  # 10 digits
        ("phone", "138001380001"),
        ("qq", "01234"),  # leading 0
        ("qq", "1234"),  # too short
        ("qq", "123456789012"),  # 12 digits
        ("email", "not-an-email"),
        ("game_id", "abc"),  # too short
        ("game_id", "玩家一号"),
        ("game_id", "a" * 33),
        (r"regex:\d{3}", "1234"),  # fullmatch, not search
        (r"regex:\d{3}", "x123"),
    ],
)
def test_bad_values_are_refused_naming_the_field(rule, value):
    errors = errors_of(sku_with(field(rule=rule, label="充值账号")), {"account": value})
    assert list(errors) == ["account"]
    assert "充值账号" in errors["account"][0]


def test_every_wrong_field_is_reported_at_once():
    sku = sku_with(field("phone", "phone"), field("qq", "qq"), field("mail", "email"))
    errors = errors_of(sku, {"phone": "1", "qq": "", "mail": "ok@example.com"})
    assert set(errors) == {"phone", "qq"}
    assert "required" in errors["qq"][0]


def test_optional_field_may_stay_empty_and_unknown_keys_are_dropped():
    sku = sku_with(field("uid", "game_id"), field("server", "game_id", required=False))
    cleaned = validate_recharge_fields(
        sku=sku, data={"uid": "hero_01", "server": "  ", "evil": "x"}
    )
    assert cleaned == {"uid": "hero_01", "server": ""}


def test_numbers_are_accepted_as_text_and_other_types_refused():
    sku = sku_with(field("qq", "qq"))
    assert validate_recharge_fields(sku=sku, data={"qq": 123456}) == {"qq": "123456"}
    assert "qq" in errors_of(sku, {"qq": ["123456"]})
    with pytest.raises(ValidationError):
        validate_recharge_fields(sku=sku, data="qq=123456")


def test_overlong_input_is_refused_before_any_regex_runs():
    sku = sku_with(field(rule="regex:[a-z]+"))
    errors = errors_of(sku, {"account": "a" * 65})
    assert "64" in errors["account"][0]


def test_a_card_sku_without_fields_needs_nothing():
    card = Sku(code="C", delivery_type="card", recharge_fields=[])
    assert validate_recharge_fields(sku=card, data={"x": "y"}) == {}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"key": "a", "label": "A"}, "check rule"),
        ({"key": "a", "label": "A", "rule": "iban"}, "iban is unknown"),
        ({"key": "A b", "label": "A", "rule": "qq"}, "field key"),
        ({"key": "a", "label": "", "rule": "qq"}, "field label"),
        ({"key": "a", "label": "A", "rule": "regex:("}, "regular expression"),
        ({"key": "a", "label": "A", "rule": "regex:"}, "empty"),
        ({"key": "a", "label": "A", "rule": r"regex:(a)\1"}, "back-references"),
        ({"key": "a", "label": "A", "rule": "regex:(?=a)a"}, "look-arounds"),
        ({"key": "a", "label": "A", "rule": "regex:(?<!a)b"}, "not supported"),
        ({"key": "a", "label": "A", "rule": "regex:a++"}, "not supported"),
        ({"key": "a", "label": "A", "rule": "regex:a{1001}"}, "not supported"),
        ({"key": "a", "label": "A", "rule": "regex:" + "a" * 201}, "200"),
        ({"key": "a", "label": "A", "rule": "qq", "required": "yes"}, "required field"),
        ({"key": "a", "label": "A", "rule": "qq", "pattern": "x"}, "pattern"),
        ("phone", "object"),
    ],
)
def test_bad_definitions_are_refused_with_the_row_and_reason(definition, expected):
    with pytest.raises(ValidationError) as err:
        parse_recharge_fields([{"key": "ok", "label": "OK", "rule": "qq"}, definition])
    assert len(err.value.messages) == 1
    assert err.value.messages[0].startswith("Row 2")
    assert expected in err.value.messages[0]


def test_every_bad_column_of_a_row_is_named():
    with pytest.raises(ValidationError) as err:
        parse_recharge_fields([{"key": "Bad Key", "label": "", "rule": "iban"}])
    assert err.value.messages == [
        "Row 1, field key: use 1 to 32 lowercase letters, digits or underscores, "
        "starting with a letter.",
        "Row 1, field label: enter 1 to 40 characters.",
        "Row 1, check rule: iban is unknown; use one of phone, qq, email, game_id "
        "or regex:<pattern>.",
    ]


def test_duplicate_keys_and_non_lists_are_refused():
    with pytest.raises(
        ValidationError, match="Row 2, field key: account is used twice"
    ):
        parse_recharge_fields([field(), field()])
    with pytest.raises(ValidationError, match="list"):
        parse_recharge_fields({"key": "a"})


def test_definition_is_normalised():
    assert parse_recharge_fields(None) == []
    assert parse_recharge_fields([field(label=" 账号 ")]) == [
        {"key": "account", "label": "账号", "rule": "phone", "required": True}
    ]


def test_safe_patterns_with_groups_are_allowed():
    sku = sku_with(
        field("tel", rule=r"regex:(\d{3})-(\d{4})"), field("code", rule="regex:(ab)+")
    )
    assert [row["rule"] for row in parse_recharge_fields(sku.recharge_fields)] == [
        r"regex:(\d{3})-(\d{4})",
        "regex:(ab)+",
    ]
    assert validate_recharge_fields(
        sku=sku, data={"tel": "123-4567", "code": "ababab"}
    ) == {"tel": "123-4567", "code": "ababab"}


@pytest.mark.parametrize(
    "pattern", ["(a+)+$", "([a-z]*)*", "(a|aa)+b", "a*a*a*a*a*a*a*a*b"]
)
def test_patterns_that_hang_a_backtracking_matcher_answer_plainly(pattern):
    """RE2 matches in time linear in the input: the classic catastrophic shapes
    are accepted on save and, on the longest input allowed, give the right
    answer (a backtracking matcher would not return from these)."""
    sku = sku_with(field(rule=f"regex:{pattern}"))
    assert parse_recharge_fields(sku.recharge_fields)[0]["rule"] == f"regex:{pattern}"
    almost = "a" * (MAX_VALUE_LENGTH - 1) + "!"
    errors = errors_of(sku, {"account": almost})
    assert errors["account"] == ["账号: the format is not valid."]
    matching = "a" * (MAX_VALUE_LENGTH - 1) + ("b" if pattern.endswith("b") else "a")
    assert validate_recharge_fields(sku=sku, data={"account": matching}) == {
        "account": matching
    }


def test_the_matcher_is_linear_on_long_text_too():
    """The same answer on text far longer than a buyer may send (the cap is a
    product rule, not what keeps the matcher safe)."""
    pattern = recharge.compile_rule_pattern("(a+)+$")
    assert pattern.fullmatch("a" * 100_000 + "!") is None
    assert pattern.fullmatch("a" * 100_000) is not None


def test_an_unsupported_pattern_is_refused_in_chinese():
    with translation.override("zh-hans"):
        with pytest.raises(ValidationError) as err:
            parse_recharge_fields([field(rule=r"regex:(\d)\1")])
    assert err.value.messages == [
        "第 1 行「校验规则」：正则表达式不可用：不支持这种写法："
        "不能使用反向引用（如 \\1）、前后断言（如 (?=...)、(?<=...)）、"
        "占有或原子分组，重复次数不能超过 1000。"
    ]


@pytest.mark.parametrize(
    ("definition", "names_an_account"),
    [
        ([], False),
        (None, False),
        ([field(required=False)], False),
        ([field(rule="iban")], False),  # a broken definition asks for nothing
        ("phone", False),
        ([field()], True),
        ([field("note", required=False), field("qq", rule="qq")], True),
    ],
)
def test_a_top_up_names_its_account_only_with_a_required_valid_field(
    definition, names_an_account
):
    assert has_account_field(definition) is names_an_account
    top_up = Sku(code="T", delivery_type="topup", recharge_fields=definition)
    assert top_up.lacks_recharge_account() is not names_an_account
    card = Sku(code="C", delivery_type="card", recharge_fields=definition)
    assert card.lacks_recharge_account() is False


def test_a_top_up_without_its_account_field_is_refused_whatever_is_sent():
    sku = sku_with()
    with pytest.raises(ValidationError) as err:
        validate_recharge_fields(sku=sku, data={"phone": "13800138000"})
    assert err.value.code == "no_account"
    assert "contact support" in err.value.messages[0]
