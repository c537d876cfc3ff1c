#!/usr/bin/env python
"""Django's command-line utility for administrative tasks."""

import os
import sys


def main():
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")
    from django.core.management import execute_from_command_line

    from kameng.config import ConfigError, exit_on_config_error

    try:
        execute_from_command_line(sys.argv)
    except ConfigError as exc:
        exit_on_config_error(exc)


if __name__ == "__main__":
    main()
