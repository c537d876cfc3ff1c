"""Re-encrypt card codes under the first key of FIELD_ENCRYPTION_KEY.

Rotation, step by step:
  1. put a new key first:   FIELD_ENCRYPTION_KEY=<new>,<old>   and restart
  2. python manage.py rotate_card_key          (batches; stop and rerun at will)
  3. once it reports 0 remaining, drop <old> from the variable and restart
Supplier signing keys and staff's two-factor secrets are re-encrypted in the
same run.
"""

from django.core.management.base import BaseCommand, CommandError

from catalog.models import Supplier
from catalog.services.codes import rotate_keys
from kameng import crypto
from users.two_factor import rotate_secrets


class Command(BaseCommand):
    help = "Re-encrypt card codes and supplier keys under the current key (resumable)."

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--limit", type=int, default=None, help="Stop after this many codes."
        )

    def handle(self, *, batch_size, limit, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        try:
            result = rotate_keys(batch_size=batch_size, limit=limit)
        except crypto.InvalidToken as exc:
            raise CommandError(
                "A card code was encrypted with a key that is no longer in "
                "FIELD_ENCRYPTION_KEY. Put every old key back (after the new one) "
                "and run again."
            ) from exc
        try:
            authenticators = rotate_secrets()
        except crypto.InvalidToken as exc:
            raise CommandError(
                "A two-factor secret was encrypted with a key that is no longer in "
                "FIELD_ENCRYPTION_KEY. Put every old key back (after the new one) "
                "and run again."
            ) from exc
        suppliers = 0
        for supplier in Supplier.objects.exclude(secret=""):
            supplier.secret = crypto.rotate(supplier.secret)
            supplier.save(update_fields=["secret"])
            suppliers += 1
        self.stdout.write(
            f"rotated {result['rotated']} codes, {result['remaining']} remaining; "
            f"{suppliers} supplier keys and {authenticators} two-factor secrets "
            "re-encrypted; current key "
            f"{crypto.current_key_version()}"
        )
        if result["remaining"]:
            self.stdout.write("Run the command again to continue.")
