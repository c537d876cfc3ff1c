"""Demo data: a few hundred card codes for every card SKU, imported through the
same services as the import page (preview → commit → the task's body), so the
batches, stock and masked hints look exactly like real ones. Idempotent: a SKU
that already has its demo batch is left alone."""

import string

from django.core.files.uploadedfile import SimpleUploadedFile

from catalog.models import CardBatch, Sku
from catalog.services.card_batches import (
    commit_card_batch,
    preview_card_batch,
    run_card_batch,
)

ALPHABET = string.ascii_uppercase + string.digits


def _demo_file(ctx, sku: Sku, count: int) -> bytes:
    lines = ["卡号,密码"]
    prefix = "".join(ch for ch in sku.code.upper() if ch.isalnum())[:4]
    for _ in range(count):
        card = prefix + "".join(ctx.rng.choice(ALPHABET) for _ in range(12))
        password = "".join(ctx.rng.choice(string.digits) for _ in range(8))
        lines.append(f"{card},{password}")
    return ("\r\n".join(lines) + "\r\n").encode("utf-8")


def seed(ctx):
    skus = Sku.objects.filter(
        delivery_type=Sku.DeliveryType.CARD,
        stock_mode=Sku.StockMode.CODES,
        reusable_code=False,
    ).order_by("code")
    created = imported = 0
    for sku in skus:
        name = f"demo-{sku.code}.csv"
        if CardBatch.objects.filter(sku=sku, file_name=name).exists():
            continue
        count = ctx.rng.randint(200, 400)
        upload = SimpleUploadedFile(name, _demo_file(ctx, sku, count))
        batch = preview_card_batch(sku=sku, upload=upload, actor=None)
        commit_card_batch(batch=batch, actor=None)
        batch = run_card_batch(batch_id=batch.pk)
        created += 1
        imported += batch.imported
    ctx.say(f"card codes: {imported} imported in {created} demo batches")
