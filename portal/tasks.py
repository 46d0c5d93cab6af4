"""Celery tasks: each takes ids or an ISO timestamp, calls one domain function, and holds no logic.

Queue them with ``enqueue_on_commit`` so a worker never sees a row that is not
committed yet (or one whose transaction rolled back). Every task here is safe to
run twice: the domain functions claim their work with conditional updates, which
is what late acknowledgement and redelivery after a lost worker rely on.
"""

import datetime as dt

from celery import shared_task
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime


def enqueue_on_commit(task, *args, **kwargs) -> None:
    """Send ``task`` with these arguments once the current transaction commits (at once outside one)."""
    transaction.on_commit(lambda: task.apply_async(args=args, kwargs=kwargs))


def parse_now(now: str | None) -> dt.datetime:
    """The task's clock: ``now`` as an ISO timestamp (tests pin the real dates), else the current time."""
    if not now:
        return timezone.now()
    parsed = parse_datetime(now)
    if parsed is None:
        raise ValueError(f"not an ISO datetime: {now!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed


@shared_task(name="portal.tasks.notifications_email")
def notifications_email(notification_ids: list[int]) -> int:
    from portal.notifications import notifications_email_send

    return notifications_email_send(notification_ids)


@shared_task(name="portal.tasks.notifications_email_pending")
def notifications_email_pending(now: str | None = None) -> int:
    from portal.notifications import notifications_email_pending as send_pending

    return send_pending(parse_now(now))


@shared_task(name="portal.tasks.deadline_sweep")
def deadline_sweep(now: str | None = None, batch_size: int = 2000) -> dict:
    from portal.jobs import deadline_sweep_run

    return deadline_sweep_run(parse_now(now), batch_size=batch_size)


@shared_task(name="portal.tasks.reminders_send")
def reminders_send(now: str | None = None) -> dict:
    from portal.reminders import reminders_send_due

    return reminders_send_due(parse_now(now))


@shared_task(name="portal.tasks.compliance_snapshot_nightly")
def compliance_snapshot_nightly(now: str | None = None) -> int:
    from portal.jobs import compliance_snapshot_run

    return compliance_snapshot_run(parse_now(now))


@shared_task(name="portal.tasks.export_run")
def export_run(job_id: int) -> str:
    from portal.jobs import export_job_run

    return export_job_run(job_id)
