"""kameng.compiled.CompiledRead: a queryset compiled once, run again and again
with another value, gives what the queryset itself gives."""

from __future__ import annotations

import pytest
from django.db.models import F, Value
from django.db.models.functions import Concat

from kameng.compiled import CompiledRead
from users.models import User

pytestmark = pytest.mark.django_db

BY_NAME = CompiledRead(
    User,
    lambda name: User.objects.annotate(
        shown=Concat(F("username"), Value("!")), joined_year=F("date_joined__year")
    ).filter(username=name),
    "\x00mark",
)


def test_each_value_reads_its_own_row_with_converters_and_annotations():
    first = User.objects.create_user(username="first", phone="13800138000")
    second = User.objects.create_user(username="second", email="Two@Example.com")
    for user in (first, second):
        read = BY_NAME.first(user.username)
        assert read == user
        assert read.shown == f"{user.username}!"
        assert read.joined_year == user.date_joined.year
        assert read.phone == user.phone  # decrypted, as the ORM reads it
        assert read.email == user.email
        assert read.date_joined == user.date_joined  # an aware datetime
        assert not read._state.adding


def test_no_row_is_none():
    assert BY_NAME.first("nobody") is None


def test_it_is_compiled_once_and_sees_rows_written_since():
    BY_NAME.first("warm-up")
    User.objects.create_user(username="later")
    assert BY_NAME.first("later").username == "later"


def test_a_query_of_more_than_one_model_is_refused():
    joined = CompiledRead(
        User, lambda pk: User.objects.select_related("wallet").filter(pk=pk), -1
    )
    with pytest.raises(ValueError):
        joined.first(1)
