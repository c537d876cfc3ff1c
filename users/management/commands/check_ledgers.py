"""`python manage.py check_ledgers`: does every wallet's balance equal the sum
of its ledger? Lists the wallets that do not, opens alerts for finance (mailed
once, listed in the back office) and exits with status 1 when any is found."""

from django.core.management.base import BaseCommand, CommandError
from django.utils.translation import gettext as _

from users.wallets import check_ledgers


class Command(BaseCommand):
    help = "Check that every wallet balance equals the sum of its ledger."

    def handle(self, *args, **options):
        result = check_ledgers()
        for row in result.mismatches:
            self.stdout.write(
                _(
                    "Wallet %(wallet)s (user %(user)s): balance %(balance)s, "
                    "ledger sum %(sum)s"
                )
                % {
                    "wallet": row["id"],
                    "user": row["user_id"],
                    "balance": row["balance"],
                    "sum": row["ledger_sum"],
                }
            )
        if result.mismatches:
            raise CommandError(
                _(
                    "%(n)s wallet(s) do not match their ledger; %(opened)s new "
                    "alert(s), finance mailed about %(mailed)s."
                )
                % {
                    "n": len(result.mismatches),
                    "opened": result.opened,
                    "mailed": result.mailed,
                }
            )
        self.stdout.write(self.style.SUCCESS(_("Every wallet matches its ledger.")))
