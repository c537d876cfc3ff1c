"""Any file an operator uploads, as a code batch or a product sheet, ends in a
clear answer: codes and row errors that name their row and field, or the whole
file refused with a reason. Never an unexpected exception (a 500 on the page,
a failed worker task), and never half an import.

The generic suite (test_no_500) sends arbitrary multipart bodies to the upload
pages; here the parsers and the import services themselves get arbitrary bytes
in every accepted format, and well-formed files with arbitrary cells.
"""

from __future__ import annotations

import csv
import io

from django.core.files.uploadedfile import SimpleUploadedFile
from hypothesis import given
from hypothesis import settings as hypothesis_settings
from hypothesis import strategies as st
from hypothesis.extra.django import TestCase

from catalog.imports.codes import ParsedCode, parse_code_rows
from catalog.imports.errors import RowError
from catalog.imports.readers import Limits, detect_format, iter_rows, raw_file
from catalog.models import CardBatch, CardCode, Category, PriceChange, Product, Sku
from catalog.services.card_batches import scan_card_file
from catalog.services.product_imports import import_products, preview_products
from kameng.exceptions import DomainError
from tests.catalog.factories import make_sku
from tests.fuzz.strategies import NASTY
from users.models import User

EXAMPLES = hypothesis_settings(
    max_examples=60, deadline=None, derandomize=True, database=None
)
EXTENSIONS = ("codes.txt", "codes.csv", "codes.tsv", "codes.xlsx", "codes")
# Text that files really hold, and text that breaks naive parsers.
CELLS = st.one_of(
    st.text(max_size=30),
    st.sampled_from(NASTY),
    st.from_regex(r"[0-9A-Z]{4,24}", fullmatch=True),
    st.decimals(allow_nan=False, allow_infinity=False, places=2).map(str),
    st.sampled_from(["=1+1", "+86", "-5", "@SUM(A1)", "卡密", "0", "", " "]),
)
ENCODINGS = st.sampled_from(["utf-8", "utf-8-sig", "gbk", "utf-16"])


def _csv_bytes(rows: list[list[str]], encoding: str, delimiter: str = ",") -> bytes:
    out = io.StringIO()
    csv.writer(out, delimiter=delimiter).writerows(rows)
    return out.getvalue().encode(encoding, errors="replace")


def parse_codes(name: str, data: bytes) -> list[ParsedCode | RowError]:
    """Every outcome of the code parser for one file, as a batch check reads it."""
    raw = raw_file(SimpleUploadedFile(name, data))
    fmt = detect_format(name, raw)
    return list(parse_code_rows(iter_rows(raw, fmt, limits=Limits(max_rows=500)), fmt))


class CodeFileParser(TestCase):
    def assert_clear(self, outcomes) -> None:
        rows = [outcome.row for outcome in outcomes]
        self.assertEqual(rows, sorted(rows), "outcomes follow the file's order")
        for outcome in outcomes:
            self.assertGreaterEqual(outcome.row, 1)
            if isinstance(outcome, RowError):
                self.assertTrue(outcome.field, f"row {outcome.row} names no field")
                self.assertTrue(outcome.reason, f"row {outcome.row} gives no reason")
            else:
                self.assertIsInstance(outcome, ParsedCode)
                self.assertTrue(outcome.text.strip(), "an empty code was accepted")

    @EXAMPLES
    @given(name=st.sampled_from(EXTENSIONS), data=st.binary(max_size=600))
    def test_any_bytes_give_codes_row_errors_or_a_refused_file(self, name, data):
        try:
            outcomes = parse_codes(name, data)
        except DomainError as refused:
            self.assertTrue(str(refused), "a refused file says why")
            return
        self.assert_clear(outcomes)

    @EXAMPLES
    @given(
        rows=st.lists(st.lists(CELLS, min_size=1, max_size=4), max_size=15),
        encoding=ENCODINGS,
        name=st.sampled_from(["codes.csv", "codes.tsv"]),
    )
    def test_any_cells_give_codes_or_row_errors(self, rows, encoding, name):
        delimiter = "\t" if name.endswith(".tsv") else ","
        try:
            outcomes = parse_codes(name, _csv_bytes(rows, encoding, delimiter))
        except DomainError as refused:
            self.assertTrue(str(refused))
            return
        self.assert_clear(outcomes)

    @EXAMPLES
    @given(
        cards=st.lists(
            st.from_regex(r"[0-9A-F]{6,20}", fullmatch=True), min_size=1, max_size=20
        )
    )
    def test_a_plain_list_of_codes_is_read_code_for_code(self, cards):
        data = "\n".join(cards).encode()
        outcomes = parse_codes("codes.txt", data)
        self.assertEqual([o.row for o in outcomes], list(range(1, len(cards) + 1)))
        self.assertTrue(all(isinstance(o, ParsedCode) for o in outcomes))
        self.assertTrue(
            all(card in o.text for o, card in zip(outcomes, cards, strict=True))
        )


class CodeBatchScan(TestCase):
    """The dry run over an uploaded code file writes nothing, whatever it holds."""

    @classmethod
    def setUpTestData(cls):
        cls.sku = make_sku("FUZZ-CARD")

    @EXAMPLES
    @given(name=st.sampled_from(EXTENSIONS), data=st.binary(max_size=600))
    def test_scanning_any_file_writes_nothing(self, name, data):
        try:
            scan = scan_card_file(sku=self.sku, upload=SimpleUploadedFile(name, data))
        except DomainError as refused:
            self.assertTrue(str(refused))
        else:
            self.assertEqual(
                scan.new + scan.duplicates + scan.rejected, scan.total_rows
            )
        self.assertFalse(CardCode.objects.exists())
        self.assertFalse(CardBatch.objects.exists())


PRODUCT_HEADER = [
    "分类路径",
    "商品名称",
    "SKU编码",
    "规格",
    "发货方式",
    "售价",
    "成本价",
]
PRODUCT_ROW = st.fixed_dictionaries(
    {
        "category": st.one_of(st.just("游戏/腾讯"), CELLS),
        "product": st.one_of(st.just("Q币"), CELLS),
        "sku": st.one_of(st.from_regex(r"FZ-[0-9]{1,3}", fullmatch=True), CELLS),
        "spec": st.one_of(st.just("10元"), CELLS),
        "delivery": st.one_of(st.sampled_from(["卡密", "直充", "manual"]), CELLS),
        "price": st.one_of(st.sampled_from(["9.50", "0", "-1", "1e9"]), CELLS),
        "cost": st.one_of(st.sampled_from(["", "8.80"]), CELLS),
    }
).map(lambda cells: list(cells.values()))


class ProductSheet(TestCase):
    """A product sheet is imported whole or not at all."""

    @classmethod
    def setUpTestData(cls):
        cls.actor = User.objects.create_superuser("fuzz-importer", password="x")

    def counts(self) -> tuple[int, ...]:
        return tuple(
            model.objects.count() for model in (Category, Product, Sku, PriceChange)
        )

    @EXAMPLES
    @given(rows=st.lists(PRODUCT_ROW, min_size=1, max_size=6), encoding=ENCODINGS)
    def test_any_rows_import_whole_or_not_at_all(self, rows, encoding):
        data = _csv_bytes([PRODUCT_HEADER, *rows], encoding)
        before = self.counts()
        preview = None
        try:
            preview = preview_products(
                upload=SimpleUploadedFile("p.csv", data), name="p.csv", actor=self.actor
            )
        except DomainError as refused:
            self.assertTrue(str(refused))
        self.assertEqual(self.counts(), before, "a preview wrote something")
        # A row is numbered by the line it starts on (a quoted cell may hold
        # line breaks); the header is line 1.
        lines = len(data.decode(encoding).splitlines())
        if preview is not None:
            for error in preview.errors:
                self.assertTrue(2 <= error.row <= lines, error)
                self.assertTrue(error.field and error.reason, error)
        try:
            imported = import_products(
                upload=SimpleUploadedFile("p.csv", data), name="p.csv", actor=self.actor
            )
        except DomainError as refused:
            self.assertTrue(str(refused))
            self.assertEqual(self.counts(), before, "a refused import wrote something")
            return
        self.assertIsNotNone(preview)
        self.assertTrue(preview.ok, "an import went through what its preview refused")
        self.assertEqual(
            set(Sku.objects.values_list("code", flat=True)),
            {plan.row.sku_code for plan in imported.plans},
        )
