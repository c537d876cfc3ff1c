"""The checkout blacklist encrypted at rest (issue 15): a database dump of the
blacklist holds tokens and keyed digests only; the checkout still refuses a
blocked phone number, e-mail or recharge account however it is typed, with one
query; the admin still finds an entry by its whole value and shows it masked to
those who only look; keys rotate; orders/0020 encrypts old rows and goes back."""

import importlib
from decimal import Decimal

import pytest
from cryptography.fernet import Fernet
from django.contrib.admin.models import LogEntry
from django.core.management import call_command
from django.db import IntegrityError, connection, transaction
from django.urls import reverse

from kameng import crypto, fields
from kameng.models import AuditEntry
from orders.checkout import place_order
from orders.exceptions import CheckoutRefused
from orders.models import BlacklistEntry
from orders.risk import add_to_blacklist, blacklist_hit
from tests.catalog.factories import make_sku
from tests.orders.factories import make_buyer

pytestmark = pytest.mark.django_db

Kind = BlacklistEntry.Kind
PHONE = "13800138000"
TYPED_PHONE = "+86 138-0013-8000"
EMAIL = "bad.buyer@example.com"
LIST = reverse("admin:orders_blacklistentry_changelist")
ADD = reverse("admin:orders_blacklistentry_add")
migration = importlib.import_module("orders.migrations.0020_encrypted_blacklist")


def raw_row(entry) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT kind, value, value_index, active FROM orders_blacklistentry "
            "WHERE id = %s",
            [entry.pk],
        )
        names = ("kind", "value", "value_index", "active")
        return dict(zip(names, cursor.fetchone(), strict=True))


@pytest.fixture
def finance(role_user):
    return role_user("finance", "finance-risk")


@pytest.fixture
def sku():
    return make_sku(price=Decimal("10.00"), max_quantity=5)


def block(kind, value, actor=None):
    return add_to_blacklist(kind=kind, value=value, reason="拒付", actor=actor)


@pytest.mark.parametrize(
    ("kind", "typed", "stored", "secrets"),
    [
        (Kind.CONTACT, TYPED_PHONE, PHONE, ("13800138000", "0013", "8000")),
        (Kind.CONTACT, "Bad.Buyer@Example.COM", EMAIL, ("bad.buyer", "example")),
        (Kind.RECHARGE_ACCOUNT, "Player_866540", "player_866540", ("866540",)),
        (Kind.IP, "203.0.113.9", "203.0.113.9", ("203.0.113",)),
        (Kind.ACCOUNT, "Risky-Buyer", "risky-buyer", ("risky",)),
    ],
)
def test_the_row_holds_no_value_and_reads_back_normalised(kind, typed, stored, secrets):
    entry = block(kind, typed)
    row = raw_row(entry)
    dump = " ".join(str(value) for value in row.values()).lower()
    for secret in secrets:
        assert secret.lower() not in dump
    assert row["value"].startswith(fields.TOKEN_PREFIX)
    assert crypto.decrypt(row["value"]) == stored
    assert row["value_index"] == BlacklistEntry.digest(kind, typed)
    assert BlacklistEntry.objects.get(pk=entry.pk).value == stored


@pytest.mark.parametrize(
    ("blocked", "typed_at_checkout"),
    [(TYPED_PHONE, PHONE), (PHONE, TYPED_PHONE), (PHONE, "８６１３８００１３８０００")],
)
def test_a_phone_blocked_one_way_is_refused_typed_another(
    blocked, typed_at_checkout, sku
):
    block(Kind.CONTACT, blocked)
    with pytest.raises(CheckoutRefused, match="此邮箱或手机号"):
        place_order(sku=sku, quantity=1, contact=typed_at_checkout)
    # Another number still buys.
    assert place_order(sku=sku, quantity=1, contact="13800138001", ip="10.0.0.1")


def test_an_email_is_refused_whatever_its_case_also_as_a_buyers_own(sku):
    block(Kind.CONTACT, EMAIL)
    with pytest.raises(CheckoutRefused, match="此邮箱或手机号"):
        place_order(sku=sku, quantity=1, contact="BAD.Buyer@EXAMPLE.com")
    buyer = make_buyer(Decimal("0.00"), email="Bad.Buyer@example.com")
    assert blacklist_hit(buyer=buyer) is not None
    other = make_buyer(Decimal("0.00"), email="ok@example.com")
    assert blacklist_hit(buyer=other) is None


def test_a_recharge_account_is_refused_by_any_of_its_values_and_case():
    block(Kind.RECHARGE_ACCOUNT, "Player_866540")
    account = {"server": "安卓微信区", "id": "PLAYER_866540"}
    hit = blacklist_hit(recharge_account=account)
    assert hit is not None and hit.kind == Kind.RECHARGE_ACCOUNT
    assert blacklist_hit(recharge_account={"id": "player_86654"}) is None


def test_the_check_is_still_one_query(django_assert_num_queries):
    block(Kind.CONTACT, PHONE)
    buyer = make_buyer(Decimal("0.00"), phone="13900001111", email="a@b.cn")
    with django_assert_num_queries(1):
        hit = blacklist_hit(
            buyer=buyer,
            contact=TYPED_PHONE,
            ip="1.2.3.4",
            recharge_account={"a": "1", "b": "2"},
        )
    assert hit is not None


def test_the_same_value_typed_twice_is_one_entry_switched_on_again(finance):
    first = block(Kind.CONTACT, PHONE, finance)
    BlacklistEntry.objects.filter(pk=first.pk).update(active=False)
    assert blacklist_hit(contact=PHONE) is None

    again = add_to_blacklist(
        kind=Kind.CONTACT, value=TYPED_PHONE, reason="再次拒付", actor=finance
    )
    assert again.pk == first.pk and BlacklistEntry.objects.count() == 1
    assert again.active and again.reason == "再次拒付"
    assert blacklist_hit(contact=PHONE) == again


def test_the_database_refuses_a_duplicate_however_typed():
    block(Kind.CONTACT, PHONE)
    with pytest.raises(IntegrityError), transaction.atomic():
        BlacklistEntry.objects.create(kind=Kind.CONTACT, value=TYPED_PHONE, reason="x")
    # The same value of another kind is another entry.
    assert BlacklistEntry.objects.create(
        kind=Kind.RECHARGE_ACCOUNT, value=TYPED_PHONE, reason="x"
    )


def test_the_value_cannot_be_searched_on_its_column():
    from django.core.exceptions import FieldError

    block(Kind.CONTACT, PHONE)
    with pytest.raises(FieldError):
        BlacklistEntry.objects.filter(value=PHONE).exists()


def test_the_admin_finds_a_whole_value_however_typed(client, role_user):
    entry = block(Kind.CONTACT, PHONE)
    block(Kind.RECHARGE_ACCOUNT, "Player_866540")
    client.force_login(role_user("operations"))
    for typed in (TYPED_PHONE, "138 0013 8000", PHONE):
        found = client.get(LIST, {"q": typed}).context["cl"].result_list
        assert list(found) == [entry], typed
    found = client.get(LIST, {"q": "PLAYER_866540"}).context["cl"].result_list
    assert [e.kind for e in found] == [Kind.RECHARGE_ACCOUNT]
    part = client.get(LIST, {"q": "1380013"})
    assert list(part.context["cl"].result_list) == []
    assert "加密" in part.content.decode()  # the box says whole values only


def test_support_sees_values_masked_on_the_list_and_the_entry(client, role_user):
    entry = block(Kind.RECHARGE_ACCOUNT, "Player_866540")
    client.force_login(role_user("support"))
    listed = client.get(LIST).content.decode()
    assert "p***********0" in listed and "player_866540" not in listed
    change = reverse("admin:orders_blacklistentry_change", args=[entry.pk])
    shown = client.get(change)
    assert shown.status_code == 200
    assert "p***********0" in shown.content.decode()
    assert "player_866540" not in shown.content.decode()
    assert not AuditEntry.objects.filter(action="contact.view").exists()


def test_managers_see_a_value_on_its_page_only_and_that_view_is_audited(
    client, role_user
):
    entry = block(Kind.RECHARGE_ACCOUNT, "Player_866540")
    operations = role_user("operations")
    client.force_login(operations)
    listed = client.get(LIST).content.decode()
    assert "p***********0" in listed and "player_866540" not in listed
    change = reverse("admin:orders_blacklistentry_change", args=[entry.pk])
    assert "player_866540" in client.get(change).content.decode()
    (viewed,) = AuditEntry.objects.filter(action="contact.view")
    assert viewed.actor_id == operations.pk and viewed.object_id == str(entry.pk)


def test_the_admin_form_normalises_and_refuses_a_duplicate_in_chinese(
    client, role_user
):
    client.force_login(role_user("operations"))
    data = {"kind": "contact", "value": TYPED_PHONE, "reason": "拒付", "active": "on"}
    assert client.post(ADD, data).status_code == 302
    assert BlacklistEntry.objects.get().value == PHONE

    again = client.post(ADD, {**data, "value": "８６ 13800138000"})
    assert again.status_code == 200
    assert "已在黑名单" in again.content.decode()
    assert BlacklistEntry.objects.count() == 1
    blank = client.post(ADD, {**data, "value": "   "})
    assert blank.status_code == 200 and BlacklistEntry.objects.count() == 1


def test_the_audit_logs_hold_no_value(client, role_user):
    client.force_login(role_user("operations"))
    data = {"kind": "contact", "value": EMAIL, "reason": "拒付", "active": "on"}
    assert client.post(ADD, data).status_code == 302
    entry = BlacklistEntry.objects.get()
    change = reverse("admin:orders_blacklistentry_change", args=[entry.pk])
    edited = {**data, "value": "another.one@example.com"}
    assert client.post(change, edited).status_code == 302

    logged = [
        str(row)
        for row in AuditEntry.objects.values_list(
            "object_repr", "before", "after", "note"
        )
    ]
    logged += [str(row) for row in LogEntry.objects.values_list("object_repr")]
    assert AuditEntry.objects.filter(action="admin.change").exists()
    for text in logged:
        assert "bad.buyer" not in text and "another.one" not in text
    assert str(BlacklistEntry.objects.get()).endswith("a***@example.com")


def test_key_rotation_re_encrypts_and_the_entry_still_matches(settings):
    entry = block(Kind.CONTACT, PHONE)
    before = raw_row(entry)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, *settings.FIELD_ENCRYPTION_KEYS]
    call_command("rotate_contact_key", "--batch-size", "1")
    after = raw_row(entry)
    assert after["value"] != before["value"]
    assert crypto.made_with_current_key(after["value"])
    settings.FIELD_ENCRYPTION_KEYS = [new]
    assert blacklist_hit(contact=TYPED_PHONE) == entry
    assert BlacklistEntry.objects.get(pk=entry.pk).value == PHONE


def test_reindex_after_a_new_hash_key_keeps_the_entry_matching(settings):
    entry = block(Kind.CONTACT, EMAIL)
    old_digest = raw_row(entry)["value_index"]
    settings.CARD_HASH_KEY = "another-key-" + "x" * 32
    assert blacklist_hit(contact=EMAIL) is None  # stale until reindexed
    call_command("rotate_contact_key", "--reindex")
    assert raw_row(entry)["value_index"] != old_digest
    assert blacklist_hit(contact=EMAIL.upper()) == entry


def test_the_migration_step_encrypts_plain_rows_and_reverses():
    """What orders/0020 runs on rows written before it: plain, normalised the
    old way (trimmed, case-folded), in; tokens and the checkout's digests out;
    and back again."""
    entry = block(Kind.CONTACT, PHONE)
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE orders_blacklistentry SET value = %s, value_index = %s "
            "WHERE id = %s",
            ["+86 138-0013-8000", "", entry.pk],
        )
    fields.reseal_table(
        connection, migration.TABLE, migration.COLUMNS, mode="encrypt", batch_size=1
    )
    row = raw_row(entry)
    assert crypto.decrypt(row["value"]) == TYPED_PHONE
    assert row["value_index"] == BlacklistEntry.digest(Kind.CONTACT, PHONE)
    assert blacklist_hit(contact=PHONE) == entry

    fields.reseal_table(connection, migration.TABLE, migration.COLUMNS, mode="decrypt")
    assert raw_row(entry)["value"] == TYPED_PHONE


@pytest.mark.skipif(
    connection.vendor != "postgresql", reason="drops a constraint inside the test"
)
def test_the_migration_folds_entries_the_new_rules_call_the_same():
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE orders_blacklistentry "
            "DROP CONSTRAINT orders_blacklist_kind_bidx_uniq"
        )
    kept = BlacklistEntry.objects.create(
        kind=Kind.CONTACT, value=TYPED_PHONE, reason="a", active=False
    )
    BlacklistEntry.objects.create(kind=Kind.CONTACT, value=PHONE, reason="b")
    other = BlacklistEntry.objects.create(kind=Kind.IP, value="10.0.0.1", reason="c")

    assert migration.merge_duplicates(connection) == 1
    assert set(BlacklistEntry.objects.values_list("pk", flat=True)) == {
        kept.pk,
        other.pk,
    }
    assert BlacklistEntry.objects.get(pk=kept.pk).active  # one was on: still blocks
