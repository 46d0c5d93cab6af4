"""Demo data of attendance: each city's no-show policy; in Guangzhou 2201 an offline course whose two sessions
were marked (present, an approved leave, a no-show whose hours were then withheld at completion); in the
current period a coming session with a leave request waiting for the school. Made through the real services,
at moments within the notice's training dates (2022-04-20 to 06-20).
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.db.models import F

from courses import attendance_services as attendance
from courses.models import (
    AttendanceStatus,
    Course,
    CourseMode,
    CourseSelection,
    NoShowPolicy,
    ProviderStaff,
    SessionKind,
    TrainingPeriod,
)
from courses.services import selection_complete
from courses.sessions import session_starts_at
from portal.models import Role, RoleAssignment

SHANGHAI = ZoneInfo("Asia/Shanghai")


def load(ctx) -> None:
    gz, mm = ctx.cities["440100"], ctx.cities["440900"]
    NoShowPolicy.objects.create(city=gz, withhold_session_hours=True, programme_ban_months=6)
    NoShowPolicy.objects.create(city=mm, withhold_session_hours=True, programme_ban_months=0)
    school = ctx.schools["440100"][0]
    teachers = [t for t in ctx.teachers["440100"] if t.unit == school and t.is_active][:6]
    historical = TrainingPeriod.objects.get(code="2201")
    course = _offline_course(historical)
    if course is None:
        return
    _select(course, teachers, historical.selection_opens_at + dt.timedelta(days=1))
    first, second = list(course.sessions.order_by("date"))[:2]
    admin = RoleAssignment.objects.get(role=Role.SCHOOL_ADMIN, unit=school).user
    login = next(t for t in teachers if t.user_id)
    before = session_starts_at(second) - dt.timedelta(days=2)
    leave = attendance.leave_request(
        actor=login.user, kind=SessionKind.COURSE, session=second, reason="参加市级公开课评比", now=before
    )
    attendance.leave_decide(actor=admin, leave=leave, approve=True, note="", now=before + dt.timedelta(hours=3))
    staff = ProviderStaff.objects.filter(provider=course.provider).select_related("user").first().user
    no_show = next(t for t in teachers if t != login)
    for session in (first, second):
        marks = {t.pk: AttendanceStatus.PRESENT for t in teachers}
        if session == first:
            marks[no_show.pk] = AttendanceStatus.ABSENT  # half the course's hours are withheld at completion
        else:
            marks[login.pk] = AttendanceStatus.ABSENT  # recorded as excused: her leave was approved
        after = dt.datetime.combine(session.date, dt.time(18), tzinfo=SHANGHAI)
        attendance.attendance_mark(actor=staff, kind=SessionKind.COURSE, session=session, marks=marks, now=after)
    done = dt.datetime.combine(second.date + dt.timedelta(days=1), dt.time(10), tzinfo=SHANGHAI)
    for selection in CourseSelection.objects.filter(course=course).select_related("course__period", "teacher"):
        selection_complete(selection, staff, done)
    _current_leave(ctx, login)


def _offline_course(period: TrainingPeriod) -> Course | None:
    return (
        Course.objects.filter(period=period, mode__in=(CourseMode.OFFLINE, CourseMode.MIXED))
        .filter(sessions__isnull=False)
        .distinct()
        .order_by("code")
        .first()
    )


def _select(course: Course, teachers, when: dt.datetime) -> None:
    existing = set(CourseSelection.objects.filter(course=course).values_list("teacher_id", flat=True))
    rows = [
        CourseSelection(teacher=t, course=course, period=course.period, selected_at=when)
        for t in teachers
        if t.pk not in existing
    ]
    CourseSelection.objects.bulk_create(rows)
    Course.objects.filter(pk=course.pk).update(enrolled_count=F("enrolled_count") + len(rows))


def _current_leave(ctx, login) -> None:
    """A coming session of the current period with the demo teacher's leave request, waiting for her school."""
    period = TrainingPeriod.objects.filter(city=ctx.cities["440100"], year=ctx.now.year).first()
    course = _offline_course(period) if period else None
    if course is None:
        return
    _select(course, [login], ctx.now)
    session = course.sessions.order_by("date").first()
    if session_starts_at(session) > ctx.now:
        attendance.leave_request(
            actor=login.user, kind=SessionKind.COURSE, session=session, reason="当天带学生参加区运动会", now=ctx.now
        )
