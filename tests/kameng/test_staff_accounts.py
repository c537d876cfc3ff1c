"""Staff accounts are listed and edited only by the super admin; every member of
staff sees their own account; no role but the super admin sees a password hash."""

from __future__ import annotations

import pytest

from users.models import User

OTHER_ROLES = ("operations", "support", "marketing", "finance")


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_only_the_super_admin_lists_staff_accounts(client, role_user, role):
    colleague = role_user("finance", username="colleague")
    client.force_login(role_user(role))
    assert client.get("/admin/users/staff/").status_code == 403
    assert client.get(f"/admin/users/staff/{colleague.pk}/change/").status_code == 403


def test_the_super_admin_lists_and_edits_staff_accounts(client, role_user):
    colleague = role_user("finance", username="colleague")
    client.force_login(role_user("superadmin"))
    listing = client.get("/admin/users/staff/")
    assert listing.status_code == 200
    assert "colleague" in listing.content.decode()
    page = client.get(f"/admin/users/staff/{colleague.pk}/change/")
    assert page.status_code == 200
    assert 'name="username"' in page.content.decode()


def test_buyers_are_not_staff_accounts(client, role_user):
    """The buyers' list never shows a member of staff (nor their flags)."""
    role_user("finance", username="colleague")
    client.force_login(role_user("support"))
    body = client.get("/admin/users/buyer/").content.decode()
    assert "colleague" not in body
    assert "is_superuser" not in body


@pytest.mark.parametrize("role", ["superadmin", *OTHER_ROLES])
def test_each_member_of_staff_sees_their_own_account(client, role_user, role):
    user = role_user(role)
    role_user("finance", username="colleague")
    client.force_login(user)
    response = client.get("/admin/me/")
    assert response.status_code == 200
    body = response.content.decode()
    assert user.username in body
    assert "colleague" not in body
    assert 'href="/admin/password_change/"' in body


@pytest.mark.django_db
def test_a_buyer_has_no_back_office_account_page(client):
    client.force_login(User.objects.create_user("buyer-acc", password="p-ass-1234"))
    response = client.get("/admin/me/")
    assert response.status_code == 302
    assert response["Location"].startswith("/admin/login/")


@pytest.mark.parametrize("role", OTHER_ROLES)
def test_no_role_but_the_super_admin_sees_a_buyers_password_hash(
    client, role_user, role
):
    buyer = User.objects.create_user(username="hash-buyer", password="x-pass-123")
    # argon2$argon2id$v=19$m=…,t=…,p=…$<salt>$<hash>
    algorithm, salt = buyer.password.split("$")[0], buyer.password.split("$")[-2]
    client.force_login(role_user(role))
    response = client.get(f"/admin/users/buyer/{buyer.pk}/change/")
    assert response.status_code == 200
    body = response.content.decode()
    assert algorithm == "argon2"
    assert "argon2" not in body
    assert salt[:6] not in body


def test_the_super_admin_still_sees_the_password_field(client, role_user):
    buyer = User.objects.create_user(username="hash-buyer", password="x-pass-123")
    client.force_login(role_user("superadmin"))
    body = client.get(f"/admin/users/buyer/{buyer.pk}/change/").content.decode()
    assert "argon2" in body
