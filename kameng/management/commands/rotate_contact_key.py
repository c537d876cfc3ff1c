"""Re-encrypt buyers' contacts and recharge accounts under the current key.

Rotation, step by step (the same keys as card codes, see rotate_card_key):
  1. put a new key first:   FIELD_ENCRYPTION_KEY=<new>,<old>   and restart
  2. python manage.py rotate_card_key and python manage.py rotate_contact_key
     (batches; stop and rerun at will: what the new key made is left alone)
  3. once both report nothing left, drop <old> from the variable and restart
--reindex recomputes the blind indexes instead (after CARD_HASH_KEY changed).
"""

from django.apps import apps
from django.core.management.base import BaseCommand, CommandError
from django.db import connection

from kameng import fields


class Command(BaseCommand):
    help = (
        "Re-encrypt buyers' contacts and recharge accounts under the current key "
        "(resumable); --reindex recomputes their blind indexes."
    )

    def add_arguments(self, parser):
        parser.add_argument("--batch-size", type=int, default=1000)
        parser.add_argument(
            "--reindex",
            action="store_true",
            help="Recompute the blind indexes (after CARD_HASH_KEY changed).",
        )

    def handle(self, *, batch_size, reindex, **options):
        if batch_size < 1:
            raise CommandError("--batch-size must be at least 1.")
        mode = "reindex" if reindex else "rotate"
        unreadable = 0
        for model, columns in fields.encrypted_columns(apps.get_models()):
            # Each batch's updates commit as they go: an interrupted run keeps
            # its progress, and the next run skips what the new key made.
            counts = fields.reseal_table(
                connection,
                model._meta.db_table,
                columns,
                mode=mode,
                batch_size=batch_size,
                pk=model._meta.pk.column,
            )
            unreadable += counts["unreadable"]
            names = ", ".join(column for column, _index, _kind in columns)
            self.stdout.write(
                f"{model._meta.label} ({names}): {counts['changed']} values "
                f"{'reindexed' if reindex else 're-encrypted'}, "
                f"{counts['unreadable']} unreadable"
            )
        if unreadable:
            raise CommandError(
                f"{unreadable} values were encrypted with a key that is no longer "
                "in FIELD_ENCRYPTION_KEY. Put every old key back (after the new "
                "one) and run again; until then they read as “[cannot decrypt]”."
            )
