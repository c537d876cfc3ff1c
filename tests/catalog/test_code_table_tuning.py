"""Card codes are vacuumed at 1 % dead rows (catalog migration 0006): every sale
leaves a sold code's dead row behind, which the next pick walks past until a
vacuum (issue 12)."""

import pytest
from django.db import connection

pytestmark = pytest.mark.django_db


def test_card_codes_are_vacuumed_early():
    if connection.vendor != "postgresql":
        pytest.skip("needs PostgreSQL: set DATABASE_URL=postgres://...")
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT reloptions FROM pg_class WHERE relname = %s", ["catalog_cardcode"]
        )
        (options,) = cursor.fetchone()
    assert "autovacuum_vacuum_scale_factor=0.01" in options
    assert "autovacuum_vacuum_threshold=5000" in options
