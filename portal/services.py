"""Domain functions that change the organisation tree and the roster.

One function per state change; each owns its side effects (the move history,
the linked login) and says so in its docstring. Callers have already checked
that the actor may act on the rows (views start from portal.scoping); the
functions re-check what only they can know (e.g. the destination unit's reach).
"""

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ImproperlyConfigured, PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import idcard
from portal.locking import lock_row
from portal.models import (
    ADMIN_ROLES,
    EMPLOYER_KINDS,
    ROLE_UNIT_KINDS,
    Announcement,
    Audience,
    Contact,
    Role,
    RoleAssignment,
    RosterConflict,
    Stage,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.notifications import notify
from portal.registry import AUDIENCES
from portal.scoping import scope_for

TEACHER_EDITABLE_FIELDS = ("name", "id_number", "stage", "subject", "mobile", "position")


def teacher_update(teacher: Teacher, *, actor: User, **changes: Any) -> Teacher:
    """Change a teacher's record (only ``TEACHER_EDITABLE_FIELDS``).

    Side effects: gender and birth date are re-derived from the ID number; when
    the ID number changes and the teacher has a login, the login's ID number
    follows (one UPDATE), so she keeps logging in with the number on her card.
    """
    unknown = set(changes) - set(TEACHER_EDITABLE_FIELDS)
    if unknown:
        raise ValueError(f"not editable: {sorted(unknown)}")
    if "id_number" in changes:
        changes["id_number"] = idcard.normalize(changes["id_number"])
    changed = [name for name, value in changes.items() if getattr(teacher, name) != value]
    if not changed:
        return teacher
    old_id_number = teacher.id_number
    for name in changed:
        setattr(teacher, name, changes[name])
    with transaction.atomic():
        if "id_number" in changed:
            changed += ["gender", "birth_date"]
            if teacher.user_id:
                if not _may_set_password_of(actor, User.objects.get(pk=teacher.user_id)):
                    raise ValidationError(
                        {"id_number": _("该教师同时拥有其他管理权限，其身份证号（登录账号）请由上级管理员修改")}
                    )
                if User.objects.filter(id_number=teacher.id_number).exclude(pk=teacher.user_id).exists():
                    raise ValidationError({"id_number": _("该身份证号已被另一个登录账号使用，请联系市级管理员处理")})
                User.objects.filter(pk=teacher.user_id, id_number=old_id_number).update(id_number=teacher.id_number)
        if "name" in changed and teacher.user_id:
            User.objects.filter(pk=teacher.user_id).update(name=teacher.name)
        teacher.save(update_fields=[*changed, "updated_at"])
    return teacher


def _check_destination(actor: User, destination: Unit, *, from_units: Iterable[int] = ()) -> None:
    if destination.kind not in EMPLOYER_KINDS or not destination.is_active:
        raise ValidationError({"destination": _("调入单位必须是有效的学校或教师发展中心等用人单位")})
    if not scope_for(actor).reaches(destination):
        # The form only offers units in reach; anything else is a forged request.
        raise PermissionDenied
    if destination.pk in set(from_units):
        raise ValidationError({"destination": _("调入单位与原单位相同")})


def teachers_retire(teachers: QuerySet[Teacher], *, date: dt.date, actor: User) -> int:
    """Mark the active teachers of ``teachers`` (a queryset already scoped to the actor) retired.

    Side effects: one UPDATE of the teachers' status and date, one bulk INSERT
    of TeacherMove history rows. Teachers already retired or transferred out
    are left alone. Returns how many changed.
    """
    return _set_status(teachers, status=TeacherStatus.RETIRED, date=date, actor=actor, destination=None)


def teachers_transfer(
    teachers: QuerySet[Teacher], *, date: dt.date, actor: User, destination: Unit | None = None
) -> int:
    """Transfer the active teachers of ``teachers``.

    Inside the city (``destination`` given, and in the actor's reach): the
    teachers move to the destination and stay 在职; their earlier records stay
    with them. Out of the city (no destination): status 调出 with the date.
    Side effects: one UPDATE, one bulk INSERT of TeacherMove rows. Returns how many changed.
    """
    if destination is None:
        return _set_status(teachers, status=TeacherStatus.TRANSFERRED, date=date, actor=actor, destination=None)
    return _set_status(teachers, status=TeacherStatus.ACTIVE, date=date, actor=actor, destination=destination)


def _set_status(
    teachers: QuerySet[Teacher], *, status: str, date: dt.date, actor: User, destination: Unit | None
) -> int:
    with transaction.atomic():
        rows = list(
            teachers.filter(status=TeacherStatus.ACTIVE).select_for_update().order_by("pk").values_list("pk", "unit_id")
        )
        if not rows:
            return 0
        if destination is not None:
            _check_destination(actor, destination, from_units=(unit_id for _pk, unit_id in rows))
        changes: dict = {"status": status, "status_date": date}
        if destination is not None:
            changes["unit"] = destination
        ids = [pk for pk, _unit in rows]
        # The status condition again: a row changed since the read is not touched twice.
        Teacher.objects.filter(pk__in=ids, status=TeacherStatus.ACTIVE).update(**changes)
        TeacherMove.objects.bulk_create(
            TeacherMove(
                teacher_id=pk,
                from_unit_id=unit_id,
                to_unit=destination,
                status=status,
                date=date,
                recorded_by=actor,
            )
            for pk, unit_id in rows
        )
    return len(rows)


def teacher_reactivate(teacher: Teacher, *, date: dt.date, actor: User) -> bool:
    """Undo a wrong 退休/调出 mark: the teacher is 在职 again at her unit.

    Side effects: one conditional UPDATE, one TeacherMove row.
    """
    with transaction.atomic():
        changed = (
            Teacher.objects.filter(pk=teacher.pk)
            .exclude(status=TeacherStatus.ACTIVE)
            .update(status=TeacherStatus.ACTIVE, status_date=date)
        )
        if changed:
            TeacherMove.objects.create(
                teacher=teacher, from_unit_id=teacher.unit_id, status=TeacherStatus.ACTIVE, date=date, recorded_by=actor
            )
    return bool(changed)


def teacher_set_password(teacher: Teacher, *, password: str, actor: User) -> User:
    """Give the teacher a login (or a new password for her existing one).

    Side effects: creates the User with her ID number, name and mobile when she
    has none (or links the existing User with the same ID number), sets the
    password (which she must change at her next login) and links Teacher.user.
    Raises ValidationError when the password is too weak.
    """
    with transaction.atomic():
        user = teacher.user or User.objects.filter(id_number=teacher.id_number).first()
        if user is None:
            user = User(id_number=teacher.id_number, name=teacher.name, mobile=teacher.mobile)
        elif not _may_set_password_of(actor, user):
            # A principal must not take over her district admin's login because he is on her roster too.
            raise PermissionDenied(_("该教师同时拥有其他管理权限，请由其上级管理员重置密码"))
        validate_password(password, user)
        user.set_password(password)
        user.must_change_password = True  # someone else chose it: she picks her own at first login
        user.save()
        if teacher.user_id != user.pk:
            teacher.user = user
            teacher.save(update_fields=["user", "updated_at"])
    return user


def _may_set_password_of(actor: User, user: User) -> bool:
    """Only when every power of ``user`` lies inside the actor's reach (and none is a Django-admin power)."""
    if user.is_superuser or (user.is_staff and not actor.is_superuser):
        return False
    scope = scope_for(actor)
    for assignment in RoleAssignment.objects.filter(user=user).select_related("unit"):
        if not scope.reaches(assignment.unit):
            return False
    return not any(scope_for(user).memberships.values())


def roster_conflicts_record(
    teacher_ids: Iterable[int],
    *,
    unit: Unit,
    district: Unit,
    actor: User | None,
    source: str,
    now: dt.datetime | None = None,
) -> int:
    """Keep, for ``district``, that ``unit`` tried to add teachers already on another unit's roster.

    Side effects: one RosterConflict row per (teacher, unit), created or counted up (two
    statements, however many teachers). Returns how many teachers.
    """
    now = now or timezone.now()
    ids = sorted(set(teacher_ids))
    known = RosterConflict.objects.filter(unit=unit, teacher_id__in=ids)
    seen = set(known.values_list("teacher_id", flat=True))
    known.update(last_at=now, attempts=F("attempts") + 1, actor=actor, source=source)
    RosterConflict.objects.bulk_create(
        [
            RosterConflict(
                teacher_id=pk, unit=unit, district=district, actor=actor, source=source, first_at=now, last_at=now
            )
            for pk in ids
            if pk not in seen
        ],
        ignore_conflicts=True,  # a concurrent refusal of the same teacher already made the row
    )
    return len(ids)


# --- the platform operator and the organisation's admins ---------------------------------------------------------

ROLE_RANK = {Role.SCHOOL_ADMIN: 1, Role.DISTRICT_ADMIN: 2, Role.CITY_ADMIN: 3}


@dataclass(frozen=True)
class Grant:
    """What ``admin_role_grant`` did: ``created`` a new login, or added the role to an existing one."""

    user: User
    assignment: RoleAssignment
    created: bool


def _require_operator(actor: User) -> None:
    if not actor.is_operator:
        raise PermissionDenied


def first_operator_ensure(id_number: str | None, name: str, password: str | None) -> User | None:
    """Make the installation's first platform operator, once, from the install's configuration.

    Runs after every ``migrate`` (portal.bootstrap); does nothing when an operator exists or
    no ID number is configured. An existing login with that number becomes the operator
    without a new password. Raises ImproperlyConfigured (stopping the install step) on a bad
    number or a weak or missing password. Side effects: one User INSERT or UPDATE.
    """
    if not id_number or User.objects.filter(is_operator=True).exists():
        return None
    try:
        number = idcard.check(id_number).number
    except idcard.IdNumberError as exc:
        raise ImproperlyConfigured(f"FIRST_OPERATOR_ID_NUMBER: {exc}") from None
    user = User.objects.filter(id_number=number).first()
    if user is not None:
        User.objects.filter(pk=user.pk).update(is_operator=True, is_staff=True)
        return user
    user = User(id_number=number, name=name, is_operator=True, is_staff=True)
    if not password:
        raise ImproperlyConfigured("FIRST_OPERATOR_PASSWORD (or FIRST_OPERATOR_PASSWORD_FILE) is required")
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ImproperlyConfigured("FIRST_OPERATOR_PASSWORD: " + " ".join(exc.messages)) from None
    user.set_password(password)
    user.save()
    return user


def _may_grant(actor: User, unit: Unit, role: Role) -> bool:
    """The operator names city admins; an admin names admins of her rank or below inside her reach."""
    if actor.is_operator and role == Role.CITY_ADMIN:
        return True
    scope = scope_for(actor)
    mine = tuple(r for r in ADMIN_ROLES if ROLE_RANK[r] >= ROLE_RANK[role])
    return scope.reaches(unit, roles=mine)


def admin_role_grant(
    *, actor: User, unit: Unit, role: Role, id_number: str, name: str = "", password: str = ""
) -> Grant:
    """Make the person with ``id_number`` and ``name`` an admin of ``unit`` (a login is found or made: ``login_for``).

    Raises ValidationError (by field) when the role does not fit the unit, the person
    already holds it, or as ``login_for``; PermissionDenied when the actor may not name
    that role there. Side effects: as ``login_for``, a RoleAssignment INSERT.
    """
    if not _may_grant(actor, unit, role):
        raise PermissionDenied
    if unit.kind not in ROLE_UNIT_KINDS[role]:
        raise ValidationError(_("%(role)s 不能设在%(kind)s上") % {"role": role.label, "kind": unit.get_kind_display()})
    with transaction.atomic():
        user, created = login_for(id_number, name, password, is_staff=role == Role.CITY_ADMIN)
        if RoleAssignment.objects.filter(user=user, role=role, unit=unit).exists():
            raise ValidationError(
                {
                    "id_number": _("身份证号 %(n)s 已是%(unit)s的%(role)s")
                    % {"n": idcard.mask(user.id_number), "unit": unit.name, "role": role.label}
                }
            )
        assignment = RoleAssignment.objects.create(user=user, role=role, unit=unit)
    return Grant(user=user, assignment=assignment, created=created)


def login_for(id_number: str, name: str, password: str, *, is_staff: bool = False) -> tuple[User, bool]:
    """The login of the person with ``id_number`` and ``name``, made with ``password`` when she has none.

    An existing login must carry the same name (whoever names a person knows her name; the
    answer never tells it), and keeps its password (nobody takes over an account by naming
    it). Raises ValidationError by field (id_number, name, password). Returns (user, created).
    Side effect: one User INSERT when created; someone else chose that password, so she must
    change it at her first login.
    """
    try:
        number = idcard.check(id_number).number
    except idcard.IdNumberError as exc:
        raise ValidationError({"id_number": str(exc)}) from None
    name = " ".join(name.split())
    if not name:
        raise ValidationError({"name": _("请填写姓名")})
    user = User.objects.filter(id_number=number).first()
    if user is not None:
        if " ".join(user.name.split()) != name:
            raise ValidationError(
                {"name": _("身份证号 %(n)s 已有账号，但姓名与所填不一致，请核对") % {"n": idcard.mask(number)}}
            )
        return user, False
    if not password:
        raise ValidationError({"password": _("该身份证号还没有登录账号：请设置初始密码")})
    user = User(id_number=number, name=name, is_staff=is_staff, must_change_password=True)
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise ValidationError({"password": exc.messages}) from None
    user.set_password(password)
    user.save()
    return user, True


def admin_role_revoke(*, actor: User, assignment: RoleAssignment) -> None:
    """Take an admin role away (not one's own: a city keeps the admin who acts). Side effect: one DELETE."""
    if not _may_grant(actor, assignment.unit, Role(assignment.role)):
        raise PermissionDenied
    if assignment.user_id == actor.pk:
        raise ValidationError(_("不能撤销自己的管理角色，请由其他管理员办理"))
    RoleAssignment.objects.filter(pk=assignment.pk).delete()


def city_create_with_admin(
    *, actor: User, code: str, name: str, admin_id_number: str, admin_name: str = "", admin_password: str = ""
) -> tuple[Unit, Grant]:
    """The operator opens a city: the root unit and its first city admin, who builds the rest.

    The operator does not become the city's admin (she sees no city's people). Raises
    ValidationError by field (code taken; admin_id_number, admin_name, admin_password), all
    or nothing.
    Side effects: Unit INSERT, then as ``admin_role_grant``.
    """
    _require_operator(actor)
    city = Unit(code=code.strip(), name=" ".join(name.split()), kind=UnitKind.CITY)
    city.full_clean(exclude=["path"])
    try:
        with transaction.atomic():
            city.save()
            grant = admin_role_grant(
                actor=actor,
                unit=city,
                role=Role.CITY_ADMIN,
                id_number=admin_id_number,
                name=admin_name,
                password=admin_password,
            )
    except ValidationError as exc:
        if not hasattr(exc, "error_dict"):
            raise
        # The admin's fields are the form's admin_* fields.
        raise ValidationError({f"admin_{k}": v for k, v in exc.message_dict.items()}) from None
    return city, grant


# A unit's place below its parent (the admin's unit tree page adds units).
PARENT_KINDS = {
    UnitKind.DISTRICT: (UnitKind.CITY,),
    UnitKind.SCHOOL: (UnitKind.DISTRICT, UnitKind.CITY),
    UnitKind.CENTER: (UnitKind.DISTRICT, UnitKind.CITY),
    UnitKind.OTHER: (UnitKind.DISTRICT, UnitKind.CITY),
}


def unit_create(*, actor: User, unit: Unit) -> Unit:
    """Add a district below a city, or a school (centre, other employer) below a district or the city.

    A district is added by the city's admins, an employer by the admins of its parent.
    Raises ValidationError by field. Side effect: one Unit INSERT.
    """
    parent = unit.parent
    if unit.kind not in PARENT_KINDS or parent is None:
        raise ValidationError({"kind": _("请选择单位类型和上级单位")})
    roles = (Role.CITY_ADMIN,) if unit.kind == UnitKind.DISTRICT else (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)
    if not scope_for(actor).reaches(parent, roles=roles):
        raise PermissionDenied
    if parent.kind not in PARENT_KINDS[UnitKind(unit.kind)]:
        raise ValidationError(
            {
                "parent": _("%(kind)s的上级单位不能是%(parent)s")
                % {"kind": unit.get_kind_display(), "parent": parent.get_kind_display()}
            }
        )
    unit.code, unit.name = unit.code.strip(), " ".join(unit.name.split())
    unit.full_clean(exclude=["path", "stages"])
    unit.save()
    return unit


# --- platform-wide settings (the operator's) ---------------------------------------------------------------------


def stage_save(stage: Stage, *, actor: User) -> Stage:
    """Add or rename a school stage (学段): platform-wide data. Side effect: one INSERT or UPDATE."""
    _require_operator(actor)
    if stage.pk and Stage.objects.filter(pk=stage.pk).exclude(code=stage.code).exists():
        raise ValidationError({"code": _("学段代码保存后不能修改")})
    stage.full_clean()
    stage.save()
    return stage


@dataclass(frozen=True)
class Crontab:
    minute: str
    hour: str
    day_of_week: str = "*"
    day_of_month: str = "*"
    month_of_year: str = "*"


def schedule_update(task_id: int, *, actor: User, enabled: bool, crontab: Crontab) -> Any:
    """Switch a background job on or off and set when it runs (Asia/Shanghai).

    Jobs are registered by the apps; here only their time and switch change. Raises
    ValidationError naming the crontab field. Side effects: a CrontabSchedule row (shared,
    reused when equal), the PeriodicTask row (beat notices the change).
    """
    from django_celery_beat.models import CrontabSchedule, PeriodicTask

    _require_operator(actor)
    values = {
        "minute": crontab.minute.strip(),
        "hour": crontab.hour.strip(),
        "day_of_week": crontab.day_of_week.strip(),
        "day_of_month": crontab.day_of_month.strip(),
        "month_of_year": crontab.month_of_year.strip(),
    }
    candidate = CrontabSchedule(timezone="Asia/Shanghai", **values)
    try:
        candidate.full_clean(exclude=["timezone"])
    except ValidationError as exc:
        raise ValidationError({k: v for k, v in exc.message_dict.items() if k in values}) from None
    with transaction.atomic():
        task = lock_row(PeriodicTask.objects.all(), task_id)
        schedule, _created = CrontabSchedule.objects.get_or_create(timezone="Asia/Shanghai", **values)
        task.crontab = schedule
        task.interval = task.solar = task.clocked = None
        task.enabled = enabled
        task.save()
    return task


# --- contacts and announcements ----------------------------------------------------------------------------------

KIND_ANNOUNCEMENT = "announcement"
PUBLISHER_ROLES = (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)


def _require_publisher(actor: User, unit: Unit) -> None:
    if unit.kind not in (UnitKind.CITY, UnitKind.DISTRICT) or not scope_for(actor).reaches(unit, roles=PUBLISHER_ROLES):
        raise PermissionDenied


def contact_save(contact: Contact, *, actor: User) -> Contact:
    """Add or change one of a district's (or the city's) Q&A contacts. Side effect: one INSERT or UPDATE."""
    _require_publisher(actor, contact.unit)
    contact.full_clean()
    contact.save()
    return contact


def contact_delete(contact: Contact, *, actor: User) -> None:
    _require_publisher(actor, contact.unit)
    contact.delete()


def announcement_save(announcement: Announcement, *, actor: User) -> Announcement:
    """Save an announcement of a city or district; it reaches people from its publish time.

    An app's audience (a programme's applicants) is addressed from the city and needs one of
    the city's targets. Raises ValidationError by field. Side effect: one INSERT or UPDATE;
    the notices go out from the announcement job (``announcements_send_due``), once.
    """
    unit = announcement.unit
    _require_publisher(actor, unit)
    kind = AUDIENCES.get(announcement.audience)
    if kind is None:
        if announcement.audience not in Audience.values:
            raise ValidationError({"audience": _("请选择通知对象")})
        announcement.target_id = None
    else:
        if unit.kind != UnitKind.CITY:
            raise ValidationError({"audience": _("“%(a)s”只能由市级发布") % {"a": kind.label}})
        if announcement.target_id not in {pk for pk, _label in kind.targets(unit)}:
            raise ValidationError({"target_id": _("请选择本市的%(a)s") % {"a": kind.label}})
    if announcement.pk is None:
        announcement.created_by = actor
    announcement.full_clean(exclude=["created_by"])
    announcement.save()
    return announcement


def announcement_delete(announcement: Announcement, *, actor: User) -> None:
    """Withdraw an announcement from home pages (messages already sent stay in the inboxes)."""
    _require_publisher(actor, announcement.unit)
    announcement.delete()


def announcement_user_ids(announcement: Announcement) -> list[int]:
    """The users an announcement reaches: its unit's people (active teachers with a login, admins) or an app's."""
    kind = AUDIENCES.get(announcement.audience)
    if kind is not None:
        return sorted(set(kind.user_ids(announcement.target_id or 0)))
    path = announcement.unit.path
    ids: set[int] = set()
    if announcement.audience in (Audience.EVERYONE, Audience.TEACHERS):
        ids.update(
            Teacher.objects.filter(
                unit__path__startswith=path, status=TeacherStatus.ACTIVE, user__isnull=False
            ).values_list("user_id", flat=True)
        )
    if announcement.audience in (Audience.EVERYONE, Audience.ADMINS):
        ids.update(RoleAssignment.objects.filter(unit__path__startswith=path).values_list("user_id", flat=True))
    return sorted(ids)


def announcements_send_due(now: dt.datetime) -> int:
    """Send every announcement whose publish time has come to the inboxes of those it concerns, once.

    Each is claimed by a conditional update of ``notified_at`` in the transaction that writes
    its notices (dedup key ``announcement:<id>``), so a rerun or a second worker sends nothing
    twice. Side effects: Notification rows (and e-mail for those who opted in). Returns how
    many announcements went out.
    """
    due = list(
        Announcement.objects.filter(notified_at__isnull=True, publish_at__lte=now)
        .order_by("publish_at", "pk")
        .values_list("pk", flat=True)
    )
    sent = 0
    for pk in due:
        with transaction.atomic():
            if not Announcement.objects.filter(pk=pk, notified_at__isnull=True).update(notified_at=now):
                continue
            announcement = Announcement.objects.select_related("unit").get(pk=pk)
            notify(
                announcement_user_ids(announcement),
                KIND_ANNOUNCEMENT,
                announcement.title,
                announcement.body,
                url=reverse("portal:announcement", args=[pk]),
                dedup_key=f"announcement:{pk}",
            )
            sent += 1
    return sent
