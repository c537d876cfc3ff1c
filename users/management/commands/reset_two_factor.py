"""Remove a member of staff's authenticator and recovery codes (a lost phone).

    python manage.py reset_two_factor USERNAME

If their role requires two-factor, their next login asks them to enrol again.
"""

from django.core.management.base import BaseCommand, CommandError

from users import two_factor
from users.models import User


class Command(BaseCommand):
    help = "Reset a staff member's two-factor authentication (they enrol again)."

    def add_arguments(self, parser):
        parser.add_argument("username")

    def handle(self, *args, username, **options):
        user = User.objects.filter(username=username).first()
        if user is None:
            raise CommandError(f"No account is called {username!r}.")
        two_factor.reset(user=user)
        self.stdout.write(
            f"Two-factor authentication of {username} removed; "
            + (
                "they set it up again at their next login."
                if two_factor.is_required(user)
                else "they may set it up again from their account page."
            )
        )
