"""The registered jobs' schedules as django-celery-beat rows, so an admin sees and changes them.

After every ``migrate`` a row is created for each registered job that has none; a row
that exists is left as the admin set it (another time, switched off).
"""

from django.db.models.signals import post_migrate

from portal.registry import JOBS


def schedules_create_missing(**kwargs) -> int:
    """Create the beat row of every registered job without one; returns how many were created.

    Side effects: CrontabSchedule and PeriodicTask rows (Asia/Shanghai crontabs).
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    existing = set(PeriodicTask.objects.filter(name__in=list(JOBS)).values_list("name", flat=True))
    created = 0
    for job in JOBS.values():
        if job.name in existing:
            continue
        minute, hour = job.crontab
        crontab, _new = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
        )
        PeriodicTask.objects.create(
            name=job.name, task=job.task, crontab=crontab, description=str(job.description), enabled=True
        )
        created += 1
    return created


def _after_migrate(sender, **kwargs) -> None:
    # Once per migrate, after the last app: the beat tables exist by then.
    if sender.name == "portal":
        schedules_create_missing()


def connect() -> None:
    post_migrate.connect(_after_migrate, dispatch_uid="portal-schedules")
