"""Exports, e-mail and reminders through a real Celery worker process on Redis (not eager mode)."""

import datetime as dt
import time
import zoneinfo

import openpyxl
import pytest
from django.db import transaction

from courses.reminders import KIND_ROSTER_REMINDER
from courses.tasks import roster_reminders
from portal.export_runner import export_job_start
from portal.models import ExportJob, ExportStatus, Notification, NotificationPreference, Teacher
from portal.notifications import KIND_EXPORT_DONE, notify
from portal.tasks import notifications_email
from tests.factories.portal import TeacherFactory
from tests.integration.background.conftest import wait_for

pytestmark = [
    pytest.mark.celery,
    pytest.mark.postgres,
    pytest.mark.django_db(transaction=True, serialized_rollback=True),
]

SHANGHAI = zoneinfo.ZoneInfo("Asia/Shanghai")


def test_export_roster_in_worker_reaches_100_percent_and_opens(tree, celery_workers):
    TeacherFactory.create_batch(600, unit=tree.school_c)  # plus teacher_a/b/c from the tree
    celery_workers()

    with transaction.atomic():
        job = export_job_start(tree.erin, "roster")

    job = wait_for(lambda: ExportJob.objects.filter(pk=job.pk, status=ExportStatus.DONE).first(), timeout=60)
    assert (job.progress, job.total, job.done_rows) == (100, 603, 603)
    sheet = openpyxl.load_workbook(job.file.path, read_only=True).active
    rows = list(sheet.iter_rows(values_only=True))
    assert len(rows) == 2 + 603  # title line, headers, one row per teacher
    assert rows[1][:5] == ("序号", "区", "学校代码", "学校", "姓名")
    assert rows[-1][0] == 603
    done = wait_for(lambda: list(Notification.objects.filter(user=tree.erin, kind=KIND_EXPORT_DONE)))
    assert [n.url for n in done] == [f"/inbox/exports/{job.pk}/"]


def test_email_sent_once_by_worker_even_when_task_repeats(tree, celery_workers, mail_dir):
    tree.teacher_a.email = "a@example.cn"
    tree.teacher_a.save(update_fields=["email"])
    NotificationPreference.objects.create(user=tree.teacher_a, kind="reminder.hours", email=True)
    celery_workers()

    with transaction.atomic():
        notify(
            [tree.teacher_a.pk, tree.teacher_b.pk],
            "reminder.hours",
            "学时提醒",
            "还差30学时",
            "/credits/",
            dedup_key="hours:test",
        )

    sent = wait_for(lambda: Notification.objects.filter(user=tree.teacher_a, emailed_at__isnull=False).first())
    notifications_email.delay([sent.pk])  # a redelivered or repeated task
    notifications_email.delay([sent.pk])
    wait_for(lambda: len(list(mail_dir.iterdir())) >= 1)
    time.sleep(2)
    files = list(mail_dir.iterdir())
    assert len(files) == 1
    text = files[0].read_text()
    assert "a@example.cn" in text
    assert Notification.objects.filter(user=tree.teacher_b, emailed_at__isnull=False).count() == 0


def test_roster_reminder_goes_once_per_admin_however_often_the_job_runs(tree, celery_workers):
    from courses.models import TrainingPeriod

    TrainingPeriod.objects.create(
        city=tree.city,
        year=2022,
        code="2201",
        name="2201期",
        selection_opens_at=dt.datetime(2022, 3, 15, 0, 0, tzinfo=SHANGHAI),
        selection_closes_at=dt.datetime(2022, 3, 30, 0, 0, tzinfo=SHANGHAI),
        training_starts_on=dt.date(2022, 4, 20),
        training_ends_on=dt.date(2022, 6, 20),
    )
    Teacher.objects.filter(user=tree.teacher_a).update(mobile="")  # school A has a gap, B and C do not
    celery_workers()
    celery_workers()  # two workers take the runs in parallel
    now = dt.datetime(2022, 3, 8, 8, 0, tzinfo=SHANGHAI).isoformat()

    for _ in range(4):
        roster_reminders.delay(now)

    wait_for(lambda: Notification.objects.filter(kind=KIND_ROSTER_REMINDER).exists())
    time.sleep(3)
    got = list(Notification.objects.filter(kind=KIND_ROSTER_REMINDER).values_list("user__name", "title"))
    assert got == [("alice", "名册提醒：1 名教师信息不完整")]
