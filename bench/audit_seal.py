"""How fast the audit sealer and verify_audit go: `manage.py bench audit_seal`.

Writes N audit rows (one bulk INSERT, as a busy back office would over a day),
seals them in the sealer's own batches and times it, then times a full
verification. The sale path is not measured here: sealing adds no write or lock
to it (the sealer reads committed rows a minute later).
"""

from __future__ import annotations

import time

from django.db import connection

from bench.registry import benchmark
from kameng.models import AuditEntry, AuditSeal
from kameng.sealing import seal_pending, verify


@benchmark(
    "audit_seal",
    help="Seal N new audit rows, then verify the whole chain; rows per second.",
    arguments=[("--rows", {"type": int, "default": 100_000})],
)
def audit_seal(*, rows: int, stdout) -> dict:
    AuditEntry.objects.bulk_create(
        (
            AuditEntry(action="order.cancel", object_repr=f"bench {n}", note="bench")
            for n in range(rows)
        ),
        batch_size=5000,
    )
    began = time.perf_counter()
    runs = sealed = 0
    while True:
        run = seal_pending()
        runs += 1
        sealed += run.total
        if run.total == 0:
            break
    seal_seconds = time.perf_counter() - began
    stdout.write(f"sealed {sealed} rows in {runs} runs, {seal_seconds:.1f} s")
    began = time.perf_counter()
    result = verify()
    verify_seconds = time.perf_counter() - began
    return {
        "vendor": connection.vendor,
        "rows": rows,
        "sealed": sealed,
        "seal_runs": runs,
        "seal_seconds": round(seal_seconds, 2),
        "sealed_rows_per_second": round(sealed / seal_seconds) if sealed else 0,
        "seals_in_chain": AuditSeal.objects.count(),
        "verify_seconds": round(verify_seconds, 2),
        "verified_seals_per_second": round(result.seals_checked / verify_seconds),
        "verify_ok": result.ok,
    }
