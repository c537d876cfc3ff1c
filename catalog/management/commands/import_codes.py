"""Import a card-code file from the command line, through the same services as the
import page: `python manage.py import_codes --sku QB-10 codes.xlsx [--dry-run]`.

Prints the counts and the row errors; exits non-zero when nothing was imported
(a rejected file, a failed import, a file of duplicates only), and then leaves
nothing behind: no batch, no stored copy of the codes, no error report. A dry run
writes nothing and exits 0 when the file would import at least one code.
"""

from pathlib import Path

from django.contrib.auth import get_user_model
from django.core.files import File
from django.core.management.base import BaseCommand, CommandError

from catalog.imports.errors import FileRejected, ImportStateError
from catalog.models import CardBatch, Sku
from catalog.services.card_batches import (
    commit_card_batch,
    forget_card_batch,
    preview_card_batch,
    run_card_batch,
    scan_card_file,
)


class Command(BaseCommand):
    help = "Import card codes (xlsx, csv or txt) into one SKU."

    def add_arguments(self, parser):
        parser.add_argument("file", help="xlsx, csv, tsv or txt file of codes")
        parser.add_argument("--sku", required=True, help="SKU code, e.g. QB-10")
        parser.add_argument(
            "--dry-run",
            action="store_true",
            help="Check the file and print what would happen; write nothing.",
        )
        parser.add_argument(
            "--user", help="Username recorded as the importer (default: none)."
        )

    def handle(self, *args, file, sku, dry_run=False, user=None, **options):
        try:
            sku_obj = Sku.objects.select_related("product").get(code=sku)
        except Sku.DoesNotExist as exc:
            raise CommandError(f"No SKU with code {sku!r}.") from exc
        actor = None
        if user:
            actor = get_user_model().objects.filter(username=user).first()
            if actor is None:
                raise CommandError(f"No user {user!r}.")
        path = Path(file)
        if not path.is_file():
            raise CommandError(f"No such file: {file}")

        with path.open("rb") as handle:
            upload = File(handle, name=path.name)
            try:
                if dry_run:
                    scan = scan_card_file(sku=sku_obj, upload=upload, name=path.name)
                    self._report(
                        rows=scan.total_rows,
                        imported=0,
                        new=scan.new,
                        duplicates=scan.duplicates,
                        rejected=scan.rejected,
                        errors=scan.errors,
                    )
                    self.stdout.write("dry run: nothing was written")
                    if not scan.new:
                        raise CommandError("dry run: the file adds no new codes")
                    return
                batch = preview_card_batch(sku=sku_obj, upload=upload, actor=actor)
            except FileRejected as exc:
                raise CommandError(f"file rejected: {exc.message}") from exc
        try:
            commit_card_batch(batch=batch, actor=actor)
        except ImportStateError as exc:
            self._report_batch(batch)
            forget_card_batch(batch=batch)
            raise CommandError(str(exc.message)) from exc
        batch = run_card_batch(batch_id=batch.pk)
        self._report_batch(batch)
        if batch.status != CardBatch.Status.DONE or not batch.imported:
            forget_card_batch(batch=batch)
            if batch.status != CardBatch.Status.DONE:
                raise CommandError(f"import failed: {batch.failure}")
            raise CommandError("nothing imported")
        sku_obj.refresh_from_db()
        self.stdout.write(
            f"batch #{batch.pk}; {sku_obj.code} stock now {sku_obj.stock}"
        )

    def _report_batch(self, batch):
        self._report(
            rows=batch.total_rows,
            imported=batch.imported,
            new=None,
            duplicates=batch.duplicates,
            rejected=batch.rejected,
            errors=batch.errors,
        )

    def _report(self, *, rows, imported, new, duplicates, rejected, errors):
        for error in errors:
            kind = "duplicate" if error.get("kind") == "duplicate" else "rejected"
            field = error.get("field") or "-"
            self.stdout.write(f"row {error['row']}: {kind}: {field}: {error['reason']}")
        shown = len(errors)
        if shown < duplicates + rejected:
            self.stdout.write(f"({duplicates + rejected - shown} more not shown)")
        counts = f"rows={rows} imported={imported}"
        if new is not None:
            counts += f" new={new}"
        self.stdout.write(f"{counts} duplicates={duplicates} rejected={rejected}")
