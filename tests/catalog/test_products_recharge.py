"""Recharge fields: what a buyer types for a top-up is checked against the SKU."""

import time

import pytest
from django.core.exceptions import ValidationError
from django.utils import translation

from catalog.models import Sku
from catalog.recharge import parse_recharge_fields, validate_recharge_fields


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


def test_a_sku_without_fields_needs_nothing():
    assert validate_recharge_fields(sku=sku_with(), data={"x": "y"}) == {}


@pytest.mark.parametrize(
    ("definition", "expected"),
    [
        ({"key": "a", "label": "A"}, "rule"),
        ({"key": "a", "label": "A", "rule": "iban"}, "iban"),
        ({"key": "A b", "label": "A", "rule": "qq"}, "key"),
        ({"key": "a", "label": "", "rule": "qq"}, "label"),
        ({"key": "a", "label": "A", "rule": "regex:("}, "regex"),
        ({"key": "a", "label": "A", "rule": "regex:"}, "empty"),
        ({"key": "a", "label": "A", "rule": "regex:(a+)+$"}, "repeated group"),
        ({"key": "a", "label": "A", "rule": "regex:([a-z]*)*"}, "repeated group"),
        ({"key": "a", "label": "A", "rule": "regex:(a|aa)+b"}, "repeated group"),
        ({"key": "a", "label": "A", "rule": r"regex:(a)\1"}, "back-ref"),
        ({"key": "a", "label": "A", "rule": "regex:a+b+c+d+e+"}, "at most 4"),
        ({"key": "a", "label": "A", "rule": "regex:" + "a" * 201}, "200"),
        ({"key": "a", "label": "A", "rule": "qq", "required": "yes"}, "required"),
        ({"key": "a", "label": "A", "rule": "qq", "pattern": "x"}, "pattern"),
        ("phone", "object"),
    ],
)
def test_bad_definitions_are_refused_with_the_row_and_reason(definition, expected):
    with pytest.raises(ValidationError) as err:
        parse_recharge_fields([{"key": "ok", "label": "OK", "rule": "qq"}, definition])
    messages = " ".join(err.value.messages)
    assert "Field 2" in messages
    assert expected in messages


def test_duplicate_keys_and_non_lists_are_refused():
    with pytest.raises(ValidationError, match="twice"):
        parse_recharge_fields([field(), field()])
    with pytest.raises(ValidationError, match="list"):
        parse_recharge_fields({"key": "a"})


def test_definition_is_normalised():
    assert parse_recharge_fields(None) == []
    assert parse_recharge_fields([field(label=" 账号 ")]) == [
        {"key": "account", "label": "账号", "rule": "phone", "required": True}
    ]


def test_safe_patterns_with_groups_are_allowed():
    parse_recharge_fields([field(rule=r"regex:(\d{3})-(\d{4})")])
    parse_recharge_fields([field(rule=r"regex:(ab)+")])


def test_a_slow_pattern_cannot_hang_validation():
    """The worst pattern still allowed stays fast on capped input."""
    sku = sku_with(field(rule="regex:a*a*a*a*b"))
    started = time.monotonic()
    errors_of(sku, {"account": "a" * 64})
    assert time.monotonic() - started < 5
