"""The Celery app: Redis broker when REDIS_URL is set, kombu's filesystem transport
(var/broker/) otherwise; see kameng/settings.py. `manage.py runstack` starts a worker
and beat for it."""

import os

from celery import Celery
from celery.signals import task_postrun, task_prerun

from kameng.logging import task_id_var

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "kameng.settings")

app = Celery("kameng")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@task_prerun.connect
def _bind_task_id(task_id=None, **kwargs):
    task_id_var.set(task_id or "-")


@task_postrun.connect
def _unbind_task_id(**kwargs):
    task_id_var.set("-")
