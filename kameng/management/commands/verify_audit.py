"""manage.py verify_audit: recompute the audit seal chain and every sealed row.

Prints each problem (an edited or deleted row, a broken chain, a row left
unsealed) naming its table and row, and exits with status 1 when there is any.
--record keeps the result (the super admin's banner) and mails the super admin,
as the nightly task does.
"""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from kameng.sealing import describe, record_verification, verify


class Command(BaseCommand):
    help = "Recompute the audit seal chain and report edited, deleted or unsealed rows."

    def add_arguments(self, parser):
        parser.add_argument(
            "--record",
            action="store_true",
            help="Keep the result and mail the super admin when it found problems.",
        )

    def handle(self, *args, record: bool = False, **options):
        result = verify()
        if record:
            record_verification(result)
        for problem in result.problems:
            self.stdout.write(describe(problem))
        if not result.ok:
            raise CommandError(
                _("Audit verification failed: %(count)s problems in %(seals)s seals.")
                % {"count": sum(result.counts.values()), "seals": result.seals_checked}
            )
        self.stdout.write(
            _("Audit trail intact: %(seals)s seals checked.")
            % {"seals": result.seals_checked}
        )
