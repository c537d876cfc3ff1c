"""Buyers' phone and e-mail encrypted at rest (issue 15): a database dump holds
tokens and keyed digests only; the shop and the back office still read them in
plain text and still find a buyer by an exact phone or e-mail, never by part of
one; keys rotate; a wrong key shows a marker, never a 500 or a leaked value."""

import pytest
from cryptography.fernet import Fernet
from django.core.exceptions import FieldError
from django.core.management import CommandError, call_command
from django.db import connection
from django.urls import reverse

from kameng import crypto, fields
from kameng.fields import blind_index, contact_match
from tests.orders.factories import make_buyer
from users.models import User

pytestmark = pytest.mark.django_db

PHONE = "13812345678"
EMAIL = "Alice.Wong@QQ.com"
STORED_EMAIL = "Alice.Wong@qq.com"  # create_user lower-cases the domain
BUYERS = reverse("admin:users_buyer_changelist")


def raw_row(user) -> dict:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT phone, email, phone_index, email_index FROM users_user "
            "WHERE id = %s",
            [user.pk],
        )
        return dict(
            zip(
                ("phone", "email", "phone_index", "email_index"),
                cursor.fetchone(),
                strict=True,
            )
        )


@pytest.fixture
def alice():
    return make_buyer(phone=PHONE, email=EMAIL)


def test_the_stored_row_holds_no_contact_and_reads_back_in_full(alice):
    row = raw_row(alice)
    dump = " ".join(row.values())
    for secret in (PHONE, "12345678", EMAIL, EMAIL.lower(), "alice"):
        assert secret.lower() not in dump.lower()
    assert crypto.decrypt(row["phone"]) == PHONE
    # The index is a keyed digest of the normalised value, not the value.
    assert row["phone_index"] == blind_index(PHONE) and len(row["phone_index"]) == 64
    assert row["email_index"] == blind_index(EMAIL.lower())

    fresh = User.objects.get(pk=alice.pk)
    assert (fresh.phone, fresh.email) == (PHONE, STORED_EMAIL)
    assert list(User.objects.filter(pk=alice.pk).values_list("phone", flat=True)) == [
        PHONE
    ]


def test_the_audit_log_never_holds_a_contact(alice):
    from kameng import audit

    kept = audit.snapshot(alice)
    assert kept["phone"] == kept["email"] == audit.HIDDEN_VALUE
    assert PHONE not in str(kept) and EMAIL.lower() not in str(kept).lower()
    # A changed phone is still named, by its keyed digest (already in the
    # table beside it, so the log reveals nothing more).
    alice.phone = "13900001111"
    alice.save()
    old, new = audit.changed_fields(kept, audit.snapshot(alice))
    assert "phone_index" in new and "13900001111" not in str(new)


def test_no_contact_stays_empty_and_is_still_a_plain_test():
    buyer = make_buyer()
    assert raw_row(buyer)["phone"] == "" and raw_row(buyer)["phone_index"] == ""
    assert User.objects.filter(pk=buyer.pk, phone="").exists()
    assert not User.objects.filter(pk=buyer.pk).exclude(email="").exists()


def test_changing_a_phone_moves_its_index(alice):
    alice.phone = "139 0000 1111"
    alice.save()
    assert User.objects.filter(contact_match("phone", "13900001111")).get() == alice
    assert not User.objects.filter(contact_match("phone", PHONE)).exists()


@pytest.mark.parametrize(
    "typed",
    [
        PHONE,
        " 138 1234 5678 ",
        "+86 138-1234-5678",
        "0086 13812345678",
        "１３８１２３４５６７８",
    ],
)
def test_the_same_phone_however_typed_has_the_same_digest(alice, typed):
    assert User.objects.filter(contact_match("phone", typed)).get() == alice


def test_a_value_or_part_of_one_cannot_be_searched_on_the_column(alice):
    with pytest.raises(FieldError, match="encrypted"):
        list(User.objects.filter(phone=PHONE))
    with pytest.raises(FieldError):
        list(User.objects.filter(phone__icontains="1381234"))
    with pytest.raises(FieldError):
        list(User.objects.filter(email__iexact=EMAIL))
    assert not User.objects.filter(contact_match("phone", "1381234")).exists()


def test_saving_a_phone_without_its_index_is_refused(alice):
    alice.phone = "13900001111"
    with pytest.raises(ValueError, match="phone_index"):
        alice.save(update_fields=["phone"])
    alice.save(update_fields=["phone", "phone_index"])
    assert User.objects.filter(contact_match("phone", "13900001111")).get() == alice


def test_the_buyer_list_finds_a_whole_phone_or_email_and_keeps_them_masked(
    client, role_user, alice
):
    make_buyer(phone="13900001111", email="bob@163.com")
    client.force_login(role_user("support", username="clerk"))
    for typed in ("138 1234 5678", "alice.wong@qq.com", alice.username):
        page = client.get(BUYERS, {"q": typed}).content.decode()
        assert alice.username in page, typed
        assert "13900001111" not in page and "bob" not in page
        assert "138****5678" in page and PHONE not in page  # masked as before
    part = client.get(BUYERS, {"q": "1381234"}).content.decode()
    assert alice.username not in part
    # The box says that only whole values match (in Chinese).
    assert "加密" in part and "完整" in part


def test_key_rotation_re_encrypts_and_the_old_key_can_then_go(settings, alice):
    old = list(settings.FIELD_ENCRYPTION_KEYS)
    before = raw_row(alice)
    new = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new, *old]
    assert not crypto.made_with_current_key(before["phone"])

    call_command("rotate_contact_key", "--batch-size", "1")
    after = raw_row(alice)
    assert after["phone"] != before["phone"]
    assert crypto.made_with_current_key(after["phone"])
    assert after["phone_index"] == before["phone_index"]  # the index needs no key

    settings.FIELD_ENCRYPTION_KEYS = [new]
    fresh = User.objects.get(pk=alice.pk)
    assert (fresh.phone, fresh.email) == (PHONE, STORED_EMAIL)
    call_command("rotate_contact_key")  # nothing left: runs again harmlessly
    assert raw_row(alice) == after


def test_a_wrong_key_shows_a_marker_never_a_500_or_the_contact(
    settings, client, role_user, alice, caplog
):
    stored = raw_row(alice)
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]

    fresh = User.objects.get(pk=alice.pk)
    assert fresh.phone == "[无法解密]" or fresh.phone == "[cannot decrypt]"
    assert "FIELD_ENCRYPTION_KEY" in caplog.text and stored["phone"] not in caplog.text

    client.force_login(role_user("superadmin", username="boss"))
    page = client.get(BUYERS)
    assert page.status_code == 200
    assert PHONE not in page.content.decode() and "gAAAA" not in page.content.decode()

    # Saving the row writes the stored token back: nothing is lost.
    fresh.nickname = "A"
    fresh.save()
    assert raw_row(alice)["phone"] == stored["phone"]
    assert raw_row(alice)["phone_index"] == stored["phone_index"]

    with pytest.raises(CommandError, match="FIELD_ENCRYPTION_KEY"):
        call_command("rotate_contact_key")


def test_the_migration_step_encrypts_plain_rows_and_reverses(alice):
    """What users/0012 runs on rows written before it: plain text in, tokens
    and digests out; and back again."""
    with connection.cursor() as cursor:
        cursor.execute(
            "UPDATE users_user SET phone = %s, email = %s, phone_index = '', "
            "email_index = '' WHERE id = %s",
            [PHONE, EMAIL, alice.pk],
        )
    columns = [
        fields.Column("phone", "phone_index"),
        fields.Column("email", "email_index"),
    ]
    fields.reseal_table(connection, "users_user", columns, mode="encrypt", batch_size=1)
    row = raw_row(alice)
    assert PHONE not in row["phone"] and crypto.decrypt(row["phone"]) == PHONE
    assert row["phone_index"] == blind_index(PHONE)
    again = fields.reseal_table(connection, "users_user", columns, mode="encrypt")
    assert again["changed"] == 0 and raw_row(alice) == row  # reruns change nothing

    fields.reseal_table(connection, "users_user", columns, mode="decrypt")
    assert raw_row(alice)["phone"] == PHONE and raw_row(alice)["email"] == EMAIL


# update() and bulk_update() skip the fields' pre_save: writing a contact without
# its index is refused there too (kameng.fields.IndexedQuerySet).
def test_every_model_with_a_contact_index_guards_its_update():
    from django.apps import apps

    guarded = [
        model
        for model in apps.get_models()
        if model._meta.concrete_model in fields._INDEXES
    ]
    assert {m._meta.label for m in guarded} >= {
        "users.User",
        "users.Buyer",
        "users.Staff",
        "orders.Order",
        "orders.BlacklistEntry",
    }
    for model in guarded:
        assert isinstance(model._default_manager.all(), fields.IndexedQuerySet), model


def test_an_update_of_a_phone_without_its_index_is_refused(alice):
    from users.models import Buyer

    for manager in (User.objects, Buyer.objects):
        with pytest.raises(ValueError, match="phone_index"):
            manager.filter(pk=alice.pk).update(phone="13900001111")
    assert User.objects.get(pk=alice.pk).phone == PHONE  # nothing was written

    new = "13900001111"
    User.objects.filter(pk=alice.pk).update(phone=new, phone_index=blind_index(new))
    assert User.objects.filter(contact_match("phone", "139 0000 1111")).get() == alice
    # Fields beside the contacts update as ever.
    assert User.objects.filter(pk=alice.pk).update(nickname="A") == 1


def test_a_bulk_update_of_an_email_without_its_index_is_refused(alice):
    alice.email = "new.alice@qq.com"
    with pytest.raises(ValueError, match="email_index"):
        User.objects.bulk_update([alice], ["email"])
    alice.email_index = blind_index(alice.email)
    User.objects.bulk_update([alice], ["email", "email_index"])
    found = User.objects.filter(contact_match("email", "NEW.alice@qq.com"))
    assert found.get() == alice


def test_an_update_of_an_orders_contact_account_or_blacklist_value_is_refused():
    from orders.models import BlacklistEntry, Order

    with pytest.raises(ValueError, match="contact_index"):
        Order.objects.update(contact="a@example.com")
    with pytest.raises(ValueError, match="recharge_account_index"):
        Order.objects.update(recharge_account={"id": "1"})
    with pytest.raises(ValueError, match="value_index"):
        BlacklistEntry.objects.update(value="13800138000")
