"""Category managers: a guardian grant on a category lets a member of staff edit
that category's products and SKUs, and only those."""

import pytest
from guardian.shortcuts import assign_perm

from catalog.models import Product, Sku
from catalog.selectors.category_managers import managed_category_ids
from catalog.services.category_managers import set_category_managers
from kameng.models import AuditEntry
from tests.catalog.factories import make_category, make_product, make_sku
from tests.catalog.test_pricing_admin import admin_form_data
from users.models import User

pytestmark = pytest.mark.django_db


@pytest.fixture
def shop():
    """Two categories with one product and one SKU each."""
    games, phones = make_category("游戏点卡"), make_category("话费充值")
    game = make_product("Q币", category=games)
    phone = make_product("移动话费", category=phones)
    return {
        "games": games,
        "phones": phones,
        "game": game,
        "phone": phone,
        "game_sku": make_sku("QB-10", product=game),
        "phone_sku": make_sku("CM-50", product=phone),
    }


@pytest.fixture
def manager(role_user, shop):
    """A support member (who may only look at the catalog) managing 游戏点卡."""
    user = role_user("support", username="games-manager")
    assign_perm("catalog.change_category", user, shop["games"])
    return user


def listed(client, url):
    response = client.get(url)
    assert response.status_code == 200
    return {str(obj) for obj in response.context["cl"].result_list}


def test_the_super_admin_grants_managers_on_the_category_page(client, role_user, shop):
    member = role_user("support", username="new-manager")
    client.force_login(role_user("superadmin"))
    url = f"/admin/catalog/category/{shop['phones'].pk}/change/"
    page = client.get(url)
    assert "分类管理员" in page.content.decode()
    data = admin_form_data(page)
    data["managers"] = [member.pk]
    assert client.post(url, data).status_code == 302
    member = User.objects.get(pk=member.pk)  # fresh permission caches
    assert member.has_perm("catalog.change_category", shop["phones"])
    assert managed_category_ids(member) == {shop["phones"].pk}
    entry = AuditEntry.objects.get(action="category.managers")
    assert entry.after == {"managers": ["new-manager"]}

    data["managers"] = []
    assert client.post(url, data).status_code == 302
    assert managed_category_ids(User.objects.get(pk=member.pk)) is None


def test_only_who_may_edit_staff_sees_the_managers(client, role_user, shop):
    client.force_login(role_user("operations"))
    page = client.get(f"/admin/catalog/category/{shop['games'].pk}/change/")
    assert page.status_code == 200
    assert "managers" not in page.context["adminform"].form.fields


def test_a_manager_lists_only_their_categories_products_and_skus(
    client, manager, role_user
):
    client.force_login(manager)
    assert listed(client, "/admin/catalog/product/") == {"Q币"}
    skus = client.get("/admin/catalog/sku/").context["cl"].result_list
    assert [sku.code for sku in skus] == ["QB-10"]
    # The same role without a grant still sees the whole catalog.
    client.force_login(role_user("support", username="plain-support"))
    assert {"Q币", "移动话费"} <= listed(client, "/admin/catalog/product/")


def test_a_manager_edits_their_product_and_its_skus(client, manager, shop):
    client.force_login(manager)
    url = f"/admin/catalog/product/{shop['game'].pk}/change/"
    page = client.get(url)
    form = page.context["adminform"].form
    assert set(form.fields["category"].queryset) == {shop["games"]}
    data = admin_form_data(page)
    data["name"] = "Q币直充"
    data["skus-0-name"] = "面值 20"
    response = client.post(url, data)
    assert response.status_code == 302, response.context["adminform"].form.errors
    assert Product.objects.get(pk=shop["game"].pk).name == "Q币直充"
    assert Sku.objects.get(pk=shop["game_sku"].pk).name == "面值 20"


def test_a_manager_is_refused_other_products_and_skus(client, manager, shop):
    client.force_login(manager)
    for url in (
        f"/admin/catalog/product/{shop['phone'].pk}/change/",
        f"/admin/catalog/sku/{shop['phone_sku'].pk}/change/",
    ):
        assert client.get(url).status_code == 302  # "does not exist", to the index
        assert client.post(url, {"name": "改名"}).status_code == 302
    assert Product.objects.get(pk=shop["phone"].pk).name == "移动话费"
    assert Sku.objects.get(pk=shop["phone_sku"].pk).name == "面值 10"
    # Nor can their own product be moved into a category they do not manage.
    url = f"/admin/catalog/product/{shop['game'].pk}/change/"
    data = admin_form_data(client.get(url))
    data["category"] = shop["phones"].pk
    response = client.post(url, data)
    assert response.status_code == 200
    assert "category" in response.context["adminform"].form.errors
    assert Product.objects.get(pk=shop["game"].pk).category == shop["games"]


def test_whoever_edits_every_product_is_not_restricted(role_user, shop):
    operations = role_user("operations")
    assign_perm("catalog.change_category", operations, shop["games"])
    assert managed_category_ids(operations) is None
    support = role_user("support")
    set_category_managers(category=shop["games"], managers=[support], actor=None)
    assert managed_category_ids(User.objects.get(pk=support.pk)) == {shop["games"].pk}
