"""Celery tasks: catalog codes."""
