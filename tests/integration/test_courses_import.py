"""Course catalogue import: all-or-nothing, row errors in Chinese, providers only their own courses."""

import io
from decimal import Decimal

import openpyxl
import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from courses.importing import COLUMNS, course_import
from courses.models import Course, ProviderStaff
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.portal import UserFactory

HEADERS = [c.header for c in COLUMNS]


def _xlsx(*rows) -> bytes:
    book = openpyxl.Workbook()
    sheet = book.active
    sheet.append(HEADERS)
    for row in rows:
        sheet.append(list(row))
    out = io.BytesIO()
    book.save(out)
    return out.getvalue()


def _row(
    code="K1",
    title="师德师风",
    category="公需科目",
    hours=6,
    provider="GZOU",
    mode="线上",
    capacity=50,
    fee=0,
    topics="师德师风",
    stages="初中、高中",
    kind="",
    description="",
    status="发布",
):
    return [code, title, category, hours, provider, mode, capacity, fee, topics, stages, kind, description, status]


@pytest.fixture
def gzou(db):
    return ProviderFactory(code="GZOU", name="广州开放大学")


def test_course_import_creates_courses_with_topics_and_stages(gzou):
    period = PeriodFactory()

    result = course_import(
        _xlsx(_row(), _row(code="K2", hours=1.5, capacity="不限", stages="")), period=period, providers=[gzou]
    )

    assert (result.ok, result.created, result.updated) == (True, 2, 0)
    first, second = Course.objects.order_by("code")
    assert [t.name for t in first.topics.all()] == ["师德师风"]
    assert sorted(s.name for s in first.stages.all()) == ["初中", "高中"]
    assert (second.hours, second.capacity, second.status) == (Decimal("1.5"), None, "published")


def test_course_import_one_bad_row_writes_nothing(gzou):
    period = PeriodFactory(max_fee_per_hour=Decimal("4"))

    result = course_import(
        _xlsx(_row(), _row(code="K2", category="必修"), _row(code="K3", fee=5), _row(code="K4", topics="不存在")),
        period=period,
        providers=[gzou],
    )

    assert [str(e) for e in result.errors[:2]] == [
        "第 3 行 科目类别：“必修”不是有效的科目类别，请填写：公需科目、专业科目、选修科目",
        "第 4 行 每学时收费：每学时收费 5 元超过本周期上限 4 元",
    ]
    assert str(result.errors[2]).startswith("第 5 行 专题：专题“不存在”不存在，可用的有：师德师风、双减")
    assert len(result.errors) == 3
    assert Course.objects.count() == 0


def test_course_import_other_providers_course_refused(gzou):
    period = PeriodFactory()
    CourseFactory(period=period, code="K1", provider=ProviderFactory(code="GDEI"))

    result = course_import(_xlsx(_row(code="K1")), period=period, providers=[gzou])

    assert [str(e) for e in result.errors] == ["第 2 行 课程代码：本周期已有该代码的课程，属于其他施教机构，不能修改"]


def test_course_import_updates_existing_course(gzou):
    period = PeriodFactory()
    CourseFactory(period=period, code="K1", provider=gzou, title="旧名称")

    result = course_import(_xlsx(_row(code="K1", title="新名称")), period=period, providers=[gzou])

    assert (result.created, result.updated) == (0, 1)
    assert Course.objects.get().title == "新名称"


def test_course_import_dry_run_writes_nothing(gzou):
    result = course_import(_xlsx(_row()), period=PeriodFactory(), providers=[gzou], dry_run=True)

    assert (result.ok, result.created, result.written) == (True, 1, False)
    assert Course.objects.count() == 0


def test_course_import_view_for_provider_staff(client, gzou):
    period = PeriodFactory()
    gzou.cities.add(period.city)
    user = UserFactory()
    ProviderStaff.objects.create(provider=gzou, user=user)
    client.force_login(user)
    upload = SimpleUploadedFile("courses.xlsx", _xlsx(_row()))

    response = client.post(reverse("courses:course_import"), {"period": period.pk, "file": upload})

    assert response.status_code == 302
    assert Course.objects.get().provider == gzou


def test_course_import_template_downloads(client, gzou):
    user = UserFactory()
    ProviderStaff.objects.create(provider=gzou, user=user)
    client.force_login(user)

    response = client.get(reverse("courses:course_import"), {"template": "1"})

    sheet = openpyxl.load_workbook(io.BytesIO(response.content)).active
    assert [c.value for c in sheet[2]] == HEADERS
