from importlib import import_module

from django.apps import apps
from django.conf import settings
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction

from kameng.demo import DemoContext


class Command(BaseCommand):
    help = "Load demo data (idempotent): staff per role, catalog, buyers with wallets."

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=300)
        parser.add_argument(
            "--i-know-this-is-not-production",
            action="store_true",
            dest="not_production",
            help="Seed even though DEBUG is off (a staging copy, a benchmark).",
        )

    def handle(self, *args, buyers, not_production, **options):
        # The demo creates staff logins with a published password (kameng-demo).
        if not settings.DEBUG and not not_production:
            raise CommandError(
                "seed_demo creates staff accounts with the published password "
                "kameng-demo, so it runs only with DEBUG on. If this database is "
                "not production, run it with --i-know-this-is-not-production."
            )
        ctx = DemoContext(buyers=buyers)
        for config in apps.get_app_configs():
            try:
                module = import_module(f"{config.name}.demo")
            except ModuleNotFoundError as exc:
                if exc.name != f"{config.name}.demo":
                    raise
                continue
            if config.name == "kameng":
                continue
            with transaction.atomic():
                module.seed(ctx)
        for line in ctx.log:
            self.stdout.write(line)
        if ctx.logins:
            self.stdout.write(
                self.style.SUCCESS("Demo logins (user / password / role):")
            )
            for username, password, role in ctx.logins:
                self.stdout.write(f"  {username:<12} {password:<16} {role}")
            self.stdout.write(
                "  The super admin and finance set up two-factor at their first "
                "login: scan the QR code with an authenticator app (README)."
            )
