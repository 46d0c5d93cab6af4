"""The Celery app (broker from REDIS_URL, or the filesystem broker of the demo; see settings),
and the two helpers every app's ``tasks.py`` uses.

Domain code queues a task by its name (``enqueue_on_commit``), so it never imports the
task module that imports it: each app's ``tasks.py`` sits above its domain modules.
"""

import datetime as dt
import os
from importlib import import_module

from celery import Celery
from django.db import transaction
from django.utils import timezone
from django.utils.dateparse import parse_datetime

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "portal.settings")

app = Celery("portal")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


def task_named(name: str):
    """The task called ``name`` ("<app>.tasks.<function>"), importing its module on first use.

    Outside a worker nothing imports the task modules by itself (autodiscovery runs when a worker
    starts). A KeyError names a task that does not exist.
    """
    if name not in app.tasks:
        import_module(name.rpartition(".")[0])
    return app.tasks[name]


def enqueue(task_name: str, *args, **kwargs) -> None:
    """Send the task named ``task_name`` now."""
    task_named(task_name).apply_async(args=args, kwargs=kwargs)


def enqueue_on_commit(task_name: str, *args, **kwargs) -> None:
    """Send the task once the current transaction commits (at once outside one), so a worker never
    sees a row that is not committed yet, or one whose transaction rolled back."""
    transaction.on_commit(lambda: enqueue(task_name, *args, **kwargs))


def parse_now(now: str | None) -> dt.datetime:
    """A task's clock: ``now`` as an ISO timestamp (tests pin the real dates), else the current time."""
    if not now:
        return timezone.now()
    parsed = parse_datetime(now)
    if parsed is None:
        raise ValueError(f"not an ISO datetime: {now!r}")
    if timezone.is_naive(parsed):
        parsed = timezone.make_aware(parsed)
    return parsed
