"""WSGI entry point: `python -m kameng.serve` serves it (granian)."""

import os

from django.core.wsgi import get_wsgi_application

from kameng.config import ConfigError, exit_on_config_error

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")

try:
    application = get_wsgi_application()
except ConfigError as exc:
    exit_on_config_error(exc)
