"""Celery tasks: catalog pricing."""
