"""Benchmarks: `python manage.py bench NAME` prints one JSON object as its last line.

Each app registers its benchmarks in `<app>/benchmarks.py`:

    @benchmark("import_codes", help="...",
               arguments=[("--rows", {"type": int, "default": 100_000})])
    def import_codes(*, rows, stdout): ...  # returns a dict of figures

Benchmarks never run inside `make test`; `make bench` runs them all.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Benchmark:
    name: str
    func: Callable[..., dict]
    help: str = ""
    arguments: list[tuple[str, dict]] = field(default_factory=list)


REGISTRY: dict[str, Benchmark] = {}


def benchmark(name: str, *, help: str = "", arguments=()):
    def register(func):
        REGISTRY[name] = Benchmark(name, func, help, list(arguments))
        return func

    return register
