from celery import shared_task

from kameng.health import record_worker_heartbeat


@shared_task(name="kameng.record_worker_heartbeat", ignore_result=True)
def record_worker_heartbeat_task() -> None:
    record_worker_heartbeat()
