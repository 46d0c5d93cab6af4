"""Provider result import: row errors, all-or-nothing, idempotent re-upload, scoping."""

import datetime as dt
from decimal import Decimal as D

import pytest
import time_machine
from django.urls import reverse

from courses.models import CourseSelection, SelectionStatus
from courses.results_import import provider_results_import
from credits.models import CreditEntry, Source
from portal.exporting import xlsx_bytes
from portal.figures import figures_counted
from portal.models import User
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db
HEADERS = ["身份证号", "姓名", "课程编号", "学时", "考核结果"]
NOW = dt.datetime(2022, 6, 15, 10, tzinfo=dt.UTC)  # within the training dates, 04-20 to 06-20


@pytest.fixture
def setup(tree):
    from courses.models import ProviderStaff

    provider, other = ProviderFactory(), ProviderFactory()
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, provider=provider, code="GZ-101", hours=D(12), category="public")
    foreign = CourseFactory(period=period, provider=other, code="GZ-900")
    staff = User.objects.create_user("110101199003070011", "pw", name="机构老师")
    ProviderStaff.objects.create(provider=provider, user=staff)
    a, b = tree.teacher_a.teacher, tree.teacher_b.teacher
    for teacher in (a, b):
        CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=NOW)

    class S:
        pass

    s = S()
    s.provider, s.period, s.course, s.foreign, s.staff, s.a, s.b, s.tree = (
        provider,
        period,
        course,
        foreign,
        staff,
        a,
        b,
        tree,
    )
    return s


def sheet(*rows) -> bytes:
    return xlsx_bytes(title="考核结果", headers=HEADERS, rows=rows)


def run(s, data, dry_run=False):
    return provider_results_import(data, provider=s.provider, period=s.period, actor=s.staff, now=NOW, dry_run=dry_run)


def test_import_records_passed_rows_and_completes_the_selection(setup):
    s = setup
    result = run(
        s, sheet([s.a.id_number, s.a.name, "GZ-101", 12, "合格"], [s.b.id_number, s.b.name, "GZ-101", 12, "不合格"])
    )
    assert (result.errors, result.created, result.failed, result.written) == ([], 1, 1, True)
    entry = CreditEntry.objects.get()
    assert (entry.teacher, entry.hours, entry.category, entry.source) == (s.a, D(12), "public", Source.IMPORT)
    assert CourseSelection.objects.get(teacher=s.a).status == SelectionStatus.COMPLETED
    assert CourseSelection.objects.get(teacher=s.b).status == SelectionStatus.SELECTED


def test_import_has_the_kept_figures_counted_anew(setup, django_capture_on_commit_callbacks):
    s = setup
    counts = []
    figures_counted("compliance", (), lambda: counts.append(1) or len(counts))

    with django_capture_on_commit_callbacks(execute=True):
        run(s, sheet([s.a.id_number, s.a.name, "GZ-101", 12, "合格"]))

    assert figures_counted("compliance", (), lambda: counts.append(1) or len(counts)).value == 2


def test_import_same_sheet_twice_records_once(setup):
    s = setup
    data = sheet([s.a.id_number, s.a.name, "GZ-101", 10, "合格"])
    run(s, data)
    again = run(s, data)
    assert (again.created, again.already, again.errors) == (0, 1, [])
    assert CreditEntry.objects.count() == 1


def test_import_after_completion_records_nothing(setup):
    from courses.services import selection_complete

    s = setup
    selection_complete(CourseSelection.objects.get(teacher=s.a), s.staff, NOW)
    result = run(s, sheet([s.a.id_number, s.a.name, "GZ-101", 12, "合格"]))
    assert (result.created, result.already) == (0, 1)
    assert CreditEntry.objects.count() == 1


def test_import_row_errors_reject_whole_sheet(setup):
    s = setup
    outsider = TeacherFactory(unit=s.tree.school_c, name="未选课")
    result = run(
        s,
        sheet(
            [s.a.id_number, "错名字", "GZ-101", 12, "合格"],
            [s.b.id_number, s.b.name, "NOPE", 12, "合格"],
            [s.b.id_number, s.b.name, "GZ-900", 12, "合格"],
            [s.b.id_number, s.b.name, "GZ-101", 13, "合格"],
            [outsider.id_number, outsider.name, "GZ-101", 12, "合格"],
            [s.a.id_number, s.a.name, "GZ-101", 12, "优秀"],
        ),
    )
    assert [str(e) for e in result.errors] == [
        f"第 3 行 姓名：与身份证号不符：本机构学员名单中的姓名是“{s.a.name}”，请核对",
        "第 4 行 课程编号：本期没有编号为 NOPE 的课程",
        "第 5 行 课程编号：课程 GZ-900 不是本机构的课程",
        "第 6 行 学时：超过课程学时 12，请核对",
        "第 7 行 身份证号：不是本机构课程的学员，请核对身份证号",
        "第 8 行 考核结果：“优秀”不是有效的考核结果，请填写：合格、不合格",
    ]
    assert result.written is False
    assert CreditEntry.objects.count() == 0
    assert CourseSelection.objects.filter(status=SelectionStatus.COMPLETED).count() == 0


def test_import_dry_run_writes_nothing(setup):
    s = setup
    result = run(s, sheet([s.a.id_number, s.a.name, "GZ-101", 12, "合格"]), dry_run=True)
    assert (result.created, result.written) == (1, False)
    assert CreditEntry.objects.count() == 0


@time_machine.travel(NOW, tick=False)
def test_import_view_provider_uploads(setup, client):
    s = setup
    client.force_login(s.staff)
    data = sheet([s.a.id_number, s.a.name, "GZ-101", 12, "合格"])
    from django.core.files.uploadedfile import SimpleUploadedFile

    response = client.post(
        reverse("courses:results_import"),
        {"provider": s.provider.pk, "period": s.period.pk, "file": SimpleUploadedFile("r.xlsx", data)},
    )
    assert response.status_code == 200
    assert response.context["result"].written is True
    assert CreditEntry.objects.count() == 1
    summary = " ".join(response.content.decode().split('id="import-summary">')[1].split("</div>")[0].split())
    assert summary == "已导入： 合格并已记录 1 人次共 12 学时；不合格 0 人次；此前已记录 0 人次。"


@pytest.mark.parametrize("who", ["erin", "teacher_a", "alice"])
def test_import_view_non_provider_forbidden(setup, client, who):
    client.force_login(getattr(setup.tree, who))
    assert client.get(reverse("courses:results_import")).status_code == 403


def test_import_view_other_provider_refused(setup, client):
    s = setup
    client.force_login(s.staff)
    from django.core.files.uploadedfile import SimpleUploadedFile

    other = s.foreign.provider
    response = client.post(
        reverse("courses:results_import"),
        {"provider": other.pk, "period": s.period.pk, "file": SimpleUploadedFile("r.xlsx", sheet())},
    )
    assert response.context["form"].errors["provider"]
    assert CreditEntry.objects.count() == 0


@pytest.mark.parametrize("extra", [0, 15])
def test_import_query_count_independent_of_rows(setup, django_assert_max_num_queries, extra):
    s = setup
    more = TeacherFactory.create_batch(extra, unit=s.tree.school_a)
    for teacher in more:
        CourseSelection.objects.create(teacher=teacher, course=s.course, period=s.period, selected_at=NOW)
    rows = [[t.id_number, t.name, "GZ-101", 12, "合格"] for t in [s.a, *more]]
    data = sheet(*rows)
    with django_assert_max_num_queries(12):
        result = run(s, data)
    assert (result.created, CreditEntry.objects.count()) == (1 + extra, 1 + extra)


def test_import_template_reads_back_as_a_valid_sheet(setup, client):
    from courses.results_import import COLUMNS
    from portal.importing import read_table

    client.force_login(setup.staff)
    response = client.get(reverse("courses:results_template"))
    table = read_table(response.content, COLUMNS)
    assert [c.header for c in COLUMNS] == ["身份证号", "姓名", "课程编号", "学时", "考核结果"]
    assert (len(table), table.errors) == (1, [])
