from importlib import import_module

from django.apps import apps
from django.core.management.base import BaseCommand
from django.db import transaction

from kameng.demo import DemoContext


class Command(BaseCommand):
    help = "Load demo data (idempotent): staff per role, catalog, buyers with wallets."

    def add_arguments(self, parser):
        parser.add_argument("--buyers", type=int, default=300)

    def handle(self, *args, buyers, **options):
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
