"""manage.py rebuild_rollups --since YYYY-MM-DD [--until YYYY-MM-DD]"""

from __future__ import annotations

import time

from django.core.management.base import BaseCommand, CommandError
from django.utils.dateparse import parse_date

from analytics.rollups import rebuild_rollups


def day_argument(value: str):
    try:
        day = parse_date(value)
    except ValueError:
        day = None
    if day is None:
        raise CommandError(f"Not a date (YYYY-MM-DD): {value!r}")
    return day


class Command(BaseCommand):
    help = "Rebuild the sales rollups of these shop days (Asia/Shanghai) from orders."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", help="last day, YYYY-MM-DD (default: today)")

    def handle(self, *args, since, until, **options):
        first = day_argument(since)
        last = day_argument(until) if until else None
        if last is not None and last < first:
            raise CommandError("--until is before --since.")
        started = time.perf_counter()
        rows = rebuild_rollups(since=first, until=last)
        seconds = time.perf_counter() - started
        self.stdout.write(f"Rebuilt {rows} rollup rows in {seconds:.1f} s.")
