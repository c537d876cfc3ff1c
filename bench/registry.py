"""The benchmark registry: `@benchmark(...)` names a function that returns figures.

    @benchmark("import_codes", help="...",
               arguments=[("--rows", {"type": int, "default": 100_000})])
    def import_codes(*, rows, stdout): ...  # returns a dict of figures

`python manage.py bench NAME` runs one and prints its figures as one JSON object on
the last line. Benchmarks never run inside `make test`; `make bench` runs them all.
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


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (share 0.95 = p95), rounded to 0.1."""
    ordered = sorted(values)
    return round(ordered[max(0, int(len(ordered) * share + 0.5) - 1)], 1)
