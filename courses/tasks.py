"""Celery tasks of the course supermarket: waiting lists released after selection, and the
reminders before selection opens (rosters) and closes (short plans).

Each takes an ISO timestamp, calls one domain function and holds no logic; each is safe to
run twice. Their names (module.function) are what CoursesConfig registers as jobs.
"""

from celery import shared_task

from portal.celery import parse_now

from .reminders import agreement_reminders_send, roster_reminders_send, selection_reminders_send
from .services import waitlist_release_closed


@shared_task
def waitlists_release_closed(now: str | None = None) -> int:
    return waitlist_release_closed(parse_now(now))


@shared_task
def selection_reminders(now: str | None = None) -> int:
    return selection_reminders_send(parse_now(now))


@shared_task
def roster_reminders(now: str | None = None) -> int:
    return roster_reminders_send(parse_now(now))


@shared_task
def agreement_reminders(now: str | None = None) -> int:
    return agreement_reminders_send(parse_now(now))
