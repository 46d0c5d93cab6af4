"""Home cards of attendance: a teacher's coming sessions and leave, a school's leave requests and no-shows."""

from __future__ import annotations

import datetime as dt

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import Role
from portal.registry import HomeCard

from .attendance_selectors import no_show_policy_for, programme_ban
from .models import Attendance, AttendanceStatus, LeaveRequest, LeaveState


def attendance_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if scope.teacher is not None:
        ban = programme_ban(scope.teacher, now)
        if ban is not None:
            cards.append(
                HomeCard(
                    role=Role.TEACHER,
                    title=_("无故未参训"),
                    text=ban.message,
                    url=reverse("courses:my_sessions"),
                    link_label=_("查看课次"),
                    level="danger",
                    order=6,
                )
            )
    for school in scope.units.get(Role.SCHOOL_ADMIN, ()):
        waiting = LeaveRequest.objects.filter(school=school, state=LeaveState.REQUESTED).count()
        if waiting:
            cards.append(
                HomeCard(
                    role=Role.SCHOOL_ADMIN,
                    title=_("请假待批准"),
                    text=_("%(n)d 份请假等待批准。") % {"n": waiting},
                    url=reverse("courses:leave_list"),
                    link_label=_("去审批"),
                    count=waiting,
                    level="warning",
                    order=16,
                )
            )
        policy = no_show_policy_for(school)
        if policy is None or policy.count_in_statistics:
            since = dt.date(timezone.localdate(now).year, 1, 1)
            n = Attendance.objects.filter(
                school=school, status=AttendanceStatus.ABSENT, session_date__gte=since
            ).count()
            if n:
                cards.append(
                    HomeCard(
                        role=Role.SCHOOL_ADMIN,
                        title=_("本校无故未参训"),
                        text=_("今年本校教师无故未参训 %(n)d 人次。") % {"n": n},
                        url=reverse("courses:no_shows"),
                        link_label=_("查看"),
                        count=n,
                        level="danger",
                        order=17,
                    )
                )
    return cards
