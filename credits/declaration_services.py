"""Declarations of hours earned outside the catalogue (学时申报) and their certification (学时认定).

A teacher declares a training with its dates, organiser, category, hours and evidence; the
city's conversion rule (``DeclarationSettings``: a full day 8 hours, part of a day 45 minutes
per hour in Guangdong) caps the hours. Her school admin certifies it — one ledger entry — or
returns it with a reason; a later revocation (by the school, or by the district on a
spot-check sample) reverses the entry, never edits it. Each city's last days for declaring and
certifying are checked at request time. Every step writes an ``HoursAuditEntry`` and a notice.

Duplicates are refused: the same teacher, overlapping dates and the same organiser, or hours
already recorded for the same training by an app above this one (courses registers a check
through ``register_duplicate_check``, since credits may not import courses).

Errors the user can fix raise ``DeclarationRefused`` with a complete Chinese sentence; acting
outside one's role or reach raises ``PermissionDenied``.
"""

from __future__ import annotations

import datetime as dt
import unicodedata
from collections import Counter, defaultdict
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from credits.models import (
    CLAIMING_STATES,
    Category,
    CreditEntry,
    CreditKind,
    Declaration,
    DeclarationEvidence,
    DeclarationSettings,
    DeclarationState,
    HoursAuditAction,
    HoursAuditEntry,
    Source,
    Topic,
    declaration_reference,
)
from credits.rule_engine import fmt_hours
from credits.selectors import kinds_counted_for_unit
from credits.services import credit_entry_reversal_insert
from portal.locking import lock_rows
from portal.models import Role, RoleAssignment, Teacher, Unit, User
from portal.notifications import notify
from portal.scoping import scope_for
from portal.uploads import document_kind

EVIDENCE_KINDS = ("pdf", "jpeg", "png")
MAX_EVIDENCE_FILES = 5
KIND_DECLARATION_SUBMITTED = "declaration.submitted"
KIND_DECLARATION_DECIDED = "declaration.decided"
KIND_DECLARATION_REMINDER = "reminder.declaration"
KIND_SPOT_CHECK = "declaration.spot_check"


class DeclarationRefused(Exception):
    """A rule refused the action; ``str(exc)`` says what happened and what to do."""


@dataclass(frozen=True)
class DeclarationInput:
    title: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    category: str
    hours: Decimal
    full_days: int = 0
    minutes: int = 0
    topic: Topic | None = None
    kind: CreditKind | None = None


@dataclass
class BulkResult:
    done: int = 0
    skipped: int = 0
    reasons: list[str] = field(default_factory=list)


@dataclass(frozen=True)
class Candidate:
    """What a duplicate check looks at: one declaration, saved or about to be."""

    teacher_id: int
    title: str
    organiser: str
    starts_on: dt.date
    ends_on: dt.date
    declaration_id: int | None = None


# A check gets the candidates and returns, by position in the list, why each found one is a duplicate.
DuplicateCheck = Callable[[Sequence[Candidate]], dict[int, str]]
DUPLICATE_CHECKS: list[DuplicateCheck] = []


def register_duplicate_check(check: DuplicateCheck) -> None:
    """Called from an app's ``ready()`` (courses: hours already recorded from the portal's own course)."""
    if check not in DUPLICATE_CHECKS:
        DUPLICATE_CHECKS.append(check)


def normalized(text: str) -> str:
    """For comparing names typed by people: NFKC, no spaces, case folded."""
    return "".join(unicodedata.normalize("NFKC", text or "").split()).casefold()


def _url(declaration_id: int) -> str:
    return reverse("credits:declaration_detail", args=[declaration_id])


def _day(value: dt.date) -> str:
    return f"{value:%Y-%m-%d}"


def _audit(
    declaration: Declaration | dict, actor: User, action: str, now: dt.datetime, comment: str = "", **data: Any
) -> HoursAuditEntry:
    pk, school_id = (
        (declaration["pk"], declaration["school_id"])
        if isinstance(declaration, dict)
        else (declaration.pk, declaration.school_id)
    )
    return HoursAuditEntry(
        subject="declaration",
        subject_id=pk,
        unit_id=school_id,
        actor=actor,
        actor_name=actor.name,
        action=action,
        comment=comment,
        data=data,
        created_at=now,
    )


# --- the city's settings and the conversion rule --------------------------------------------------------------------


def declaration_settings_for(unit: Unit, year: int) -> DeclarationSettings | None:
    """The settings of the unit's city for ``year`` (one query), or None when the city has none."""
    return DeclarationSettings.objects.filter(city__code=unit.city_code, year=year).first()


def declaration_hours_check(settings: DeclarationSettings, data: DeclarationInput) -> Decimal:
    """The most hours ``data`` may declare under the city's rule; DeclarationRefused saying why when it is wrong."""
    if data.ends_on < data.starts_on:
        raise DeclarationRefused(_("结束日期不能早于开始日期。"))
    days = (data.ends_on - data.starts_on).days + 1
    if data.full_days + (1 if data.minutes else 0) > days:
        raise DeclarationRefused(
            _("%(a)s 至 %(b)s 共 %(n)d 天，整天天数加上不足一天的那一天不能超过 %(n)d 天。")
            % {"a": _day(data.starts_on), "b": _day(data.ends_on), "n": days}
        )
    most = settings.max_hours(data.full_days, data.minutes)
    if data.hours <= 0:
        raise DeclarationRefused(_("申报学时必须大于 0。"))
    if data.hours > most:
        raise DeclarationRefused(
            _("按本市折算规则（%(rule)s），最多可申报 %(most)s 学时，现在填写的是 %(h)s 学时。")
            % {
                "rule": settings.rule_text,
                "most": fmt_hours(most),
                "h": fmt_hours(data.hours),
            }
        )
    return most


def credit_kind_problem(counted: Sequence[CreditKind], year: int, category: str, kind: CreditKind | None) -> str:
    """Why ``kind`` will not do for hours of ``category`` in ``year`` ("" when it will), given the kinds the
    city's rule set counts in that category (``kinds_counted_for_unit(...)[category]``, [] when it counts none).

    Where the rule counts kinds, hours without one would count toward none of its lines.
    """
    if counted and kind not in counted:
        return _(
            "本市 %(year)d 年度学时规则按学时类型计算%(cat)s，请选择学时类型（%(kinds)s），否则学时不计入任何一项要求。"
        ) % {"year": year, "cat": Category(category).label, "kinds": "、".join(k.name for k in counted)}
    if not counted and kind is not None:
        return _("本市 %(year)d 年度学时规则不按学时类型计算%(cat)s，请不要选择学时类型。") % {
            "year": year,
            "cat": Category(category).label,
        }
    return ""


def credit_kind_check(unit: Unit, year: int, category: str, kind: CreditKind | None) -> None:
    """DeclarationRefused when ``kind`` will not do under the rule set of the unit's city (credit_kind_problem)."""
    problem = credit_kind_problem(kinds_counted_for_unit(unit, year).get(category, []), year, category, kind)
    if problem:
        raise DeclarationRefused(problem)


def _check_declarable(settings: DeclarationSettings | None, data: DeclarationInput, now: dt.datetime) -> None:
    year = data.ends_on.year
    if settings is None:
        raise DeclarationRefused(
            _("本市尚未开放 %(year)d 年度的学时申报，请联系学校或区教师发展中心。") % {"year": year}
        )
    if timezone.localdate(now) > settings.declare_until:
        raise DeclarationRefused(
            _("本市 %(year)d 年度的学时申报已于 %(day)s 截止。") % {"year": year, "day": _day(settings.declare_until)}
        )
    if data.category not in (settings.categories or []):
        allowed = "、".join(str(label) for _v, label in settings.category_choices) or _("（无）")
        raise DeclarationRefused(
            _("本市不接受申报%(cat)s的学时；可申报的科目类别：%(allowed)s。")
            % {"cat": Category(data.category).label, "allowed": allowed}
        )
    declaration_hours_check(settings, data)


# --- duplicates -----------------------------------------------------------------------------------------------------


def declaration_duplicates(candidates: Sequence[Candidate], states: Iterable[str] = CLAIMING_STATES) -> dict[int, str]:
    """Why each candidate (by position) duplicates something already recorded; a fixed number of queries.

    Another declaration of the same teacher in ``states`` with overlapping dates and the same
    organiser, then every registered check (the portal's own courses).
    """
    if not candidates:
        return {}
    found: dict[int, str] = {}
    others = Declaration.objects.filter(
        teacher_id__in={c.teacher_id for c in candidates},
        state__in=list(states),
        starts_on__lte=max(c.ends_on for c in candidates),
        ends_on__gte=min(c.starts_on for c in candidates),
    ).values("pk", "teacher_id", "title", "organiser", "starts_on", "ends_on")
    by_teacher: dict[int, list[dict[str, Any]]] = {}
    for found_row in others:
        by_teacher.setdefault(found_row["teacher_id"], []).append(dict(found_row))
    for i, c in enumerate(candidates):
        for row in by_teacher.get(c.teacher_id, []):
            if row["pk"] == c.declaration_id or normalized(row["organiser"]) != normalized(c.organiser):
                continue
            if row["starts_on"] <= c.ends_on and row["ends_on"] >= c.starts_on:
                found[i] = _("与已申报的《%(title)s》（%(org)s，%(a)s 至 %(b)s）重复：同一主办单位、日期重叠。") % {
                    "title": row["title"],
                    "org": row["organiser"],
                    "a": _day(row["starts_on"]),
                    "b": _day(row["ends_on"]),
                }
                break
    for check in DUPLICATE_CHECKS:
        for i, why in check(candidates).items():
            found.setdefault(i, why)
    return found


def _candidate(teacher: Teacher, data: DeclarationInput, declaration_id: int | None = None) -> Candidate:
    return Candidate(teacher.pk, data.title, data.organiser, data.starts_on, data.ends_on, declaration_id)


# --- the teacher ----------------------------------------------------------------------------------------------------


def _checked_files(files: Sequence[Any]) -> list[tuple[Any, str]]:
    checked = []
    for f in files:
        try:
            checked.append((f, document_kind(f, EVIDENCE_KINDS)))
        except ValidationError as exc:
            raise DeclarationRefused(
                _("佐证材料“%(name)s”：%(why)s") % {"name": f.name, "why": exc.messages[0]}
            ) from None
    return checked


def _school_admin_ids(school_id: int) -> list[int]:
    return list(
        RoleAssignment.objects.filter(role=Role.SCHOOL_ADMIN, unit_id=school_id).values_list("user_id", flat=True)
    )


def declaration_submit(
    *,
    actor: User,
    data: DeclarationInput,
    files: Sequence[Any],
    now: dt.datetime,
    declaration: Declaration | None = None,
) -> Declaration:
    """The logged-in teacher declares hours, or (``declaration`` returned to her) corrects and submits again.

    Checks the city's settings for the year of the end date (deadline, declarable categories,
    conversion rule), the credit kind its rule set asks for in the category (credit_kind_check),
    duplicates, and that evidence is attached (PDF, JPEG or PNG by content).
    Side effects: the declaration (created, or updated from returned), its evidence files in
    private storage, a DECLARE audit entry, a notice to the school's admins.
    """
    teacher = scope_for(actor).teacher
    if teacher is None or (declaration is not None and declaration.teacher_id != teacher.pk):
        raise PermissionDenied
    if not teacher.is_active:
        raise DeclarationRefused(_("您的教师档案状态为“%(s)s”，不能申报学时。") % {"s": teacher.get_status_display()})
    settings = declaration_settings_for(teacher.unit, data.ends_on.year)
    _check_declarable(settings, data, now)
    credit_kind_check(teacher.unit, data.ends_on.year, data.category, data.kind)
    if declaration is not None and declaration.state != DeclarationState.RETURNED:
        raise DeclarationRefused(_("只有被退回的申报可以修改后重新提交。"))
    duplicate = declaration_duplicates([_candidate(teacher, data, declaration.pk if declaration else None)])
    if duplicate:
        raise DeclarationRefused(duplicate[0])
    checked = _checked_files(files)
    kept = declaration.evidence.count() if declaration is not None else 0
    if not checked and not kept:
        raise DeclarationRefused(_("请上传佐证材料（证书、结业证明或签到表的 PDF 或照片）。"))
    if kept + len(checked) > MAX_EVIDENCE_FILES:
        raise DeclarationRefused(_("佐证材料最多 %(n)d 个文件。") % {"n": MAX_EVIDENCE_FILES})
    values = dict(
        school=teacher.unit,
        year=data.ends_on.year,
        title=data.title.strip(),
        organiser=data.organiser.strip(),
        starts_on=data.starts_on,
        ends_on=data.ends_on,
        category=data.category,
        topic=data.topic,
        kind=data.kind,
        full_days=data.full_days,
        minutes=data.minutes,
        hours=data.hours,
        state=DeclarationState.SUBMITTED,
        submitted_at=now,
        return_reason="",
    )
    with transaction.atomic():
        if declaration is None:
            declaration = Declaration.objects.create(teacher=teacher, **values)
        else:
            changed = Declaration.objects.filter(pk=declaration.pk, state=DeclarationState.RETURNED).update(**values)
            if changed != 1:
                raise DeclarationRefused(_("该申报刚刚被处理过，请刷新页面后重试。"))
            for key, value in values.items():
                setattr(declaration, key, value)
        for f, kind in checked:
            DeclarationEvidence.objects.create(
                declaration=declaration, file=f, name=f.name[:200], kind=kind, size=f.size, uploaded_at=now
            )
        _audit(declaration, actor, HoursAuditAction.DECLARE, now, hours=str(data.hours)).save()
        notify(
            _school_admin_ids(teacher.unit_id),
            KIND_DECLARATION_SUBMITTED,
            _("学时申报待认定：%(name)s《%(title)s》") % {"name": teacher.name, "title": declaration.title},
            _("申报 %(h)s 学时，请在认定截止日 %(day)s 前处理。")
            % {"h": fmt_hours(data.hours), "day": _day(settings.certify_until) if settings else ""},
            _url(declaration.pk),
        )
    return declaration


# --- the school: certify and return, one or many --------------------------------------------------------------------

_ROW_FIELDS = (
    "pk",
    "state",
    "year",
    "school_id",
    "school__path",
    "teacher_id",
    "teacher__user_id",
    "title",
    "organiser",
    "starts_on",
    "ends_on",
    "category",
    "kind_id",
    "hours",
    "topic__code",
)


def _actionable(actor: User, ids: Iterable[int], now: dt.datetime) -> tuple[list[dict], list[dict]]:
    """Lock the chosen submitted declarations; split them into (actionable, skipped with ``why``).

    Fixed queries: the rows (locked in id order), the settings of their cities and years.
    """
    rows = lock_rows(Declaration.objects.filter(pk__in=list(ids)).values(*_ROW_FIELDS))
    reach = scope_for(actor).admin_paths((Role.SCHOOL_ADMIN,))
    wanted = {(r["school__path"].split("/")[1], r["year"]) for r in rows}
    settings: dict[tuple[str, int], DeclarationSettings] = {}
    if wanted:
        for s in DeclarationSettings.objects.filter(
            city__code__in={c for c, _y in wanted}, year__in={y for _c, y in wanted}
        ).select_related("city"):
            settings[(s.city.code, s.year)] = s
    actionable, skipped = [], []
    today = timezone.localdate(now)
    for row in rows:
        found = settings.get((row["school__path"].split("/")[1], row["year"]))
        if not any(row["school__path"].startswith(p) for p in reach):
            row["why"] = _("不在您的认定范围")
        elif row["state"] != DeclarationState.SUBMITTED:
            row["why"] = _("已处理")
        elif found is None or today > found.certify_until:
            row["why"] = _("%(year)d 年度学时认定已截止") % {"year": row["year"]}
            if found is not None:
                row["why"] += _("（%(day)s）") % {"day": _day(found.certify_until)}
        else:
            actionable.append(row)
            continue
        skipped.append(row)
    return actionable, skipped


def _refuse_strict(skipped: list[dict]) -> None:
    if skipped:
        why = skipped[0]["why"]
        if why == _("不在您的认定范围"):
            raise PermissionDenied
        raise DeclarationRefused(_("该申报不能处理：%(why)s。") % {"why": why})


def _certify(actor: User, ids: Iterable[int], now: dt.datetime, strict: bool) -> BulkResult:
    result = BulkResult()
    with transaction.atomic():
        rows, skipped = _actionable(actor, ids, now)
        candidates = [
            Candidate(r["teacher_id"], r["title"], r["organiser"], r["starts_on"], r["ends_on"], r["pk"]) for r in rows
        ]
        duplicates = declaration_duplicates(candidates, states=(DeclarationState.CERTIFIED,))
        # Two of the chosen ones may duplicate each other: the first certified wins.
        seen: dict[tuple[int, str], list[dict]] = {}
        for i, row in enumerate(rows):
            if i in duplicates:
                continue
            for other in seen.get((row["teacher_id"], normalized(row["organiser"])), ()):
                if other["starts_on"] <= row["ends_on"] and other["ends_on"] >= row["starts_on"]:
                    duplicates[i] = _("与同时认定的《%(title)s》重复：同一主办单位、日期重叠。") % {
                        "title": other["title"]
                    }
                    break
            else:
                seen.setdefault((row["teacher_id"], normalized(row["organiser"])), []).append(row)
        for i in sorted(duplicates):
            skipped.append({**rows[i], "why": duplicates[i]})
        rows = [r for i, r in enumerate(rows) if i not in duplicates]
        if strict:
            _refuse_strict(skipped)
        result.skipped, result.reasons = len(skipped), sorted({r["why"] for r in skipped})
        if not rows:
            return result
        Declaration.objects.filter(pk__in=[r["pk"] for r in rows], state=DeclarationState.SUBMITTED).update(
            state=DeclarationState.CERTIFIED, decided_at=now, decided_by=actor
        )
        CreditEntry.objects.bulk_create(
            [
                CreditEntry(
                    teacher_id=r["teacher_id"],
                    year=r["year"],
                    category=r["category"],
                    kind_id=r["kind_id"],
                    topic_codes=CreditEntry.join_topics([r["topic__code"]]),
                    hours=r["hours"],
                    source=Source.DECLARATION,
                    reference=declaration_reference(r["pk"]),
                    recorded_by=actor,
                    recorded_at=now,
                    reason=_("学时申报认定：%(title)s（%(org)s）") % {"title": r["title"], "org": r["organiser"]},
                )
                for r in rows
            ],
            batch_size=1000,
        )
        HoursAuditEntry.objects.bulk_create(
            [_audit(r, actor, HoursAuditAction.CERTIFY, now, hours=str(r["hours"])) for r in rows], batch_size=1000
        )
        notify(
            [r["teacher__user_id"] for r in rows if r["teacher__user_id"]],
            KIND_DECLARATION_DECIDED,
            _("学时申报已认定"),
            _("学校已认定您申报的学时，已记入年度学时。"),
            reverse("credits:declarations"),
        )
        result.done = len(rows)
    return result


def declaration_certify(*, actor: User, declaration: Declaration, now: dt.datetime) -> None:
    """The school admin certifies one declaration: its hours become one ledger entry.

    Checks her reach, the state, the city's certification deadline and duplicates (against
    certified declarations and the portal's own courses). Side effects: conditional update,
    one ledger entry (source "declaration"), CERTIFY audit entry, notice to the teacher.
    """
    _certify(actor, [declaration.pk], now, strict=True)


def declaration_certify_bulk(*, actor: User, ids: Iterable[int], now: dt.datetime) -> BulkResult:
    """Certify many in a fixed number of queries; those she may not certify now are skipped with the reason."""
    return _certify(actor, ids, now, strict=False)


def _return(actor: User, ids: Iterable[int], reason: str, now: dt.datetime, strict: bool) -> BulkResult:
    reason = (reason or "").strip()
    if not reason:
        raise DeclarationRefused(_("请填写退回原因，教师会看到这条原因。"))
    result = BulkResult()
    with transaction.atomic():
        rows, skipped = _actionable(actor, ids, now)
        if strict:
            _refuse_strict(skipped)
        result.skipped, result.reasons = len(skipped), sorted({r["why"] for r in skipped})
        if not rows:
            return result
        Declaration.objects.filter(pk__in=[r["pk"] for r in rows], state=DeclarationState.SUBMITTED).update(
            state=DeclarationState.RETURNED, decided_at=now, decided_by=actor, return_reason=reason
        )
        HoursAuditEntry.objects.bulk_create([_audit(r, actor, HoursAuditAction.RETURN, now, reason) for r in rows])
        notify(
            [r["teacher__user_id"] for r in rows if r["teacher__user_id"]],
            KIND_DECLARATION_DECIDED,
            _("学时申报被退回"),
            _("原因：%(r)s。请修改后重新提交。") % {"r": reason},
            reverse("credits:declarations"),
        )
        result.done = len(rows)
    return result


def declaration_return(*, actor: User, declaration: Declaration, reason: str, now: dt.datetime) -> None:
    """The school admin returns one declaration with a reason the teacher sees; she may correct and resubmit.

    Side effects: conditional update, RETURN audit entry, notice to the teacher.
    """
    _return(actor, [declaration.pk], reason, now, strict=True)


def declaration_return_bulk(*, actor: User, ids: Iterable[int], reason: str, now: dt.datetime) -> BulkResult:
    """Return many with one reason, in a fixed number of queries."""
    return _return(actor, ids, reason, now, strict=False)


# --- revocation and the district's spot check -----------------------------------------------------------------------


def declaration_may_revoke(actor: User, declaration: Declaration) -> bool:
    """Its school's admin may revoke a certification; a district admin over it may, once it is in her sample."""
    scope = scope_for(actor)
    if declaration.state != DeclarationState.CERTIFIED:
        return False
    if scope.reaches(declaration.school, roles=(Role.SCHOOL_ADMIN,)):
        return True
    return declaration.sampled_at is not None and scope.reaches(declaration.school, roles=(Role.DISTRICT_ADMIN,))


def declaration_revoke(*, actor: User, declaration: Declaration, reason: str, now: dt.datetime) -> CreditEntry:
    """Revoke a certification: the ledger entry is reversed (a negative twin), never edited or deleted.

    Side effects: conditional update to revoked, one reversing ledger entry, REVOKE audit entry,
    notice to the teacher. Returns the reversal.
    """
    reason = (reason or "").strip()
    if not reason:
        raise DeclarationRefused(_("请填写撤销认定的原因，教师会看到这条原因。"))
    if not declaration_may_revoke(actor, declaration):
        if declaration.state != DeclarationState.CERTIFIED and scope_for(actor).reaches(declaration.school):
            raise DeclarationRefused(_("只有已认定的申报可以撤销认定。"))
        raise PermissionDenied
    with transaction.atomic():
        changed = Declaration.objects.filter(pk=declaration.pk, state=DeclarationState.CERTIFIED).update(
            state=DeclarationState.REVOKED, revoked_at=now, revoked_by=actor, revoke_reason=reason
        )
        if changed != 1:
            raise DeclarationRefused(_("该申报刚刚被处理过，请刷新页面后重试。"))
        entry = CreditEntry.objects.get(source=Source.DECLARATION, reference=declaration.reference)
        reversal = credit_entry_reversal_insert(entry, actor, _("撤销学时认定：%(r)s") % {"r": reason}, now)
        _audit(declaration, actor, HoursAuditAction.REVOKE, now, reason).save()
        if declaration.teacher.user_id:
            notify(
                [declaration.teacher.user_id],
                KIND_DECLARATION_DECIDED,
                _("学时认定已撤销：%(title)s") % {"title": declaration.title},
                _("原因：%(r)s。已冲减 %(h)s 学时。") % {"r": reason, "h": fmt_hours(declaration.hours)},
                _url(declaration.pk),
            )
    declaration.state, declaration.revoked_at, declaration.revoke_reason = DeclarationState.REVOKED, now, reason
    return reversal


def spot_check_draw(*, actor: User, district: Unit, year: int, count: int, now: dt.datetime) -> int:
    """The district draws ``count`` more certified declarations of its schools at random into its spot-check sample.

    Side effects: ``sampled_at`` set on the drawn ones (one UPDATE), one SAMPLE audit entry, and a notice
    to the admins of each school drawn from, with its count.
    Returns how many were drawn (fewer when fewer are left).
    """
    if not scope_for(actor).reaches(district, roles=(Role.DISTRICT_ADMIN,)):
        raise PermissionDenied
    if count <= 0:
        raise DeclarationRefused(_("抽查数量必须大于 0。"))
    with transaction.atomic():
        pool = Declaration.objects.filter(
            school__path__startswith=district.path, year=year, state=DeclarationState.CERTIFIED, sampled_at__isnull=True
        )
        drawn_rows = list(pool.order_by("?").values_list("pk", "school_id")[:count])
        drawn = [pk for pk, _school in drawn_rows]
        Declaration.objects.filter(pk__in=drawn, sampled_at__isnull=True).update(sampled_at=now)
        per_school = Counter(school for _pk, school in drawn_rows)
        admins: defaultdict[int, list[int]] = defaultdict(list)
        for school_id, user_id in RoleAssignment.objects.filter(
            role=Role.SCHOOL_ADMIN, unit_id__in=per_school
        ).values_list("unit_id", "user_id"):
            admins[school_id].append(user_id)
        for school_id, user_ids in admins.items():
            notify(
                user_ids,
                KIND_SPOT_CHECK,
                _("区级抽查：本校 %(n)d 份已认定的学时申报") % {"n": per_school[school_id]},
                _("请备好这些申报的佐证原件，区级核验后可能撤销认定。"),
                reverse("credits:declaration_review") + "?state=certified",
            )
        HoursAuditEntry(
            subject="spot_check",
            unit_id=district.pk,
            actor=actor,
            actor_name=actor.name,
            action=HoursAuditAction.SAMPLE,
            data={"year": year, "asked": count, "drawn": drawn},
            created_at=now,
        ).save()
    return len(drawn)


def spot_check_pass(*, actor: User, declaration: Declaration, now: dt.datetime) -> None:
    """The district confirms a sampled certification after checking its evidence.

    Side effects: ``sample_checked_at`` set (conditional update), SAMPLE_PASS audit entry.
    """
    if declaration.sampled_at is None or not scope_for(actor).reaches(declaration.school, roles=(Role.DISTRICT_ADMIN,)):
        raise PermissionDenied
    with transaction.atomic():
        changed = Declaration.objects.filter(
            pk=declaration.pk, state=DeclarationState.CERTIFIED, sample_checked_at__isnull=True
        ).update(sample_checked_at=now)
        if changed != 1:
            raise DeclarationRefused(_("该申报已核验或已撤销认定。"))
        _audit(declaration, actor, HoursAuditAction.SAMPLE_PASS, now).save()
    declaration.sample_checked_at = now
