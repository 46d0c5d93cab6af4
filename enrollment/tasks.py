"""Celery tasks of special programmes: the expiry sweep and the approvers' reminders.

Each takes an ISO timestamp (tests pin the real dates), calls one domain function and
holds no logic; both are safe to run twice (conditional updates, dedup keys). Their
names (module.function) are what EnrollmentConfig registers as jobs.
"""

from celery import shared_task

from portal.celery import parse_now

from .reminders import approval_reminders_send
from .services import application_expire_overdue


@shared_task
def applications_expire_overdue(now: str | None = None, batch_size: int = 2000) -> int:
    return application_expire_overdue(parse_now(now), batch=batch_size)


@shared_task
def approval_reminders(now: str | None = None) -> int:
    return approval_reminders_send(parse_now(now))
