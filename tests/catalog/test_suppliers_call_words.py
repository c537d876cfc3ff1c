"""A supplier call's recorded detail reads as words, not protocol codes."""

import pytest

from catalog.admin.suppliers import call_detail_text


@pytest.mark.parametrize(
    "detail, shown",
    [
        ("supplier_error 上游繁忙", "货源报错： 上游繁忙"),
        ("supplier_error", "货源报错："),
        ("not_found", "货源处查无此单："),
        ("供应商 3.00 秒内未应答。", "供应商 3.00 秒内未应答。"),
        ("supplier_errors are many", "supplier_errors are many"),
        ("", ""),
    ],
)
def test_protocol_codes_read_as_words(detail, shown):
    assert call_detail_text(detail) == shown
