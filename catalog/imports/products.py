"""Rows of a product file → ProductRow records or row errors.

The first row must name the columns (the template's Chinese headers, or their
English names); the order is free, unknown or missing required columns reject the
file. Each data row is checked completely, so the preview lists every problem.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Iterable, Iterator
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.utils.translation import gettext as _

from catalog.imports.errors import FileRejected, RowError
from catalog.imports.readers import CellError, cell_text
from catalog.imports.workbooks import PRODUCT_HEADERS
from catalog.models import Sku
from kameng.parsing import parse_ascii_int

COLUMNS = {
    "category": ({"分类路径", "分类", "category", "categorypath"}, True),
    "product": ({"商品名称", "商品", "product", "productname"}, True),
    "sku": ({"sku编码", "sku", "skucode", "编码"}, True),
    "spec": ({"规格", "规格名称", "spec"}, True),
    "face_value": ({"面值", "facevalue"}, False),
    "delivery_type": ({"发货方式", "deliverytype", "delivery"}, True),
    "stock_mode": ({"库存模式", "stockmode"}, False),
    "price": ({"售价", "价格", "price"}, True),
    "cost_price": ({"成本价", "成本", "costprice", "cost"}, False),
    "min_quantity": ({"最小购买数量", "最小数量", "minquantity"}, False),
    "max_quantity": ({"最大购买数量", "最大数量", "maxquantity"}, False),
}
D = Sku.DeliveryType
S = Sku.StockMode
DELIVERY = {
    "card": D.CARD,
    "卡密": D.CARD,
    "卡密发货": D.CARD,
    "topup": D.TOPUP,
    "直充": D.TOPUP,
    "充值": D.TOPUP,
    "供货商直充": D.TOPUP,
    "manual": D.MANUAL,
    "人工": D.MANUAL,
    "人工发货": D.MANUAL,
    "手动": D.MANUAL,
}
STOCK = {
    "unlimited": S.UNLIMITED,
    "不限": S.UNLIMITED,
    "无限": S.UNLIMITED,
    "counter": S.COUNTER,
    "计数": S.COUNTER,
    "库存计数": S.COUNTER,
    "codes": S.CODES,
    "卡密库存": S.CODES,
    "卡密": S.CODES,
}
DEFAULT_STOCK = {D.CARD: S.CODES, D.TOPUP: S.UNLIMITED, D.MANUAL: S.COUNTER}
SKU_CODE = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,39}$")
MAX_MONEY = Decimal("999999999999.99")
FULL_WIDTH_DIGITS = str.maketrans("０１２３４５６７８９", "0123456789")


@dataclass
class ProductRow:
    row: int
    category_path: tuple[str, ...]
    product: str
    sku_code: str
    spec: str
    face_value: Decimal | None
    delivery_type: str
    stock_mode: str | None
    price: Decimal
    cost_price: Decimal | None
    min_quantity: int | None
    max_quantity: int | None


def _key(text) -> str:
    text = unicodedata.normalize("NFKC", str(text or "")).strip().lower()
    return re.sub(r"[\s_\-:：()（）]", "", text)


def header_columns(cells: list) -> dict[str, int]:
    found: dict[str, int] = {}
    unknown = []
    for index, cell in enumerate(cells):
        key = _key(cell)
        if not key:
            continue
        name = next(
            (n for n, (aliases, _req) in COLUMNS.items() if key in aliases), None
        )
        if name is None:
            unknown.append(str(cell))
        elif name in found:
            raise FileRejected(
                _("The column %(column)s appears twice.") % {"column": cell}
            )
        else:
            found[name] = index
    if unknown:
        raise FileRejected(
            _(
                "The columns %(columns)s are not product columns; use the template's "
                "headers."
            )
            % {"columns": "、".join(unknown)}
        )
    missing = [
        n for n, (aliases, required) in COLUMNS.items() if required and n not in found
    ]
    if missing:
        names = {n: sorted(COLUMNS[n][0])[0] for n in missing}
        raise FileRejected(
            _(
                "Required columns are missing: %(columns)s. The first row must hold "
                "the template's headers."
            )
            % {"columns": "、".join(_template_name(n, names[n]) for n in missing)}
        )
    return found


def _template_name(name: str, fallback: str) -> str:
    order = list(COLUMNS)
    index = order.index(name)
    return PRODUCT_HEADERS[index] if index < len(PRODUCT_HEADERS) else fallback


class _Bad(ValueError):
    pass


def _text(value, *, limit: int, required: bool) -> str:
    try:
        text = unicodedata.normalize("NFKC", cell_text(value)).strip()
    except CellError as exc:
        raise _Bad(str(exc)) from exc
    if required and not text:
        raise _Bad(_("is empty"))
    if len(text) > limit:
        raise _Bad(_("is longer than %(limit)s characters") % {"limit": limit})
    return text


def _money(value, *, required: bool, positive: bool) -> Decimal | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        if required:
            raise _Bad(_("is empty"))
        return None
    if isinstance(value, bool):
        raise _Bad(_("is not an amount"))
    if isinstance(value, float):
        value = repr(value)
    text = str(value).strip().replace(",", "").replace("¥", "").replace("元", "")
    try:
        amount = Decimal(unicodedata.normalize("NFKC", text))
    except InvalidOperation as exc:
        raise _Bad(_("“%(value)s” is not an amount") % {"value": value}) from exc
    if not amount.is_finite():
        raise _Bad(_("is not an amount"))
    if abs(amount) > MAX_MONEY:  # before quantize(), which a huge number overflows
        raise _Bad(_("is too large"))
    if amount != amount.quantize(Decimal("0.01")):
        raise _Bad(_("has more than two decimals"))
    amount = amount.quantize(Decimal("0.01"))
    if amount < 0 or (positive and amount == 0):
        raise _Bad(
            _("must be greater than 0") if positive else _("must not be negative")
        )
    if amount > MAX_MONEY:
        raise _Bad(_("is too large"))
    return amount


def _quantity(value) -> int | None:
    if value is None or (isinstance(value, str) and not value.strip()):
        return None
    if isinstance(value, float) and value.is_integer():
        value = int(value)
    if isinstance(value, bool):
        raise _Bad(_("is not a whole number"))
    # Full-width digits (１２) are digits a Chinese keyboard types; "²" is not.
    text = str(value).strip().translate(FULL_WIDTH_DIGITS)
    number = value if isinstance(value, int) else parse_ascii_int(text)
    if number is None:
        raise _Bad(_("is not a whole number"))
    if number < 1 or number > 1_000_000:
        raise _Bad(_("must be between 1 and 1000000"))
    return number


class _Checker:
    """Reads one named cell of a row through a parser, collecting its error."""

    def __init__(self, number, cells, columns, labels, values, errors):
        self.number, self.cells, self.columns = number, cells, columns
        self.labels, self.values, self.errors = labels, values, errors

    def __call__(self, name: str, parse) -> None:
        index = self.columns.get(name)
        value = (
            self.cells[index] if index is not None and index < len(self.cells) else None
        )
        try:
            self.values[name] = parse(value)
        except _Bad as exc:
            self.values[name] = None
            self.errors.append(RowError(self.number, self.labels[name], str(exc)))


def parse_product_rows(rows: Iterable) -> Iterator[ProductRow | list[RowError]]:
    """ProductRow, or the list of every error of that row."""
    labels = {
        "category": _("category path"),
        "product": _("product name"),
        "sku": _("SKU code"),
        "spec": _("spec"),
        "face_value": _("face value"),
        "delivery_type": _("delivery type"),
        "stock_mode": _("stock mode"),
        "price": _("price"),
        "cost_price": _("cost price"),
        "min_quantity": _("minimum per order"),
        "max_quantity": _("maximum per order"),
    }
    columns: dict[str, int] | None = None
    for number, cells in rows:
        if columns is None:
            columns = header_columns(cells)
            continue
        errors: list[RowError] = []
        values: dict = {}
        check = _Checker(number, cells, columns, labels, values, errors)
        check("category", lambda v: _text(v, limit=250, required=True))
        check("product", lambda v: _text(v, limit=120, required=True))
        check("sku", lambda v: _text(v, limit=60, required=True))
        check("spec", lambda v: _text(v, limit=120, required=True))
        check("face_value", lambda v: _money(v, required=False, positive=False))
        check("delivery_type", lambda v: _text(v, limit=20, required=True))
        check("stock_mode", lambda v: _text(v, limit=20, required=False))
        check("price", lambda v: _money(v, required=True, positive=True))
        check("cost_price", lambda v: _money(v, required=False, positive=False))
        check("min_quantity", _quantity)
        check("max_quantity", _quantity)

        path: tuple[str, ...] = ()
        if values["category"]:
            path = tuple(
                part.strip()
                for part in re.split(r"[/>＞›]", values["category"])
                if part.strip()
            )
            if not 1 <= len(path) <= 4 or any(len(part) > 60 for part in path):
                errors.append(
                    RowError(
                        number,
                        labels["category"],
                        _(
                            "needs 1 to 4 levels of at most 60 characters, "
                            "e.g. 游戏点卡/腾讯"
                        ),
                    )
                )
        code = values["sku"] or ""
        if code.startswith("示例"):
            errors.append(
                RowError(
                    number,
                    labels["sku"],
                    _("is an example row of the template; delete it"),
                )
            )
        elif code and not SKU_CODE.match(code):
            errors.append(
                RowError(
                    number,
                    labels["sku"],
                    _(
                        "may hold letters, digits, dot, dash and underscore "
                        "(at most 40)"
                    ),
                )
            )
        delivery = None
        if values["delivery_type"]:
            delivery = DELIVERY.get(_key(values["delivery_type"]))
            if delivery is None:
                errors.append(
                    RowError(
                        number,
                        labels["delivery_type"],
                        _("“%(value)s” is not one of 卡密, 直充, 人工")
                        % {"value": values["delivery_type"]},
                    )
                )
        stock_mode = None
        if values["stock_mode"]:
            stock_mode = STOCK.get(_key(values["stock_mode"]))
            if stock_mode is None:
                errors.append(
                    RowError(
                        number,
                        labels["stock_mode"],
                        _("“%(value)s” is not one of 不限, 计数, 卡密库存")
                        % {"value": values["stock_mode"]},
                    )
                )
        if delivery and stock_mode == S.CODES and delivery != D.CARD:
            errors.append(
                RowError(
                    number,
                    labels["stock_mode"],
                    _("code stock is only for card SKUs"),
                )
            )
        low, high = values["min_quantity"], values["max_quantity"]
        if low and high and high < low:
            errors.append(
                RowError(
                    number,
                    labels["max_quantity"],
                    _("is smaller than the minimum"),
                )
            )
        if errors:
            yield errors
            continue
        yield ProductRow(
            row=number,
            category_path=path,
            product=values["product"],
            sku_code=code,
            spec=values["spec"],
            face_value=values["face_value"],
            delivery_type=delivery,
            stock_mode=stock_mode,
            price=values["price"],
            cost_price=values["cost_price"],
            min_quantity=low,
            max_quantity=high,
        )
    if columns is None:
        raise FileRejected(_("The file is empty."))
