"""The combined schedules of portal.tasks are gone: each app now registers its own jobs
(portal.registry.Job), whose beat rows are created after migrate (portal.schedules)."""

from django.db import migrations

RETIRED = ("portal.tasks.deadline_sweep", "portal.tasks.reminders_send", "portal.tasks.compliance_snapshot_nightly")


def retire(apps, schema_editor):
    apps.get_model("django_celery_beat", "PeriodicTask").objects.filter(task__in=RETIRED).delete()


class Migration(migrations.Migration):
    dependencies = [("portal", "0007_notification_user_index")]

    operations = [migrations.RunPython(retire, migrations.RunPython.noop)]
