"""Course selection rules: windows (Guangzhou 2201's real dates), 补选, who may select, overlap, waiting list."""

import datetime as dt
from decimal import Decimal

import pytest

from courses import services
from courses.models import (
    Course,
    CourseMode,
    CourseSelection,
    SelectionStatus,
    WaitlistEntry,
    WaitlistStatus,
    ledger_reference,
)
from courses.selectors import teacher_plan, teacher_selections
from credits.models import CreditEntry, Topic
from portal.models import Notification, Role, TeacherStatus
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, SessionFactory, shanghai
from tests.factories.portal import CityFactory, SchoolFactory, TeacherFactory, admin_user

IN_WINDOW = shanghai(2022, 3, 20, 10)
IN_LATE = shanghai(2022, 3, 27, 10)


@pytest.fixture
def period(tree):
    return PeriodFactory(city=tree.city)


@pytest.fixture
def teacher(tree):
    return tree.teacher_a.teacher


def _select(teacher, course, now=IN_WINDOW):
    return services.course_select(teacher, Course.objects.select_related("period__city").get(pk=course.pk), now)


def test_course_select_in_window_enrols_and_counts(period, teacher):
    course = CourseFactory(period=period, capacity=30)

    result = _select(teacher, course)

    course.refresh_from_db()
    assert result.selection.status == SelectionStatus.SELECTED
    assert course.enrolled_count == 1
    assert CourseSelection.objects.filter(teacher=teacher, course=course).count() == 1


@pytest.mark.parametrize(
    ("moment", "allowed"),
    [
        (shanghai(2022, 3, 14, 23, 59, 59), False),
        (shanghai(2022, 3, 15, 0, 0), True),
        (shanghai(2022, 3, 29, 23, 59, 59), True),
        (shanghai(2022, 3, 30, 0, 0), False),
    ],
)
def test_course_select_window_boundaries_2201(period, teacher, moment, allowed):
    course = CourseFactory(period=period)

    if allowed:
        _select(teacher, course, moment)
        assert CourseSelection.objects.filter(course=course).count() == 1
    else:
        with pytest.raises(services.SelectionError) as exc:
            _select(teacher, course, moment)
        assert ("尚未开始" in str(exc.value)) == (moment.day == 14)
        assert ("截止" in str(exc.value)) == (moment.day == 30)
        assert CourseSelection.objects.filter(course=course).count() == 0


def test_course_drop_in_late_phase_refused(period, teacher):
    course = CourseFactory(period=period)
    _select(teacher, course, IN_WINDOW)

    with pytest.raises(services.SelectionError) as exc:
        services.course_drop(teacher, course, IN_LATE)

    assert str(exc.value) == "补选阶段只能增选课程，不能退选"
    assert CourseSelection.objects.get(course=course).status == SelectionStatus.SELECTED


def test_course_select_in_late_phase_allowed(period, teacher):
    course = CourseFactory(period=period)

    _select(teacher, course, IN_LATE)

    assert CourseSelection.objects.get(course=course).status == SelectionStatus.SELECTED


def test_course_drop_in_late_phase_allowed_when_period_says_so(tree, teacher):
    period = PeriodFactory(city=tree.city, drop_allowed_in_late=True)
    course = CourseFactory(period=period)
    _select(teacher, course, IN_WINDOW)

    services.course_drop(teacher, course, IN_LATE)

    course.refresh_from_db()
    assert CourseSelection.objects.get(course=course).status == SelectionStatus.DROPPED
    assert course.enrolled_count == 0


def test_course_drop_before_late_phase_frees_seat(period, teacher):
    course = CourseFactory(period=period, capacity=1)
    _select(teacher, course)

    services.course_drop(teacher, course, shanghai(2022, 3, 25, 23, 59))

    course.refresh_from_db()
    assert course.enrolled_count == 0


@pytest.mark.parametrize(
    ("status", "reason"),
    [(TeacherStatus.RETIRED, "退休"), (TeacherStatus.TRANSFERRED, "调出")],
)
def test_course_select_inactive_teacher_refused(period, teacher, status, reason):
    teacher.status = status
    teacher.save(update_fields=["status"])
    course = CourseFactory(period=period)

    with pytest.raises(services.SelectionError) as exc:
        _select(teacher, course)

    assert reason in str(exc.value)
    assert CourseSelection.objects.count() == 0


def test_course_select_teacher_of_other_city_refused(period):
    outsider = TeacherFactory(unit=SchoolFactory(parent__parent=CityFactory(name="茂名市")))
    course = CourseFactory(period=period)

    with pytest.raises(services.SelectionError) as exc:
        _select(outsider, course)

    assert "只有" in str(exc.value) and "在职教师可以选" in str(exc.value)


def test_course_select_twice_refused(period, teacher):
    course = CourseFactory(period=period, title="师德师风专题")
    _select(teacher, course)

    with pytest.raises(services.SelectionError) as exc:
        _select(teacher, course)

    assert str(exc.value) == "您已选过课程《师德师风专题》，不能重复选"
    assert Course.objects.get(pk=course.pk).enrolled_count == 1


def test_course_select_after_drop_allowed_again(period, teacher):
    course = CourseFactory(period=period)
    _select(teacher, course)
    services.course_drop(teacher, course, IN_WINDOW)

    _select(teacher, course)

    assert CourseSelection.objects.filter(course=course, status=SelectionStatus.SELECTED).count() == 1


def test_course_select_draft_course_refused(period, teacher):
    course = CourseFactory(period=period, status="draft")

    with pytest.raises(services.SelectionError):
        _select(teacher, course)


def test_course_select_overlapping_offline_sessions_refused(period, teacher):
    first = SessionFactory(
        course__period=period, course__title="课堂观察工作坊", starts_at=dt.time(14, 0), ends_at=dt.time(17, 0)
    ).course
    second = SessionFactory(course__period=period, starts_at=dt.time(16, 30), ends_at=dt.time(18, 0)).course
    _select(teacher, first)

    with pytest.raises(services.SelectionError) as exc:
        _select(teacher, second)

    assert str(exc.value) == "与已选的线下课程《课堂观察工作坊》上课时间冲突，不能同时选"


def test_course_select_adjacent_offline_sessions_allowed(period, teacher):
    first = SessionFactory(course__period=period, starts_at=dt.time(9, 0), ends_at=dt.time(12, 0)).course
    second = SessionFactory(course__period=period, starts_at=dt.time(12, 0), ends_at=dt.time(13, 0)).course
    _select(teacher, first)

    _select(teacher, second)

    assert CourseSelection.objects.filter(teacher=teacher).count() == 2


def test_course_select_full_course_joins_waitlist(tree, period):
    course = CourseFactory(period=period, capacity=1)
    _select(tree.teacher_a.teacher, course)

    result = _select(tree.teacher_b.teacher, course)

    assert result.waitlisted
    assert result.position == 1
    assert "候补名单第 1 位" in result.message
    assert Course.objects.get(pk=course.pk).enrolled_count == 1


def test_course_drop_promotes_first_in_line_and_notifies(tree, period, django_capture_on_commit_callbacks):
    course = CourseFactory(period=period, capacity=1, title="双减作业设计")
    _select(tree.teacher_a.teacher, course)
    _select(tree.teacher_b.teacher, course, IN_WINDOW + dt.timedelta(minutes=1))
    _select(tree.teacher_c.teacher, course, IN_WINDOW + dt.timedelta(minutes=2))

    with django_capture_on_commit_callbacks(execute=True):
        services.course_drop(tree.teacher_a.teacher, course, IN_WINDOW + dt.timedelta(hours=1))

    promoted = CourseSelection.objects.get(course=course, status=SelectionStatus.SELECTED)
    assert promoted.teacher == tree.teacher_b.teacher
    assert promoted.from_waitlist is True
    assert WaitlistEntry.objects.get(teacher=tree.teacher_b.teacher).status == WaitlistStatus.PROMOTED
    assert WaitlistEntry.objects.get(teacher=tree.teacher_c.teacher).status == WaitlistStatus.WAITING
    assert Course.objects.get(pk=course.pk).enrolled_count == 1
    note = Notification.objects.get(user=tree.teacher_b, kind="course_waitlist_promoted")
    assert note.title == "候补成功：双减作业设计"


def test_waitlist_promote_skips_teacher_who_retired(tree, period):
    course = CourseFactory(period=period, capacity=1)
    _select(tree.teacher_a.teacher, course)
    _select(tree.teacher_b.teacher, course, IN_WINDOW + dt.timedelta(minutes=1))
    _select(tree.teacher_c.teacher, course, IN_WINDOW + dt.timedelta(minutes=2))
    tree.teacher_b.teacher.status = TeacherStatus.RETIRED
    tree.teacher_b.teacher.save(update_fields=["status"])
    Course.objects.filter(pk=course.pk).update(capacity=2)

    promoted = services.waitlist_promote(Course.objects.get(pk=course.pk), IN_WINDOW + dt.timedelta(hours=1))

    assert [e.teacher for e in promoted] == [tree.teacher_c.teacher]
    assert WaitlistEntry.objects.get(teacher=tree.teacher_b.teacher).status == WaitlistStatus.RELEASED


def test_waitlist_promote_outside_window_does_nothing(tree, period):
    course = CourseFactory(period=period, capacity=1)
    _select(tree.teacher_a.teacher, course)
    _select(tree.teacher_b.teacher, course)
    Course.objects.filter(pk=course.pk).update(capacity=2)

    promoted = services.waitlist_promote(Course.objects.get(pk=course.pk), shanghai(2022, 3, 30, 0, 0))

    assert promoted == []
    assert WaitlistEntry.objects.get().status == WaitlistStatus.WAITING


def test_waitlist_release_closed_is_idempotent(tree, period, django_capture_on_commit_callbacks):
    course = CourseFactory(period=period, capacity=1)
    _select(tree.teacher_a.teacher, course)
    _select(tree.teacher_b.teacher, course)
    after = shanghai(2022, 3, 30, 1, 0)

    with django_capture_on_commit_callbacks(execute=True):
        first = services.waitlist_release_closed(after)
    with django_capture_on_commit_callbacks(execute=True):
        second = services.waitlist_release_closed(after)

    assert (first, second) == (1, 0)
    assert WaitlistEntry.objects.get().status == WaitlistStatus.RELEASED
    assert Notification.objects.filter(user=tree.teacher_b, kind="course_waitlist_released").count() == 1


def test_waitlist_release_closed_leaves_open_periods_alone(tree, period):
    course = CourseFactory(period=period, capacity=1)
    _select(tree.teacher_a.teacher, course)
    _select(tree.teacher_b.teacher, course)

    assert services.waitlist_release_closed(IN_LATE) == 0
    assert WaitlistEntry.objects.get().status == WaitlistStatus.WAITING


def test_selection_complete_records_hours_once(tree, period):
    provider = ProviderFactory()
    staff = admin_user(Role.CITY_ADMIN, tree.city)
    course = CourseFactory(period=period, provider=provider, category="public", hours=Decimal("1.5"))
    course.topics.set([Topic.objects.get(code="ethics")])
    selection = _select(tree.teacher_a.teacher, course).selection

    first = services.selection_complete(selection, staff, shanghai(2022, 6, 1))
    second = services.selection_complete(CourseSelection.objects.get(pk=selection.pk), staff, shanghai(2022, 6, 2))

    entry = CreditEntry.objects.get(reference=ledger_reference(selection.pk))
    assert (first, second) == (True, False)
    assert (entry.hours, entry.category, entry.year, entry.topic_codes) == (Decimal("1.5"), "public", 2022, ",ethics,")
    assert CourseSelection.objects.get(pk=selection.pk).status == SelectionStatus.COMPLETED


def test_selection_complete_by_outsider_refused(tree, period):
    course = CourseFactory(period=period)
    selection = _select(tree.teacher_a.teacher, course).selection

    with pytest.raises(services.SelectionError):
        services.selection_complete(selection, tree.alice, shanghai(2022, 6, 1))

    assert CreditEntry.objects.count() == 0


def test_teacher_plan_counts_planned_hours_per_category(period, teacher):
    CourseFactory(period=period, category="public", hours=Decimal("30"))
    CourseFactory(period=period, category="professional", hours=Decimal("36"))
    for course in Course.objects.all():
        _select(teacher, course)

    plan = teacher_plan(teacher, period)

    lines = {r.label: (r.actual, r.required, r.met) for r in plan.evaluation.requirements}
    assert lines["公需科目"] == (Decimal("30"), Decimal("30"), True)
    assert lines["专业科目"] == (Decimal("36"), Decimal("42"), False)
    assert plan.met is False
    assert plan.shortfall_hours == Decimal("24")  # 90 - 66 in total


def test_teacher_plan_offline_course_mode_is_data(period, teacher):
    course = CourseFactory(period=period, mode=CourseMode.MIXED)

    _select(teacher, course)

    assert teacher_plan(teacher, period).planned.total == Decimal("12")


def test_teacher_plan_from_loaded_selections_equals_plan_from_queries(period, teacher):
    ethics = CourseFactory(period=period, category="public", hours=Decimal("6"))
    ethics.topics.set([Topic.objects.get(code="ethics")])
    CourseFactory(period=period, category="elective", hours=Decimal("4.5"))
    for course in Course.objects.all():
        _select(teacher, course)

    loaded = teacher_plan(teacher, period, teacher_selections(teacher, period))

    assert loaded.evaluation == teacher_plan(teacher, period).evaluation
    assert loaded.planned.by_topic == {"ethics": Decimal("6")}
