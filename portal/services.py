"""Domain functions that change the organisation tree and the roster.

One function per state change; each owns its side effects (the move history,
the linked login) and says so in its docstring. Callers have already checked
that the actor may act on the rows (views start from portal.scoping); the
functions re-check what only they can know (e.g. the destination unit's reach).
"""

import datetime as dt
from collections.abc import Iterable
from typing import Any

from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import F, QuerySet
from django.utils import timezone
from django.utils.translation import gettext as _

from portal import idcard
from portal.models import (
    EMPLOYER_KINDS,
    RoleAssignment,
    RosterConflict,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    User,
)
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
