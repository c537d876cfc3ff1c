from celery import shared_task
from celery.signals import worker_ready

from kameng.health import record_worker_heartbeat
from kameng.sealing import record_verification, seal_pending, verify


@shared_task(name="kameng.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat_task() -> None:
    record_worker_heartbeat()


@worker_ready.connect
def _heartbeat_on_start(**kwargs):
    """A worker that just started is alive: /healthz and the back-office banner
    need not wait for beat's first heartbeat."""
    record_worker_heartbeat()


@shared_task(name="kameng.seal_audit", ignore_result=True)
def seal_audit_task() -> None:
    """Seal the rows the append-only tables gained since the last run."""
    seal_pending()


@shared_task(name="kameng.verify_audit", ignore_result=True)
def verify_audit_task() -> None:
    """Recompute the seal chain; on any problem, alert the super admin."""
    record_verification(verify())
