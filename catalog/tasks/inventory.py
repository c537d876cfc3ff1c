"""Celery tasks: catalog inventory."""
