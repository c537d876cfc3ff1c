"""Stock alerts: raised, de-duplicated, resolved, mailed; SKUs paused and resumed."""

import threading

import pytest
from django.contrib.auth.models import Group
from django.core.mail.backends import locmem
from django.db import connection

from catalog.models import Sku, StockAlert, Supplier
from catalog.services.inventory import check_stock_alerts, notify_new_alerts
from tests.catalog.factories import make_sku
from tests.catalog.test_inventory_health import calls, make_offer, record_calls
from users.models import User

OPEN = StockAlert.Status.OPEN


def open_kinds(sku):
    return set(sku.alerts.filter(status=OPEN).values_list("kind", flat=True))


def card_sku(stock, threshold=10, **fields):
    return make_sku(stock=stock, low_stock_threshold=threshold, **fields)


@pytest.fixture
def ops(db):
    user = User.objects.create_user(
        "ops-mail", email="ops@example.com", password="x-test-password"
    )
    user.groups.add(Group.objects.get(name="运营专员"))
    return user


@pytest.mark.django_db
def test_low_stock_opens_one_alert_and_resolves_when_restocked():
    sku = card_sku(stock=5, threshold=10)
    report = check_stock_alerts()
    assert open_kinds(sku) == {"low"}
    assert len(report.opened) == 1
    check_stock_alerts()  # second run: still one open alert
    assert sku.alerts.count() == 1
    Sku.objects.filter(pk=sku.pk).update(stock=50)
    report = check_stock_alerts(sku_ids=[sku.pk])
    alert = sku.alerts.get()
    assert alert.status == "resolved" and alert.resolved_at is not None
    assert report.resolved == [alert.pk]


@pytest.mark.django_db
def test_sold_out_card_sku_is_paused_and_resumed_when_codes_return():
    sku = card_sku(stock=0)
    report = check_stock_alerts(sku_ids=[sku.pk])
    sku.refresh_from_db()
    assert (sku.is_active, sku.auto_paused) == (False, True)
    assert report.paused == [sku.pk]
    alert = sku.alerts.get(status=OPEN)
    assert (alert.kind, alert.auto_paused) == ("out", True)

    Sku.objects.filter(pk=sku.pk).update(stock=100)
    report = check_stock_alerts(sku_ids=[sku.pk])
    sku.refresh_from_db()
    assert (sku.is_active, sku.auto_paused) == (True, False)
    assert report.resumed == [sku.pk]
    assert open_kinds(sku) == set()


@pytest.mark.django_db
def test_low_turns_into_out_and_back():
    sku = card_sku(stock=3)
    check_stock_alerts()
    Sku.objects.filter(pk=sku.pk).update(stock=0)
    check_stock_alerts()
    assert open_kinds(sku) == {"out"}
    Sku.objects.filter(pk=sku.pk).update(stock=4)
    check_stock_alerts()
    assert open_kinds(sku) == {"low"}
    assert sku.alerts.count() == 3


@pytest.mark.django_db
def test_operator_paused_sku_is_never_resumed_nor_alerted():
    sku = card_sku(stock=0, is_active=False)  # paused by hand
    check_stock_alerts()
    Sku.objects.filter(pk=sku.pk).update(stock=100)
    check_stock_alerts()
    sku.refresh_from_db()
    assert (sku.is_active, sku.auto_paused) == (False, False)
    assert not sku.alerts.exists()


@pytest.mark.django_db
def test_pausing_by_hand_resolves_the_open_alerts():
    sku = card_sku(stock=2)
    check_stock_alerts()
    Sku.objects.filter(pk=sku.pk).update(is_active=False)  # operator's choice
    check_stock_alerts(sku_ids=[sku.pk])
    assert open_kinds(sku) == set()
    assert sku.alerts.get().resolved_at is not None


@pytest.mark.django_db
def test_unlimited_and_well_stocked_skus_raise_nothing():
    make_sku(delivery_type=Sku.DeliveryType.MANUAL, stock_mode="unlimited")
    card_sku(stock=500)
    assert check_stock_alerts().opened == []


@pytest.mark.django_db
def test_topup_sku_with_only_degraded_offers_is_paused_then_resumed(settings):
    settings.SUPPLIER_HEALTH_MIN_CALLS = 5
    offer = make_offer()
    second = make_offer(sku=offer.sku)
    record_calls(offer, calls(1, 9))
    Supplier.objects.filter(pk=second.supplier_id).update(breaker_state="open")
    check_stock_alerts(sku_ids=[offer.sku_id])
    sku = Sku.objects.get(pk=offer.sku_id)
    assert (sku.is_active, sku.auto_paused) == (False, True)
    alert = sku.alerts.get(status=OPEN)
    assert (alert.kind, alert.auto_paused) == ("degraded", True)

    Supplier.objects.filter(pk=second.supplier_id).update(breaker_state="closed")
    check_stock_alerts(sku_ids=[offer.sku_id])
    sku.refresh_from_db()
    assert (sku.is_active, sku.auto_paused) == (True, False)
    assert open_kinds(sku) == set()


@pytest.mark.django_db
def test_topup_sku_with_one_healthy_offer_is_fine(settings):
    settings.SUPPLIER_HEALTH_MIN_CALLS = 5
    bad = make_offer()
    good = make_offer(sku=bad.sku)
    record_calls(bad, calls(0, 10))
    record_calls(good, calls(10, 0))
    assert check_stock_alerts(sku_ids=[bad.sku_id]).opened == []


@pytest.mark.django_db
def test_topup_sku_without_usable_offer_is_degraded():
    lonely = make_sku(delivery_type=Sku.DeliveryType.TOPUP)
    disabled = make_offer(enabled=False)
    check_stock_alerts()
    assert open_kinds(lonely) == {"degraded"}
    assert open_kinds(disabled.sku) == {"degraded"}


@pytest.mark.django_db
def test_new_alerts_are_mailed_to_operations_once(
    ops, role_user, mailoutbox, django_capture_on_commit_callbacks
):
    support = role_user("support")
    support.email = "support@example.com"
    support.save()
    first, second = card_sku(stock=0), card_sku(stock=2)
    with django_capture_on_commit_callbacks(execute=True):
        check_stock_alerts()
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["ops@example.com"]
    assert first.code in mail.body and second.code in mail.body
    assert StockAlert.objects.filter(notified_at__isnull=True).count() == 0

    with django_capture_on_commit_callbacks(execute=True):
        check_stock_alerts()
        check_stock_alerts(sku_ids=[first.pk])
    assert len(mailoutbox) == 1  # nothing new, nothing mailed

    third = card_sku(stock=1)
    with django_capture_on_commit_callbacks(execute=True):
        check_stock_alerts(sku_ids=[third.pk])
    assert len(mailoutbox) == 2
    assert third.code in mailoutbox[1].body and first.code not in mailoutbox[1].body


@pytest.mark.django_db
def test_a_failed_mail_is_sent_by_a_later_run(
    ops, mailoutbox, django_capture_on_commit_callbacks, monkeypatch
):
    from catalog.services import inventory

    sku = card_sku(stock=0)

    def broken(*args, **kwargs):
        raise OSError("smtp down")

    monkeypatch.setattr(inventory, "send_mail", broken)
    with django_capture_on_commit_callbacks(execute=True):
        check_stock_alerts()
    assert sku.alerts.get().notified_at is None
    monkeypatch.undo()
    with django_capture_on_commit_callbacks(execute=True):
        check_stock_alerts()
    assert len(mailoutbox) == 1 and sku.alerts.get().notified_at is not None


@pytest.mark.django_db
def test_the_periodic_task_runs_the_check():
    from catalog.tasks.inventory import check_stock_alerts_task

    sku = card_sku(stock=1)
    result = check_stock_alerts_task.delay().get()
    assert result["opened"] == 1
    assert open_kinds(sku) == {"low"}


@pytest.mark.django_db
def test_the_check_after_a_sale_is_cheap(django_assert_max_num_queries):
    skus = [card_sku(stock=500) for _ in range(20)]
    # + SAVEPOINT/RELEASE of its atomic block; no top-up SKU: no health queries
    with django_assert_max_num_queries(5):
        check_stock_alerts(sku_ids=[s.pk for s in skus])
    topups = [make_offer(sku=make_sku(delivery_type="topup")).sku for _ in range(20)]
    with django_assert_max_num_queries(7):
        check_stock_alerts(sku_ids=[s.pk for s in skus + topups])
    assert check_stock_alerts(sku_ids=[]).checked == 0


@pytest.mark.django_db
def test_open_alerts_show_on_the_dashboard(client, role_user):
    card_sku(stock=0)
    check_stock_alerts()
    client.force_login(role_user("operations"))
    body = client.get("/admin/").content.decode()
    assert "未处理的库存预警" in body


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True)
def test_concurrent_checks_open_one_alert():
    sku = card_sku(stock=2)
    barrier = threading.Barrier(4)
    errors = []

    def run():
        try:
            barrier.wait()
            check_stock_alerts(sku_ids=[sku.pk])
        except Exception as exc:  # noqa: BLE001 - reported below
            errors.append(exc)
        finally:
            connection.close()

    threads = [threading.Thread(target=run) for _ in range(4)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    assert errors == []
    assert sku.alerts.filter(status=OPEN, kind="low").count() == 1


@pytest.mark.django_db
def test_alert_admin_lists_open_alerts_first_and_is_read_only(client, role_user):
    resolved = card_sku(stock=3)
    check_stock_alerts()
    Sku.objects.filter(pk=resolved.pk).update(stock=300)
    check_stock_alerts()
    still_open = card_sku(stock=0)
    check_stock_alerts()
    client.force_login(role_user("operations"))
    response = client.get("/admin/catalog/stockalert/")
    assert response.status_code == 200
    body = response.content.decode()
    assert body.index(still_open.code) < body.index(resolved.code)
    filtered = client.get(
        "/admin/catalog/stockalert/?status__exact=resolved&kind__exact=low"
    )
    assert still_open.code not in filtered.content.decode()
    assert resolved.code in filtered.content.decode()
    alert = StockAlert.objects.get(sku=still_open)
    assert client.get("/admin/catalog/stockalert/add/").status_code == 403
    change = client.post(
        f"/admin/catalog/stockalert/{alert.pk}/change/", {"status": "resolved"}
    )
    assert change.status_code == 403
    alert.refresh_from_db()
    assert alert.status == "open"


class MailOutsideTransactionsBackend(locmem.EmailBackend):
    """Delivers to mail.outbox, and refuses a send from inside a transaction."""

    def send_messages(self, messages):
        if connection.in_atomic_block:
            raise AssertionError("mail sent inside a transaction")
        return super().send_messages(messages)


class MailServerDownBackend(locmem.EmailBackend):
    def send_messages(self, messages):
        raise OSError("smtp down")


@pytest.mark.django_db(transaction=True)
def test_alert_mail_is_sent_outside_any_transaction(ops, mailoutbox, settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailOutsideTransactionsBackend"
    sku = card_sku(stock=0)

    check_stock_alerts()  # commits, then mails

    assert len(mailoutbox) == 1
    assert sku.code in mailoutbox[0].body
    assert sku.alerts.get().notified_at is not None


@pytest.mark.django_db(transaction=True)
def test_a_failing_mail_server_leaves_the_alert_recorded(ops, mailoutbox, settings):
    settings.EMAIL_BACKEND = f"{__name__}.MailServerDownBackend"
    sku = card_sku(stock=0)

    report = check_stock_alerts()

    alert = sku.alerts.get()
    assert report.opened == [alert.pk]
    assert (alert.status, alert.kind, alert.notified_at) == (OPEN, "out", None)
    assert Sku.objects.get(pk=sku.pk).auto_paused  # the check's work stands

    settings.EMAIL_BACKEND = f"{__name__}.MailOutsideTransactionsBackend"
    assert notify_new_alerts() == 1  # the next run mails it
    assert len(mailoutbox) == 1
