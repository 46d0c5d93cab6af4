"""System checks: a background job whose target is gone fails at start-up, not at 2 a.m.

``manage.py check`` (and every ``runserver``, ``migrate`` and test run) imports each app's
``tasks`` module, so a task whose domain function was renamed or removed is an error
naming the module; every registered job must name a task that exists; and (with
``--database default``) every enabled beat row must name a task that exists.
"""

import traceback
from importlib import import_module
from importlib.util import find_spec

from django.apps import apps
from django.core import checks

from portal.registry import JOBS


def _task_modules() -> list[str]:
    return [f"{config.name}.tasks" for config in apps.get_app_configs() if find_spec(f"{config.name}.tasks")]


def _import_task_modules() -> list[checks.CheckMessage]:
    """Import every app's task module (registering its tasks); an error for each that fails."""
    errors: list[checks.CheckMessage] = []
    for module in _task_modules():
        try:
            import_module(module)
        except Exception as exc:
            errors.append(
                checks.Error(
                    f"{module} cannot be imported: {type(exc).__name__}: {exc}",
                    hint="A task points at a domain function that no longer exists. "
                    + traceback.format_exception_only(exc)[-1].strip(),
                    id="portal.E001",
                )
            )
    return errors


def tasks_importable(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    return _import_task_modules()


def _registered_tasks() -> set[str] | None:
    """The Celery app's task names; None while a task module cannot be imported (portal.E001 says which)."""
    from portal.celery import app

    if _import_task_modules():
        return None
    return set(app.tasks.keys())


def jobs_have_tasks(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    known = _registered_tasks()
    if known is None:
        return []
    return [
        checks.Error(f"job “{job.name}” names the task {job.task}, which does not exist", id="portal.E002")
        for job in JOBS.values()
        if job.task not in known
    ]


def beat_rows_have_tasks(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases:
        return []
    from django.db import connections
    from django_celery_beat.models import PeriodicTask

    if any(PeriodicTask._meta.db_table not in connections[db].introspection.table_names() for db in databases):
        return []  # a fresh database: `migrate` runs this check before it makes the table
    known = _registered_tasks()
    if known is None:
        return []
    return [
        checks.Error(f"the schedule “{name}” runs {task}, which does not exist", id="portal.E003")
        for name, task in PeriodicTask.objects.filter(enabled=True).values_list("name", "task")
        if task not in known
    ]


def register() -> None:
    checks.register(tasks_importable)
    checks.register(jobs_have_tasks)
    checks.register(beat_rows_have_tasks, checks.Tags.database)
