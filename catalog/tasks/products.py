"""Celery tasks: catalog products."""
