import os
import sys

from django.conf import settings
from django.core.management.base import BaseCommand


class Command(BaseCommand):
    help = (
        "Serve the back office on 127.0.0.1:8000. With REDIS_URL set, also start a "
        "Celery worker and beat (honcho, Procfile.dev); otherwise tasks run in-process."
    )

    def add_arguments(self, parser):
        parser.add_argument("--addr", default="127.0.0.1:8000")

    def handle(self, *args, addr, **options):
        python = sys.executable
        if not settings.REDIS_URL:
            self.stdout.write(
                "Embedded mode: SQLite, tasks run in-process, no worker needed."
            )
            os.execv(python, [python, "manage.py", "runserver", addr])
        self.stdout.write("Full stack: web + Celery worker + beat (REDIS_URL is set).")
        os.environ["KAMENG_ADDR"] = addr
        honcho = os.path.join(os.path.dirname(python), "honcho")
        os.execv(honcho, [honcho, "-f", "Procfile.dev", "start"])
