"""The seal chain: verify_audit passes on an untouched trail and names the table
and row of every edited, deleted, reordered or unsealed record."""

import threading
from decimal import Decimal

import pytest
from django.contrib.admin.models import ADDITION, LogEntry
from django.contrib.contenttypes.models import ContentType
from django.core import mail
from django.core.management import call_command
from django.core.management.base import CommandError
from django.db import DatabaseError, connection, transaction
from django.urls import reverse
from django.utils import translation

from kameng import audit
from kameng.models import AuditEntry, AuditSeal, AuditVerification
from kameng.sealing import (
    SEALED_MODELS,
    describe,
    record_verification,
    seal_pending,
    sealed_model,
    unsealed,
    verify,
)
from orders.models import OrderEvent
from tests.orders.aftersales_helpers import delivered_card_order
from users.models import LedgerEntry, User

pytestmark = pytest.mark.django_db


def messages(result) -> list[str]:
    with translation.override("zh-hans"):
        return [describe(problem) for problem in result.problems]


def log_entry(user, text="x") -> LogEntry:
    return LogEntry.objects.create(
        user=user,
        content_type=ContentType.objects.get_for_model(LogEntry),
        object_id="1",
        object_repr=text,
        action_flag=ADDITION,
    )


def unsealed_rows() -> dict[str, int]:
    counts = {
        label: unsealed(sealed_model(label), label).count() for label in SEALED_MODELS
    }
    return {label: count for label, count in counts.items() if count}


@pytest.fixture
def sealed_trail(role_user):
    """A sale (ledger rows, order events), a staff change, an admin log row:
    all sealed."""
    staff = role_user("finance")
    order = delivered_card_order()
    audit.record(
        actor=staff,
        action="wallet.adjust",
        obj=order.buyer,
        before={"balance": Decimal("0.00")},
        after={"balance": Decimal("5.00")},
    )
    log_entry(staff)
    seal_pending()
    return order


def test_an_untouched_trail_verifies(sealed_trail):
    assert unsealed_rows() == {}
    result = verify()
    assert result.ok, messages(result)
    assert result.seals_checked == AuditSeal.objects.count() > 0
    call_command("verify_audit")  # exits 0


def test_an_edited_ledger_row_is_named_by_table_and_row(sealed_trail):
    entry = (
        LedgerEntry.objects.filter(wallet__user=sealed_trail.buyer)
        .order_by("id")
        .first()
    )
    LedgerEntry.objects.filter(pk=entry.pk).update(amount=entry.amount + 100)

    result = verify()
    assert not result.ok
    assert messages(result) == [
        f"表 users_ledgerentry 第 {entry.pk} 行：封存后被修改（内容与封存不符）。"
    ]
    with pytest.raises(CommandError):
        call_command("verify_audit")


def test_a_deleted_order_event_is_named_by_table_and_row(sealed_trail):
    event = OrderEvent.objects.filter(order=sealed_trail).order_by("id").last()
    OrderEvent.objects.filter(pk=event.pk).delete()

    result = verify()
    assert messages(result) == [
        f"表 orders_orderevent 第 {event.pk} 行：封存后被删除。"
    ]


def test_reordered_seals_break_the_chain_where_they_were_swapped(sealed_trail):
    first, second = AuditSeal.objects.order_by("position")[2:4]
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":  # as the table's owner could
            cursor.execute("ALTER TABLE kameng_auditseal DISABLE TRIGGER ALL")
        AuditSeal.objects.filter(pk=first.pk).update(position=-1)
        AuditSeal.objects.filter(pk=second.pk).update(position=first.position)
        AuditSeal.objects.filter(pk=first.pk).update(position=second.position)
        if connection.vendor == "postgresql":
            cursor.execute("ALTER TABLE kameng_auditseal ENABLE TRIGGER ALL")

    result = verify()
    table = sealed_model(second.table)._meta.db_table
    assert messages(result)[0] == (
        f"封存链在第 {first.position} 个封存处断开（表 {table} 第 {second.row_id} "
        "行）：封存被调换、删除或修改。"
    )
    assert {problem["kind"] for problem in result.problems} == {"chain"}


def test_a_row_slipped_in_below_the_sealer_is_reported_unsealed(role_user, settings):
    settings.AUDIT_SEAL_GRACE_SECONDS = 0  # the sealer looks back no further
    staff = role_user("operations")
    kept, removed, last = log_entry(staff), log_entry(staff), log_entry(staff)
    LogEntry.objects.filter(pk=removed.pk).delete()  # a gap, as a rollback leaves
    seal_pending()
    seal_pending()  # the floor moves up to the highest sealed id
    forged = log_entry(staff, "forged")
    LogEntry.objects.filter(pk=forged.pk).update(id=removed.pk)  # behind its back

    seal_pending()
    assert not AuditSeal.objects.filter(table="admin.logentry", row_id=removed.pk)
    result = verify()
    assert messages(result) == [
        f"表 django_admin_log 第 {removed.pk} 行：封存程序经过后超过 0 分钟仍未封存"
        "（绕过它插入，或提交得太晚）。"
    ]
    assert kept.pk < removed.pk < last.pk


def test_a_failed_verification_mails_the_super_admin_and_shows_a_banner(
    sealed_trail, client, role_user
):
    boss = role_user("superadmin", "boss")
    boss.email = "boss@example.com"
    boss.save()
    entry = LedgerEntry.objects.filter(wallet__user=sealed_trail.buyer).first()
    LedgerEntry.objects.filter(pk=entry.pk).update(note="改过")

    record_verification(verify())

    assert mail.outbox[0].to == ["boss@example.com"]
    assert f"第 {entry.pk} 行" in mail.outbox[0].body
    assert AuditVerification.objects.get().problems[0]["row"] == entry.pk
    client.force_login(boss)
    with translation.override("zh-hans"):
        page = client.get(reverse("admin:index")).content.decode()
    assert 'data-testid="audit-banner"' in page
    assert f"表 users_ledgerentry 第 {entry.pk} 行" in page


@pytest.mark.postgres
def test_postgres_refuses_to_update_or_delete_an_audit_row():
    entry = audit.record(actor=None, action="order.cancel")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).update(note="changed")
    with pytest.raises(DatabaseError), transaction.atomic():
        AuditEntry.objects.filter(pk=entry.pk).delete()


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_a_lower_id_committed_after_a_higher_one_was_sealed_is_sealed_next_time():
    """Thread A takes an id, thread B takes a higher one and commits, the sealer
    runs (A's row is invisible to it), then A commits: the next run seals it."""
    row_taken = threading.Event()
    may_commit = threading.Event()
    ids = {}

    def slow_writer():
        try:
            with transaction.atomic():
                ids["slow"] = audit.record(actor=None, action="order.cancel").pk
                row_taken.set()
                assert may_commit.wait(timeout=30)
        finally:
            connection.close()

    writer = threading.Thread(target=slow_writer)
    writer.start()
    assert row_taken.wait(timeout=30)
    ids["fast"] = audit.record(actor=None, action="order.cancel").pk
    assert ids["fast"] > ids["slow"]
    seal_pending()
    sealed = set(
        AuditSeal.objects.filter(table="kameng.auditentry").values_list(
            "row_id", flat=True
        )
    )
    assert ids["fast"] in sealed and ids["slow"] not in sealed
    may_commit.set()
    writer.join()

    seal_pending()
    assert unsealed_rows() == {}
    assert verify().ok


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_writers_racing_the_sealer_leave_nothing_unsealed_after_the_next_seal():
    """Four threads write audit rows and admin log rows in small transactions
    while the sealer runs again and again; one more run seals everything."""
    staff = User.objects.create_user("racer", password="x-test-password")
    writers_done = threading.Event()
    errors = []

    def writer(n: int):
        try:
            for i in range(15):
                with transaction.atomic():
                    audit.record(actor=staff, action="wallet.adjust", note=f"{n}-{i}")
                    log_entry(staff, f"{n}-{i}")
        except Exception as exc:  # reported below, the thread must not die quietly
            errors.append(exc)
        finally:
            connection.close()

    def sealer():
        try:
            while not writers_done.is_set():
                seal_pending()
        except Exception as exc:
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=writer, args=(n,)) for n in range(4)]
    sealing = threading.Thread(target=sealer)
    sealing.start()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    writers_done.set()
    sealing.join()
    assert errors == []

    seal_pending()
    assert unsealed_rows() == {}
    result = verify()
    assert result.ok, messages(result)
    assert AuditSeal.objects.filter(table="kameng.auditentry").count() == 60
    assert AuditSeal.objects.filter(table="admin.logentry").count() == 60
