"""School-based training (校本研修): a school admin records an activity and its attendees; their hours land
in the ledger in one set-based insert. The district may cap the hours a school awards one teacher a year.

Attendees come from a tick list of the roster or from an xlsx (身份证号, 姓名) read by portal.importing,
all or nothing, with row errors. A fixed number of queries, however many attendees.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Sum
from django.urls import reverse
from django.utils.translation import gettext as _

from credits.declaration_services import DeclarationRefused, declaration_settings_for
from credits.models import (
    Category,
    CreditEntry,
    HoursAuditAction,
    HoursAuditEntry,
    SchoolActivity,
    SchoolTrainingCap,
    Source,
    Topic,
)
from credits.rule_engine import fmt_hours
from portal import idcard
from portal.importing import Column, ImportResult, read_table, text
from portal.locking import lock_key
from portal.models import Role, Teacher, TeacherStatus, Unit, UnitKind, User
from portal.notifications import notify
from portal.scoping import scope_for

KIND_SCHOOL_TRAINING = "school_training.recorded"
DEFAULT_CATEGORIES = (Category.PROFESSIONAL.value, Category.ELECTIVE.value)
# One school's activities at a time: the cap is counted and the hours inserted under this key.
_LOCK_BASE = 0x5C4001 << 20


@dataclass(frozen=True)
class ActivityInput:
    title: str
    date: dt.date
    hours: Decimal
    category: str
    topic: Topic | None = None


def school_training_categories(school: Unit, year: int) -> list[str]:
    """What a school may award: the city's declarable categories for the year, else 专业 and 选修."""
    settings = declaration_settings_for(school, year)
    return list(settings.categories) if settings else list(DEFAULT_CATEGORIES)


def school_training_cap_for(school: Unit, year: int) -> SchoolTrainingCap | None:
    """The cap of the school's district for ``year`` (one query), or None."""
    return SchoolTrainingCap.objects.filter(district__path__in=school.ancestor_paths(), year=year).first()


def school_activity_record(
    *, actor: User, school: Unit, data: ActivityInput, teacher_ids: Iterable[int], now: dt.datetime
) -> SchoolActivity:
    """Record an activity and credit every attendee with its hours, in one transaction.

    Checks: the actor administers the school; the category is one the city lets schools award;
    every attendee is an active teacher on the school's roster; no attendee goes above the
    district's yearly cap (the message names them). Side effects: the activity row, one bulk
    INSERT into the ledger (source "school_training"), an ACTIVITY audit entry, one notice to
    all attendees. A fixed number of queries for any number of attendees.
    """
    if not scope_for(actor).reaches(school, roles=(Role.SCHOOL_ADMIN,)) or school.kind == UnitKind.DISTRICT:
        raise PermissionDenied
    ids = sorted(set(teacher_ids))
    if not ids:
        raise DeclarationRefused(_("请至少选择一名参加的教师。"))
    if data.hours <= 0:
        raise DeclarationRefused(_("学时必须大于 0。"))
    year = data.date.year
    if data.category not in school_training_categories(school, year):
        raise DeclarationRefused(
            _("本市不允许学校以%(cat)s记录校本研修学时。") % {"cat": Category(data.category).label}
        )
    with transaction.atomic():
        lock_key(_LOCK_BASE + school.pk)
        teachers = dict(
            Teacher.objects.filter(pk__in=ids, unit=school, status=TeacherStatus.ACTIVE).values_list("pk", "user_id")
        )
        if len(teachers) != len(ids):
            raise DeclarationRefused(
                _("有 %(n)d 名所选教师不是本校在职教师，请刷新名册后重新选择。") % {"n": len(ids) - len(teachers)}
            )
        _check_cap(school, year, ids, data.hours)
        activity = SchoolActivity.objects.create(
            school=school,
            year=year,
            title=data.title.strip(),
            date=data.date,
            hours=data.hours,
            category=data.category,
            topic=data.topic,
            attendee_count=len(ids),
            recorded_by=actor,
            recorded_at=now,
        )
        reason = _("校本研修：%(title)s（%(day)s）") % {"title": activity.title, "day": f"{data.date:%Y-%m-%d}"}
        topics = CreditEntry.join_topics([data.topic.code] if data.topic else [])
        CreditEntry.objects.bulk_create(
            [
                CreditEntry(
                    teacher_id=pk,
                    year=year,
                    category=data.category,
                    topic_codes=topics,
                    hours=data.hours,
                    source=Source.SCHOOL_TRAINING,
                    reference=f"{activity.reference_prefix}{pk}",
                    recorded_by=actor,
                    recorded_at=now,
                    reason=reason,
                )
                for pk in ids
            ],
            batch_size=1000,
        )
        HoursAuditEntry.objects.create(
            subject="school_activity",
            subject_id=activity.pk,
            unit=school,
            actor=actor,
            actor_name=actor.name,
            action=HoursAuditAction.ACTIVITY,
            data={"attendees": len(ids), "hours": str(data.hours)},
            created_at=now,
        )
        notify(
            [u for u in teachers.values() if u],
            KIND_SCHOOL_TRAINING,
            _("校本研修学时已记入：%(title)s") % {"title": activity.title},
            _("%(school)s为您记入 %(h)s 学时。") % {"school": school.name, "h": fmt_hours(data.hours)},
            reverse("credits:mine"),
        )
    return activity


def _check_cap(school: Unit, year: int, ids: list[int], hours: Decimal) -> None:
    cap = school_training_cap_for(school, year)
    if cap is None:
        return
    if hours > cap.hours:
        raise DeclarationRefused(
            _("本区校本研修每人每年最多 %(cap)s 学时，本次活动 %(h)s 学时已超过上限。")
            % {"cap": fmt_hours(cap.hours), "h": fmt_hours(hours)}
        )
    earned = (
        CreditEntry.objects.filter(teacher_id__in=ids, year=year, source=Source.SCHOOL_TRAINING)
        .values_list("teacher_id", "teacher__name")
        .annotate(total=Sum("hours"))
        .filter(total__gt=cap.hours - hours)
        .order_by("teacher__name")
    )
    over = list(earned[:6])
    if over:
        names = "、".join(f"{name}（{fmt_hours(total)}）" for _pk, name, total in over[:5])
        raise DeclarationRefused(
            _("本区校本研修每人每年最多 %(cap)s 学时，以下教师再记 %(h)s 学时将超过上限：%(names)s%(more)s。")
            % {
                "cap": fmt_hours(cap.hours),
                "h": fmt_hours(hours),
                "names": names,
                "more": "等" if len(over) > 5 else "",
            }
        )


def school_training_cap_set(*, actor: User, district: Unit, year: int, hours: Decimal, now: dt.datetime) -> None:
    """The district admin sets (or changes) the yearly cap per teacher for its schools.

    Side effects: the cap row created or updated, a CAP_SET audit entry.
    """
    if district.kind != UnitKind.DISTRICT or not scope_for(actor).reaches(district, roles=(Role.DISTRICT_ADMIN,)):
        raise PermissionDenied
    if hours <= 0:
        raise DeclarationRefused(_("上限必须大于 0。"))
    with transaction.atomic():
        cap, _created = SchoolTrainingCap.objects.update_or_create(
            district=district, year=year, defaults={"hours": hours, "set_by": actor, "set_at": now}
        )
        HoursAuditEntry.objects.create(
            subject="school_training_cap",
            subject_id=cap.pk,
            unit=district,
            actor=actor,
            actor_name=actor.name,
            action=HoursAuditAction.CAP_SET,
            data={"year": year, "hours": str(hours)},
            created_at=now,
        )


# --- attendees from a sheet ------------------------------------------------------------------------------------------


def _parse_id(value: Any) -> str:
    try:
        return idcard.check(value).number
    except idcard.IdNumberError as exc:
        raise ValueError(str(exc)) from None


ATTENDEE_COLUMNS = [
    Column("id_number", "身份证号", aliases=("身份证号码", "证件号码"), parse=_parse_id),
    Column("name", "姓名", parse=text(50)),
]


@dataclass
class AttendeeImport(ImportResult):
    teacher_ids: list[int] | None = None


def school_attendees_read(file: Any, *, school: Unit) -> AttendeeImport:
    """The attendees listed in an xlsx (身份证号, 姓名), matched against the school's active roster.

    Writes nothing: the ids go to ``school_activity_record``. Row errors ("第 N 行 列名：…") for a
    number not on the roster, a name that does not match it, or a teacher listed twice.
    Two queries, whatever the sheet's length.
    """
    table = read_table(file, ATTENDEE_COLUMNS)
    table.check_unique("id_number", _("与第 %(row)d 行重复，同一教师只能出现一次"))
    recs = list(table.records())
    roster = {
        t.id_number: t
        for t in Teacher.objects.filter(
            id_number__in={r["id_number"] for r in recs}, unit=school, status=TeacherStatus.ACTIVE
        ).only("pk", "name", "id_number")
    }
    ids = []
    for rec in recs:
        teacher = roster.get(rec["id_number"])
        if teacher is None:
            table.add_error(rec.index, "id_number", _("不是本校在职教师，请核对或先在名册中登记"))
        elif teacher.name != rec["name"]:
            table.add_error(
                rec.index, "name", _("与身份证号不符：名册中的姓名是“%(name)s”，请核对") % {"name": teacher.name}
            )
        else:
            ids.append(teacher.pk)
    table.sort_errors()
    result = AttendeeImport(errors=table.errors)
    result.teacher_ids = None if result.errors else ids
    return result
