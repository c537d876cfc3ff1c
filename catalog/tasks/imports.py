"""Celery tasks: catalog imports."""
