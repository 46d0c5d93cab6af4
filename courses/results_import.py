"""Provider result import: a provider's formative-assessment sheet becomes ledger entries.

Columns: 身份证号, 姓名, 课程编号, 学时, 考核结果 (合格 / 不合格). Built on the
generic machinery in portal.importing: all-or-nothing, Chinese row errors.

A passed row completes the teacher's selection in that course and records
the hours (source "import", reference ``ledger_reference(id)``). Both happen for
all rows at once (one conditional UPDATE claiming the still-selected
selections, one bulk INSERT): an selection completed before — by an earlier
upload of the same sheet or by courses.services.selection_complete — is
claimed by nobody, so nothing is recorded twice.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils import timezone
from django.utils.translation import gettext as _

from credits.models import CreditEntry, Source
from portal import idcard
from portal.importing import Column, ImportResult, choice, excerpt, name, read_table, text
from portal.locking import lock_rows
from portal.models import Teacher

from .attendance_selectors import hours_withheld
from .models import Course, CourseSelection, SelectionStatus, ledger_reference

MAX_ROWS = 300_000  # a provider's learners in one sheet
MAX_HOURS = 1000  # one course's hours


def _parse_id(value: Any) -> str:
    try:
        return idcard.check(value).number
    except idcard.IdNumberError as exc:
        raise ValueError(str(exc)) from None


def _parse_hours(value: Any) -> Decimal:
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise ValueError(_("“%(value)s”不是数字，请填写学时数，例如 12 或 1.5") % {"value": excerpt(value)}) from None
    if not hours.is_finite() or hours <= 0:
        raise ValueError(_("学时必须大于 0"))
    if hours > MAX_HOURS:
        raise ValueError(_("学时不能大于 %(max)d") % {"max": MAX_HOURS})
    if hours != hours.quantize(Decimal("0.1")):
        raise ValueError(_("学时最多保留一位小数"))
    return hours


COLUMNS = [
    Column("id_number", "身份证号", aliases=("身份证号码", "证件号码"), parse=_parse_id),
    Column("name", "姓名", parse=name(50)),
    Column("course_code", "课程编号", aliases=("课程代码",), parse=text(32)),
    Column("hours", "学时", aliases=("获得学时",), parse=_parse_hours),
    Column("passed", "考核结果", aliases=("考核结论",), parse=choice({"合格": True, "不合格": False}, "考核结果")),
]


@dataclass
class ResultImport(ImportResult):
    failed: int = 0  # rows marked 不合格 (nothing recorded)
    already: int = 0  # passed rows whose selection was completed before
    hours: Decimal = Decimal(0)
    rows: list[dict] = field(default_factory=list)


def provider_results_import(
    file: Any, *, provider, period, actor, now: dt.datetime | None = None, dry_run: bool = False
) -> ResultImport:
    """Check every row; unless ``dry_run`` or any row is wrong, complete the selections and record the hours.

    Side effects (only when the whole sheet is valid): one UPDATE of the claimed
    selections to completed and one bulk INSERT into the ledger, in one transaction.
    A fixed number of queries whatever the sheet's length.
    """
    now = now or timezone.now()
    table = read_table(file, COLUMNS, max_rows=MAX_ROWS)
    result = ResultImport(errors=table.errors, dry_run=dry_run)
    recs = list(table.records())
    teachers = {
        t.id_number: t
        for t in Teacher.objects.filter(id_number__in={r["id_number"] for r in recs}).only("id", "name", "id_number")
    }
    courses = {
        c.code: c
        for c in Course.objects.filter(period=period, code__in={r["course_code"] for r in recs})
        .select_related("kind")
        .prefetch_related("topics")
    }
    selections = {
        (e.teacher_id, e.course_id): e
        for e in CourseSelection.objects.filter(
            course__in=[c for c in courses.values() if c.provider_id == provider.pk],
            teacher__in=list(teachers.values()),
            status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED),
        ).only("id", "teacher_id", "course_id", "status")
    }
    seen: dict[tuple[int, int], int] = {}
    passed: list[tuple[Any, Any, Any, Decimal]] = []  # (selection, teacher, course, hours)
    for rec in recs:
        teacher = teachers.get(rec["id_number"])
        course = courses.get(rec["course_code"])
        if teacher is None:
            table.add_error(rec.index, "id_number", _("平台中没有这个身份证号的教师，请核对"))
        elif teacher.name != rec["name"]:
            table.add_error(
                rec.index, "name", _("与身份证号不符：平台登记的姓名是“%(name)s”，请核对") % {"name": teacher.name}
            )
        if course is None:
            table.add_error(
                rec.index, "course_code", _("本期没有编号为 %(code)s 的课程") % {"code": rec["course_code"]}
            )
            continue
        if course.provider_id != provider.pk:
            table.add_error(rec.index, "course_code", _("课程 %(code)s 不是本机构的课程") % {"code": course.code})
            continue
        if rec["hours"] > course.hours:
            table.add_error(
                rec.index, "hours", _("超过课程学时 %(max)s，请核对") % {"max": f"{course.hours.normalize():f}"}
            )
        if teacher is None or teacher.name != rec["name"]:
            continue
        selection = selections.get((teacher.pk, course.pk))
        if selection is None:
            table.add_error(rec.index, "course_code", _("该教师没有选修这门课程（或已退选）"))
            continue
        key = (teacher.pk, course.pk)
        if key in seen:
            table.add_error(
                rec.index, "course_code", _("与第 %(row)d 行重复：同一教师同一课程只能出现一次") % {"row": seen[key]}
            )
            continue
        seen[key] = rec.row
        if rec.index in table.bad:
            continue
        if not rec["passed"]:
            result.failed += 1
        elif selection.status == SelectionStatus.COMPLETED:
            result.already += 1
        else:
            passed.append((selection, teacher, course, rec["hours"]))
    table.sort_errors()
    # Hours of sessions missed without leave are not granted where the city says so.
    withheld = hours_withheld(p[0] for p in passed)
    passed = [(e, t, c, max(h - withheld.get(e.pk, 0), Decimal(0))) for e, t, c, h in passed]
    result.errors = table.errors
    result.created = len(passed)
    result.unchanged = result.failed + result.already
    result.hours = sum((p[3] for p in passed), Decimal(0))
    if result.errors or dry_run or not passed:
        return result
    _record(passed, period.year, actor, now)
    result.written = True
    return result


def _record(passed, year: int, actor, now: dt.datetime) -> None:
    with transaction.atomic():
        ids = [e.pk for e, *_rest in passed]
        # Claim: only selections still "selected" now are completed and credited here.
        claimed = set(
            lock_rows(
                CourseSelection.objects.filter(pk__in=ids, status=SelectionStatus.SELECTED).values_list("pk", flat=True)
            )
        )
        CourseSelection.objects.filter(pk__in=claimed).update(
            status=SelectionStatus.COMPLETED, completed_at=now, completed_by=actor
        )
        CreditEntry.objects.bulk_create(
            [
                CreditEntry(
                    teacher_id=teacher.pk,
                    year=year,
                    category=course.category,
                    kind=course.kind,
                    topic_codes=CreditEntry.join_topics(t.code for t in course.topics.all()),
                    hours=hours,
                    source=Source.IMPORT,
                    reference=ledger_reference(selection.pk),
                    recorded_by=actor,
                    recorded_at=now,
                    reason=_("%(code)s %(title)s 考核合格") % {"code": course.code, "title": course.title},
                )
                for selection, teacher, course, hours in passed
                if selection.pk in claimed and hours > 0
            ],
            batch_size=2000,
        )
