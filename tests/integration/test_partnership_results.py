"""Providers register passed hours only within the training dates, for approved offers, for learners of
the schools that chose them; a late registration needs a city admin's reason; messages never leak."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from courses import services
from courses.models import CourseSelection, LateRegistration
from courses.results_import import RegistrationClosed, provider_results_import
from credits.models import CreditEntry
from portal.exporting import xlsx_bytes
from portal.models import Notification
from tests.factories.courses import shanghai
from tests.factories.partnership import IN_TRAINING, approved_offer, maoming, offer_with_courses
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db
HEADERS = ["身份证号", "姓名", "课程编号", "学时", "考核结果"]


@pytest.fixture
def m(tree):
    m = maoming(tree)
    m.offer = approved_offer(m, m.p1)
    m.course = m.offer.courses.order_by("code").first()
    services.agreement_choose(school=tree.school_a, period=m.period, provider=m.p1, actor=tree.alice, now=IN_TRAINING)
    m.teacher = tree.teacher_a.teacher
    services.course_select(m.teacher, m.course, IN_TRAINING)
    return m


def sheet(*rows) -> bytes:
    return xlsx_bytes(title="考核结果", headers=HEADERS, rows=rows)


def run(m, data, now, dry_run=False):
    return provider_results_import(data, provider=m.p1, period=m.period, actor=m.staff1, now=now, dry_run=dry_run)


def row(m, teacher=None, hours=10, course=None):
    teacher = teacher or m.teacher
    return [teacher.id_number, teacher.name, (course or m.course).code, hours, "合格"]


def test_registration_on_the_last_training_day_is_recorded(m):
    result = run(m, sheet(row(m)), shanghai(2024, 12, 31, 23, 59))

    assert (result.errors, result.created, result.written) == ([], 1, True)


def test_registration_after_the_training_dates_is_refused(m):
    with pytest.raises(RegistrationClosed) as exc:
        run(m, sheet(row(m)), shanghai(2025, 1, 1, 0, 0))

    assert str(exc.value) == "培训已于 2024年12月31日 结束，逾期登记须由市级管理员填写原因后开放"
    assert CreditEntry.objects.count() == 0


def test_registration_before_the_training_starts_is_refused(m):
    with pytest.raises(RegistrationClosed) as exc:
        run(m, sheet(row(m)), shanghai(2024, 7, 31, 23, 59))

    assert str(exc.value) == "培训 2024年8月1日 开始，之前不能登记学时"


def test_a_late_registration_needs_the_citys_reason_and_is_named_in_the_entries(m):
    with pytest.raises(services.PartnershipError):
        services.late_registration_grant(
            period=m.period, provider=m.p1, until=dt.date(2025, 1, 15), reason="", actor=m.tree.erin, now=IN_TRAINING
        )
    grant = services.late_registration_grant(
        period=m.period,
        provider=m.p1,
        until=dt.date(2025, 1, 15),
        reason="平台维护，12月底考核的学员未能登记",
        actor=m.tree.erin,
        now=shanghai(2025, 1, 3, 9),
    )

    result = run(m, sheet(row(m)), shanghai(2025, 1, 10, 10))

    assert result.written is True
    assert CreditEntry.objects.get().reason.endswith(f"（逾期登记，许可 #{grant.pk}）")
    assert list(LateRegistration.objects.values_list("granted_by_name", "reason")) == [
        ("erin", "平台维护，12月底考核的学员未能登记")
    ]
    assert Notification.objects.filter(kind="late_registration", user=m.staff1).count() == 1
    with pytest.raises(RegistrationClosed):
        run(m, sheet(row(m)), shanghai(2025, 1, 16, 10))


def test_only_a_city_admin_opens_late_registration(m):
    from django.core.exceptions import PermissionDenied

    with pytest.raises(PermissionDenied):
        services.late_registration_grant(
            period=m.period, provider=m.p1, until=dt.date(2025, 1, 15), reason="x", actor=m.tree.carol, now=IN_TRAINING
        )


def test_an_id_number_that_is_not_a_learner_gets_no_name_back(m):
    stranger = TeacherFactory(unit=m.tree.school_b, name="不相干")

    result = run(m, sheet([stranger.id_number, "乱填", m.course.code, 10, "合格"]), IN_TRAINING)

    assert [str(e) for e in result.errors] == ["第 3 行 身份证号：不是本机构课程的学员，请核对身份证号"]
    assert "不相干" not in str(result.errors)


def test_a_learner_of_another_provider_is_not_a_learner_of_yours(m):
    other = approved_offer(m, m.p2)
    teacher = TeacherFactory(unit=m.tree.school_b, name="别家学员")
    services.agreement_choose(school=m.tree.school_b, period=m.period, provider=m.p2, actor=m.tree.bob, now=IN_TRAINING)
    services.course_select(teacher, other.courses.first(), IN_TRAINING)

    result = run(m, sheet([teacher.id_number, teacher.name, m.course.code, 10, "合格"]), IN_TRAINING)

    assert [str(e) for e in result.errors] == ["第 3 行 身份证号：不是本机构课程的学员，请核对身份证号"]


def test_hours_of_an_offer_not_approved_are_refused(m):
    pending = offer_with_courses(m, m.p1, m.ordinary)
    services.offer_submit(pending, m.staff1, IN_TRAINING)
    course = pending.courses.first()
    CourseSelection.objects.create(teacher=m.teacher, course=course, period=m.period, selected_at=IN_TRAINING)

    result = run(m, sheet(row(m, course=course)), IN_TRAINING)

    assert [str(e) for e in result.errors] == [
        f"第 3 行 课程编号：课程 {course.code} 所属的课程方案尚未立项，不能登记学时"
    ]


def test_a_learner_whose_school_did_not_choose_the_provider_is_refused(m):
    teacher = TeacherFactory(unit=m.tree.school_b)
    CourseSelection.objects.create(teacher=teacher, course=m.course, period=m.period, selected_at=IN_TRAINING)

    result = run(m, sheet(row(m, teacher=teacher)), IN_TRAINING)

    assert [str(e) for e in result.errors] == ["第 3 行 身份证号：该教师所在学校本期没有选择本机构，不能登记学时"]


def test_marking_a_completion_by_hand_follows_the_same_dates(m):
    selection = CourseSelection.objects.get(teacher=m.teacher, course=m.course)

    with pytest.raises(services.SelectionError) as exc:
        services.selection_complete(selection, m.staff1, shanghai(2025, 1, 2, 9))

    assert str(exc.value) == "培训已于 2024年12月31日 结束，逾期登记须由市级管理员填写原因后开放"
    assert services.selection_complete(selection, m.staff1, IN_TRAINING) is True


def test_the_upload_page_says_why_a_late_sheet_is_refused(m, client):
    from django.core.files.uploadedfile import SimpleUploadedFile

    client.force_login(m.staff1)
    with time_machine.travel(shanghai(2025, 1, 5, 10), tick=False):
        response = client.post(
            reverse("courses:results_import"),
            {"provider": m.p1.pk, "period": m.period.pk, "file": SimpleUploadedFile("r.xlsx", sheet(row(m)))},
        )

    assert response.context["form"].errors["file"] == [
        "培训已于 2024年12月31日 结束，逾期登记须由市级管理员填写原因后开放"
    ]


def test_the_school_and_the_county_see_how_many_passed(m, client):
    run(m, sheet(row(m, hours=Decimal("9.5"))), IN_TRAINING)
    client.force_login(m.tree.carol)

    rows = client.get(reverse("courses:agreements_overview"), {"period": m.period.pk}).context["page"]
    client.force_login(m.tree.alice)
    school = client.get(reverse("courses:school_provider"), {"period": m.period.pk}).context["rows"]

    assert [(r.school.name, r.passed) for r in rows] == [("A校", 1), ("B校", 0)]
    assert [r["passed"] for r in school] == [1]


@pytest.mark.parametrize("extra", [0, 4])
def test_late_registrations_page_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    for i in range(1 + extra):
        services.late_registration_grant(
            period=m.period,
            provider=m.p1,
            until=dt.date(2025, 1, 10 + i),
            reason="原因",
            actor=m.tree.erin,
            now=IN_TRAINING,
        )
    client.force_login(m.tree.erin)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:late_registrations"), {"period": m.period.pk})

    assert len(response.context["page"]) == 1 + extra
