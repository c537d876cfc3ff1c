"""Query counts of the product import, and _fail after a finished card batch."""

import io

import pytest
from django.contrib.contenttypes.models import ContentType
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.utils import translation
from openpyxl import Workbook

from catalog.imports.workbooks import PRODUCT_HEADERS
from catalog.models import CardBatch, CardCode, Category, Sku
from catalog.services import card_batches
from catalog.services.card_batches import (
    commit_card_batch,
    preview_card_batch,
    run_card_batch,
)
from catalog.services.product_imports import import_products, preview_products
from tests.catalog.factories import make_category, make_product, make_sku

pytestmark = pytest.mark.django_db

CATEGORY_TABLE = Category._meta.db_table


@pytest.fixture(autouse=True)
def _english(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    with translation.override("en"):
        yield


def workbook(rows) -> bytes:
    book = Workbook()
    sheet = book.active
    sheet.append(PRODUCT_HEADERS)
    for row in rows:
        sheet.append(row)
    buffer = io.BytesIO()
    book.save(buffer)
    return buffer.getvalue()


def row(path: str, product: str, code: str, price: float = 9.8) -> list:
    return [path, product, code, "10 Q币", 10, "卡密", "", price, 9.3, 1, 50]


def three_levels(prefix: str) -> Category:
    root = make_category(f"{prefix}游戏点卡")
    middle = make_category("腾讯", parent=root)
    return make_category("Q币", parent=middle)


def existing_skus(prefix: str, n: int) -> tuple[str, list[str]]:
    """n SKUs, each of its own product, in a new three-level category."""
    leaf = three_levels(prefix)
    codes = []
    for i in range(n):
        sku = make_sku(
            f"{prefix}-{i}", product=make_product(f"{prefix}商品{i}", category=leaf)
        )
        codes.append(sku.code)
    return f"{prefix}游戏点卡/腾讯/Q币", codes


def fresh(user):
    """The actor without its permission cache, so every run asks the same."""
    return type(user).objects.get(pk=user.pk)


def measure(call) -> tuple[int, int]:
    """(all queries, queries on the category table) run by call(), each run as
    cold as the first: the content-type cache (the audit rows use it) starts empty."""
    ContentType.objects.clear_cache()
    with CaptureQueriesContext(connection) as queries:
        call()
    on_category = sum(
        1
        for query in queries.captured_queries
        if f'FROM "{CATEGORY_TABLE}"' in query["sql"]
        or f'INSERT INTO "{CATEGORY_TABLE}"' in query["sql"]
    )
    return len(queries), on_category


def test_preview_of_existing_skus_runs_the_same_queries_for_5_or_50_rows(role_user):
    actor = role_user("superadmin")
    counts = {}
    for n in (5, 50):
        path, codes = existing_skus(f"P{n}", n)
        # Same product and category: the preview still walks the category path.
        content = workbook(
            row(path, f"P{n}商品{i}", code) for i, code in enumerate(codes)
        )
        user = fresh(actor)
        result = {}

        def run(content=content, user=user, result=result):
            result["preview"] = preview_products(
                upload=SimpleUploadedFile("p.xlsx", content),
                name="p.xlsx",
                actor=user,
            )

        counts[n] = measure(run)
        preview = result["preview"]
        assert not preview.errors
        assert len(preview.plans) == n
        assert not any("product" in plan.changes for plan in preview.plans)
    assert counts[5] == counts[50]


def test_preview_sees_a_moved_product_in_a_deep_category(role_user):
    _path, codes = existing_skus("M", 3)
    content = workbook(
        row("M游戏点卡/腾讯/别的", f"M商品{i}", code) for i, code in enumerate(codes)
    )
    preview = preview_products(
        upload=SimpleUploadedFile("p.xlsx", content),
        name="p.xlsx",
        actor=role_user("superadmin"),
    )
    assert preview.counts() == {"created": 0, "updated": 3, "unchanged": 0}
    assert all(plan.changes[0] == "product" for plan in preview.plans)


@pytest.mark.parametrize("existing", [False, True], ids=["new", "update"])
def test_import_looks_categories_up_a_constant_number_of_times(role_user, existing):
    """Every row saves its SKU (and product), so the import as a whole grows
    with the file; its category lookups must not."""
    actor = role_user("superadmin")
    counts = {}
    for n in (5, 50):
        prefix = f"I{n}"
        if existing:
            path, codes = existing_skus(prefix, n)
        else:
            path, codes = (
                f"{prefix}游戏点卡/腾讯/Q币",
                [f"{prefix}-{i}" for i in range(n)],
            )
        # One product per row: each (path, product) pair is new to the import.
        content = workbook(
            row(path, f"{prefix}商品{i}", code, price=10.5)
            for i, code in enumerate(codes)
        )
        user = fresh(actor)

        def run(content=content, user=user):
            import_products(
                upload=SimpleUploadedFile("p.xlsx", content), name="p.xlsx", actor=user
            )

        counts[n] = measure(run)
        skus = Sku.objects.filter(code__in=codes).select_related(
            "product__category__parent__parent"
        )
        assert len(skus) == n
        for sku in skus:
            leaf = sku.product.category
            assert (leaf.parent.parent.name, leaf.parent.name, leaf.name) == (
                f"{prefix}游戏点卡",
                "腾讯",
                "Q币",
            )
            assert str(sku.price) == "10.50"
        assert Category.objects.filter(name=f"{prefix}游戏点卡").count() == 1
    assert counts[5][1] == counts[50][1]
    # Whatever else grows (saving each SKU, product, price change, their
    # history rows) grows by the same number of queries for every row, and no
    # more than it does today (22, plus the audit row of the person's price
    # change and its object's name): a new query per row fails here.
    per_row, remainder = divmod(counts[50][0] - counts[5][0], 45)
    assert remainder == 0, "each row costs the same number of queries"
    assert 0 < per_row <= 24


def test_import_remembers_categories_it_created(role_user):
    content = workbook(
        [
            row("新/一/甲", "A", "N-1"),
            row("新/一/乙", "B", "N-2"),
            row("新/一/甲", "C", "N-3"),
            row("新/一", "D", "N-4"),
        ]
    )
    import_products(
        upload=SimpleUploadedFile("p.xlsx", content),
        name="p.xlsx",
        actor=role_user("superadmin"),
    )
    assert Category.objects.filter(name="新").count() == 1
    assert Category.objects.filter(name="一").count() == 1
    first = Sku.objects.get(code="N-1").product.category
    assert Sku.objects.get(code="N-3").product.category == first
    assert Sku.objects.get(code="N-4").product.category == first.parent
    assert Sku.objects.get(code="N-2").product.category.parent == first.parent


# --- _fail and a finished batch ----------------------------------------------------


def queued_batch() -> CardBatch:
    sku = make_sku()
    batch = preview_card_batch(
        sku=sku,
        upload=SimpleUploadedFile("a.txt", b"AAAA1111\nBBBB2222\n"),
        actor=None,
    )
    commit_card_batch(batch=batch, actor=None)
    return batch


def test_fail_does_not_overwrite_a_finished_batch():
    batch = run_card_batch(batch_id=queued_batch().pk)
    assert batch.status == CardBatch.Status.DONE
    result = card_batches.fail_card_batch(
        batch.pk, "boom", from_status=CardBatch.Status.IMPORTING
    )
    assert result.status == CardBatch.Status.DONE
    assert result.failure == "" and result.imported == 2


def test_fail_still_marks_a_running_batch_failed():
    batch = queued_batch()
    CardBatch.objects.filter(pk=batch.pk).update(status=CardBatch.Status.IMPORTING)
    result = card_batches.fail_card_batch(
        batch.pk, "boom", from_status=CardBatch.Status.IMPORTING
    )
    assert result.status == CardBatch.Status.FAILED and result.failure == "boom"


class _BrokenDeleteCache:
    """The real cache, except that delete() fails."""

    def __init__(self, real):
        self.real = real

    def __getattr__(self, name):
        return getattr(self.real, name)

    def delete(self, key, *args, **kwargs):
        raise ConnectionError("cache went away")


def test_cleanup_failure_after_commit_keeps_the_batch_done(monkeypatch):
    batch = queued_batch()
    monkeypatch.setattr(card_batches, "cache", _BrokenDeleteCache(card_batches.cache))
    result = run_card_batch(batch_id=batch.pk)
    result.refresh_from_db()
    assert result.status == CardBatch.Status.DONE
    assert result.failure == "" and result.imported == 2
    assert CardCode.objects.filter(batch=result).count() == 2
