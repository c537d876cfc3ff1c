"""seed_demo creates staff logins with a published password: never by accident on a
production database (DEBUG off), only when told so."""

import pytest
from django.core.management import CommandError, call_command

from users.models import User


@pytest.mark.django_db
def test_seed_demo_refuses_without_debug(settings):
    settings.DEBUG = False
    with pytest.raises(CommandError) as refused:
        call_command("seed_demo", buyers=1)
    assert "--i-know-this-is-not-production" in str(refused.value)
    assert "kameng-demo" in str(refused.value)
    assert not User.objects.filter(username="admin").exists()


@pytest.mark.django_db
def test_seed_demo_runs_without_debug_when_told(settings):
    settings.DEBUG = False
    call_command("seed_demo", "--i-know-this-is-not-production", buyers=1)
    admin = User.objects.get(username="admin")
    assert admin.check_password("kameng-demo")
