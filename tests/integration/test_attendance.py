"""Attendance per session, leave, no-shows (无故未参训) and what a city makes follow from them."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse
from openpyxl import Workbook

from courses import attendance_services as attendance
from courses.attendance_selectors import add_months, programme_ban
from courses.models import (
    Attendance,
    AttendanceStatus,
    CourseSelection,
    LeaveState,
    NoShowPolicy,
    ProviderStaff,
    SessionKind,
)
from courses.results_import import provider_results_import
from courses.services import selection_complete
from credits.models import CreditEntry, HoursAuditEntry
from enrollment.models import ApplicationState, ProgrammeSession
from enrollment.services import ActionRefused, application_submit
from tests.factories.courses import CourseFactory, PeriodFactory, SessionFactory
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import UserFactory

pytestmark = pytest.mark.django_db

COURSE = SessionKind.COURSE
PRESENT, ABSENT, EXCUSED = AttendanceStatus.PRESENT, AttendanceStatus.ABSENT, AttendanceStatus.EXCUSED


@pytest.fixture
def offline(tree):
    """An offline course of Guangzhou 2201 (training 04-20 to 06-20) with two sessions, teacher_a and _b selected."""
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, mode="offline", hours=Decimal("12"))
    first = SessionFactory(course=course, date=dt.date(2022, 4, 25))
    second = SessionFactory(course=course, date=dt.date(2022, 5, 9))
    staff = UserFactory(name="机构老师")
    ProviderStaff.objects.create(provider=course.provider, user=staff)
    selections = {
        name: CourseSelection.objects.create(
            teacher=getattr(tree, name).teacher, course=course, period=period, selected_at=at("2022-03-16 10:00")
        )
        for name in ("teacher_a", "teacher_b")
    }
    NoShowPolicy.objects.create(city=tree.city, withhold_session_hours=True, programme_ban_months=6)

    class Offline:
        pass

    o = Offline()
    o.period, o.course, o.first, o.second, o.staff, o.selections = period, course, first, second, staff, selections
    o.a, o.b = tree.teacher_a.teacher, tree.teacher_b.teacher
    return o


def _mark(o, session, marks, now="2022-05-10 18:00", actor=None, late_reason=""):
    return attendance.attendance_mark(
        actor=actor or o.staff, kind=COURSE, session=session, marks=marks, now=at(now), late_reason=late_reason
    )


def test_provider_marks_a_session(offline):
    result = _mark(offline, offline.first, {offline.a.pk: PRESENT, offline.b.pk: ABSENT})

    assert (result.present, result.absent) == (1, 1)
    assert dict(Attendance.objects.values_list("teacher_id", "status")) == {offline.a.pk: PRESENT, offline.b.pk: ABSENT}
    assert HoursAuditEntry.objects.get(subject="attendance").action == "attendance"


def test_marking_again_replaces_the_marks(offline):
    _mark(offline, offline.first, {offline.a.pk: ABSENT})
    _mark(offline, offline.first, {offline.a.pk: PRESENT})

    assert list(Attendance.objects.values_list("status", flat=True)) == [PRESENT]


def test_someone_not_registered_cannot_be_marked(offline, tree):
    with pytest.raises(attendance.AttendanceRefused):
        _mark(offline, offline.first, {tree.teacher_c.teacher.pk: PRESENT})


def test_another_provider_cannot_mark(offline):
    other = UserFactory()
    ProviderStaff.objects.create(provider=CourseFactory().provider, user=other)

    with pytest.raises(PermissionDenied):
        _mark(offline, offline.first, {offline.a.pk: PRESENT}, actor=other)


@pytest.mark.parametrize(("when", "ok"), [("2022-06-20 23:59", True), ("2022-06-21 00:00", False)])
def test_attendance_outside_the_training_dates_is_refused(offline, when, ok):
    if ok:
        _mark(offline, offline.first, {offline.a.pk: PRESENT}, now=when)
        assert Attendance.objects.count() == 1
    else:
        with pytest.raises(attendance.AttendanceRefused) as exc:
            _mark(offline, offline.first, {offline.a.pk: PRESENT}, now=when)
        assert "培训日期为 2022-04-20 至 2022-06-20，2022-06-21 不在其内" in str(exc.value)
        assert not Attendance.objects.exists()


def test_a_city_admin_accepts_a_late_one_with_a_reason_audited(offline, tree):
    with pytest.raises(attendance.AttendanceRefused):
        _mark(offline, offline.first, {offline.a.pk: PRESENT}, now="2022-07-01 10:00", actor=tree.erin)

    _mark(
        offline,
        offline.first,
        {offline.a.pk: PRESENT},
        now="2022-07-01 10:00",
        actor=tree.erin,
        late_reason="机构补交签到表",
    )

    entry = HoursAuditEntry.objects.get(subject="attendance")
    assert (entry.action, entry.comment, entry.actor_id) == ("attendance_late", "机构补交签到表", tree.erin.pk)


def test_a_session_not_yet_held_cannot_be_marked(offline):
    with pytest.raises(attendance.AttendanceRefused):
        _mark(offline, offline.second, {offline.a.pk: PRESENT}, now="2022-05-08 10:00")


def test_leave_approved_before_the_session_makes_an_absence_excused(offline, tree):
    leave = attendance.leave_request(
        actor=tree.teacher_a, kind=COURSE, session=offline.first, reason="带队比赛", now=at("2022-04-24 10:00")
    )
    attendance.leave_decide(actor=tree.alice, leave=leave, approve=True, note="", now=at("2022-04-24 12:00"))

    _mark(offline, offline.first, {offline.a.pk: ABSENT})

    assert Attendance.objects.get().status == EXCUSED


def test_leave_after_the_session_began_is_refused(offline, tree):
    with pytest.raises(attendance.AttendanceRefused):
        attendance.leave_request(
            actor=tree.teacher_a, kind=COURSE, session=offline.first, reason="生病", now=at("2022-04-25 09:00")
        )


def test_leave_is_decided_by_her_school_only(offline, tree):
    leave = attendance.leave_request(
        actor=tree.teacher_a, kind=COURSE, session=offline.first, reason="生病", now=at("2022-04-24 10:00")
    )

    with pytest.raises(PermissionDenied):
        attendance.leave_decide(actor=tree.bob, leave=leave, approve=True, note="", now=at("2022-04-24 11:00"))
    attendance.leave_decide(actor=tree.alice, leave=leave, approve=False, note="当天有监考", now=at("2022-04-24 11:00"))

    leave.refresh_from_db()
    assert (leave.state, leave.decision_note) == (LeaveState.REFUSED, "当天有监考")


def test_a_no_shows_session_hours_are_withheld_at_completion(offline):
    _mark(offline, offline.first, {offline.a.pk: ABSENT, offline.b.pk: PRESENT})

    for selection in offline.selections.values():
        selection_complete(selection, offline.staff, at("2022-05-10 18:00"))

    hours = dict(CreditEntry.objects.values_list("teacher_id", "hours"))
    assert hours == {offline.a.pk: Decimal("6.00"), offline.b.pk: Decimal("12.00")}


def test_the_provider_result_import_withholds_them_too(offline):
    _mark(offline, offline.first, {offline.a.pk: ABSENT})
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "课程编号", "学时", "考核结果"])
    sheet.append([offline.a.id_number, offline.a.name, offline.course.code, 12, "合格"])
    out = io.BytesIO()
    book.save(out)

    provider_results_import(
        SimpleUploadedFile("r.xlsx", out.getvalue()),
        provider=offline.course.provider,
        period=offline.period,
        actor=offline.staff,
        now=at("2022-05-10 18:00"),
    )

    assert list(CreditEntry.objects.values_list("hours", flat=True)) == [Decimal("6.00")]


def test_where_the_city_does_not_withhold_all_hours_are_granted(offline):
    NoShowPolicy.objects.update(withhold_session_hours=False)
    _mark(offline, offline.first, {offline.a.pk: ABSENT})

    selection_complete(offline.selections["teacher_a"], offline.staff, at("2022-05-10 18:00"))

    assert list(CreditEntry.objects.values_list("hours", flat=True)) == [Decimal("12.00")]


def test_no_show_ban_on_programme_registration_applied_and_lifted_at_its_date(offline, tree):
    _mark(offline, offline.first, {offline.a.pk: ABSENT})  # 2022-04-25, six months: until 2022-10-25
    programme = programme_with_chain(
        tree.city,
        registration_opens_at=at("2022-10-01 00:00"),
        registration_closes_at=at("2022-11-30 23:59"),
        chain=[("school", "2022-12-10 23:59"), ("district", "2022-12-20 23:59")],
    )

    with pytest.raises(ActionRefused) as exc:
        application_submit(actor=tree.teacher_a, programme=programme, now=at("2022-10-24 23:59"))
    application = application_submit(actor=tree.teacher_a, programme=programme, now=at("2022-10-25 00:00"))

    assert str(exc.value) == (
        "您于 2022-04-25 报名参训后无故未参训，按本市规定 6 个月内不能报名专项培训（2022-10-25 起可以报名）。"
    )
    assert application.state == ApplicationState.SUBMITTED


def test_an_excused_absence_brings_no_ban(offline):
    _mark(offline, offline.first, {offline.a.pk: EXCUSED})

    assert programme_ban(offline.a, at("2022-05-01 10:00")) is None


def test_months_are_added_as_a_calendar_would():
    assert (add_months(dt.date(2022, 8, 31), 6), add_months(dt.date(2022, 1, 31), 1)) == (
        dt.date(2023, 2, 28),
        dt.date(2022, 2, 28),
    )


def test_the_no_show_is_notified_with_what_follows(offline, tree):
    _mark(offline, offline.first, {offline.a.pk: ABSENT})

    notice = tree.teacher_a.notifications.get(kind=attendance.KIND_NO_SHOW)
    assert "该课次的学时不予记入；2022-10-25 前不能报名专项培训" in notice.body


def test_attendance_from_a_sheet_with_row_errors_writes_nothing(offline, tree):
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名", "考勤"])
    sheet.append([offline.a.id_number, offline.a.name, "迟到"])
    sheet.append([tree.teacher_c.teacher.id_number, "teacher_c", "出勤"])
    out = io.BytesIO()
    book.save(out)

    result = attendance.attendance_import(
        SimpleUploadedFile("a.xlsx", out.getvalue()),
        actor=offline.staff,
        kind=COURSE,
        session=offline.first,
        now=at("2022-05-10 10:00"),
    )

    assert [str(e) for e in result.errors] == [
        "第 2 行 考勤：“迟到”不是有效的考勤，请填写：出勤、缺勤、请假",
        "第 3 行 身份证号：不是该课次的学员，请核对",
    ]
    assert not Attendance.objects.exists()


def test_programme_sessions_take_attendance_of_finalized_participants(tree):
    programme = programme_with_chain(tree.city)
    bulk_applications(programme, [tree.teacher_a.teacher], state=ApplicationState.FINALIZED, level_order=3)
    session = ProgrammeSession.objects.create(
        programme=programme, date=dt.date(2022, 5, 5), starts_at=dt.time(9), ends_at=dt.time(16), place="报告厅"
    )

    attendance.attendance_mark(
        actor=tree.erin,
        kind=SessionKind.PROGRAMME,
        session=session,
        marks={tree.teacher_a.teacher.pk: ABSENT},
        now=at("2022-05-06 10:00"),
    )

    assert Attendance.objects.get().session_kind == SessionKind.PROGRAMME
    with pytest.raises(PermissionDenied):
        attendance.attendance_mark(
            actor=tree.alice, kind=SessionKind.PROGRAMME, session=session, marks={}, now=at("2022-05-06 10:00")
        )


# --- pages ----------------------------------------------------------------------------------------------------------


def test_provider_marks_through_the_page(client, offline):
    client.force_login(offline.staff)
    url = reverse("courses:attendance_sheet", args=[COURSE, offline.first.pk])

    with time_machine.travel(at("2022-05-10 10:00"), tick=False):
        client.post(url, {f"status_{offline.a.pk}": PRESENT, f"status_{offline.b.pk}": ABSENT})

    assert dict(Attendance.objects.values_list("teacher_id", "status")) == {offline.a.pk: PRESENT, offline.b.pk: ABSENT}


def test_teacher_asks_for_leave_through_the_page(client, offline, tree):
    client.force_login(tree.teacher_a)

    with time_machine.travel(at("2022-04-20 10:00"), tick=False):
        page = client.get(reverse("courses:my_sessions")).content.decode()
        client.post(reverse("courses:leave_request", args=[COURSE, offline.first.pk]), {"reason": "生病"})

    assert offline.course.title in page
    assert tree.teacher_a.teacher.leave_requests.get().state == LeaveState.REQUESTED


def test_school_sees_only_its_teachers_no_shows(client, offline, tree):
    _mark(offline, offline.first, {offline.a.pk: ABSENT, offline.b.pk: ABSENT})

    seen = {}
    for name in ("alice", "bob", "carol", "dave"):
        client.force_login(getattr(tree, name))
        seen[name] = sorted(a.teacher.name for a, _title in client.get(reverse("courses:no_shows")).context["rows"])

    assert seen == {"alice": ["teacher_a"], "bob": ["teacher_b"], "carol": ["teacher_a", "teacher_b"], "dave": []}


def test_city_sees_rates_per_provider_and_district(client, offline, tree):
    _mark(offline, offline.first, {offline.a.pk: ABSENT, offline.b.pk: PRESENT})
    client.force_login(tree.erin)

    response = client.get(reverse("courses:no_shows"))

    assert [(r.name, r.marked, r.absent) for r in response.context["providers"]] == [
        (offline.course.provider.name, 2, 1)
    ]
    assert [(r.name, r.marked, r.absent) for r in response.context["districts"]] == [("天河区", 2, 1)]


def test_another_provider_gets_404_on_the_sheet(client, offline):
    other = UserFactory()
    ProviderStaff.objects.create(provider=CourseFactory().provider, user=other)
    client.force_login(other)

    assert client.get(reverse("courses:attendance_sheet", args=[COURSE, offline.first.pk])).status_code == 404


@pytest.mark.parametrize("n", [1, 20])
def test_attendance_pages_keep_a_fixed_query_count(client, offline, tree, n, django_assert_max_num_queries):
    sessions = [SessionFactory(course=offline.course, date=dt.date(2022, 5, 1 + i % 20)) for i in range(n)]
    for s in sessions:
        _mark(offline, s, {offline.a.pk: ABSENT, offline.b.pk: PRESENT}, now="2022-05-20 18:00")
        attendance.leave_request(
            actor=tree.teacher_b,
            kind=COURSE,
            session=SessionFactory(course=offline.course, date=dt.date(2022, 6, 1)),
            reason="r",
            now=at("2022-05-20 10:00"),
        )
    pages = [
        (offline.staff, reverse("courses:attendance_sessions")),
        (offline.staff, reverse("courses:attendance_sheet", args=[COURSE, offline.first.pk])),
        (tree.erin, reverse("courses:attendance_sessions") + "?kind=course"),
        (tree.teacher_a, reverse("courses:my_sessions")),
        (tree.bob, reverse("courses:leave_list")),
        (tree.alice, reverse("courses:no_shows")),
        (tree.erin, reverse("courses:no_shows")),
    ]
    with time_machine.travel(at("2022-05-20 12:00"), tick=False):
        for user, url in pages:
            client.force_login(user)
            with django_assert_max_num_queries(14):
                assert client.get(url).status_code == 200
