"""The logged-in person of each request, read by users.backends (a query compiled
once per process, kameng.compiled): the same person Django's ModelBackend would
give, the same refusals, and sessions opened under Django's backend still
logged in after the change."""

from __future__ import annotations

import pytest
from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
from django.contrib.auth.backends import ModelBackend as DjangoModelBackend
from django.test import Client
from django.utils.module_loading import import_string

from users import backends
from users.backends import user_by_pk
from users.models import User

pytestmark = pytest.mark.django_db

PASSWORD = "Right-pass-2468"
SESSION_STORE = "django.contrib.sessions.backends.cached_db.SessionStore"


@pytest.fixture
def buyer():
    return User.objects.create_user(
        username="reader",
        password=PASSWORD,
        phone="13800138000",
        email="Reader@Example.com",
    )


def logged_in(user) -> Client:
    client = Client()
    assert client.login(username=user.username, password=PASSWORD)
    return client


def session_of(client: Client):
    return import_string(SESSION_STORE)(client.cookies["sessionid"].value)


def test_the_backend_reads_the_same_person_as_djangos():
    user = User.objects.create_user(username="same", phone="13900139000")
    ours = backends.ModelBackend().get_user(user.pk)
    theirs = DjangoModelBackend().get_user(user.pk)
    assert ours == theirs
    assert type(ours) is User
    assert ours.phone == "13900139000"  # decrypted, as the ORM reads it
    names = [field.attname for field in User._meta.concrete_fields]
    assert [getattr(ours, name) for name in names] == [
        getattr(theirs, name) for name in names
    ]
    assert not ours._state.adding
    assert ours._state.db == "default"


def test_an_unknown_or_inactive_person_is_nobody():
    user = User.objects.create_user(username="gone", is_active=False)
    assert backends.ModelBackend().get_user(user.pk) is None
    assert user_by_pk(user.pk) == user  # the row is read; the backend refuses it
    assert backends.ModelBackend().get_user(user.pk + 1000) is None


def test_a_logged_in_buyer_sees_their_pages(buyer):
    client = logged_in(buyer)
    assert session_of(client)[BACKEND_SESSION_KEY] == backends.PATH
    page = client.get("/shop/wallet/")
    assert page.status_code == 200
    assert page.wsgi_request.user == buyer


def test_a_password_change_elsewhere_logs_the_session_out(buyer):
    client = logged_in(buyer)
    buyer.set_password("Another-pass-1357")
    buyer.save()
    page = client.get("/shop/wallet/")
    assert page.status_code == 302
    assert "/shop/login/" in page["Location"]


def test_a_deactivated_buyer_is_logged_out(buyer):
    client = logged_in(buyer)
    User.objects.filter(pk=buyer.pk).update(is_active=False)
    assert client.get("/shop/wallet/").status_code == 302


def session_under(backend_path: str, user) -> Client:
    """A browser holding a session that `login()` made under `backend_path`."""
    session = import_string(SESSION_STORE)()
    session[SESSION_KEY] = str(user.pk)
    session[BACKEND_SESSION_KEY] = backend_path
    session[HASH_SESSION_KEY] = user.get_session_auth_hash()
    session.create()
    client = Client()
    client.cookies["sessionid"] = session.session_key
    return client


def test_a_session_from_before_the_change_stays_logged_in_and_is_renamed(buyer):
    """Sessions opened when Django's ModelBackend was the login backend."""
    client = session_under(backends.DJANGO_MODEL_BACKEND, buyer)
    page = client.get("/shop/wallet/")
    assert page.status_code == 200
    assert page.wsgi_request.user == buyer
    assert session_of(client)[BACKEND_SESSION_KEY] == backends.PATH


def test_a_session_naming_an_unknown_backend_is_nobody(buyer):
    assert session_under(backends.PATH, buyer).get("/shop/wallet/").status_code == 200
    client = session_under("somewhere.else.Backend", buyer)
    assert client.get("/shop/wallet/").status_code == 302


def test_signup_logs_the_new_buyer_in_with_the_backend(client):
    page = client.get("/shop/signup/")
    assert page.status_code == 200
    done = client.post(
        "/shop/signup/",
        {
            "username": "fresh-buyer",
            "email": "fresh@example.com",
            "password1": PASSWORD,
            "password2": PASSWORD,
        },
    )
    assert done.status_code == 302, done.content.decode()[:2000]
    assert session_of(client)[BACKEND_SESSION_KEY] == backends.PATH
    assert client.get("/shop/wallet/").status_code == 200
