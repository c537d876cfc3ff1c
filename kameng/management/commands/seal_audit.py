"""manage.py seal_audit: run the sealer now (beat runs it every minute)."""

from django.core.management.base import BaseCommand
from django.utils.translation import gettext as _

from kameng.sealing import seal_pending


class Command(BaseCommand):
    help = "Seal the rows the append-only tables gained since the last run."

    def add_arguments(self, parser):
        parser.add_argument(
            "--until-done",
            action="store_true",
            help="Repeat until a run finds nothing new (a backlog, a fresh install).",
        )

    def handle(self, *args, until_done: bool = False, **options):
        total = 0
        while True:
            run = seal_pending()
            total += run.total
            if not until_done or run.total == 0:
                break
        self.stdout.write(_("Sealed %(count)s rows.") % {"count": total})
