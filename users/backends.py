"""The login backend: Django's ModelBackend, with the logged-in user of every
request read by a query compiled once per process.

Each request of a logged-in person loads their User row (the session holds its
id). Through the ORM, building and compiling that one `User.objects.get(pk=…)`
cost more CPU than running it: about a third of a request that does little
else, and a card purchase is two such requests (issue 12). The query is the
ORM's own, compiled by the ORM the first time and kept as SQL; the row still
becomes a User as a QuerySet makes one (kameng.compiled), every field's
converters applied (contacts are decrypted as anywhere else). Logins, passwords and
permissions are ModelBackend's, unchanged.

Sessions opened before this backend existed name Django's ModelBackend;
`users.middleware.AuthenticationMiddleware` renames them on their next request,
so nobody is logged out by the change.
"""

from __future__ import annotations

from django.contrib.auth import backends

from kameng.compiled import CompiledRead
from users.models import User

DJANGO_MODEL_BACKEND = "django.contrib.auth.backends.ModelBackend"
PATH = "users.backends.ModelBackend"

# `User._default_manager.filter(pk=…)`, compiled once per process; the mark is
# a primary key no row has.
_USER_BY_PK = CompiledRead(
    User, lambda pk: User._default_manager.filter(pk=pk), -7_021_944_211
)


def user_by_pk(pk: int) -> User | None:
    """What `User._default_manager.filter(pk=pk).first()` returns."""
    return _USER_BY_PK.first(pk)


class ModelBackend(backends.ModelBackend):
    def get_user(self, user_id):
        user = user_by_pk(user_id)
        return user if user is not None and self.user_can_authenticate(user) else None
