"""Print the back office's theme stylesheet (kameng/admin_theme.py)."""

from django.core.management.base import BaseCommand

from kameng.admin_theme import theme_css


class Command(BaseCommand):
    help = (
        "Print the back office's colours as CSS: "
        "manage.py admin_theme_css > static/kameng/admin-theme.css"
    )

    def handle(self, *args, **options):
        self.stdout.write(theme_css(), ending="")
