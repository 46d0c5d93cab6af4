"""System checks: a background job whose target is gone fails at start-up, not at 2 a.m.

``manage.py check`` (and every ``runserver``, ``migrate`` and test run) imports each app's
``tasks`` module, so a task whose domain function was renamed or removed is an error
naming the module; every registered job must name a task that exists; and (with
``--database default``) every enabled beat row must name a task that exists. Every registered
ModelAdmin declares whose rows it shows (portal.admin).
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


def routes_have_tasks(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every CELERY_TASK_ROUTES entry names a task that exists and a queue that a worker takes."""
    from django.conf import settings

    known = _registered_tasks()
    if known is None:
        return []
    errors = []
    for task, route in settings.CELERY_TASK_ROUTES.items():
        if task not in known:
            errors.append(
                checks.Error(f"CELERY_TASK_ROUTES names the task {task}, which does not exist", id="portal.E005")
            )
        if route.get("queue") not in settings.TASK_QUEUES:
            errors.append(
                checks.Error(f"{task} is routed to {route.get('queue')}, not in TASK_QUEUES", id="portal.E006")
            )
    return errors


def beat_rows_have_tasks(app_configs=None, databases=None, **kwargs) -> list[checks.CheckMessage]:
    if not databases:
        return []
    from django.db import connection
    from django_celery_beat.models import PeriodicTask

    if PeriodicTask._meta.db_table not in connection.introspection.table_names():
        return []  # ``migrate`` checks before it creates the tables

    known = _registered_tasks()
    if known is None:
        return []
    return [
        checks.Error(f"the schedule “{name}” runs {task}, which does not exist", id="portal.E003")
        for name, task in PeriodicTask.objects.filter(enabled=True).values_list("name", "task")
        if task not in known
    ]


def admins_have_reach(app_configs=None, **kwargs) -> list[checks.CheckMessage]:
    """Every registered ModelAdmin and its inlines go through portal.admin's scoping (a declared reach)."""
    from django.contrib import admin

    from portal.admin import Reach, ScopedAdminMixin, ScopedModelAdmin

    errors: list[checks.CheckMessage] = []
    for model, model_admin in admin.site._registry.items():
        classes = [
            (type(model_admin), ScopedModelAdmin),
            *((inline, ScopedAdminMixin) for inline in model_admin.inlines),
        ]
        for cls, base in classes:
            if not issubclass(cls, base) or not isinstance(getattr(cls, "reach", None), Reach):
                errors.append(
                    checks.Error(
                        f"{cls.__module__}.{cls.__qualname__} (admin of {model._meta.label}) declares no reach",
                        hint="Derive it from portal.admin.ScopedModelAdmin (inlines: ScopedInline) and set "
                        "reach = InUnits(...), Platform() or Own(): whose rows each user may see.",
                        id="portal.E004",
                    )
                )
    return errors


def register() -> None:
    checks.register(admins_have_reach, checks.Tags.admin)
    checks.register(tasks_importable)
    checks.register(jobs_have_tasks)
    checks.register(routes_have_tasks)
    checks.register(beat_rows_have_tasks, checks.Tags.database)
