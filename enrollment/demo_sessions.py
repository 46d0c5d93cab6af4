"""Demo data of programme sessions: Guangzhou 2022's programme meets twice and its city took attendance
(one no-show); the current programmes have coming sessions. Through courses.attendance_services.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from courses import attendance_services as attendance
from courses.models import AttendanceStatus, SessionKind
from portal.models import Role, RoleAssignment

from .models import Application, ApplicationState, Programme, ProgrammeSession

SHANGHAI = ZoneInfo("Asia/Shanghai")


def load(ctx) -> None:
    for programme in Programme.objects.select_related("period__city"):
        start = max(
            programme.period.training_starts_on, programme.registration_closes_at.date() + dt.timedelta(days=14)
        )
        sessions = ProgrammeSession.objects.bulk_create(
            [
                ProgrammeSession(
                    programme=programme,
                    date=start + dt.timedelta(days=7 * i),
                    starts_at=dt.time(9),
                    ends_at=dt.time(16, 30),
                    place=f"{programme.period.city.name}教师发展中心 报告厅",
                )
                for i in range(2)
            ]
        )
        if programme.period.training_ends_on >= ctx.now.date():
            continue
        finalized = list(
            Application.objects.filter(programme=programme, state=ApplicationState.FINALIZED).values_list(
                "teacher_id", flat=True
            )
        )
        if not finalized:
            continue
        city_admin = RoleAssignment.objects.get(role=Role.CITY_ADMIN, unit=programme.period.city).user
        for session in sessions:
            marks = {pk: AttendanceStatus.PRESENT for pk in finalized}
            marks[finalized[-1]] = AttendanceStatus.ABSENT
            after = dt.datetime.combine(session.date, dt.time(18), tzinfo=SHANGHAI)
            attendance.attendance_mark(
                actor=city_admin, kind=SessionKind.PROGRAMME, session=session, marks=marks, now=after
            )
