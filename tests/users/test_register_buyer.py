"""Buyer sign-up is a service: register_buyer writes the account, the signup
page only validates the form and calls it."""

import pytest
from django.contrib.auth import authenticate

from kameng import events
from users.exceptions import UsernameTaken
from users.models import User
from users.services import register_buyer

pytestmark = pytest.mark.django_db


@pytest.fixture
def registered():
    """user_id of every user_registered signal sent."""
    seen = []

    def receiver(sender, user_id, **kwargs):
        seen.append(user_id)

    events.user_registered.connect(receiver)
    yield seen
    events.user_registered.disconnect(receiver)


def test_a_buyer_is_registered_and_announced_after_commit(
    registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        user = register_buyer(
            username="xiaoming", email="xm@example.com", password="a-Long-pass-9876"
        )
        assert registered == []  # nothing leaves before the commit
    assert registered == [user.pk]
    assert not user.is_staff and not user.is_superuser
    assert user.groups.count() == 0
    assert user.password != "a-Long-pass-9876"  # hashed
    assert authenticate(username="xiaoming", password="a-Long-pass-9876") == user


def test_a_taken_username_is_refused_and_nothing_is_sent(
    registered, django_capture_on_commit_callbacks
):
    User.objects.create_user("xiaoming", password="someone-elses-9876")
    with django_capture_on_commit_callbacks(execute=True):
        with pytest.raises(UsernameTaken) as refused:
            register_buyer(username="xiaoming", email="", password="a-Long-pass-9876")
    assert refused.value.extra["field"] == "username"
    assert User.objects.filter(username="xiaoming").count() == 1
    assert registered == []


def test_the_signup_page_registers_through_the_service(
    client, registered, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        response = client.post(
            "/shop/signup/",
            {
                "username": "newbuyer",
                "email": "new@example.com",
                "password1": "a-Long-pass-9876",
                "password2": "a-Long-pass-9876",
            },
        )
    assert response.status_code == 302
    user = User.objects.get(username="newbuyer")
    assert registered == [user.pk]
    assert client.get("/shop/wallet/").status_code == 200  # logged in


def test_the_signup_page_shows_a_taken_username_on_the_form(client, monkeypatch):
    """The form saw the name free; a parallel sign-up took it before ours."""
    User.objects.create_user("racer", password="first-one-9876")
    monkeypatch.setattr(
        "orders.storefront.forms.SignupForm.clean_username",
        lambda form: form.cleaned_data["username"],
    )
    response = client.post(
        "/shop/signup/",
        {
            "username": "racer",
            "email": "",
            "password1": "a-Long-pass-9876",
            "password2": "a-Long-pass-9876",
        },
    )
    assert response.status_code == 200
    assert response.context["form"].errors["username"]
    assert User.objects.filter(username="racer").count() == 1
