"""Reads of attendance, leave and no-shows, and the consequences a city attaches to a no-show.

The consequences are read at request time, from data (``NoShowPolicy``): the hours of a missed
session withheld where a course grants hours (``hours_withheld``: courses.services.selection_complete
and the provider result import call it), and no special-programme registration for N months
(``programme_ban``: enrollment.services.application_submit calls it).
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import ROUND_UP, Decimal
from typing import Any

from django.db.models import Count, OuterRef, Q, QuerySet, Subquery
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import (
    Attendance,
    AttendanceStatus,
    Course,
    CourseSession,
    LeaveRequest,
    NoShowPolicy,
    Provider,
    SessionKind,
)
from courses.sessions import SESSION_KINDS, sessions_of
from portal.models import Role, Teacher, Unit, UnitKind, User
from portal.scoping import scope_for


def add_months(day: dt.date, months: int) -> dt.date:
    """``day`` ``months`` later, on the last day of the month where that month is shorter (01-31 + 1 = 02-28)."""
    total = day.month - 1 + months
    year, month = day.year + total // 12, total % 12 + 1
    return dt.date(year, month, min(day.day, calendar.monthrange(year, month)[1]))


def no_show_policy_for(unit: Unit) -> NoShowPolicy | None:
    return NoShowPolicy.objects.filter(city__code=unit.city_code).first()


@dataclass(frozen=True)
class ProgrammeBan:
    session_date: dt.date
    until: dt.date
    months: int

    @property
    def message(self) -> str:
        return _(
            "您于 %(day)s 报名参训后无故未参训，按本市规定 %(months)d 个月内不能报名专项培训（%(until)s 起可以报名）。"
        ) % {"day": f"{self.session_date:%Y-%m-%d}", "months": self.months, "until": f"{self.until:%Y-%m-%d}"}


def programme_ban(teacher: Teacher, now: dt.datetime) -> ProgrammeBan | None:
    """The ban on special-programme registration a no-show put on ``teacher``, if one holds at ``now``.

    Lifted on its date: a no-show on 04-25 with a 6-month ban refuses until 10-24 and allows from 10-25.
    Two queries at most.
    """
    policy = no_show_policy_for(teacher.unit)
    if policy is None or not policy.programme_ban_months:
        return None
    today = timezone.localdate(now)
    months = policy.programme_ban_months
    latest = (
        Attendance.objects.filter(
            teacher=teacher, status=AttendanceStatus.ABSENT, session_date__gt=add_months(today, -months)
        )
        .order_by("-session_date")
        .values_list("session_date", flat=True)
        .first()
    )
    if latest is None:
        return None
    until = add_months(latest, months)
    return ProgrammeBan(latest, until, months) if today < until else None


def hours_withheld(selections: Iterable[Any]) -> dict[int, Decimal]:
    """Hours not granted for each selection (objects with ``pk``, ``teacher_id``, ``course_id``) because of
    no-shows, where the course's city withholds them: the course's hours × missed sessions / its sessions,
    rounded up to a tenth. Selections without a deduction are absent from the result. Four queries at most.
    """
    selections = list(selections)
    if not selections:
        return {}
    courses = {
        c["pk"]: c
        for c in Course.objects.filter(pk__in={s.course_id for s in selections})
        .annotate(n_sessions=Count("sessions"))
        .filter(n_sessions__gt=0)
        .values("pk", "hours", "n_sessions", "period__city__code")
    }
    if not courses:
        return {}
    withholding = set(
        NoShowPolicy.objects.filter(
            city__code__in={c["period__city__code"] for c in courses.values()}, withhold_session_hours=True
        ).values_list("city__code", flat=True)
    )
    courses = {pk: c for pk, c in courses.items() if c["period__city__code"] in withholding}
    if not courses:
        return {}
    course_of = dict(CourseSession.objects.filter(course_id__in=list(courses)).values_list("pk", "course_id"))
    missed: dict[tuple[int, int], int] = defaultdict(int)
    for teacher_id, session_id in Attendance.objects.filter(
        session_kind=SessionKind.COURSE,
        session_id__in=list(course_of),
        teacher_id__in={s.teacher_id for s in selections},
        status=AttendanceStatus.ABSENT,
    ).values_list("teacher_id", "session_id"):
        missed[(teacher_id, course_of[session_id])] += 1
    result = {}
    for s in selections:
        n = missed.get((s.teacher_id, s.course_id))
        course = courses.get(s.course_id)
        if n and course:
            share = (course["hours"] * n / course["n_sessions"]).quantize(Decimal("0.1"), rounding=ROUND_UP)
            result[s.pk] = min(share, course["hours"])
    return result


# --- lists --------------------------------------------------------------------------------------------------------


def markable_sessions(user: User, kind: str) -> QuerySet:
    """The sessions of ``kind`` whose attendance the user takes (a course's provider or the city; for a
    programme, its city)."""
    spec = SESSION_KINDS[kind]
    return sessions_of(kind).filter(spec.markers_q(scope_for(user)))


def attendance_counts(kind: str, session_ids: list[int]) -> dict[int, dict[str, int]]:
    """Per session: how many were marked present, absent, excused (one query)."""
    counts: dict[int, dict[str, int]] = defaultdict(lambda: {s.value: 0 for s in AttendanceStatus})
    for session_id, status, n in (
        Attendance.objects.filter(session_kind=kind, session_id__in=session_ids)
        .values_list("session_id", "status")
        .annotate(n=Count("pk"))
        .order_by()
    ):
        counts[session_id][status] = n
    return counts


def no_shows_visible_to(user: User) -> QuerySet[Attendance]:
    """No-shows of the teachers in the admin's reach (a school: hers), newest first."""
    return Attendance.objects.filter(scope_for(user).unit_q("school"), status=AttendanceStatus.ABSENT)


def leaves_for_school(user: User) -> QuerySet[LeaveRequest]:
    return LeaveRequest.objects.filter(scope_for(user).unit_q("school", roles=(Role.SCHOOL_ADMIN,)))


@dataclass
class TeacherSession:
    kind: str
    session: Any
    title: str
    starts_at: dt.datetime
    leave: LeaveRequest | None
    attendance: Attendance | None


def teacher_sessions(teacher: Teacher, since: dt.date) -> list[TeacherSession]:
    """The sessions from ``since`` on that the teacher must attend, every kind, with her leave and attendance.

    Two queries per kind plus two, whatever the number of sessions.
    """
    from courses.sessions import session_starts_at

    rows: list[TeacherSession] = []
    leaves = {(x.session_kind, x.session_id): x for x in LeaveRequest.objects.filter(teacher=teacher)}
    marks = {(a.session_kind, a.session_id): a for a in Attendance.objects.filter(teacher=teacher)}
    for kind, spec in SESSION_KINDS.items():
        for session in sessions_of(kind).filter(spec.teacher_q(teacher), date__gte=since).distinct():
            key = (kind, session.pk)
            rows.append(
                TeacherSession(
                    kind, session, spec.title(session), session_starts_at(session), leaves.get(key), marks.get(key)
                )
            )
    return sorted(rows, key=lambda r: r.starts_at)


@dataclass
class RateRow:
    name: str
    marked: int
    absent: int

    @property
    def rate(self) -> float:
        return self.absent / self.marked if self.marked else 0.0


def no_show_rates(city: Unit) -> tuple[list[RateRow], list[RateRow]]:
    """The city's no-show rates per provider (course sessions) and per district (every kind). Four queries."""
    base = Attendance.objects.filter(period__city=city)
    counts = dict(marked=Count("pk"), absent=Count("pk", filter=Q(status=AttendanceStatus.ABSENT)))
    provider_of = CourseSession.objects.filter(pk=OuterRef("session_id")).values("course__provider_id")
    by_provider = list(
        base.filter(session_kind=SessionKind.COURSE)
        .annotate(provider_id=Subquery(provider_of))
        .values("provider_id")
        .annotate(**counts)
        .order_by()
    )
    providers = Provider.objects.in_bulk([r["provider_id"] for r in by_provider])
    by_district = list(base.values("school__parent_id").annotate(**counts).order_by())
    districts = Unit.objects.filter(kind=UnitKind.DISTRICT).in_bulk([r["school__parent_id"] for r in by_district])
    provider_rows = [
        RateRow(providers[r["provider_id"]].name, r["marked"], r["absent"])
        for r in by_provider
        if r["provider_id"] in providers
    ]
    district_rows = [
        RateRow(
            districts[r["school__parent_id"]].name if r["school__parent_id"] in districts else _("市直属"),
            r["marked"],
            r["absent"],
        )
        for r in by_district
    ]
    return sorted(provider_rows, key=lambda r: -r.rate), sorted(district_rows, key=lambda r: -r.rate)
