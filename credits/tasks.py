"""Celery tasks of credits: the nightly compliance snapshot and the hours reminders.

Each takes an ISO timestamp, calls one domain function and holds no logic; each is safe
to run twice. Their names (module.function) are what CreditsConfig registers as jobs.
"""

from celery import shared_task
from django.utils import timezone

from portal.celery import parse_now

from .reminders import declaration_reminders_send, hours_reminders_send
from .services import compliance_snapshot_take


@shared_task
def compliance_snapshot_nightly(now: str | None = None) -> int:
    today = timezone.localdate(parse_now(now))
    return compliance_snapshot_take(today.year, today)


@shared_task
def hours_reminders(now: str | None = None) -> int:
    return hours_reminders_send(parse_now(now))


@shared_task
def declaration_reminders(now: str | None = None) -> int:
    return declaration_reminders_send(parse_now(now))
