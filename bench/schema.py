"""Table and column names for the benchmarks' hand-written SQL, from model metadata.

The bulk loaders and the plain-SQL ceiling write SQL by hand (generate_series,
RETURNING, one statement for a million rows). They take every table and column
name from here (`_meta.db_table`, a field's `.column`), so a renamed field fails
at import, and each name asked for is recorded: `schema_problems()` checks the
records against the migrated schema (tests/bench/test_schema.py), including that
each INSERT names every column that has no default.
"""

from __future__ import annotations

from django.db import models

# table -> every column the benchmarks' statements name
REFERENCED: dict[str, set[str]] = {}
# (table, the columns one INSERT gives a value), one entry per INSERT
INSERTS: list[tuple[str, tuple[str, ...]]] = []


def table(model: type[models.Model]) -> str:
    REFERENCED.setdefault(model._meta.db_table, set())
    return model._meta.db_table


def column(model: type[models.Model], field: str) -> str:
    """The column of `field` ("sku" gives "sku_id"; "pk" the primary key's)."""
    if field == "pk":
        field = model._meta.pk.name
    name = model._meta.get_field(field).column
    REFERENCED.setdefault(model._meta.db_table, set()).add(name)
    return name


def insert_columns(model: type[models.Model], *fields: str) -> str:
    """The column list of an INSERT INTO table(...), recorded as one INSERT."""
    names = tuple(column(model, field) for field in fields)
    INSERTS.append((table(model), names))
    return ", ".join(names)


def schema_problems(connection, *, referenced=None, inserts=None) -> list[str]:
    """What the recorded statements and the migrated schema disagree on: a table
    or column that does not exist, a NOT NULL column without a default that an
    INSERT leaves out. Empty when every statement fits the schema."""
    referenced = REFERENCED if referenced is None else referenced
    inserts = INSERTS if inserts is None else inserts
    problems = []
    with connection.cursor() as cursor:
        tables = set(connection.introspection.table_names(cursor))
        described = {
            name: connection.introspection.get_table_description(cursor, name)
            for name in {*referenced, *(name for name, _ in inserts)}
            if name in tables
        }
        for name, columns in sorted(referenced.items()):
            if name not in tables:
                problems.append(f"no table {name}")
                continue
            existing = {col.name for col in described[name]}
            problems += [
                f"no column {name}.{col}" for col in sorted(columns - existing)
            ]
        for name, given in inserts:
            if name not in described:
                continue
            primary_key = connection.introspection.get_primary_key_column(cursor, name)
            problems += [
                f"INSERT INTO {name} leaves out {col.name}"
                for col in described[name]
                if not col.null_ok
                and col.default is None
                and col.name != primary_key
                and col.name not in given
            ]
    return problems
