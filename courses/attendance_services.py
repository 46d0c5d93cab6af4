"""Attendance per session, leave (请假) and no-shows (无故未参训): one function per state change.

A course's provider (or the city) marks its sessions, the city marks its programmes' sessions:
present, absent or excused, on a page or from a sheet. A registered teacher absent without
approved leave is a no-show, and what follows is the city's ``NoShowPolicy`` (read at request
time by courses.attendance_selectors). Attendance is accepted only within the period's training
dates (``TrainingPeriod.training_dates_refusal``); after them a city admin may accept it with a
reason, audited. Every step writes an ``HoursAuditEntry`` and notifies whom it concerns.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.attendance_selectors import no_show_policy_for
from courses.models import Attendance, AttendanceStatus, LeaveRequest, LeaveState
from courses.sessions import session_spec, session_starts_at
from credits.models import HoursAuditAction, HoursAuditEntry
from portal import idcard
from portal.importing import Column, ImportResult, choice, read_table, text
from portal.models import Role, RoleAssignment, Teacher, User
from portal.notifications import notify
from portal.scoping import scope_for

KIND_NO_SHOW = "attendance.no_show"
KIND_LEAVE = "attendance.leave"
STATUS_WORDS = {"出勤": AttendanceStatus.PRESENT, "缺勤": AttendanceStatus.ABSENT, "请假": AttendanceStatus.EXCUSED}


class AttendanceRefused(Exception):
    """A rule refused the action; ``str(exc)`` says what happened and what to do."""


@dataclass
class MarkResult:
    present: int = 0
    absent: int = 0
    excused: int = 0
    late: bool = False


def _audit(
    actor: User, action: str, subject: str, subject_id: int, unit_id: int | None, now: dt.datetime, **kw: Any
) -> HoursAuditEntry:
    comment = kw.pop("comment", "")
    return HoursAuditEntry(
        subject=subject,
        subject_id=subject_id,
        unit_id=unit_id,
        actor=actor,
        actor_name=actor.name,
        action=action,
        comment=comment,
        data=kw,
        created_at=now,
    )


def _day(value: dt.date) -> str:
    return f"{value:%Y-%m-%d}"


def attendance_may_mark(actor: User, kind: str, session: Any) -> bool:
    spec = session_spec(kind)
    return spec.model.objects.filter(spec.markers_q(scope_for(actor)), pk=session.pk).exists()  # type: ignore[attr-defined]


def _check_dates(actor: User, period: Any, now: dt.datetime, late_reason: str) -> bool:
    """True when the mark is a late one a city admin accepts; AttendanceRefused outside the dates otherwise."""
    refusal = period.training_dates_refusal(timezone.localdate(now))
    if refusal is None:
        return False
    if not scope_for(actor).reaches(period.city, roles=(Role.CITY_ADMIN,)):
        raise AttendanceRefused(refusal)
    if not late_reason.strip():
        raise AttendanceRefused(refusal + _("请填写逾期受理的原因。"))
    return True


def no_show_consequence(teacher_unit: Any, session_date: dt.date) -> str:
    """What the city's policy makes of a no-show on ``session_date``, as a sentence (empty when nothing follows)."""
    from courses.attendance_selectors import add_months

    policy = no_show_policy_for(teacher_unit)
    if policy is None:
        return ""
    parts = []
    if policy.withhold_session_hours:
        parts.append(_("该课次的学时不予记入"))
    if policy.programme_ban_months:
        parts.append(
            _("%(until)s 前不能报名专项培训") % {"until": _day(add_months(session_date, policy.programme_ban_months))}
        )
    return "；".join(parts)


def attendance_mark(
    *, actor: User, kind: str, session: Any, marks: Mapping[int, str], now: dt.datetime, late_reason: str = ""
) -> MarkResult:
    """Record the attendance of registered teachers at one session (teacher id -> status), replacing earlier marks.

    Checks: the actor takes this session's attendance; the session has begun; today lies within
    the period's training dates (a city admin may accept a late one with ``late_reason``); every
    teacher is registered. An absence with approved leave is recorded as excused.
    Side effects: one upsert of all rows, one ATTENDANCE (or ATTENDANCE_LATE) audit entry, one
    notice to the no-shows saying what follows. A fixed number of queries.
    """
    spec = session_spec(kind)
    if not attendance_may_mark(actor, kind, session):
        raise PermissionDenied
    if session.date > timezone.localdate(now):
        raise AttendanceRefused(_("该课次在 %(day)s，尚未开始，不能登记考勤。") % {"day": _day(session.date)})
    period = spec.period(session)
    late = _check_dates(actor, period, now, late_reason)
    unknown = {v for v in marks.values()} - set(AttendanceStatus.values)
    if unknown:
        raise AttendanceRefused(_("未知的考勤状态：%(v)s") % {"v": "、".join(sorted(unknown))})
    registered = {
        pk: (unit_id, user_id)
        for pk, unit_id, user_id in spec.registered(session).values_list("pk", "unit_id", "user_id")
    }
    outsiders = set(marks) - set(registered)
    if outsiders:
        raise AttendanceRefused(_("有 %(n)d 人不是该课次的学员，未做任何修改。") % {"n": len(outsiders)})
    excused = set(
        LeaveRequest.objects.filter(
            session_kind=kind, session_id=session.pk, state=LeaveState.APPROVED, teacher_id__in=list(marks)
        ).values_list("teacher_id", flat=True)
    )
    result = MarkResult(late=late)
    rows = []
    for teacher_id, status in sorted(marks.items()):
        if status == AttendanceStatus.ABSENT and teacher_id in excused:
            status = AttendanceStatus.EXCUSED
        setattr(result, status, getattr(result, status) + 1)
        rows.append(
            Attendance(
                session_kind=kind,
                session_id=session.pk,
                teacher_id=teacher_id,
                school_id=registered[teacher_id][0],
                period=period,
                session_date=session.date,
                status=status,
                marked_by=actor,
                marked_at=now,
            )
        )
    title = spec.title(session)
    with transaction.atomic():
        Attendance.objects.bulk_create(
            rows,
            update_conflicts=True,
            unique_fields=["session_kind", "session_id", "teacher"],
            update_fields=["status", "marked_by", "marked_at", "school", "period", "session_date"],
            batch_size=1000,
        )
        _audit(
            actor,
            HoursAuditAction.ATTENDANCE_LATE if late else HoursAuditAction.ATTENDANCE,
            "attendance",
            session.pk,
            period.city_id,
            now,
            comment=late_reason.strip() if late else "",
            kind=kind,
            present=result.present,
            absent=result.absent,
            excused=result.excused,
        ).save()
        absent_users = [
            registered[r.teacher_id][1]
            for r in rows
            if r.status == AttendanceStatus.ABSENT and registered[r.teacher_id][1]
        ]
        if absent_users:
            consequence = no_show_consequence(period.city, session.date)
            notify(
                absent_users,
                KIND_NO_SHOW,
                _("无故未参训：%(title)s（%(day)s）") % {"title": title, "day": _day(session.date)},
                _("您报名了该课次但未参加，也没有获批的请假。") + (consequence + "。" if consequence else ""),
                reverse("courses:my_sessions"),
                dedup_key=f"no-show:{kind}:{session.pk}",
            )
    return result


def _parse_id(value: Any) -> str:
    try:
        return idcard.check(value).number
    except idcard.IdNumberError as exc:
        raise ValueError(str(exc)) from None


ATTENDANCE_COLUMNS = [
    Column("id_number", "身份证号", aliases=("身份证号码", "证件号码"), parse=_parse_id),
    Column("name", "姓名", parse=text(50)),
    Column("status", "考勤", aliases=("出勤情况", "考勤情况"), parse=choice(STATUS_WORDS, "考勤")),
]


def attendance_import(
    file: Any, *, actor: User, kind: str, session: Any, now: dt.datetime, late_reason: str = "", dry_run: bool = False
) -> ImportResult:
    """A sheet of attendance (身份证号, 姓名, 考勤: 出勤/缺勤/请假) for one session, all or nothing.

    Row errors name a number that is not a registered learner of the session, a name that does
    not match, or a teacher listed twice; when every row is right, ``attendance_mark`` records them.
    """
    if not attendance_may_mark(actor, kind, session):
        raise PermissionDenied
    table = read_table(file, ATTENDANCE_COLUMNS)
    table.check_unique("id_number", _("与第 %(row)d 行重复，同一教师只能出现一次"))
    recs = list(table.records())
    registered = {
        t.id_number: t
        for t in session_spec(kind)
        .registered(session)
        .filter(id_number__in={r["id_number"] for r in recs})
        .only("pk", "name", "id_number")
    }
    marks: dict[int, str] = {}
    for rec in recs:
        teacher = registered.get(rec["id_number"])
        if teacher is None:
            table.add_error(rec.index, "id_number", _("不是该课次的学员，请核对"))
        elif teacher.name != rec["name"]:
            table.add_error(rec.index, "name", _("与身份证号不符：登记的姓名是“%(name)s”") % {"name": teacher.name})
        else:
            marks[teacher.pk] = rec["status"]
    table.sort_errors()
    result = ImportResult(errors=table.errors, dry_run=dry_run)
    if result.errors or dry_run:
        return result
    marked = attendance_mark(actor=actor, kind=kind, session=session, marks=marks, now=now, late_reason=late_reason)
    result.updated = marked.present + marked.absent + marked.excused
    result.written = True
    return result


# --- leave ----------------------------------------------------------------------------------------------------------


def leave_request(*, actor: User, kind: str, session: Any, reason: str, now: dt.datetime) -> LeaveRequest:
    """The teacher asks for leave from a session she must attend, before it begins, with a reason.

    A refused request may be made again. Side effects: the request (created, or reopened),
    a LEAVE_REQUEST audit entry, a notice to her school's admins.
    """
    teacher = scope_for(actor).teacher
    spec = session_spec(kind)
    if teacher is None or not spec.registered(session).filter(pk=teacher.pk).exists():
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise AttendanceRefused(_("请填写请假原因。"))
    starts = session_starts_at(session)
    if now >= starts:
        raise AttendanceRefused(
            _("该课次已于 %(at)s 开始，不能再请假。") % {"at": f"{timezone.localtime(starts):%Y-%m-%d %H:%M}"}
        )
    title = spec.title(session)
    values = dict(
        school=teacher.unit,
        session_title=f"{title}（{_day(session.date)}）"[:200],
        session_starts_at=starts,
        reason=reason,
        state=LeaveState.REQUESTED,
        requested_at=now,
        decided_by=None,
        decided_at=None,
        decision_note="",
    )
    with transaction.atomic():
        existing = LeaveRequest.objects.filter(session_kind=kind, session_id=session.pk, teacher=teacher).first()
        if existing is None:
            leave = LeaveRequest.objects.create(session_kind=kind, session_id=session.pk, teacher=teacher, **values)
        elif existing.state == LeaveState.REFUSED:
            LeaveRequest.objects.filter(pk=existing.pk, state=LeaveState.REFUSED).update(**values)
            leave = LeaveRequest.objects.get(pk=existing.pk)
        else:
            raise AttendanceRefused(_("您已为该课次请过假（%(s)s）。") % {"s": existing.get_state_display()})
        _audit(actor, HoursAuditAction.LEAVE_REQUEST, "leave", leave.pk, teacher.unit_id, now, comment=reason).save()
        notify(
            list(
                RoleAssignment.objects.filter(role=Role.SCHOOL_ADMIN, unit_id=teacher.unit_id).values_list(
                    "user_id", flat=True
                )
            ),
            KIND_LEAVE,
            _("请假待批准：%(name)s") % {"name": teacher.name},
            _("%(title)s；原因：%(r)s") % {"title": leave.session_title, "r": reason},
            reverse("courses:leave_list"),
        )
    return leave


def leave_decide(*, actor: User, leave: LeaveRequest, approve: bool, note: str, now: dt.datetime) -> None:
    """The school admin approves or refuses a leave request. An approved one turns a no-show already
    recorded for that session into an excused absence.

    Side effects: conditional update of the request, possibly of the attendance row, an audit entry,
    a notice to the teacher.
    """
    if not scope_for(actor).reaches(leave.school, roles=(Role.SCHOOL_ADMIN,)):
        raise PermissionDenied
    note = (note or "").strip()
    if not approve and not note:
        raise AttendanceRefused(_("不批准时请填写原因，教师会看到这条原因。"))
    state = LeaveState.APPROVED if approve else LeaveState.REFUSED
    with transaction.atomic():
        changed = LeaveRequest.objects.filter(pk=leave.pk, state=LeaveState.REQUESTED).update(
            state=state, decided_by=actor, decided_at=now, decision_note=note[:200]
        )
        if changed != 1:
            raise AttendanceRefused(_("该请假已处理过。"))
        if approve:
            Attendance.objects.filter(
                session_kind=leave.session_kind,
                session_id=leave.session_id,
                teacher_id=leave.teacher_id,
                status=AttendanceStatus.ABSENT,
            ).update(status=AttendanceStatus.EXCUSED)
        action = HoursAuditAction.LEAVE_APPROVE if approve else HoursAuditAction.LEAVE_REFUSE
        _audit(actor, action, "leave", leave.pk, leave.school_id, now, comment=note).save()
        user_id = Teacher.objects.filter(pk=leave.teacher_id).values_list("user_id", flat=True).first()
        if user_id:
            notify(
                [user_id],
                KIND_LEAVE,
                (_("请假已批准：%(t)s") if approve else _("请假未批准：%(t)s")) % {"t": leave.session_title},
                note,
                reverse("courses:my_sessions"),
            )
    leave.state = state
