"""Benchmarks: catalog imports.

`python manage.py bench import_codes [--rows 100000]` writes an xlsx of N new codes
(card + password), then runs it through the same services as the import page and
the Celery task (preview_card_batch → commit_card_batch → run_card_batch, the
task's body) on whatever DATABASE_URL names (the target is PostgreSQL). It reports
seconds per step (wall clock, and this process's CPU time, which a busy
machine inflates less), rows/s and peak memory, and removes everything it made.

Memory is the growth of the process's peak resident set (resource.getrusage
ru_maxrss, after minus before the import): what the worker would need on top of
its idle size. Targets for 100k rows: under 30 s and under 300 MB.
"""

from __future__ import annotations

import os
import resource
import secrets
import tempfile
import time
from decimal import Decimal

from django.core.files import File
from django.db import connection
from openpyxl import Workbook

from bench.registry import benchmark
from catalog.models import CardBatch, CardCode, Category, Product, Sku
from catalog.services.card_batches import (
    commit_card_batch,
    preview_card_batch,
    run_card_batch,
)


def _peak_rss_mb() -> float:
    # Linux reports kilobytes (macOS bytes; the project runs on Linux).
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def _write_xlsx(path: str, rows: int, prefix: str) -> None:
    workbook = Workbook(write_only=True)
    sheet = workbook.create_sheet("卡密")
    sheet.append(["卡号", "密码"])
    for number in range(rows):
        sheet.append([f"{prefix}{number:09d}", secrets.token_hex(4)])
    workbook.save(path)


@benchmark(
    "import_codes",
    help="Import an xlsx of N card codes through the import services "
    "(preview + task); seconds, rows/s, peak memory.",
    arguments=[("--rows", {"type": int, "default": 100_000})],
)
def import_codes(*, rows: int, stdout) -> dict:
    run = secrets.token_hex(3).upper()
    prefix = f"BN{run}"
    category = Category.objects.create(name=f"bench-{run}", slug=f"bench-{run}")
    product = Product.objects.create(category=category, name=f"bench {run}")
    sku = Sku.objects.create(
        product=product,
        code=f"BENCH-{run}",
        name="bench",
        delivery_type=Sku.DeliveryType.CARD,
        stock_mode=Sku.StockMode.CODES,
        price=Decimal("1.00"),
    )
    handle, path = tempfile.mkstemp(suffix=".xlsx")
    os.close(handle)
    batch = None
    try:
        started = time.perf_counter()
        _write_xlsx(path, rows, prefix)
        generate_seconds = time.perf_counter() - started
        stdout.write(
            f"wrote {rows} codes ({os.path.getsize(path) / 1e6:.1f} MB xlsx) "
            f"in {generate_seconds:.1f} s; importing on {connection.vendor}"
        )
        rss_before = _peak_rss_mb()
        cpu_started = time.process_time()
        started = time.perf_counter()
        with open(path, "rb") as handle:
            batch = preview_card_batch(
                sku=sku, upload=File(handle, name="bench.xlsx"), actor=None
            )
        previewed = time.perf_counter()
        commit_card_batch(batch=batch, actor=None)
        batch = run_card_batch(batch_id=batch.pk)
        finished = time.perf_counter()
        cpu_seconds = time.process_time() - cpu_started
        rss_growth = _peak_rss_mb() - rss_before
        sku.refresh_from_db()
        if batch.status != CardBatch.Status.DONE or batch.imported != rows:
            raise RuntimeError(
                f"import ended {batch.status}, {batch.imported}/{rows}: {batch.failure}"
            )
        if sku.stock != rows:
            raise RuntimeError(f"stock {sku.stock} != {rows}")
        total = finished - started
        return {
            "database": connection.vendor,
            "rows": rows,
            "imported": batch.imported,
            "preview_seconds": round(previewed - started, 2),
            "import_seconds": round(finished - previewed, 2),
            "seconds": round(total, 2),
            "rows_per_second": round(rows / total) if total else None,
            "cpu_seconds": round(cpu_seconds, 2),
            "peak_memory_mb": round(rss_growth, 1),
            "memory_method": "ru_maxrss growth during preview+import",
            "target": "100k rows: < 30 s, < 300 MB",
        }
    finally:
        if batch is not None:
            CardCode.objects.filter(batch_id=batch.pk).delete()
            stored = CardBatch.objects.filter(pk=batch.pk).first()
            if stored is not None:
                for file in (stored.upload, stored.error_report):
                    if file:
                        file.delete(save=False)
                stored.delete()
        sku.delete()
        product.delete()
        category.delete()
        os.remove(path)
