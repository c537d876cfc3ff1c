"""Roles: what each back-office role may open, and that the table is the truth."""

import pytest
from django.contrib.auth.models import Group

from users.roles import ROLES, sync_roles

# (role, url, expected status). Later issues add rows as they add pages.
ROLE_URLS = [
    ("superadmin", "/admin/", 200),
    ("superadmin", "/admin/auth/group/", 200),
    ("superadmin", "/admin/users/wallet/", 200),
    ("superadmin", "/admin/catalog/sku/add/", 200),
    ("operations", "/admin/", 200),
    ("operations", "/admin/catalog/product/", 200),
    ("operations", "/admin/catalog/sku/add/", 200),
    ("operations", "/admin/users/buyer/", 200),
    ("operations", "/admin/users/staff/", 403),
    ("operations", "/admin/users/wallet/", 403),
    ("operations", "/admin/users/ledgerentry/", 403),
    ("operations", "/admin/auth/group/", 403),
    ("operations", "/admin/django_celery_beat/periodictask/", 200),
    ("support", "/admin/", 200),
    ("support", "/admin/catalog/sku/", 200),
    ("support", "/admin/catalog/sku/add/", 403),
    ("support", "/admin/users/buyer/", 200),
    ("support", "/admin/users/buyer/add/", 403),
    ("support", "/admin/users/staff/", 403),
    ("superadmin", "/admin/users/staff/", 200),
    ("superadmin", "/admin/users/buyer/", 200),
    ("support", "/admin/users/wallet/", 200),
    ("support", "/admin/auth/group/", 403),
    ("marketing", "/admin/catalog/product/", 200),
    ("marketing", "/admin/catalog/product/add/", 403),
    ("marketing", "/admin/users/wallet/", 403),
    ("marketing", "/admin/users/ledgerentry/", 403),
    ("marketing", "/admin/auth/user/", 404),
    ("finance", "/admin/users/wallet/", 200),
    ("finance", "/admin/users/ledgerentry/", 200),
    ("finance", "/admin/catalog/sku/", 200),
    ("finance", "/admin/catalog/sku/add/", 403),
    ("finance", "/admin/auth/group/", 403),
    ("finance", "/admin/django_celery_beat/periodictask/", 403),
    # pricing: price history (read-only), cost-plus rules (cost: view_cost only)
    ("superadmin", "/admin/catalog/pricechange/", 200),
    ("superadmin", "/admin/catalog/costplusrule/", 200),
    ("superadmin", "/admin/users/memberlevel/", 200),
    ("operations", "/admin/catalog/pricechange/", 200),
    ("operations", "/admin/catalog/pricechange/add/", 403),
    ("operations", "/admin/catalog/costplusrule/add/", 200),
    ("support", "/admin/catalog/costplusrule/", 403),
    ("support", "/admin/users/memberlevel/add/", 403),
    ("marketing", "/admin/catalog/costplusrule/", 403),
    ("finance", "/admin/catalog/pricechange/add/", 403),
]


@pytest.mark.parametrize(("role", "url", "status"), ROLE_URLS)
def test_role_can_open_only_its_pages(client, role_user, role, url, status):
    client.force_login(role_user(role))
    assert client.get(url).status_code == status


def test_buyer_cannot_enter_the_back_office(client, django_user_model):
    buyer = django_user_model.objects.create_user("buyer", password="x-test-password")
    client.force_login(buyer)
    response = client.get("/admin/")
    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


@pytest.mark.django_db
def test_migrate_created_every_role_group_with_permissions():
    for role in ROLES:
        group = Group.objects.get(name=role.group_name)
        assert group.permissions.exists(), role.code


@pytest.mark.django_db
def test_money_and_cost_permissions_go_to_the_right_roles():
    def perms(code):
        role = next(r for r in ROLES if r.code == code)
        group = Group.objects.get(name=role.group_name)
        return {
            f"{p.content_type.app_label}.{p.codename}"
            for p in group.permissions.select_related("content_type")
        }

    assert "users.adjust_wallet" in perms("finance")
    assert "orders.refund_order" in perms("finance")
    assert "catalog.view_cost" in perms("finance")
    assert "catalog.view_cost" in perms("operations")
    assert "catalog.reveal_cardcode" in perms("operations")
    for code in ("support", "marketing"):
        assert not {"catalog.view_cost", "users.adjust_wallet"} & perms(code), code


@pytest.mark.django_db
def test_sync_is_idempotent_and_undoes_manual_drift():
    first = sync_roles()
    support = Group.objects.get(name="客服")
    from django.contrib.auth.models import Permission

    support.permissions.add(Permission.objects.get(codename="adjust_wallet"))
    second = sync_roles()
    assert first == second
    assert not support.permissions.filter(codename="adjust_wallet").exists()
    assert Group.objects.filter(name__in=[r.group_name for r in ROLES]).count() == 5


@pytest.mark.django_db
def test_a_misspelt_permission_is_an_error(monkeypatch):
    from users import roles

    broken = (roles.Role("support", "客服", ("users.view_wallett",)),)
    monkeypatch.setattr(roles, "ROLES", broken)
    with pytest.raises(LookupError, match="view_wallett"):
        roles.sync_roles()
