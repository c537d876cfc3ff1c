"""Two imports of the same codes at the same moment (PostgreSQL, real threads):
every code is stored once, and counts and stock still add up."""

import threading

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection

from catalog.models import CardBatch, CardCode, Sku
from catalog.services.card_batches import (
    commit_card_batch,
    preview_card_batch,
    run_card_batch,
)
from tests.catalog.factories import make_sku

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def test_concurrent_imports_of_overlapping_codes_store_each_code_once():
    codes = "".join(f"RACE{n:06d},pw\n" for n in range(3000)).encode()
    skus = [make_sku(), make_sku()]
    batches = []
    for sku in skus:
        batch = preview_card_batch(
            sku=sku, upload=SimpleUploadedFile("race.csv", codes), actor=None
        )
        commit_card_batch(batch=batch, actor=None)
        batches.append(batch)

    start = threading.Barrier(2)
    failures = []

    def work(batch_id):
        try:
            start.wait()
            run_card_batch(batch_id=batch_id)
        except Exception as exc:  # reported by the assertion below
            failures.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=work, args=(b.pk,)) for b in batches]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert not failures
    done = list(CardBatch.objects.filter(pk__in=[b.pk for b in batches]))
    assert {b.status for b in done} == {CardBatch.Status.DONE}
    assert CardCode.objects.count() == 3000
    assert sum(b.imported for b in done) == 3000
    assert sum(b.duplicates for b in done) == 3000
    for batch in done:
        stock = Sku.objects.get(pk=batch.sku_id).stock
        assert stock == batch.imported == CardCode.objects.filter(batch=batch).count()
