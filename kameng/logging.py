"""Structured logging: request id and task id on every record.

Production writes one JSON object per line (`LOG_FORMAT=json`); development writes
readable lines. The ids come from context variables that the request middleware and
the Celery task signals set, so any logger anywhere gets them for free.
"""

import json
import logging
from contextvars import ContextVar
from datetime import UTC, datetime

request_id_var: ContextVar[str] = ContextVar("request_id", default="-")
task_id_var: ContextVar[str] = ContextVar("task_id", default="-")

# Attributes every LogRecord has; anything else was passed with `extra=` and is kept.
_STANDARD_ATTRS = set(logging.LogRecord("", 0, "", 0, "", (), None).__dict__) | {
    "message",
    "asctime",
    "request_id",
    "task_id",
}


class ContextFilter(logging.Filter):
    def filter(self, record: logging.LogRecord) -> bool:
        record.request_id = request_id_var.get()
        record.task_id = task_id_var.get()
        return True


class JsonFormatter(logging.Formatter):
    def format(self, record: logging.LogRecord) -> str:
        event = {
            "time": datetime.fromtimestamp(record.created, UTC).isoformat(),
            "level": record.levelname,
            "logger": record.name,
            "message": record.getMessage(),
            "request_id": getattr(record, "request_id", request_id_var.get()),
            "task_id": getattr(record, "task_id", task_id_var.get()),
        }
        for key, value in record.__dict__.items():
            if key not in _STANDARD_ATTRS and not key.startswith("_"):
                event[key] = value
        if record.exc_info:
            event["exc_info"] = self.formatException(record.exc_info)
        return json.dumps(event, ensure_ascii=False, default=str)
