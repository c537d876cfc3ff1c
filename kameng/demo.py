"""Demo data: each app has a `demo.py` with `seed(ctx)`; `seed_demo` runs them in
INSTALLED_APPS order (users before catalog before orders...). Every seed is
idempotent: it looks rows up by natural keys and only creates what is missing.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, field


@dataclass
class DemoContext:
    buyers: int = 300
    rng: random.Random = field(default_factory=lambda: random.Random(20261125))
    log: list[str] = field(default_factory=list)
    logins: list[tuple[str, str, str]] = field(default_factory=list)  # user, pw, role

    def say(self, line: str) -> None:
        self.log.append(line)
