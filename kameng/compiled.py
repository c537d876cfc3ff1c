"""A hot read compiled by the ORM once per process, then run as plain SQL.

Some reads run on every request: the logged-in user (users.backends), the order
a buyer just paid for (the shop's order page). For such a short query, the
ORM's building and compiling cost more CPU than the database takes to answer
(issue 12). `CompiledRead` asks the ORM for the SQL once per process and
database vendor, with one marked parameter standing for the value that varies,
and turns rows into model instances exactly as a QuerySet does: the model's
own `from_db`, every field's converters (encrypted contacts are decrypted),
annotations set as attributes. What is read stays written as a queryset, so a
new column, an annotation or a model change is picked up with no SQL to edit.

Only what one model's rows need is supported (no select_related, no
prefetch): a query that needs more stays on the ORM.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from django.db import connections, router
from django.db.models import Model, QuerySet


@dataclass(frozen=True)
class _Compiled:
    sql: str
    params: tuple
    at: int  # the place of the varying parameter in params
    init_list: tuple[str, ...]
    fields_end: int
    annotations: tuple[tuple[str, int], ...]
    converters: tuple[tuple[int, tuple, object], ...]


class CompiledRead:
    """`CompiledRead(Model, lambda value: queryset filtered by value, mark)`:
    `.first(value)` is `queryset(value).first()` (at most one row is read), for
    a query on one model whose varying value is `mark` when compiled."""

    def __init__(self, model: type[Model], build: Callable[[object], QuerySet], mark):
        self.model = model
        self.build = build
        self.mark = mark
        self._compiled: dict[str, _Compiled] = {}

    def _compile(self, alias: str) -> _Compiled:
        vendor = connections[alias].vendor
        compiled = self._compiled.get(vendor)
        if compiled is None:
            compiled = self._compiled[vendor] = self._compile_for(alias)
        return compiled

    def _compile_for(self, alias: str) -> _Compiled:
        queryset = self.build(self.mark)
        if queryset.query.select_related or queryset._prefetch_related_lookups:
            raise ValueError("CompiledRead reads one model's rows only")
        compiler = queryset.query.get_compiler(using=alias)
        sql, params = compiler.as_sql()
        select, klass_info = compiler.select, compiler.klass_info
        fields = klass_info["select_fields"]
        start, end = fields[0], fields[-1] + 1
        if start != 0:
            raise ValueError("CompiledRead needs the model's columns first")
        converters = compiler.get_converters([column for column, *_ in select])
        return _Compiled(
            sql=f"{sql} LIMIT 1",
            params=tuple(params),
            at=list(params).index(self.mark),
            init_list=tuple(column[0].target.attname for column in select[start:end]),
            fields_end=end,
            annotations=tuple(compiler.annotation_col_map.items()),
            converters=tuple(
                (position, tuple(functions), expression)
                for position, (functions, expression) in converters.items()
            ),
        )

    def first(self, value) -> Model | None:
        alias = router.db_for_read(self.model)
        compiled = self._compile(alias)
        params = list(compiled.params)
        params[compiled.at] = value
        connection = connections[alias]
        with connection.cursor() as cursor:
            cursor.execute(compiled.sql, params)
            row = cursor.fetchone()
        if row is None:
            return None
        row = list(row)
        for position, functions, expression in compiled.converters:
            value = row[position]
            for convert in functions:
                value = convert(value, expression, connection)
            row[position] = value
        instance = self.model.from_db(
            alias, compiled.init_list, row[: compiled.fields_end]
        )
        for name, position in compiled.annotations:
            setattr(instance, name, row[position])
        return instance
