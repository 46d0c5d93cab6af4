"""Course selection (选课): every state change of an selection or a waiting-list place.

Each function takes ``now`` so the windows are checked at request time and
tests can pin the clock. Seats are scarce: the course row is locked
(``portal.locking``) inside the transaction that counts and inserts, with a
lock timeout so a crowd gets "请稍后重试" (LockBusy) instead of a hung request.
"""

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal

from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from courses.models import (
    Course,
    CourseSelection,
    CourseSession,
    CourseStatus,
    SelectionPhase,
    SelectionStatus,
    TrainingPeriod,
    WaitlistEntry,
    WaitlistStatus,
    ledger_reference,
)
from portal.locking import lock_row, lock_rows
from portal.models import Teacher, TeacherStatus, User
from portal.notifications import notify


class SelectionError(Exception):
    """A refusal; the message is a complete Chinese sentence for the teacher."""


@dataclass(frozen=True)
class SelectionResult:
    selection: CourseSelection | None = None
    waitlist_entry: WaitlistEntry | None = None
    position: int | None = None  # place in the waiting list, 1 = next

    @property
    def waitlisted(self) -> bool:
        return self.waitlist_entry is not None

    @property
    def message(self) -> str:
        if self.selection:
            return _("已选课程《%(title)s》") % {"title": self.selection.course.title}
        if self.waitlist_entry is None:
            raise ValueError("a selection result holds a selection or a waiting-list place")
        return _("课程《%(title)s》名额已满，您已进入候补名单第 %(n)d 位；有空位时将自动为您选上并通知您") % {
            "title": self.waitlist_entry.course.title,
            "n": self.position,
        }


# --- checks ---------------------------------------------------------------------------------------


def _check_teacher(teacher: Teacher, period: TrainingPeriod) -> None:
    if teacher.status == TeacherStatus.RETIRED:
        raise SelectionError(_("您的人事状态为“退休”，不能选课；如有误请联系学校继续教育管理员更正"))
    if teacher.status == TeacherStatus.TRANSFERRED:
        raise SelectionError(_("您的人事状态为“调出”，不能在原单位选课；请联系新单位的管理员办理调入"))
    if teacher.status != TeacherStatus.ACTIVE:
        raise SelectionError(_("只有在职教师可以选课"))
    if not teacher.unit.is_within(period.city):
        raise SelectionError(
            _("本课程属于%(city)s的“%(period)s”，只有%(city)s的在职教师可以选")
            % {"city": period.city.name, "period": period.name}
        )


def _check_window(period: TrainingPeriod, now: datetime, dropping: bool = False) -> None:
    phase = period.selection_phase(now)
    if phase == SelectionPhase.BEFORE:
        raise SelectionError(_("选课尚未开始，开始时间为 %(at)s") % {"at": _local(period.selection_opens_at)})
    if phase == SelectionPhase.CLOSED:
        raise SelectionError(_("选课已于 %(at)s 截止") % {"at": _local(period.selection_window_end)})
    if dropping and not period.can_drop(now):
        raise SelectionError(_("补选阶段只能增选课程，不能退选"))


def _local(value: datetime) -> str:
    """Date and time in Asia/Shanghai, in the user's language's format."""
    from django.utils import timezone
    from django.utils.formats import date_format

    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _check_course(course: Course) -> None:
    if course.status != CourseStatus.PUBLISHED:
        raise SelectionError(_("该课程尚未发布，暂不能选"))


def _overlapping_course(teacher: Teacher, course: Course) -> Course | None:
    """Another live offline/mixed course of the teacher whose sessions overlap this course's (one query)."""
    if not course.has_sessions:
        return None
    sessions = list(course.sessions.all())
    if not sessions:
        return None
    clash = Q(pk__in=[])
    for s in sessions:
        clash |= Q(date=s.date, starts_at__lt=s.ends_at, ends_at__gt=s.starts_at)
    other = (
        CourseSession.objects.filter(clash)
        .filter(
            course__selections__teacher=teacher,
            course__selections__status=SelectionStatus.SELECTED,
            course__period_id=course.period_id,
        )
        .exclude(course=course)
        .select_related("course")
        .first()
    )
    return other.course if other else None


def _lock_course(course_id: int) -> Course:
    """The course row (only it: not its period or city), locked until the transaction ends.

    Raises LockBusy when a crowd holds it longer than the lock timeout.
    """
    return lock_row(Course.objects.select_related("period__city"), course_id)


# --- maintaining courses --------------------------------------------------------------------------


def course_save(course: Course, fields: list[str]) -> Course:
    """Insert a new course, or write ``fields`` of an existing one under its row lock.

    The seat counter is never written from a form (a teacher may have selected since the
    form was loaded); a capacity below the live count is refused. Call inside a transaction.
    Side effects: one INSERT or one UPDATE of the course row.
    """
    if course.pk is None:
        course.save()
        return course
    locked = _lock_course(course.pk)
    if course.capacity is not None and course.capacity < locked.enrolled_count:
        raise SelectionError(_("已有 %(n)d 人选课，名额不能少于已选人数") % {"n": locked.enrolled_count})
    course.enrolled_count = locked.enrolled_count
    course.save(update_fields=[*fields, "updated_at"])
    return course


# --- selecting and dropping -----------------------------------------------------------------------


def course_select(teacher: Teacher, course: Course, now: datetime) -> SelectionResult:
    """Select ``course`` for ``teacher``, or put her on the waiting list when it is full.

    Side effects: inserts an CourseSelection and increments ``course.enrolled_count``
    (or inserts a WaitlistEntry), all in one transaction under the course lock.
    Raises SelectionError with the reason when the teacher may not select it.
    """
    period = course.period
    _check_teacher(teacher, period)
    _check_window(period, now)
    _check_course(course)
    with transaction.atomic():
        if course.has_sessions:
            # Two offline courses selected at once by the same person must see each other: lock her first
            # (teacher before course, always in this order).
            lock_rows(Teacher.objects.filter(pk=teacher.pk))
        locked = _lock_course(course.pk)
        live = CourseSelection.objects.filter(teacher=teacher, course=locked, status__in=("selected", "completed"))
        if live.exists():
            raise SelectionError(_("您已选过课程《%(title)s》，不能重复选") % {"title": locked.title})
        waiting = WaitlistEntry.objects.filter(teacher=teacher, course=locked, status=WaitlistStatus.WAITING).first()
        if waiting:
            raise SelectionError(
                _("您已在课程《%(title)s》的候补名单中（第 %(n)d 位）")
                % {"title": locked.title, "n": waitlist_position(waiting)}
            )
        other = _overlapping_course(teacher, locked)
        if other:
            raise SelectionError(_("与已选的线下课程《%(other)s》上课时间冲突，不能同时选") % {"other": other.title})
        if locked.is_full:
            entry = WaitlistEntry.objects.create(teacher=teacher, course=locked, created_at=now)
            return SelectionResult(waitlist_entry=entry, position=waitlist_position(entry))
        selection = CourseSelection.objects.create(teacher=teacher, course=locked, period=period, selected_at=now)
        Course.objects.filter(pk=locked.pk).update(enrolled_count=F("enrolled_count") + 1)
    return SelectionResult(selection=selection)


def course_drop(teacher: Teacher, course: Course, now: datetime) -> CourseSelection:
    """Drop the teacher's selection of ``course`` and hand the seat to the first in line.

    Side effects: marks the CourseSelection dropped, decrements ``enrolled_count``,
    promotes waiting teachers (``waitlist_promote``) and notifies them, in one
    transaction under the course lock.
    """
    period = course.period
    _check_window(period, now, dropping=True)
    with transaction.atomic():
        locked = _lock_course(course.pk)
        selection = CourseSelection.objects.filter(
            teacher=teacher, course=locked, status=SelectionStatus.SELECTED
        ).first()
        if selection is None:
            if CourseSelection.objects.filter(
                teacher=teacher, course=locked, status=SelectionStatus.COMPLETED
            ).exists():
                raise SelectionError(_("课程《%(title)s》已完成学习，不能退选") % {"title": locked.title})
            raise SelectionError(_("您没有选过课程《%(title)s》") % {"title": locked.title})
        CourseSelection.objects.filter(pk=selection.pk).update(status=SelectionStatus.DROPPED, dropped_at=now)
        Course.objects.filter(pk=locked.pk).update(enrolled_count=F("enrolled_count") - 1)
        locked.enrolled_count -= 1
        _promote_locked(locked, now)
    selection.status, selection.dropped_at = SelectionStatus.DROPPED, now
    return selection


def waitlist_leave(teacher: Teacher, course: Course, now: datetime) -> None:
    """Take the teacher off the course's waiting list. Side effect: one conditional update."""
    updated = WaitlistEntry.objects.filter(teacher=teacher, course=course, status=WaitlistStatus.WAITING).update(
        status=WaitlistStatus.LEFT, closed_at=now
    )
    if not updated:
        raise SelectionError(_("您不在课程《%(title)s》的候补名单中") % {"title": course.title})


def waitlist_position(entry: WaitlistEntry) -> int:
    return (
        WaitlistEntry.objects.filter(course_id=entry.course_id, status=WaitlistStatus.WAITING)
        .filter(Q(created_at__lt=entry.created_at) | Q(created_at=entry.created_at, pk__lte=entry.pk))
        .count()
    )


def waitlist_promote(course: Course, now: datetime) -> list[CourseSelection]:
    """Give free seats to the first teachers in line while the period's selection is open.

    Side effects: inserts Selections, marks their WaitlistEntries promoted,
    notifies each promoted teacher on commit; entries of teachers who may no
    longer select (retired, clashing course) are closed with a note. Returns
    the new selections (none outside the window).
    """
    if not course.period.is_selection_open(now):
        return []
    with transaction.atomic():
        locked = _lock_course(course.pk)
        return _promote_locked(locked, now)


def _promote_locked(course: Course, now: datetime) -> list[CourseSelection]:
    if not course.period.is_selection_open(now):
        return []
    promoted: list[CourseSelection] = []
    queue = (
        WaitlistEntry.objects.filter(course=course, status=WaitlistStatus.WAITING)
        .select_related("teacher__unit", "teacher__user")
        .order_by("created_at", "pk")
    )
    free = None if course.capacity is None else course.capacity - course.enrolled_count
    for entry in queue.iterator(chunk_size=50):
        if free is not None and free <= 0:
            break
        teacher = entry.teacher
        reason = _promotion_refusal(teacher, course)
        if reason:
            WaitlistEntry.objects.filter(pk=entry.pk).update(
                status=WaitlistStatus.RELEASED, closed_at=now, note=reason[:200]
            )
            continue
        selection = CourseSelection.objects.create(
            teacher=teacher, course=course, period=course.period, selected_at=now, from_waitlist=True
        )
        WaitlistEntry.objects.filter(pk=entry.pk).update(status=WaitlistStatus.PROMOTED, closed_at=now)
        course.enrolled_count += 1
        if free is not None:
            free -= 1
        promoted.append(selection)
        if teacher.user_id:
            notify(
                [teacher.user_id],
                "course_waitlist_promoted",
                _("候补成功：%(title)s") % {"title": course.title},
                _("课程《%(title)s》有了空位，已按候补顺序自动为您选上。") % {"title": course.title},
                url=reverse("courses:course_detail", args=[course.pk]),
                dedup_key=f"waitlist-promoted:{entry.pk}",
            )
    if promoted:
        Course.objects.filter(pk=course.pk).update(enrolled_count=F("enrolled_count") + len(promoted))
    return promoted


def _promotion_refusal(teacher: Teacher, course: Course) -> str:
    try:
        _check_teacher(teacher, course.period)
    except SelectionError as exc:
        return str(exc)
    if CourseSelection.objects.filter(teacher=teacher, course=course, status__in=("selected", "completed")).exists():
        return _("已选该课程")
    other = _overlapping_course(teacher, course)
    if other:
        return _("与已选的线下课程《%(other)s》上课时间冲突") % {"other": other.title}
    return ""


def waitlist_release_closed(now: datetime) -> int:
    """After a period's selection windows have ended, close its remaining waiting-list places.

    Idempotent (a conditional update claims the rows; the notice carries a dedup
    key), so the sweep may run any number of times. Side effects: marks entries
    released and notifies their teachers on commit. Returns how many were released.
    """
    ended = [p.pk for p in TrainingPeriod.objects.all() if p.selection_window_end <= now]
    if not ended:
        return 0
    candidates = list(
        WaitlistEntry.objects.filter(course__period_id__in=ended, status=WaitlistStatus.WAITING).values_list(
            "pk", "teacher__user_id", "course__title"
        )
    )
    if not candidates:
        return 0
    with transaction.atomic():
        released = WaitlistEntry.objects.filter(
            pk__in=[c[0] for c in candidates], status=WaitlistStatus.WAITING
        ).update(status=WaitlistStatus.RELEASED, closed_at=now, note=_("选课结束，候补未转正"))
        for pk, user_id, title in candidates:
            if user_id:
                notify(
                    [user_id],
                    "course_waitlist_released",
                    _("候补未成功：%(title)s") % {"title": title},
                    _("选课已结束，课程《%(title)s》没有空出名额，您的候补登记已取消。") % {"title": title},
                    dedup_key=f"waitlist-released:{pk}",
                )
    return released


# --- completion -----------------------------------------------------------------------------------


def selection_complete(selection: CourseSelection, actor: User, now: datetime) -> bool:
    """Mark a selected course completed and record its hours in the teacher's ledger, once.

    Only staff of the course's provider or an admin of the period's city may do it. Where the
    city withholds the hours of sessions missed without leave (courses.attendance_selectors),
    they are not granted. Side effects: one conditional update of the selection, one credit
    entry (reference ``ledger_reference(id)``; none when every hour is withheld). Returns False
    when it was already completed.
    """
    from courses.attendance_selectors import hours_withheld
    from credits.models import Source
    from credits.services import credit_entry_record
    from portal.models import Role
    from portal.scoping import scope_for

    course = selection.course
    scope = scope_for(actor)
    allowed = course.provider_id in scope.provider_ids or scope.reaches(course.period.city, roles=(Role.CITY_ADMIN,))
    if not allowed:
        raise SelectionError(_("只有施教机构或市级管理员可以登记完成"))
    with transaction.atomic():
        claimed = CourseSelection.objects.filter(pk=selection.pk, status=SelectionStatus.SELECTED).update(
            status=SelectionStatus.COMPLETED, completed_at=now, completed_by=actor
        )
        if not claimed:
            if selection.status == SelectionStatus.DROPPED:
                raise SelectionError(_("该选课已退选，不能登记完成"))
            return False
        withheld = hours_withheld([selection]).get(selection.pk, Decimal(0))
        if withheld >= course.hours:
            selection.status, selection.completed_at, selection.completed_by = SelectionStatus.COMPLETED, now, actor
            return True
        reason = f"{course.code} {course.title}"
        if withheld:
            reason += _("（无故未参训，扣除 %(h)s 学时）") % {"h": f"{withheld.normalize():f}"}
        credit_entry_record(
            teacher=selection.teacher,
            year=course.period.year,
            category=course.category,
            hours=course.hours - withheld,
            kind=course.kind,
            topics=[t.code for t in course.topics.all()],
            source=Source.COURSE,
            reference=ledger_reference(selection.pk),
            actor=actor,
            reason=reason,
            now=now,
        )
    selection.status, selection.completed_at, selection.completed_by = SelectionStatus.COMPLETED, now, actor
    return True
