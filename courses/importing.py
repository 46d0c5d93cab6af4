"""Course catalogue import from Excel, on the portal's all-or-nothing machinery (portal.importing).

One row per course of one period; a course code already in the period is updated, a new one
created. Nothing is written unless every row is valid. Offline sessions are edited in the portal.
"""

from __future__ import annotations

import re
from decimal import Decimal, InvalidOperation
from typing import Any

from django.db import transaction
from django.utils.translation import gettext as _

from courses.models import (
    OFFER_LOCKED_STATES,
    Course,
    CourseMode,
    CourseStatus,
    Provider,
    TrainingPeriod,
    kind_missing_message,
)
from credits.models import Category, CreditKind, Topic
from credits.rule_engine import fmt_hours
from portal import exporting
from portal.importing import Column, ImportResult, PreviewRow, choice, excerpt, name, read_table, text
from portal.models import Stage

CATEGORY_NAMES = {
    "公需科目": Category.PUBLIC,
    "公需": Category.PUBLIC,
    "专业科目": Category.PROFESSIONAL,
    "专业": Category.PROFESSIONAL,
    "选修科目": Category.ELECTIVE,
    "个人选修科目": Category.ELECTIVE,
    "个人选修": Category.ELECTIVE,
    "选修": Category.ELECTIVE,
}
MODE_NAMES = {"线上": CourseMode.ONLINE, "线下": CourseMode.OFFLINE, "混合": CourseMode.MIXED}
STATUS_NAMES = {"草稿": CourseStatus.DRAFT, "发布": CourseStatus.PUBLISHED, "已发布": CourseStatus.PUBLISHED}
MAX_CAPACITY = 1_000_000
MAX_ROWS = 10_000  # courses of one period in one file
_SPLIT = re.compile(r"[、,，;；/\s]+")


def _decimal(what: str, *, minimum: Decimal, maximum: Decimal, places: int):
    def parse(value: Any) -> Decimal:
        try:
            number = Decimal(str(value))
        except InvalidOperation:
            raise ValueError(_("“%(v)s”不是数字，请填写%(what)s") % {"v": excerpt(value), "what": what}) from None
        if not number.is_finite() or number < minimum:
            raise ValueError(_("%(what)s不能小于 %(min)s") % {"what": what, "min": minimum})
        if number > maximum:
            raise ValueError(_("%(what)s不能大于 %(max)s") % {"what": what, "max": maximum})
        if number != round(number, places):
            raise ValueError(_("%(what)s最多保留 %(n)d 位小数") % {"what": what, "n": places})
        return number

    return parse


def _capacity(value: Any) -> int | None:
    if str(value).strip() in ("不限", "无限", "0"):
        return None
    try:
        number = int(str(value)) if len(str(value)) <= 12 else None
    except ValueError:
        number = None
    if number is None:
        raise ValueError(_("“%(v)s”不是整数；名额填正整数，不限名额请留空或填“不限”") % {"v": excerpt(value)}) from None
    if not 1 <= number <= MAX_CAPACITY:
        raise ValueError(_("名额必须是 1 到 %(max)d 之间的整数，不限名额请留空") % {"max": MAX_CAPACITY})
    return number


def _names(value: Any) -> list[str]:
    return [part for part in _SPLIT.split(str(value)) if part]


COLUMNS = [
    Column("code", "课程代码", parse=text(32)),
    Column("title", "课程名称", parse=name(200)),
    Column(
        "category", "科目类别", parse=choice(CATEGORY_NAMES, "科目类别", shown=["公需科目", "专业科目", "选修科目"])
    ),
    Column("hours", "学时", parse=_decimal("学时", minimum=Decimal("0.5"), maximum=Decimal(1000), places=1)),
    Column("provider", "施教机构", aliases=("机构代码", "施教机构代码"), parse=name(100)),
    Column("mode", "形式", required=False, parse=choice(MODE_NAMES, "形式"), default=CourseMode.ONLINE),
    Column("capacity", "名额", required=False, parse=_capacity),
    Column(
        "fee",
        "每学时收费",
        aliases=("收费",),
        required=False,
        parse=_decimal("每学时收费", minimum=Decimal(0), maximum=Decimal(10000), places=2),
        default=Decimal(0),
    ),
    Column("topics", "专题", required=False, parse=_names, default=[]),
    Column("stages", "面向学段", aliases=("学段",), required=False, parse=_names, default=[]),
    Column("kind", "学时类型", required=False, parse=name(60), default=""),
    Column("description", "课程简介", required=False, parse=text(4000), default=""),
    Column(
        "status",
        "状态",
        required=False,
        parse=choice(STATUS_NAMES, "状态", shown=["草稿", "发布"]),
        default=CourseStatus.DRAFT,
    ),
]


def course_import_template() -> bytes:
    """An .xlsx with the headers and one example row."""
    return exporting.xlsx_bytes(
        title=_("课程导入模板（表头在第 2 行；带专题、学段时用顿号分隔）"),
        headers=[c.header for c in COLUMNS],
        rows=[
            [
                "2601-101",
                "新课标背景下的大单元教学设计",
                "专业科目",
                12,
                "GDEI",
                "线上",
                200,
                3,
                "新课标新课堂、师德师风",
                "初中、高中",
                "",
                "以大概念统领单元，设计真实情境任务。",
                "发布",
            ]
        ],
    )


def course_import(file: Any, *, period: TrainingPeriod, providers, dry_run: bool = False) -> ImportResult:
    """Check every row, then (unless ``dry_run`` or any error) create and update the period's courses at once.

    ``providers`` is what the importing user manages (courses.selectors.providers_managed_by): a row
    naming another provider, or updating another provider's course, is an error. Side effects: bulk
    INSERT/UPDATE of courses and their topic/stage links in one transaction; nothing on error.
    """
    table = read_table(file, COLUMNS, max_rows=MAX_ROWS)
    table.check_unique("code")
    by_code = {p.code.lower(): p for p in providers}
    by_name = {p.name: p for p in providers}
    managed_ids = {p.pk for p in providers}
    others = {p.code.lower() for p in Provider.objects.exclude(pk__in=[p.pk for p in providers])}
    topics = {t.name: t for t in Topic.objects.all()} | {t.code: t for t in Topic.objects.all()}
    stages = {s.name: s for s in Stage.objects.all()} | {s.code: s for s in Stage.objects.all()}
    kinds = {k.name: k for k in CreditKind.objects.all()} | {k.code: k for k in CreditKind.objects.all()}
    codes = [v for v in table.values["code"] if v]
    existing = {c.code: c for c in Course.objects.filter(period=period, code__in=codes).select_related("offer")}
    required_kinds = {c: period.kinds_required_for(c) for c in Category.values}
    result = ImportResult(dry_run=dry_run)
    planned: list[tuple[Course, list[Topic], list[Stage]]] = []
    for rec in table.records():
        i = rec.index
        provider = by_code.get(str(rec["provider"]).lower()) or by_name.get(rec["provider"])
        if provider is None:
            if str(rec["provider"]).lower() in others:
                why = _("不是您可以管理的施教机构")
            else:
                why = _("不存在，请填写机构代码或全称")
            table.add_error(i, "provider", f"“{rec['provider']}”{why}")
            continue
        course = existing.get(rec["code"])
        if course is not None and course.provider_id not in managed_ids:
            table.add_error(i, "code", _("本周期已有该代码的课程，属于其他施教机构，不能修改"))
            continue
        if period.max_fee_per_hour is not None and rec.get("fee", Decimal(0)) > period.max_fee_per_hour:
            table.add_error(
                i,
                "fee",
                _("每学时收费 %(fee)s 元超过本周期上限 %(max)s 元")
                % {"fee": fmt_hours(rec["fee"]), "max": fmt_hours(period.max_fee_per_hour)},
            )
        row_topics = [topics.get(n) for n in rec.get("topics", [])]
        if None in row_topics:
            missing = "、".join(n for n in rec["topics"] if n not in topics)
            table.add_error(
                i,
                "topics",
                _("专题“%(n)s”不存在，可用的有：%(all)s")
                % {"n": missing, "all": "、".join(t.name for t in Topic.objects.all())},
            )
        row_stages = [stages.get(n) for n in rec.get("stages", [])]
        if None in row_stages:
            missing = "、".join(n for n in rec["stages"] if n not in stages)
            table.add_error(
                i,
                "stages",
                _("学段“%(n)s”不存在，可用的有：%(all)s")
                % {"n": missing, "all": "、".join(s.name for s in Stage.objects.all())},
            )
        kind = None
        if rec.get("kind"):
            kind = kinds.get(rec["kind"])
            if kind is None:
                table.add_error(i, "kind", _("学时类型“%(k)s”不存在") % {"k": rec["kind"]})
            elif kind.category != rec["category"]:
                table.add_error(
                    i,
                    "kind",
                    _("学时类型“%(k)s”属于%(c)s，与科目类别不一致")
                    % {"k": kind.name, "c": Category(kind.category).label},
                )
        if course is not None and course.offer_id and course.offer.status in OFFER_LOCKED_STATES:
            table.add_error(
                i,
                "code",
                _("本课程属于%(status)s的课程方案，不能通过导入修改") % {"status": course.offer.get_status_display()},
            )
        final_kind = kind if "kind" in table.present else (course.kind if course is not None else None)
        if final_kind is None and not rec.get("kind") and required_kinds.get(rec["category"]):
            table.add_error(i, "kind", kind_missing_message(rec["category"], required_kinds[rec["category"]]))
        capacity = rec.get("capacity")
        if course is not None and capacity is not None and capacity < course.enrolled_count:
            table.add_error(i, "capacity", _("已有 %(n)d 人选课，名额不能少于已选人数") % {"n": course.enrolled_count})
        if i in table.bad:
            continue
        target = course or Course(period=period, code=rec["code"])
        target.title, target.category, target.hours, target.provider = (
            rec["title"],
            rec["category"],
            rec["hours"],
            provider,
        )
        for key, attr in (
            ("mode", "mode"),
            ("capacity", "capacity"),
            ("fee", "fee_per_hour"),
            ("description", "description"),
            ("status", "status"),
        ):
            if key in table.present:
                setattr(target, attr, rec[key])
        if "kind" in table.present:
            target.kind = kind
        planned.append(
            (
                target,
                row_topics if "topics" in table.present else None,
                row_stages if "stages" in table.present else None,
            )
        )
        result.preview.append(
            PreviewRow(
                rec.row, "update" if course else "create", {_("课程代码"): rec["code"], _("课程名称"): rec["title"]}
            )
        )
    table.sort_errors()
    result.errors = table.errors
    result.created = sum(1 for c, _t, _s in planned if c.pk is None)
    result.updated = len(planned) - result.created
    if result.errors or dry_run:
        return result
    _write(planned)
    result.written = True
    return result


def _write(planned: list[tuple[Course, list | None, list | None]]) -> None:
    new = [c for c, _t, _s in planned if c.pk is None]
    old = [c for c, _t, _s in planned if c.pk is not None]
    with transaction.atomic():
        Course.objects.bulk_create(new)
        if old:
            Course.objects.bulk_update(
                old,
                [
                    "title",
                    "category",
                    "hours",
                    "provider",
                    "mode",
                    "capacity",
                    "fee_per_hour",
                    "description",
                    "status",
                    "kind",
                ],
                batch_size=500,
            )
        for relation, index in (("topics", 1), ("stages", 2)):
            through = getattr(Course, relation).through
            rows = [(item[0], item[index]) for item in planned if item[index] is not None]
            if not rows:
                continue
            target_field = "topic_id" if relation == "topics" else "stage_id"
            through.objects.filter(course_id__in=[c.pk for c, _links in rows]).delete()
            through.objects.bulk_create(
                [through(course_id=c.pk, **{target_field: obj.pk}) for c, links in rows for obj in dict.fromkeys(links)]
            )
