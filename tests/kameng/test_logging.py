"""Logs carry the request id (and the task id in tasks); production logs are JSON."""

import json
import logging

import pytest

from kameng.logging import ContextFilter, JsonFormatter, request_id_var, task_id_var


def format_record(message, **extra):
    record = logging.LogRecord(
        "kameng.test", logging.INFO, __file__, 1, message, (), None
    )
    for key, value in extra.items():
        setattr(record, key, value)
    ContextFilter().filter(record)
    return json.loads(JsonFormatter().format(record))


def test_json_lines_carry_request_and_task_ids_and_extras():
    request_token = request_id_var.set("req-12345678")
    task_token = task_id_var.set("task-abc")
    try:
        event = format_record("订单已支付", order_no="K20261125001")
    finally:
        request_id_var.reset(request_token)
        task_id_var.reset(task_token)
    assert event["message"] == "订单已支付"
    assert event["request_id"] == "req-12345678"
    assert event["task_id"] == "task-abc"
    assert event["order_no"] == "K20261125001"
    assert event["level"] == "INFO"


@pytest.mark.django_db
def test_each_response_names_its_request_id(client):
    response = client.get("/healthz")
    assert len(response["X-Request-ID"]) == 32
    kept = client.get("/healthz", HTTP_X_REQUEST_ID="lb-req-0001")
    assert kept["X-Request-ID"] == "lb-req-0001"
    injected = client.get("/healthz", HTTP_X_REQUEST_ID="evil\nFAKE LOG LINE")
    assert injected["X-Request-ID"] != "evil\nFAKE LOG LINE"


@pytest.mark.django_db
def test_log_lines_inside_a_request_get_its_id(client, caplog, monkeypatch):
    seen = []

    def spy(request):
        logging.getLogger("kameng.test").info("inside")
        seen.append(request_id_var.get())
        from kameng.views import healthz

        return healthz(request)

    monkeypatch.setattr("kameng.urls.healthz", spy)
    from django.urls import clear_url_caches

    clear_url_caches()
    response = client.get("/healthz", HTTP_X_REQUEST_ID="trace-000042")
    assert response["X-Request-ID"] == "trace-000042"
    assert request_id_var.get() == "-"  # reset after the request


def test_task_ids_are_bound_while_a_task_runs():
    from kameng.celery import app

    seen = []

    @app.task(name="tests.capture_task_id")
    def capture():
        seen.append(task_id_var.get())

    capture.apply(task_id="t-777")
    assert seen == ["t-777"]
    assert task_id_var.get() == "-"
