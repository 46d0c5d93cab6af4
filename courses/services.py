"""Course selection (选课): every state change of an selection or a waiting-list place.

Each function takes ``now`` so the windows are checked at request time and
tests can pin the clock. Seats are scarce: the course row is locked
(``portal.locking``) inside the transaction that counts and inserts, with a
lock timeout so a crowd gets "请稍后重试" (LockBusy) instead of a hung request.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from courses.models import (
    LIVE_AGREEMENT_STATES,
    UPLOADABLE_AGREEMENT_STATES,
    Agreement,
    AgreementState,
    AgreementVersion,
    ApprovalLevel,
    Course,
    CourseOffer,
    CourseSelection,
    CourseSession,
    CourseStatus,
    FeePayer,
    LateRegistration,
    OfferStatus,
    OfferVersion,
    OutcomeCompilation,
    ParticipantFormSend,
    Payer,
    Provider,
    ProviderStaff,
    SelectionPhase,
    SelectionStatus,
    TrainingPeriod,
    WaitlistEntry,
    WaitlistStatus,
    ledger_reference,
)
from credits.models import Category
from credits.rule_engine import fmt_hours
from portal.locking import lock_row, lock_rows
from portal.models import EMPLOYER_KINDS, Role, RoleAssignment, Stage, Teacher, TeacherStatus, Unit, UnitKind, User
from portal.notifications import notify
from portal.scoping import scope_for
from portal.uploads import document_kind

# Notification kinds of the school–provider workflow (registered in CoursesConfig.ready).
KIND_OFFER_SUBMITTED = "offer_submitted"
KIND_OFFER_DECIDED = "offer_decided"
KIND_AGREEMENT_CHOSEN = "agreement_chosen"
KIND_AGREEMENT_UPLOADED = "agreement_uploaded"
KIND_AGREEMENT_DECIDED = "agreement_decided"
KIND_PARTICIPANTS_SENT = "participants_sent"
KIND_LATE_REGISTRATION = "late_registration"
KIND_OUTCOMES_UPLOADED = "outcomes_uploaded"


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
    from django.utils.formats import date_format

    return date_format(timezone.localtime(value), "DATETIME_FORMAT")


def _check_course(course: Course) -> None:
    if course.status != CourseStatus.PUBLISHED:
        raise SelectionError(_("该课程尚未发布，暂不能选"))


def _check_partnership(teacher: Teacher, course: Course) -> None:
    """Where the period asks for it: only courses of approved offers (立项) for the teacher's area, and only
    of a provider the teacher's school chose."""
    period = course.period
    if period.offers_required:
        offer = course.offer
        if offer is None or offer.status != OfferStatus.APPROVED:
            raise SelectionError(_("该课程所属的课程方案尚未立项，暂不能选"))
        if not teacher.unit.is_within(offer.area):
            raise SelectionError(_("该项目面向%(area)s，只有%(area)s的教师可以选") % {"area": offer.area.name})
    if period.uses_school_providers:
        chosen = dict(
            Agreement.objects.filter(
                period=period, school_id=teacher.unit_id, state__in=LIVE_AGREEMENT_STATES
            ).values_list("provider_id", "provider__name")
        )
        if not chosen:
            raise SelectionError(_("贵校本期尚未选择施教机构，请联系学校继续教育管理员选择后再选课"))
        if course.provider_id not in chosen:
            raise SelectionError(
                _("贵校本期合作的施教机构是%(names)s，只能选其课程") % {"names": "、".join(chosen.values())}
            )


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
    _check_partnership(teacher, course)
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
        _check_partnership(teacher, course)
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


def creditable_refusal(selection: CourseSelection, course: Course) -> str:
    """Why the selection may not earn hours yet ("" if it may): an offer not approved, or a school that
    did not choose the course's provider, where the period asks for them."""
    period = course.period
    if period.offers_required and (course.offer is None or course.offer.status != OfferStatus.APPROVED):
        return _("课程 %(code)s 所属的课程方案尚未立项，不能登记学时") % {"code": course.code}
    if period.uses_school_providers:
        chose = Agreement.objects.filter(
            period=period,
            provider_id=course.provider_id,
            school_id=selection.teacher.unit_id,
            state__in=LIVE_AGREEMENT_STATES,
        ).exists()
        if not chose:
            return _("该教师所在学校本期没有选择本机构，不能登记学时")
    return ""


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

    course = selection.course
    scope = scope_for(actor)
    allowed = course.provider_id in scope.provider_ids or scope.reaches(course.period.city, roles=(Role.CITY_ADMIN,))
    if not allowed:
        raise SelectionError(_("只有施教机构或市级管理员可以登记完成"))
    refusal = creditable_refusal(selection, course)
    if refusal:
        raise SelectionError(refusal)
    try:
        late = registration_window_check(course.period, course.provider_id, now)
    except PartnershipError as exc:
        raise SelectionError(str(exc)) from None
    reason = f"{course.code} {course.title}"
    if late is not None:
        reason += _("（逾期登记，许可 #%(n)d）") % {"n": late.pk}
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


# --- the city's year: periods and providers -----------------------------------------------------------------------


class SetupRefused(Exception):
    """A set-up change a rule refuses; the message says what to do instead."""


def _require_city_admin(actor: User, city: Unit) -> None:
    if not scope_for(actor).reaches(city, roles=(Role.CITY_ADMIN,)):
        raise PermissionDenied


def period_save(period: TrainingPeriod, *, actor: User) -> TrainingPeriod:
    """Create or change one of the city's training periods.

    The city admin of the period's city only; the rule set must be the city's; a period
    stays in its city. Raises ValidationError by field (the model's checks of the windows).
    Side effect: one INSERT or UPDATE.
    """
    _require_city_admin(actor, period.city)
    if period.pk is not None and not TrainingPeriod.objects.filter(pk=period.pk, city_id=period.city_id).exists():
        raise PermissionDenied
    if period.rule_set is not None and period.rule_set.city_id != period.city_id:
        raise ValidationError({"rule_set": _("请选择%(city)s的学时规则") % {"city": period.city.name}})
    period.full_clean()
    period.save()
    return period


def fee_payers_set(period: TrainingPeriod, payers: dict[str, str], *, actor: User) -> None:
    """Who pays each category's training fees in one of the city's periods (``{category: payer}``).

    The city admin of the period's city only. Raises ValidationError by category for an unknown
    category or payer, and writes nothing then. Side effect: one row per category given, inserted
    or updated in one statement.
    """
    _require_city_admin(actor, period.city)
    categories = dict(Category.choices)
    errors = {
        category: _("请为%(category)s选择费用承担方") % {"category": categories.get(category, category)}
        for category, payer in payers.items()
        if category not in categories or payer not in Payer.values
    }
    if errors:
        raise ValidationError(errors)
    FeePayer.objects.bulk_create(
        [FeePayer(period=period, category=category, payer=payer) for category, payer in payers.items()],
        update_conflicts=True,
        unique_fields=["period", "category"],
        update_fields=["payer"],
    )


def provider_create(provider: Provider, *, actor: User, city: Unit) -> Provider:
    """A new provider serving ``city``. Side effects: Provider INSERT, its city link."""
    _require_city_admin(actor, city)
    provider.full_clean()
    with transaction.atomic():
        provider.save()
        provider.cities.add(city)
    return provider


def provider_city_add(*, actor: User, city: Unit, code: str) -> Provider:
    """An existing provider (found by its exact code) starts serving ``city``. Side effect: one link row."""
    _require_city_admin(actor, city)
    provider = Provider.objects.filter(code=code.strip(), is_active=True).first()
    if provider is None:
        raise SetupRefused(_("没有代码为“%(code)s”的施教机构；新机构请在右侧新建") % {"code": code.strip()})
    if provider.cities.filter(pk=city.pk).exists():
        raise SetupRefused(_("“%(name)s”已在为%(city)s服务") % {"name": provider.name, "city": city.name})
    provider.cities.add(city)
    return provider


def provider_city_remove(*, actor: User, city: Unit, provider: Provider, now: datetime) -> None:
    """``provider`` stops serving ``city``; refused while it has courses in one of the city's unfinished periods.

    Side effect: one link row deleted (its courses, selections and hours stay).
    """
    _require_city_admin(actor, city)
    open_courses = Course.objects.filter(
        provider=provider, period__city=city, period__training_ends_on__gte=timezone.localdate(now)
    ).count()
    if open_courses:
        raise SetupRefused(
            _("“%(name)s”在本市尚未结束的培训周期中还有 %(n)d 门课程，不能移除")
            % {"name": provider.name, "n": open_courses}
        )
    provider.cities.remove(city)


def _require_provider_admin(actor: User, provider: Provider) -> None:
    cities = [u.pk for u in scope_for(actor).units.get(Role.CITY_ADMIN, ())]
    if not provider.cities.filter(pk__in=cities).exists():
        raise PermissionDenied


def provider_staff_add(
    *, actor: User, provider: Provider, id_number: str, name: str, password: str = ""
) -> tuple[ProviderStaff, bool]:
    """Add the person with ``id_number`` and ``name`` to the provider's staff (an admin of a city it serves).

    Her login is found or made as ``portal.services.login_for`` (the name must match;
    a password only for a new login). Raises ValidationError by field. Returns (staff,
    created login). Side effects: User INSERT when new, ProviderStaff INSERT.
    """
    from portal.services import login_for

    _require_provider_admin(actor, provider)
    with transaction.atomic():
        user, created = login_for(id_number, name, password)
        if ProviderStaff.objects.filter(provider=provider, user=user).exists():
            raise ValidationError({"id_number": _("该身份证号已是本机构的工作人员")})
        staff = ProviderStaff.objects.create(provider=provider, user=user)
    return staff, created


def provider_staff_remove(*, actor: User, staff: ProviderStaff) -> None:
    """Take a person off the provider's staff (her login stays). Side effect: one DELETE."""
    _require_provider_admin(actor, staff.provider)
    ProviderStaff.objects.filter(pk=staff.pk).delete()


# --- the school–provider model: offers and their approval (立项) ---------------------------------------
#
# Switched on per period and configured as data (courses.models: OfferRule, OfferStageLevel, FeePayer,
# TrainingPeriod.school_providers / offers_required / agreement_due_on); nothing here knows a city.
# Every decision is kept where it was taken: an OfferVersion or AgreementVersion row written once (its
# decision fields filled by one conditional update while still empty), a LateRegistration row.


class PartnershipError(Exception):
    """A refusal in the school–provider workflow; the message is a complete Chinese sentence."""


class OfferRefused(PartnershipError):
    """An offer that breaks the period's rules: ``problems`` names each rule it breaks."""

    def __init__(self, problems: list[str]):
        self.problems = problems
        super().__init__("；".join(problems))


def _money(value: Decimal) -> str:
    return f"{value:.2f}"


def _is_staff_of(actor: User, provider_id: int) -> bool:
    from portal.scoping import scope_for

    return provider_id in scope_for(actor).provider_ids


def _provider_staff_ids(provider_id: int) -> list[int]:
    return list(
        ProviderStaff.objects.filter(provider_id=provider_id, user__is_active=True).values_list("user_id", flat=True)
    )


def _admin_ids(unit: Unit, role: Role) -> list[int]:
    return list(
        RoleAssignment.objects.filter(role=role, unit=unit, user__is_active=True).values_list("user_id", flat=True)
    )


def _level_role(unit: Unit) -> Role:
    """Who acts for a county-level center (its district admins) or for the city (its city admins)."""
    return Role.DISTRICT_ADMIN if unit.kind == UnitKind.DISTRICT else Role.CITY_ADMIN


def offer_save(offer: CourseOffer, *, stages: Iterable[Stage], actor: User) -> CourseOffer:
    """Create or change a draft (or returned) offer of the actor's provider. Call inside a transaction.

    Side effects: one INSERT or UPDATE of the offer and its stage links.
    """
    if not _is_staff_of(actor, offer.provider_id):
        raise PermissionDenied
    if offer.pk is not None:
        locked = lock_row(CourseOffer.objects.all(), offer.pk)
        if not locked.is_editable:
            raise PartnershipError(_("方案%(status)s，不能修改") % {"status": locked.get_status_display()})
    rule, period = offer.rule, offer.period
    if rule.period_id != period.pk:
        raise PartnershipError(_("课程类别不属于所选培训周期"))
    if not offer.area.is_within(period.city) or offer.area.kind not in (UnitKind.CITY, UnitKind.DISTRICT):
        raise PartnershipError(_("面向区域须为%(city)s或其下属区县") % {"city": period.city.name})
    if rule.plan_years is None:
        offer.plan_year = None
    offer.save()
    offer.stages.set(list(stages))
    return offer


def _offer_problems(offer: CourseOffer, courses: list[Course]) -> list[str]:
    """Each rule of the period the offer breaks, as a sentence naming the rule (empty: it may be submitted)."""
    rule, period = offer.rule, offer.period
    kind = rule.kind
    problems: list[str] = []
    if not courses:
        return [_("方案中还没有课程，请先添加课程")]
    if rule.plan_years and not (offer.plan_year and 1 <= offer.plan_year <= rule.plan_years):
        problems.append(_("请注明本方案是%(n)d年规划的第几年（1–%(n)d）") % {"n": rule.plan_years})
    total = sum((c.hours for c in courses), Decimal(0))
    if total < rule.min_hours:
        problems.append(
            _("课程总学时 %(total)s 少于本期%(kind)s要求的 %(min)s 学时")
            % {"total": fmt_hours(total), "kind": kind.name, "min": fmt_hours(rule.min_hours)}
        )
    covered = {t.pk for c in courses for t in c.topics.all()}
    for topic in rule.required_topics.all():
        if topic.pk not in covered:
            problems.append(_("缺少每年必含的专题“%(topic)s”") % {"topic": topic.name})
    allowed = {t.pk: t for t in rule.allowed_topics.all()}
    cap = period.max_fee_per_hour
    for course in courses:
        if course.kind_id != kind.pk:
            problems.append(_("课程《%(title)s》的学时类型应为“%(kind)s”") % {"title": course.title, "kind": kind.name})
        topics = list(course.topics.all())
        if allowed:
            outside = [t.name for t in topics if t.pk not in allowed]
            if not topics:
                problems.append(_("课程《%(title)s》没有标明专题模块") % {"title": course.title})
            elif outside:
                problems.append(
                    _("课程《%(title)s》的专题“%(topics)s”不在%(kind)s的专题模块内（可用：%(allowed)s）")
                    % {
                        "title": course.title,
                        "topics": "、".join(outside),
                        "kind": kind.name,
                        "allowed": "、".join(t.name for t in allowed.values()),
                    }
                )
        if cap is not None and course.fee_per_hour > cap:
            problems.append(
                _("课程《%(title)s》每学时收费 %(fee)s 元超过本期上限 %(max)s 元")
                % {"title": course.title, "fee": _money(course.fee_per_hour), "max": _money(cap)}
            )
    return problems


def _offer_content(offer: CourseOffer, courses: list[Course], total: Decimal) -> dict:
    """What was submitted, frozen in the version (names as well as codes: they may change later)."""
    return {
        "title": offer.title,
        "kind": offer.rule.kind.name,
        "plan_year": offer.plan_year,
        "stages": [s.name for s in offer.stages.all()],
        "area": offer.area.name,
        "total_hours": str(total),
        "courses": [
            {
                "code": c.code,
                "title": c.title,
                "hours": str(c.hours),
                "fee_per_hour": str(c.fee_per_hour),
                "topics": [t.name for t in c.topics.all()],
            }
            for c in courses
        ],
    }


def offer_submit(offer: CourseOffer, actor: User, now: datetime) -> OfferVersion:
    """Submit a draft or returned offer for approval at the level its stages map to.

    Refuses (OfferRefused, naming each rule) an offer that breaks the period's rules. Side effects,
    in one transaction under the offer's row lock: a new OfferVersion with the offer's content, the
    offer submitted with its approval level and approving unit, a notice to that unit's admins.
    """
    if not _is_staff_of(actor, offer.provider_id):
        raise PermissionDenied
    with transaction.atomic():
        locked = lock_row(CourseOffer.objects.select_related("rule__kind", "period__city", "area"), offer.pk)
        if not locked.is_editable:
            raise PartnershipError(_("方案%(status)s，不能再次提交") % {"status": locked.get_status_display()})
        courses = list(locked.courses.prefetch_related("topics").order_by("code"))
        problems = _offer_problems(locked, courses)
        stage_ids = list(locked.stages.values_list("pk", flat=True))
        level = locked.rule.level_for(stage_ids)
        if level == ApprovalLevel.DISTRICT and locked.area.kind != UnitKind.DISTRICT:
            problems.append(_("面向所选学段的项目由县级教育行政部门立项：请把面向区域选为一个区县"))
        if problems:
            raise OfferRefused(problems)
        approver = locked.area if level == ApprovalLevel.DISTRICT else locked.period.city
        total = sum((c.hours for c in courses), Decimal(0))
        number = locked.versions.count() + 1
        version = OfferVersion.objects.create(
            offer=locked,
            number=number,
            content=_offer_content(locked, courses, total),
            total_hours=total,
            submitted_by=actor,
            submitted_by_name=actor.name,
            submitted_at=now,
        )
        CourseOffer.objects.filter(pk=locked.pk).update(
            status=OfferStatus.SUBMITTED, approval_level=level, approver=approver, submitted_at=now, decided_at=None
        )
        offer.status, offer.approval_level, offer.approver, offer.submitted_at = (
            OfferStatus.SUBMITTED,
            level,
            approver,
            now,
        )
        notify(
            _admin_ids(approver, _level_role(approver)),
            KIND_OFFER_SUBMITTED,
            _("待立项：%(title)s") % {"title": locked.title},
            _("%(provider)s提交了课程方案《%(title)s》（第 %(n)d 版，%(hours)s 学时），请审批。")
            % {"provider": locked.provider.name, "title": locked.title, "n": number, "hours": fmt_hours(total)},
            url=reverse("courses:offer_detail", args=[locked.pk]),
            dedup_key=f"offer-submitted:{version.pk}",
        )
    return version


def offer_may_decide(offer: CourseOffer, actor: User) -> bool:
    """Whether ``actor`` holds the role that approves the offer at its level, over its approving unit."""
    from portal.scoping import scope_for

    approver = offer.approver
    if approver is None:
        return False
    return scope_for(actor).reaches(approver, roles=(_level_role(approver),))


def offer_approve(offer: CourseOffer, actor: User, now: datetime, comment: str = "") -> CourseOffer:
    """Approve (立项) a submitted offer: its courses are published and become selectable and creditable.

    Side effects: the version's decision (with the optional comment), the offer approved, its courses
    published, a notice to the provider's staff; one transaction under the offer's row lock.
    """
    return _offer_decide(offer, actor, OfferStatus.APPROVED, (comment or "").strip(), now)


def offer_return(offer: CourseOffer, actor: User, reason: str, now: datetime) -> CourseOffer:
    """Return a submitted offer with a reason; the provider may change and resubmit it (a new version).

    Side effects: the version's decision and reason, the offer returned, a notice to the provider's staff.
    """
    reason = (reason or "").strip()
    if not reason:
        raise PartnershipError(_("退回须填写原因"))
    return _offer_decide(offer, actor, OfferStatus.RETURNED, reason, now)


def _offer_decide(offer: CourseOffer, actor: User, decision: OfferStatus, reason: str, now: datetime) -> CourseOffer:
    from portal.scoping import scope_for

    with transaction.atomic():
        locked = lock_row(CourseOffer.objects.select_related("provider", "approver", "area"), offer.pk)
        if not offer_may_decide(locked, actor):
            scope = scope_for(actor)
            if locked.approval_level == ApprovalLevel.CITY and scope.reaches(locked.area, roles=(Role.DISTRICT_ADMIN,)):
                raise PartnershipError(_("本方案面向的学段须由市教育局立项，县级不能审批"))
            raise PermissionDenied
        if locked.status != OfferStatus.SUBMITTED:
            raise PartnershipError(_("方案%(status)s，不能再审批") % {"status": locked.get_status_display()})
        version = locked.versions.order_by("-number").first()
        claimed = version is not None and OfferVersion.objects.filter(pk=version.pk, decision="").update(
            decision=decision, reason=reason, decided_by=actor, decided_by_name=actor.name, decided_at=now
        )
        if not claimed or version is None:
            raise PartnershipError(_("该版本已有审批结果"))
        CourseOffer.objects.filter(pk=locked.pk).update(status=decision, decided_at=now)
        if decision == OfferStatus.APPROVED:
            Course.objects.filter(offer=locked).update(status=CourseStatus.PUBLISHED)
            title = _("已立项：%(title)s") % {"title": locked.title}
            body = _("课程方案《%(title)s》已立项，其中的课程已发布，可以选课。") % {"title": locked.title}
        else:
            title = _("方案退回：%(title)s") % {"title": locked.title}
            body = _("课程方案《%(title)s》被退回，原因：%(reason)s。修改后可重新提交。") % {
                "title": locked.title,
                "reason": reason,
            }
        notify(
            _provider_staff_ids(locked.provider_id),
            KIND_OFFER_DECIDED,
            title,
            body,
            url=reverse("courses:offer_detail", args=[locked.pk]),
            dedup_key=f"offer-decided:{version.pk}",
        )
    locked.status, locked.decided_at = decision, now
    return locked


# --- the school–provider model: a school's provider, agreement and its filing (备案) -------------------


def filing_unit_of(school: Unit) -> Unit:
    """The county-level center that files a school's agreement, or the city for schools directly under it (局直属)."""
    unit = school.ancestor_of_kind(UnitKind.DISTRICT) or school.ancestor_of_kind(UnitKind.CITY)
    if unit is None:
        raise PartnershipError(_("学校不在任何城市之下，无法确定备案单位"))
    return unit


def _check_school_admin(actor: User, school: Unit) -> None:
    from portal.scoping import scope_for

    if not scope_for(actor).reaches(school, roles=(Role.SCHOOL_ADMIN,)):
        raise PermissionDenied


def agreement_fee_check(period: TrainingPeriod, fee: Decimal | None) -> Decimal:
    """The agreed fee per person per hour, or PartnershipError naming the period's cap."""
    if fee is None:
        raise PartnershipError(_("请填写协商确定的每人每学时收费"))
    if fee < 0:
        raise PartnershipError(_("每人每学时收费不能为负数"))
    cap = period.max_fee_per_hour
    if cap is not None and fee > cap:
        raise PartnershipError(
            _("每人每学时收费 %(fee)s 元超过本期上限 %(max)s 元，请按不超过 %(max)s 元协商")
            % {"fee": _money(fee), "max": _money(cap)}
        )
    return fee


def agreement_choose(
    *, school: Unit, period: TrainingPeriod, provider: Provider, actor: User, now: datetime
) -> Agreement:
    """The school chooses ``provider`` for the period (one only, where the period says so).

    Side effects, in one transaction under the school's row lock (two admins choosing at once see
    each other): an Agreement waiting for its signed PDF, a notice to the provider's staff.
    """
    _check_school_admin(actor, school)
    if not period.uses_school_providers:
        raise PartnershipError(_("本期不采用学校选择施教机构的方式"))
    if school.kind not in EMPLOYER_KINDS or not school.is_within(period.city):
        raise PartnershipError(_("只有%(city)s的学校可以为本期选择施教机构") % {"city": period.city.name})
    if not provider.is_active or not provider.cities.filter(pk=period.city_id).exists():
        raise PartnershipError(
            _("“%(provider)s”不是%(city)s的施教机构") % {"provider": provider.name, "city": period.city.name}
        )
    filing_unit = filing_unit_of(school)
    with transaction.atomic():
        lock_rows(Unit.objects.filter(pk=school.pk))
        live = list(
            Agreement.objects.filter(period=period, school=school, state__in=LIVE_AGREEMENT_STATES).select_related(
                "provider"
            )
        )
        if any(a.provider_id == provider.pk for a in live):
            raise PartnershipError(_("贵校本期已选择“%(provider)s”") % {"provider": provider.name})
        if live and period.one_provider_per_school:
            raise PartnershipError(
                _("贵校本期已选择“%(provider)s”；每校只能选择一家施教机构，如需更换请先撤销原选择")
                % {"provider": live[0].provider.name}
            )
        agreement = Agreement.objects.create(
            period=period,
            school=school,
            provider=provider,
            filing_unit=filing_unit,
            chosen_by=actor,
            chosen_at=now,
            updated_at=now,
        )
        notify(
            _provider_staff_ids(provider.pk),
            KIND_AGREEMENT_CHOSEN,
            _("%(school)s选择了贵机构") % {"school": school.name},
            _("%(school)s在“%(period)s”选择贵机构为合作施教机构。") % {"school": school.name, "period": period.name},
            url=reverse("courses:agreement_detail", args=[agreement.pk]),
            dedup_key=f"agreement-chosen:{agreement.pk}",
        )
    return agreement


def agreement_upload(
    agreement: Agreement, *, file: Any, fee: Decimal | None, actor: User, now: datetime
) -> AgreementVersion:
    """The school uploads the signed agreement (a real PDF, by content) with the agreed fee, for filing.

    Side effects, under the agreement's row lock: a new AgreementVersion with the file (private
    storage), the agreement waiting for filing with the fee, a notice to the filing unit's admins.
    """
    _check_school_admin(actor, agreement.school)
    fee = agreement_fee_check(agreement.period, fee)
    try:
        document_kind(file, ("pdf",))
    except ValidationError as exc:
        raise PartnershipError(" ".join(exc.messages)) from None
    with transaction.atomic():
        locked = lock_row(Agreement.objects.select_related("school", "provider", "filing_unit"), agreement.pk)
        if locked.state == AgreementState.PENDING:
            raise PartnershipError(_("协议正在等待备案；备案单位退回后才能上传新版本"))
        if locked.state not in UPLOADABLE_AGREEMENT_STATES:
            raise PartnershipError(_("协议%(state)s，不能再上传") % {"state": locked.get_state_display()})
        number = locked.versions.count() + 1
        version = AgreementVersion(
            agreement=locked,
            number=number,
            fee_per_hour=fee,
            uploaded_by=actor,
            uploaded_by_name=actor.name,
            uploaded_at=now,
        )
        version.file.save(f"agreement-{locked.pk}-v{number}.pdf", file, save=False)
        version.save()
        Agreement.objects.filter(pk=locked.pk).update(state=AgreementState.PENDING, fee_per_hour=fee, updated_at=now)
        notify(
            _admin_ids(locked.filing_unit, _level_role(locked.filing_unit)),
            KIND_AGREEMENT_UPLOADED,
            _("待备案：%(school)s与%(provider)s的协议")
            % {"school": locked.school.name, "provider": locked.provider.name},
            _("%(school)s上传了与%(provider)s的协议书（第 %(n)d 版，每人每学时 %(fee)s 元），请备案或退回。")
            % {"school": locked.school.name, "provider": locked.provider.name, "n": number, "fee": _money(fee)},
            url=reverse("courses:agreement_detail", args=[locked.pk]),
            dedup_key=f"agreement-uploaded:{version.pk}",
        )
    locked.state, locked.fee_per_hour = AgreementState.PENDING, fee
    return version


def agreement_may_file(agreement: Agreement, actor: User) -> bool:
    from portal.scoping import scope_for

    unit = agreement.filing_unit
    return scope_for(actor).reaches(unit, roles=(_level_role(unit),))


def agreement_file(agreement: Agreement, actor: User, now: datetime, comment: str = "") -> Agreement:
    """The county-level center (the city for 局直属 schools) files (备案) the latest uploaded version.

    Side effects: the version's decision (with the optional comment), the agreement filed, a notice to
    the school's admins.
    """
    return _agreement_decide(agreement, actor, AgreementState.FILED, (comment or "").strip(), now)


def agreement_return(agreement: Agreement, actor: User, reason: str, now: datetime) -> Agreement:
    """Return the latest uploaded version with a reason; the school uploads a corrected one (kept beside it).

    Side effects: the version's decision and reason, the agreement returned, a notice to the school's admins.
    """
    reason = (reason or "").strip()
    if not reason:
        raise PartnershipError(_("退回须填写原因"))
    return _agreement_decide(agreement, actor, AgreementState.RETURNED, reason, now)


def _agreement_decide(
    agreement: Agreement, actor: User, decision: AgreementState, reason: str, now: datetime
) -> Agreement:
    if not agreement_may_file(agreement, actor):
        raise PermissionDenied
    with transaction.atomic():
        locked = lock_row(Agreement.objects.select_related("school", "provider"), agreement.pk)
        if locked.state != AgreementState.PENDING:
            raise PartnershipError(_("协议%(state)s，没有待备案的版本") % {"state": locked.get_state_display()})
        version = locked.versions.order_by("-number").first()
        claimed = version is not None and AgreementVersion.objects.filter(pk=version.pk, decision="").update(
            decision=decision, reason=reason, decided_by=actor, decided_by_name=actor.name, decided_at=now
        )
        if not claimed or version is None:
            raise PartnershipError(_("该版本已有备案结果"))
        Agreement.objects.filter(pk=locked.pk).update(state=decision, updated_at=now)
        if decision == AgreementState.FILED:
            title = _("协议已备案")
            body = _("贵校与%(provider)s的协议书已备案。") % {"provider": locked.provider.name}
        else:
            title = _("协议被退回")
            body = _("贵校与%(provider)s的协议书被退回，原因：%(reason)s。请上传更正后的协议书。") % {
                "provider": locked.provider.name,
                "reason": reason,
            }
        notify(
            _admin_ids(locked.school, Role.SCHOOL_ADMIN),
            KIND_AGREEMENT_DECIDED,
            title,
            body,
            url=reverse("courses:school_provider") + f"?period={locked.period_id}",
            dedup_key=f"agreement-decided:{version.pk}",
        )
    locked.state = decision
    return locked


def agreement_cancel(agreement: Agreement, actor: User, now: datetime) -> Agreement:
    """The school withdraws its choice (to choose another provider) while the agreement is not filed.

    Side effects: the agreement cancelled (kept, with its versions, as history).
    """
    _check_school_admin(actor, agreement.school)
    with transaction.atomic():
        locked = lock_row(Agreement.objects.all(), agreement.pk)
        if locked.state == AgreementState.FILED:
            raise PartnershipError(_("协议已备案，不能撤销；如确需更换请联系备案单位"))
        if locked.state == AgreementState.CANCELLED:
            raise PartnershipError(_("该选择已撤销"))
        Agreement.objects.filter(pk=locked.pk).update(state=AgreementState.CANCELLED, updated_at=now)
    locked.state = AgreementState.CANCELLED
    return locked


def participant_form_send(agreement: Agreement, actor: User, now: datetime) -> ParticipantFormSend:
    """The school sends its participant information form (学员信息采集表) to its provider, in the portal.

    The provider then sees exactly these teachers, with the date. Side effects: a ParticipantFormSend
    with its teachers, a notice to the provider's staff.
    """
    from courses.selectors import participants_of

    _check_school_admin(actor, agreement.school)
    if not agreement.is_live:
        raise PartnershipError(_("该施教机构的选择已撤销"))
    teachers = participants_of(agreement)
    with transaction.atomic():
        sent = ParticipantFormSend.objects.create(
            period=agreement.period,
            school=agreement.school,
            provider=agreement.provider,
            count=len(teachers),
            sent_by=actor,
            sent_by_name=actor.name,
            sent_at=now,
        )
        sent.teachers.set(teachers)
        notify(
            _provider_staff_ids(agreement.provider_id),
            KIND_PARTICIPANTS_SENT,
            _("%(school)s发送了学员信息采集表") % {"school": agreement.school.name},
            _("%(school)s发送了 %(n)d 名参训教师的信息。") % {"school": agreement.school.name, "n": len(teachers)},
            url=reverse("courses:agreement_detail", args=[agreement.pk]),
            dedup_key=f"participants-sent:{sent.pk}",
        )
    return sent


# --- the school–provider model: registering hours, outcomes ---------------------------------------------


def registration_window_check(period: TrainingPeriod, provider_id: int, now: datetime) -> LateRegistration | None:
    """Hours are registered within the period's training dates, or later under a city admin's permission.

    Returns the permission used (None within the dates); PartnershipError otherwise.
    """
    from django.utils import timezone
    from django.utils.formats import date_format

    today = timezone.localdate(now)
    if today < period.training_starts_on:
        raise PartnershipError(
            _("培训 %(start)s 开始，之前不能登记学时")
            % {"start": date_format(period.training_starts_on, "DATE_FORMAT")}
        )
    if today <= period.training_ends_on:
        return None
    grant = (
        LateRegistration.objects.filter(period=period, provider_id=provider_id, until__gte=today)
        .order_by("-until")
        .first()
    )
    if grant is None:
        raise PartnershipError(
            _("培训已于 %(end)s 结束，逾期登记须由市级管理员填写原因后开放")
            % {"end": date_format(period.training_ends_on, "DATE_FORMAT")}
        )
    return grant


def late_registration_grant(
    *, period: TrainingPeriod, provider: Provider, until: date, reason: str, actor: User, now: datetime
) -> LateRegistration:
    """A city admin lets a provider register hours after the training ended, until ``until``, for a reason.

    Side effects: one LateRegistration row (the record of who, when and why), a notice to the provider's staff.
    """
    from portal.scoping import scope_for

    if not scope_for(actor).reaches(period.city, roles=(Role.CITY_ADMIN,)):
        raise PermissionDenied
    reason = (reason or "").strip()
    if not reason:
        raise PartnershipError(_("逾期登记须填写原因"))
    if until <= period.training_ends_on:
        raise PartnershipError(_("允许登记的日期须晚于培训结束日期"))
    with transaction.atomic():
        grant = LateRegistration.objects.create(
            period=period,
            provider=provider,
            until=until,
            reason=reason,
            granted_by=actor,
            granted_by_name=actor.name,
            granted_at=now,
        )
        notify(
            _provider_staff_ids(provider.pk),
            KIND_LATE_REGISTRATION,
            _("已开放逾期登记：%(period)s") % {"period": period.name},
            _("市级管理员允许贵机构在 %(until)s 前登记“%(period)s”的学时。原因：%(reason)s")
            % {"until": f"{until:%Y-%m-%d}", "period": period.name, "reason": reason},
            url=reverse("courses:results_import"),
            dedup_key=f"late-registration:{grant.pk}",
        )
    return grant


def outcome_compilation_upload(
    *, period: TrainingPeriod, provider: Provider, title: str, file: Any, actor: User, now: datetime
) -> OutcomeCompilation:
    """A provider uploads its compilation of outstanding work (优秀研修成果汇编, PDF) for the city.

    Earlier uploads stay. Side effects: one OutcomeCompilation with its file, a notice to the city admins.
    """
    if not _is_staff_of(actor, provider.pk):
        raise PermissionDenied
    try:
        document_kind(file, ("pdf",))
    except ValidationError as exc:
        raise PartnershipError(" ".join(exc.messages)) from None
    with transaction.atomic():
        compilation = OutcomeCompilation(
            period=period,
            provider=provider,
            title=title,
            uploaded_by=actor,
            uploaded_by_name=actor.name,
            uploaded_at=now,
        )
        compilation.file.save(f"outcomes-{provider.pk}-{period.pk}.pdf", file, save=False)
        compilation.save()
        notify(
            _admin_ids(period.city, Role.CITY_ADMIN),
            KIND_OUTCOMES_UPLOADED,
            _("%(provider)s上传了优秀研修成果汇编") % {"provider": provider.name},
            title,
            url=reverse("courses:outcomes") + f"?period={period.pk}",
            dedup_key=f"outcomes:{compilation.pk}",
        )
    return compilation
