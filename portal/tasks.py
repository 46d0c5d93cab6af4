"""The portal's own Celery tasks: e-mail copies of notifications, long exports, and the sweeps that
delete personal data past its time (export files, login records).

Each takes ids or an ISO timestamp, calls one domain function and holds no logic.
Every one is safe to run twice: the domain functions claim their work with
conditional updates, which late acknowledgement and redelivery rely on.
"""

from celery import shared_task

from portal import account, export_runner
from portal.celery import parse_now
from portal.export_runner import EXPORT_TASK, export_job_run
from portal.notifications import EMAIL_PENDING_TASK, EMAIL_TASK, notifications_email_pending, notifications_email_send


@shared_task(name=EMAIL_TASK)
def notifications_email(notification_ids: list[int]) -> int:
    return notifications_email_send(notification_ids)


@shared_task(name=EMAIL_PENDING_TASK)
def notifications_email_pending_task(now: str | None = None) -> int:
    return notifications_email_pending(parse_now(now))


@shared_task(name=EXPORT_TASK)
def export_run(job_id: int) -> str:
    return export_job_run(job_id)


@shared_task
def exports_expire(now: str | None = None) -> int:
    return export_runner.exports_expire(parse_now(now))


@shared_task
def login_records_purge(now: str | None = None) -> int:
    return account.login_records_purge(parse_now(now))
