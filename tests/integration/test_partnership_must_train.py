"""Who must train (培训对象) from the ledger, and professional courses carrying the kind the rule counts."""

from decimal import Decimal
from importlib import import_module

import pytest
from django.apps import apps
from django.urls import reverse

from courses.importing import course_import
from courses.models import Course, CourseSelection, SelectionStatus, ledger_reference
from courses.selectors import must_train_by_school, must_train_ids
from credits.models import CreditEntry, Source
from credits.selectors import totals_for_teachers
from portal.exporting import xlsx_bytes
from portal.scoping import scope_for
from tests.factories.courses import CourseFactory, ProviderFactory
from tests.factories.credits import entries
from tests.factories.partnership import maoming
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(tree):
    return maoming(tree)


@pytest.mark.parametrize(
    ("kind", "hours", "must"),
    [("ordinary", "41.5", True), ("ordinary", "42", False), ("rotation", "59.5", True), ("rotation", "60", False)],
)
def test_must_train_at_the_notices_thresholds(m, kind, hours, must):
    teacher = m.tree.teacher_a.teacher
    entries(teacher, 2024, ("professional", hours, kind, ["ethics"]))

    assert (teacher.pk in must_train_ids(m.period, m.tree.school_a)) is must


def test_a_teacher_without_hours_must_train_and_a_retired_one_need_not(m):
    retired = TeacherFactory(unit=m.tree.school_a, status="retired")

    assert set(must_train_ids(m.period, m.tree.school_a)) == {m.tree.teacher_a.teacher.pk}
    assert retired.pk not in must_train_ids(m.period, m.tree.school_a)


def test_the_county_sees_counts_per_school(m):
    entries(m.tree.teacher_b.teacher, 2024, ("professional", 60, "rotation", ["ethics"]))
    TeacherFactory(unit=m.tree.school_a)

    rows = must_train_by_school(m.period, scope_for(m.tree.carol))

    assert [(u.name, n, short) for u, n, short in rows] == [("A校", 2, 2), ("B校", 1, 0)]


def test_the_school_lists_and_exports_its_teachers_who_must_train(m, client):
    client.force_login(m.tree.alice)

    page = client.get(reverse("courses:must_train"), {"period": m.period.pk})
    export = client.get(reverse("courses:must_train"), {"period": m.period.pk, "export": "xlsx"})

    assert [r.name for r in page.context["page"]] == ["teacher_a"]
    assert export["Content-Type"].startswith("application/vnd.openxmlformats")


def test_a_school_admin_cannot_open_another_schools_list(m, client):
    client.force_login(m.tree.alice)

    response = client.get(reverse("courses:must_train"), {"period": m.period.pk, "unit": m.tree.school_b.pk})

    assert response.status_code == 404


@pytest.mark.parametrize("extra", [0, 8])
def test_must_train_list_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    TeacherFactory.create_batch(extra, unit=m.tree.school_a)
    client.force_login(m.tree.alice)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:must_train"), {"period": m.period.pk})

    assert response.context["page"].paginator.count == 1 + extra


@pytest.mark.parametrize("extra", [0, 5])
def test_must_train_counts_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    from tests.factories.portal import SchoolFactory

    for _ in range(extra):
        TeacherFactory(unit=SchoolFactory(parent=m.tree.district1))
    client.force_login(m.tree.carol)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:must_train"), {"period": m.period.pk})

    assert len(response.context["page"]) == 2 + extra


# --- professional courses carry a kind where the rule counts kinds ------------------------------------


def test_a_professional_course_without_a_kind_is_refused_where_the_rule_counts_kinds(m):
    from django.core.exceptions import ValidationError

    course = Course(period=m.period, code="X1", title="无类型课程", category="professional", hours=10, provider=m.p1)

    with pytest.raises(ValidationError) as exc:
        course.full_clean()

    assert exc.value.message_dict["kind"] == [
        "本期学时规则按学时类型计算专业科目，请选择学时类型（普通远程培训课程、全员轮训网络研修），否则学时不计入任何一项要求"
    ]


def test_guangzhou_professional_courses_need_no_kind(tree):
    from tests.factories.courses import PeriodFactory

    course = Course(
        period=PeriodFactory(city=tree.city),
        code="G1",
        title="广州课程",
        category="professional",
        hours=10,
        provider=ProviderFactory(),
    )

    course.full_clean()


def test_an_imported_professional_course_without_a_kind_is_refused(m):
    sheet = xlsx_bytes(
        title="课程",
        headers=["课程代码", "课程名称", "科目类别", "学时", "施教机构"],
        rows=[["MM-1", "无类型课程", "专业科目", 10, m.p1.code]],
    )

    result = course_import(sheet, period=m.period, providers=[m.p1])

    assert [str(e) for e in result.errors] == [
        "第 3 行 学时类型：本期学时规则按学时类型计算专业科目，请选择学时类型（普通远程培训课程、全员轮训网络研修），"
        "否则学时不计入任何一项要求"
    ]


def test_the_migration_gives_courses_and_their_hours_the_kind(m):
    """Before: a completed course without a kind left the verdict unchanged. After: its hours count."""
    teacher = m.tree.teacher_a.teacher
    course = CourseFactory(period=m.period, provider=m.p1, hours=Decimal(12), kind=None)
    selection = CourseSelection.objects.create(
        teacher=teacher,
        course=course,
        period=m.period,
        selected_at=m.period.selection_opens_at,
        status=SelectionStatus.COMPLETED,
    )
    entries(teacher, 2024, ("professional", 32, "ordinary", ["ethics"]))
    CreditEntry.objects.create(
        teacher=teacher,
        year=2024,
        category="professional",
        hours=Decimal(10),
        source=Source.IMPORT,
        reference=ledger_reference(selection.pk),
    )
    assert teacher.pk in must_train_ids(m.period, m.tree.school_a)

    import_module("courses.migrations.0009_professional_course_kinds").forward(apps, None)

    assert Course.objects.get(pk=course.pk).kind.code == "ordinary"
    assert totals_for_teachers([teacher.pk], 2024)[teacher.pk].by_kind == {"ordinary": Decimal(42)}
    assert teacher.pk not in must_train_ids(m.period, m.tree.school_a)
    assert sorted(CreditEntry.objects.filter(teacher=teacher).values_list("source", "hours")) == sorted(
        [("import", Decimal(32)), ("import", Decimal(10)), ("reversal", Decimal(-10)), ("manual", Decimal(10))]
    )
