"""Provider result import: a provider's formative-assessment sheet becomes ledger entries.

Columns: 身份证号, 姓名, 课程编号, 学时, 考核结果 (合格 / 不合格). Built on the
generic machinery in portal.importing: all-or-nothing, Chinese row errors.

A passed row completes the teacher's selection in that course and records
the hours (source "import", reference ``ledger_reference(id)``). Both happen for
all rows at once (one conditional UPDATE claiming the still-selected
selections, one bulk INSERT): an selection completed before — by an earlier
upload of the same sheet or by courses.services.selection_complete — is
claimed by nobody, so nothing is recorded twice.

A provider registers hours only within the period's training dates (later only under a city
admin's LateRegistration), only for courses of approved offers where the period asks for them, and
only for learners of its own courses whose school chose it. Messages never leak: an ID number that
is not a learner of the provider's courses is answered as such, never with the name it belongs to.
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
from portal.figures import figures_forget
from portal.importing import Column, ImportFileError, ImportResult, choice, excerpt, name, read_table, text
from portal.locking import lock_rows
from portal.models import Teacher

from .attendance_selectors import hours_withheld
from .models import (
    LIVE_AGREEMENT_STATES,
    LIVE_SELECTION_STATES,
    Agreement,
    Course,
    CourseSelection,
    OfferStatus,
    SelectionStatus,
    ledger_reference,
)
from .services import PartnershipError, registration_window_check

MAX_ROWS = 300_000  # a provider's learners in one sheet
MAX_HOURS = 1000  # one course's hours


class RegistrationClosed(ImportFileError):
    """Outside the period's training dates without a city admin's permission: nothing is registered."""


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

    Raises RegistrationClosed outside the training dates (unless a LateRegistration allows it).
    Side effects (only when the whole sheet is valid): one UPDATE of the claimed
    selections to completed and one bulk INSERT into the ledger, in one transaction.
    A fixed number of queries whatever the sheet's length.
    """
    now = now or timezone.now()
    try:
        late = registration_window_check(period, provider.pk, now)
    except PartnershipError as exc:
        raise RegistrationClosed(str(exc)) from None
    table = read_table(file, COLUMNS, max_rows=MAX_ROWS)
    result = ResultImport(errors=table.errors, dry_run=dry_run)
    recs = list(table.records())
    # Only the provider's own learners are looked up: anyone else is "not a learner", whoever they are.
    selections: dict[tuple[int, int], CourseSelection] = {}
    learners: dict[str, Teacher] = {}
    for selection in (
        CourseSelection.objects.filter(
            period=period,
            course__provider=provider,
            teacher__id_number__in={r["id_number"] for r in recs},
            status__in=LIVE_SELECTION_STATES,
        )
        .select_related("teacher")
        .only("id", "teacher_id", "course_id", "status", "teacher__name", "teacher__id_number", "teacher__unit_id")
    ):
        selections[(selection.teacher_id, selection.course_id)] = selection
        learners[selection.teacher.id_number] = selection.teacher
    courses = {
        c.code: c
        for c in Course.objects.filter(period=period, code__in={r["course_code"] for r in recs})
        .select_related("kind", "offer")
        .prefetch_related("topics")
    }
    chose = (
        set(
            Agreement.objects.filter(period=period, provider=provider, state__in=LIVE_AGREEMENT_STATES).values_list(
                "school_id", flat=True
            )
        )
        if period.uses_school_providers
        else None
    )
    seen: dict[tuple[int, int], int] = {}
    passed: list[tuple[Any, Any, Any, Decimal]] = []  # (selection, teacher, course, hours)
    for rec in recs:
        teacher = learners.get(rec["id_number"])
        course = courses.get(rec["course_code"])
        if teacher is None:
            table.add_error(rec.index, "id_number", _("不是本机构课程的学员，请核对身份证号"))
        elif teacher.name != rec["name"]:
            table.add_error(
                rec.index,
                "name",
                _("与身份证号不符：本机构学员名单中的姓名是“%(name)s”，请核对") % {"name": teacher.name},
            )
        if course is None:
            table.add_error(
                rec.index, "course_code", _("本期没有编号为 %(code)s 的课程") % {"code": rec["course_code"]}
            )
            continue
        if course.provider_id != provider.pk:
            table.add_error(rec.index, "course_code", _("课程 %(code)s 不是本机构的课程") % {"code": course.code})
            continue
        if period.offers_required and (course.offer is None or course.offer.status != OfferStatus.APPROVED):
            table.add_error(
                rec.index,
                "course_code",
                _("课程 %(code)s 所属的课程方案尚未立项，不能登记学时") % {"code": course.code},
            )
            continue
        if rec["hours"] > course.hours:
            table.add_error(
                rec.index, "hours", _("超过课程学时 %(max)s，请核对") % {"max": f"{course.hours.normalize():f}"}
            )
        if teacher is None or teacher.name != rec["name"]:
            continue
        if chose is not None and teacher.unit_id not in chose:
            table.add_error(rec.index, "id_number", _("该教师所在学校本期没有选择本机构，不能登记学时"))
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
    note = _("（逾期登记，许可 #%(n)d）") % {"n": late.pk} if late is not None else ""
    _record(passed, period.year, actor, now, note)
    result.written = True
    return result


def _record(passed, year: int, actor, now: dt.datetime, note: str) -> None:
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
                    reason=_("%(code)s %(title)s 考核合格") % {"code": course.code, "title": course.title} + note,
                )
                for selection, teacher, course, hours in passed
                if selection.pk in claimed and hours > 0
            ],
            batch_size=2000,
        )
        # New hours for many teachers at once: the dashboards' counts (portal.figures) show them at their next read.
        transaction.on_commit(figures_forget)
