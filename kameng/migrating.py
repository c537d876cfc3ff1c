"""Run code once after `migrate` (or a test flush), when every permission exists."""

from django.apps import apps


def is_last_post_migrate(sender) -> bool:
    """post_migrate fires once per app that has models; True for the last one."""
    with_models = [c for c in apps.get_app_configs() if c.models_module]
    return sender.label == with_models[-1].label
