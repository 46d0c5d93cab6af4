"""A schedule that sends e-mails still owed (a lost task, a broker outage), editable in the admin."""

from django.db import migrations

NAME = "补发未送达的通知邮件"


def create(apps, schema_editor):
    CrontabSchedule = apps.get_model("django_celery_beat", "CrontabSchedule")
    PeriodicTask = apps.get_model("django_celery_beat", "PeriodicTask")
    crontab, _ = CrontabSchedule.objects.get_or_create(
        minute="5-59/10", hour="*", day_of_week="*", day_of_month="*", month_of_year="*", timezone="Asia/Shanghai"
    )
    PeriodicTask.objects.update_or_create(
        name=NAME,
        defaults={
            "task": "portal.tasks.notifications_email_pending",
            "crontab": crontab,
            "description": "每10分钟：补发近两天内用户选择了邮件提醒、但尚未发出的通知邮件（每封只发一次）。",
            "enabled": True,
        },
    )


def remove(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(name=NAME).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0005_periodic_tasks")]

    operations = [migrations.RunPython(create, remove)]
