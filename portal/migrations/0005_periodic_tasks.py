"""The background schedules as django-celery-beat rows, so a city admin sees and changes them in the admin."""

from django.db import migrations

# name, task, crontab (minute, hour), description
SCHEDULES = [
    ("截止时间清理（过期申请、候补释放）", "portal.tasks.deadline_sweep", ("*/10", "*"),
     "每10分钟：将已过本级审核截止时间仍待审核的申请标记为已过期；选课截止后释放候补名单。"),
    ("提醒（审核、选课、学时、名册）", "portal.tasks.reminders_send", ("0", "8"),
     "每天8:00：审核截止前2天和1天提醒审核人；选课截止前3天提醒学时不足的教师；城市设定日期提醒学时不足的教师；培训周期开始前提醒学校管理员核对名册。每人每次只发一次。"),
    ("每晚达标率快照", "portal.tasks.compliance_snapshot_nightly", ("30", "1"),
     "每天1:30：按单位记录当年学时达标率，供趋势图使用。"),
]


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    for name, task, (minute, hour), description in SCHEDULES:
        crontab, _ = CrontabSchedule.objects.get_or_create(
            minute=minute, hour=hour, day_of_week="*", day_of_month="*", month_of_year="*",
            timezone="Asia/Shanghai",
        )
        PeriodicTask.objects.update_or_create(
            name=name, defaults={"task": task, "crontab": crontab, "description": description, "enabled": True},
        )


def remove(apps, schema_editor):
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    PeriodicTask.objects.filter(name__in=[s[0] for s in SCHEDULES]).delete()


class Migration(migrations.Migration):
    dependencies = [
        ("portal", "0004_background"),
        ("django_celery_beat", "0019_alter_periodictasks_options"),
    ]

    operations = [migrations.RunPython(create, remove)]
