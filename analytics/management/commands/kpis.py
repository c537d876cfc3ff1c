"""manage.py kpis --since YYYY-MM-DD --until YYYY-MM-DD [--category SLUG] [--json]

The dashboard's headline figures for a period, from the same selector the
dashboard uses (analytics.dashboard.period_figures, over the rollups). An
operator's command: gross profit included.
"""

from __future__ import annotations

import json

from django.core.management.base import BaseCommand, CommandError

from analytics.dashboard import Period, Scope, kpis
from analytics.management.commands.rebuild_rollups import day_argument
from catalog.models import Category


class Command(BaseCommand):
    help = "GMV, orders, units, buyers, average order value, refunds, gross profit."

    def add_arguments(self, parser):
        parser.add_argument("--since", required=True, help="first day, YYYY-MM-DD")
        parser.add_argument("--until", required=True, help="last day, YYYY-MM-DD")
        parser.add_argument("--category", help="a category's slug (with its children)")
        parser.add_argument(
            "--json", dest="as_json", action="store_true", help="one JSON object"
        )

    def handle(self, *args, since, until, category, as_json, **options):
        first, last = day_argument(since), day_argument(until)
        if last < first:
            raise CommandError("--until is before --since.")
        chosen = None
        if category:
            chosen = Category.objects.filter(slug=category).first()
            if chosen is None:
                raise CommandError(f"No category with the slug {category!r}.")
        figures = kpis(
            period=Period(since=first, until=last),
            scope=Scope(category=chosen.pk if chosen else None),
            with_cost=True,
        ).as_dict()
        if chosen is not None:
            figures["category"] = chosen.slug
        if as_json:
            self.stdout.write(json.dumps(figures, ensure_ascii=False, sort_keys=True))
            return
        for name, value in figures.items():
            self.stdout.write(f"{name}: {value}")
