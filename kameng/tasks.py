from celery import shared_task
from celery.signals import worker_ready

from kameng.health import record_worker_heartbeat
from kameng.sealing import record_verification, seal_until_caught_up, verify


@shared_task(name="kameng.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat_task() -> None:
    record_worker_heartbeat()


@worker_ready.connect
def _heartbeat_on_start(**kwargs):
    """A worker that just started is alive: /healthz and the back-office banner
    need not wait for beat's first heartbeat."""
    record_worker_heartbeat()


# The sealer runs every minute: a run stops starting new batches after this long.
SEAL_SECONDS_PER_RUN = 45


@shared_task(name="kameng.seal_audit", ignore_result=True)
def seal_audit_task() -> None:
    """Seal the rows the append-only tables gained since the last run (within
    the minute until the next one)."""
    seal_until_caught_up(max_seconds=SEAL_SECONDS_PER_RUN)


@shared_task(name="kameng.verify_audit", ignore_result=True)
def verify_audit_task() -> None:
    """Recompute the seal chain; on any problem, alert the super admin."""
    record_verification(verify())
