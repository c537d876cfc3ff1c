"""Celery tasks: catalog suppliers."""
