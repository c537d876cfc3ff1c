"""Card codes at rest and on sale: encryption, reveal with audit, SKIP LOCKED sales,
stock reconciliation and key rotation."""

import threading

import pytest
from cryptography.fernet import Fernet, InvalidToken
from django.core.exceptions import PermissionDenied
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.models import F

from catalog.exceptions import NotEnoughCodes
from catalog.models import CardBatch, CardCode, CodeReveal, Sku, SkuSalesDay
from catalog.services.codes import reveal_code, rotate_keys, stock_drift, take_codes
from kameng import crypto
from tests.catalog.factories import make_sku


def add_codes(sku: Sku, texts: list[str]) -> list[CardCode]:
    """Codes as the import service stores them (encrypted, hashed, counted)."""
    batch = CardBatch.objects.create(
        sku=sku, file_name="t.txt", file_format="txt", status=CardBatch.Status.DONE
    )
    codes = [
        CardCode.objects.create(
            sku=sku,
            batch=batch,
            secret=crypto.encrypt(text),
            code_hash=crypto.code_hash(text),
            key_version=crypto.current_key_version(),
            hint=crypto.mask(text),
        )
        for text in texts
    ]
    Sku.objects.filter(pk=sku.pk).update(stock=F("stock") + len(texts))
    return codes


def test_codes_are_encrypted_and_tamper_evident():
    token = crypto.encrypt("QB10-AAAA-BBBB 123456")
    assert "QB10" not in token
    assert crypto.decrypt(token) == "QB10-AAAA-BBBB 123456"
    tampered = token[:-4] + ("AAAA" if token[-4:] != "AAAA" else "BBBB")
    with pytest.raises(InvalidToken):
        crypto.decrypt(tampered)


def test_the_same_code_typed_differently_has_one_hash():
    assert crypto.code_hash("ＡＢＣ１２３  456") == crypto.code_hash(" ABC123 456 ")
    assert crypto.code_hash("ABC123") != crypto.code_hash("ABC124")


def test_hash_depends_on_the_key(settings):
    before = crypto.code_hash("ABC123")
    settings.CARD_HASH_KEY = "another-key-" + "x" * 32
    assert crypto.code_hash("ABC123") != before


def test_staff_see_codes_masked():
    assert crypto.mask("QB10AAAABBBBCCCC") == "QB1******CCC"
    assert crypto.mask("ABCDEFG") == "AB******FG"
    assert crypto.mask("ABC") == "***"


@pytest.mark.django_db
def test_reveal_needs_the_permission_and_writes_an_audit_row(client, role_user):
    sku = make_sku()
    [code] = add_codes(sku, ["SECRET-CODE-0001 pw999"])
    url = f"/admin/catalog/codes/{code.pk}/reveal/"

    support = role_user("support")
    client.force_login(support)
    assert client.post(url, {"reason": "buyer says invalid"}).status_code == 403
    with pytest.raises(PermissionDenied):
        reveal_code(code=code, actor=support)
    assert not CodeReveal.objects.exists()

    ops = role_user("operations")
    client.force_login(ops)
    page = client.get(url)
    assert page.status_code == 200
    assert "SECRET-CODE-0001" not in page.content.decode()
    assert client.post(url, {"reason": ""}).status_code == 200  # reason required
    assert not CodeReveal.objects.exists()

    page = client.post(url, {"reason": "工单 123：买家说卡密无效"})
    assert "SECRET-CODE-0001 pw999" in page.content.decode()
    assert page["Cache-Control"].startswith("max-age=0")
    reveal = CodeReveal.objects.get()
    assert (reveal.actor, reveal.code, reveal.reason) == (
        ops,
        code,
        "工单 123：买家说卡密无效",
    )


@pytest.mark.django_db
def test_a_sale_takes_the_oldest_codes_and_moves_the_stock():
    sku = make_sku()
    add_codes(sku, ["CODE-A", "CODE-B", "CODE-C"])
    sold = take_codes(sku=sku, quantity=2, order_ref="K20261125001")
    assert [c.text for c in sold] == ["CODE-A", "CODE-B"]
    sku.refresh_from_db()
    assert sku.stock == 1
    assert CardCode.objects.filter(order_ref="K20261125001", status="sold").count() == 2
    assert SkuSalesDay.objects.get(sku=sku).quantity == 2
    assert stock_drift() == []


@pytest.mark.django_db
def test_not_enough_codes_takes_nothing():
    sku = make_sku()
    add_codes(sku, ["CODE-A"])
    with pytest.raises(NotEnoughCodes) as error:
        take_codes(sku=sku, quantity=2, order_ref="K1")
    assert error.value.extra == {"sku": sku.code, "wanted": 2, "available": 1}
    assert CardCode.objects.filter(status="available").count() == 1
    sku.refresh_from_db()
    assert sku.stock == 1


@pytest.mark.django_db
def test_a_reusable_code_is_sold_to_every_buyer():
    sku = make_sku(reusable_code=True)
    add_codes(sku, ["SHARED-ACCOUNT pw"])
    for order in ("K1", "K2", "K3"):
        assert [c.text for c in take_codes(sku=sku, quantity=1, order_ref=order)] == [
            "SHARED-ACCOUNT pw"
        ]
    assert CardCode.objects.get().status == "available"
    assert SkuSalesDay.objects.get(sku=sku).quantity == 3


@pytest.mark.django_db
def test_stock_drift_names_the_sku_whose_counter_is_wrong():
    sku = make_sku(code="DRIFT-1")
    add_codes(sku, ["A1", "A2"])
    Sku.objects.filter(pk=sku.pk).update(stock=5)
    assert stock_drift() == [{"sku": "DRIFT-1", "stock": 5, "available": 2}]


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_buyers_never_get_the_same_code():
    """24 buyers race for 10 codes: 10 sales, 10 distinct codes, stock exactly 0."""
    sku = make_sku()
    add_codes(sku, [f"RACE-{n:03d}" for n in range(10)])
    sold, refused, errors = [], [], []
    start = threading.Barrier(24)

    def buy(n):
        try:
            start.wait()
            sold.extend(
                c.text for c in take_codes(sku=sku, quantity=1, order_ref=f"K{n}")
            )
        except NotEnoughCodes:
            refused.append(n)
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(repr(exc))
        finally:
            connection.close()

    threads = [threading.Thread(target=buy, args=(n,)) for n in range(24)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()

    assert errors == []
    assert len(sold) == len(set(sold)) == 10
    assert len(refused) == 14
    sku.refresh_from_db()
    assert sku.stock == 0
    assert stock_drift() == []


@pytest.mark.django_db
def test_rotation_re_encrypts_in_resumable_batches(settings):
    old_key = settings.FIELD_ENCRYPTION_KEYS[0]
    sku = make_sku()
    add_codes(sku, [f"ROT-{n}" for n in range(7)])
    new_key = Fernet.generate_key().decode()
    settings.FIELD_ENCRYPTION_KEYS = [new_key, old_key]

    first = rotate_keys(batch_size=2, limit=4)
    assert first == {"rotated": 4, "remaining": 3}
    call_command("rotate_card_key", "--batch-size", "2", stdout=open("/dev/null", "w"))
    assert not CardCode.objects.exclude(
        key_version=crypto.current_key_version()
    ).exists()

    settings.FIELD_ENCRYPTION_KEYS = [new_key]  # the old key can go now
    texts = sorted(crypto.decrypt(c.secret) for c in CardCode.objects.all())
    assert texts == sorted(f"ROT-{n}" for n in range(7))


@pytest.mark.django_db
def test_rotation_without_the_old_key_stops_with_a_clear_message(settings):
    sku = make_sku()
    add_codes(sku, ["LOST-KEY"])
    settings.FIELD_ENCRYPTION_KEYS = [Fernet.generate_key().decode()]
    with pytest.raises(CommandError, match="no longer in FIELD_ENCRYPTION_KEY"):
        call_command("rotate_card_key")
    assert CardCode.objects.get().key_version != crypto.current_key_version()
