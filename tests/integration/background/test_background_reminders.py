"""Reminders on their dates, once per person per occasion; the nightly snapshot; the compliance export.

The jobs are called in-process with a pinned ``now`` (the worker tests cover the task path)."""

import datetime as dt

import openpyxl
import pytest

from courses.reminders import KIND_SELECTION_REMINDER, roster_reminders_send, selection_reminders_send
from credits.models import Category, ComplianceSnapshot
from credits.reminders import KIND_HOURS_REMINDER, hours_reminders_send
from credits.tasks import compliance_snapshot_nightly
from enrollment.reminders import KIND_APPROVAL_REMINDER, approval_reminders_send
from portal.export_runner import export_job_run
from portal.models import ExportJob, ExportStatus, Notification, ReminderDate, Teacher
from tests.factories.credits import RuleSetFactory, entries, preloaded
from tests.factories.enrollment import PeriodFactory, at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """Run every reminder job at a Guangzhou time and let its notifications be written (on commit)."""
    jobs = (approval_reminders_send, selection_reminders_send, hours_reminders_send, roster_reminders_send)

    def go(when: str) -> dict:
        with django_capture_on_commit_callbacks(execute=True):
            return {job.__name__: job(at(when)) for job in jobs}

    return go


def _got(kind: str) -> list[tuple[str, str]]:
    return list(Notification.objects.filter(kind=kind).order_by("id").values_list("user__name", "title"))


def test_approver_reminded_two_days_and_one_day_before_school_deadline_once_each(tree, run):
    programme = programme_with_chain(tree.city, title="中学校长任职资格培训")
    bulk_applications(programme, [TeacherFactory(unit=tree.school_a) for _ in range(2)])

    run("2022-03-16 08:00")  # 2 days 16 h before 03-18 23:59:59: not yet
    first = _got(KIND_APPROVAL_REMINDER)
    run("2022-03-17 08:00")
    run("2022-03-17 20:00")  # the same occasion again
    run("2022-03-18 08:00")
    run("2022-03-18 09:00")

    title = "审核提醒：中学校长任职资格培训还有 2 份申请待审核"
    assert first == []
    assert _got(KIND_APPROVAL_REMINDER) == [("alice", title), ("alice", title)]
    assert Notification.objects.filter(kind=KIND_APPROVAL_REMINDER).values("dedup_key").distinct().count() == 2
    assert set(Notification.objects.filter(kind=KIND_APPROVAL_REMINDER).values_list("url", flat=True)) == {
        "/enrollment/review/"
    }


def test_hours_reminder_on_city_date_only_to_teachers_short_of_hours_once(tree, run):
    preloaded()
    RuleSetFactory(city=tree.city, year=2022)
    ReminderDate.objects.create(city=tree.city, date=dt.date(2022, 11, 1))
    entries(
        Teacher.objects.get(user=tree.teacher_a),
        2022,
        (Category.PUBLIC, 30, None, ("ethics",)),
        (Category.PROFESSIONAL, 42),
        (Category.ELECTIVE, 18),
    )

    run("2022-10-31 08:00")
    before = _got(KIND_HOURS_REMINDER)
    run("2022-11-01 08:00")
    run("2022-11-02 08:00")  # the job ran again, the date is the same occasion

    assert before == []
    assert sorted(name for name, _title in _got(KIND_HOURS_REMINDER)) == ["teacher_b", "teacher_c"]
    assert set(Notification.objects.filter(kind=KIND_HOURS_REMINDER).values_list("url", flat=True)) == {"/credits/"}


def test_selection_reminder_three_days_before_close_to_teachers_with_short_plan(tree, run):
    preloaded()
    rule_set = RuleSetFactory(city=tree.city, year=2022)
    PeriodFactory(city=tree.city, rule_set=rule_set, name="2201期")  # selection closes 03-29 23:59:59
    entries(
        Teacher.objects.get(user=tree.teacher_a),
        2022,
        (Category.PUBLIC, 30, None, ("ethics",)),
        (Category.PROFESSIONAL, 42),
        (Category.ELECTIVE, 18),
    )

    run("2022-03-25 08:00")
    before = _got(KIND_SELECTION_REMINDER)
    run("2022-03-27 08:00")
    run("2022-03-27 09:00")

    assert before == []
    got = _got(KIND_SELECTION_REMINDER)
    assert sorted(name for name, _t in got) == ["teacher_b", "teacher_c"]
    assert {t for _n, t in got} == {"选课提醒：2201期选课将于 03-29 23:59 截止"}


def test_nightly_snapshot_records_units_once_per_day(tree):
    preloaded()
    RuleSetFactory(city=tree.city, year=2022)

    first = compliance_snapshot_nightly(at("2022-11-02 01:30").isoformat())
    again = compliance_snapshot_nightly(at("2022-11-02 03:00").isoformat())

    assert first > 0
    assert again == 0
    assert ComplianceSnapshot.objects.filter(unit=tree.city, date=dt.date(2022, 11, 2)).count() == 1


def test_compliance_export_lists_short_teachers(tree, settings, tmp_path, django_capture_on_commit_callbacks):
    settings.MEDIA_ROOT = tmp_path
    preloaded()
    RuleSetFactory(city=tree.city, year=2022)
    job = ExportJob.objects.create(user=tree.erin, kind="compliance", params={"year": 2022, "only_short": True})

    with django_capture_on_commit_callbacks(execute=True):
        status = export_job_run(job.pk)

    job.refresh_from_db()
    assert (status, job.status, job.progress, job.total) == ("done", ExportStatus.DONE, 100, 3)
    rows = list(openpyxl.load_workbook(job.file.path, read_only=True).active.iter_rows(values_only=True))
    assert len(rows) == 2 + 3
    assert sorted(r[1] for r in rows[2:]) == ["teacher_a", "teacher_b", "teacher_c"]


def test_compliance_export_without_rule_set_fails_with_a_message(tree, settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    job = ExportJob.objects.create(user=tree.erin, kind="compliance", params={"year": 2031})

    status = export_job_run(job.pk)

    job.refresh_from_db()
    assert (status, job.status) == ("failed", ExportStatus.FAILED)
    assert job.error == f"{tree.city.name}没有2031年度的学时规则，无法导出达标名单。"
