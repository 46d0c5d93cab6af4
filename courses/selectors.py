"""Reads for the course supermarket; every queryset starts from portal.scoping."""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from decimal import Decimal

from django.db.models import Count, Q, QuerySet, Sum

from courses.models import (
    Course,
    CourseStatus,
    Enrollment,
    EnrollmentStatus,
    SelectionPhase,
    TrainingPeriod,
    WaitlistEntry,
    WaitlistStatus,
)
from credits.models import Category
from credits.rules import Evaluation, Totals, evaluate
from credits.selectors import totals_for_teachers
from portal.models import Role, Teacher, TeacherStatus, Unit, UnitKind
from portal.scoping import Scope, scope_for

ZERO = Decimal(0)


# --- periods --------------------------------------------------------------------------------------


def _city_codes(scope: Scope) -> set[str]:
    codes = {path.split("/")[1] for role_paths in scope.paths.values() for path in role_paths}
    if scope.teacher:
        codes.add(scope.teacher.unit.city_code)
    return codes


def periods_visible_to(user) -> QuerySet[TrainingPeriod]:
    """Periods of the cities the user belongs to (as teacher or admin); providers see every period."""
    scope = scope_for(user)
    qs = TrainingPeriod.objects.select_related("city", "rule_set")
    if scope.provider_ids:
        return qs
    return qs.filter(city__code__in=_city_codes(scope))


def period_current(periods: Iterable[TrainingPeriod], now) -> TrainingPeriod | None:
    """The period to show by default: one whose selection is open, else the next to open, else the latest."""
    periods = list(periods)
    if not periods:
        return None
    open_now = [p for p in periods if p.is_selection_open(now)]
    if open_now:
        return min(open_now, key=lambda p: p.selection_window_end)
    upcoming = [p for p in periods if p.selection_phase(now) == SelectionPhase.BEFORE]
    if upcoming:
        return min(upcoming, key=lambda p: p.selection_opens_at)
    return max(periods, key=lambda p: p.selection_opens_at)


# --- courses --------------------------------------------------------------------------------------


def catalogue_courses(period: TrainingPeriod) -> QuerySet[Course]:
    """Published courses of the period, ready for the catalogue (no per-row queries)."""
    return (
        Course.objects.filter(period=period, status=CourseStatus.PUBLISHED)
        .select_related("provider", "kind")
        .prefetch_related("topics", "stages")
    )


def courses_managed_by(user) -> QuerySet[Course]:
    """City admins: every course of their cities' periods; provider staff: their providers' courses."""
    scope = scope_for(user)
    q = Q(pk__in=[])
    city_paths = scope.paths.get(Role.CITY_ADMIN, ())
    for path in city_paths:
        q |= Q(period__city__path=path)
    if scope.provider_ids:
        q |= Q(provider_id__in=scope.provider_ids)
    return Course.objects.filter(q).select_related("provider", "period", "kind")


def providers_managed_by(user):
    from courses.models import Provider

    scope = scope_for(user)
    if scope.paths.get(Role.CITY_ADMIN):
        return Provider.objects.filter(is_active=True)
    return Provider.objects.filter(pk__in=scope.provider_ids)


# --- a teacher's plan -----------------------------------------------------------------------------


@dataclass
class CategoryLine:
    category: str
    label: str
    earned: Decimal = ZERO
    planned: Decimal = ZERO

    @property
    def total(self) -> Decimal:
        return self.earned + self.planned


@dataclass
class Plan:
    """The period's rule judged on earned plus planned hours."""

    period: TrainingPeriod
    earned: Totals
    planned: Totals
    evaluation: Evaluation | None
    categories: list[CategoryLine] = field(default_factory=list)

    @property
    def met(self) -> bool:
        return bool(self.evaluation and self.evaluation.met)

    @property
    def shortfall_hours(self) -> Decimal:
        """Hours still missing on the largest shortfall line (what a teacher must still select at least)."""
        if not self.evaluation:
            return ZERO
        return max((r.shortfall for r in self.evaluation.requirements if r.node != "topic"), default=ZERO)


def planned_totals_for_teachers(teacher_ids: Iterable[int], period: TrainingPeriod) -> dict[int, Totals]:
    """Hours of courses selected but not yet completed, per teacher (two queries).

    Completed courses are already in the ledger (credits), so they are not counted twice.
    """
    ids = list(teacher_ids)
    result = {tid: Totals() for tid in ids}
    if not ids:
        return result
    rows = list(
        Enrollment.objects.filter(teacher_id__in=ids, period=period, status=EnrollmentStatus.SELECTED).values_list(
            "teacher_id", "course_id", "course__category", "course__kind__code", "course__hours"
        )
    )
    topics: dict[int, list[str]] = defaultdict(list)
    for course_id, code in Course.topics.through.objects.filter(course_id__in={r[1] for r in rows}).values_list(
        "course_id", "topic__code"
    ):
        topics[course_id].append(code)
    for teacher_id, course_id, category, kind, hours in rows:
        result[teacher_id].add(hours, category, kind, topics.get(course_id, ()))
    return result


def _category_lines(earned: Totals, planned: Totals) -> list[CategoryLine]:
    return [
        CategoryLine(
            c.value, str(c.label), earned.by_category.get(c.value, ZERO), planned.by_category.get(c.value, ZERO)
        )
        for c in Category
    ]


def plans_for_teachers(teacher_ids: Iterable[int], period: TrainingPeriod) -> dict[int, Plan]:
    """Each teacher's plan for the period: three queries whatever the number of teachers."""
    ids = list(teacher_ids)
    earned = totals_for_teachers(ids, period.year)
    planned = planned_totals_for_teachers(ids, period)
    tree = period.rule_set.tree if period.rule_set_id else None
    plans = {}
    for tid in ids:
        combined = earned[tid] + planned[tid]
        plans[tid] = Plan(
            period=period,
            earned=earned[tid],
            planned=planned[tid],
            evaluation=evaluate(tree, combined) if tree else None,
            categories=_category_lines(earned[tid], planned[tid]),
        )
    return plans


def teacher_plan(teacher: Teacher, period: TrainingPeriod, selections: dict[int, Enrollment] | None = None) -> Plan:
    """One teacher's plan; pass her ``teacher_selections`` when already loaded to save a query."""
    if selections is None:
        return plans_for_teachers([teacher.pk], period)[teacher.pk]
    selected = [e for e in selections.values() if e.status == EnrollmentStatus.SELECTED]
    topics: dict[int, list[str]] = defaultdict(list)
    if selected:
        for course_id, code in Course.topics.through.objects.filter(
            course_id__in=[e.course_id for e in selected]
        ).values_list("course_id", "topic__code"):
            topics[course_id].append(code)
    planned = Totals()
    for e in selected:
        planned.add(
            e.course.hours,
            e.course.category,
            e.course.kind.code if e.course.kind else None,
            topics.get(e.course_id, ()),
        )
    earned = totals_for_teachers([teacher.pk], period.year)[teacher.pk]
    tree = period.rule_set.tree if period.rule_set_id else None
    return Plan(
        period=period,
        earned=earned,
        planned=planned,
        evaluation=evaluate(tree, earned + planned) if tree else None,
        categories=_category_lines(earned, planned),
    )


def teacher_selections(teacher: Teacher, period: TrainingPeriod) -> dict[int, Enrollment]:
    """The teacher's live enrolments of the period by course id (one query)."""
    return {
        e.course_id: e
        for e in Enrollment.objects.filter(
            teacher=teacher, period=period, status__in=(EnrollmentStatus.SELECTED, EnrollmentStatus.COMPLETED)
        ).select_related("course__provider", "course__kind")
    }


def teacher_waitlist(teacher: Teacher, period: TrainingPeriod) -> dict[int, WaitlistEntry]:
    return {
        w.course_id: w
        for w in WaitlistEntry.objects.filter(
            teacher=teacher, course__period=period, status=WaitlistStatus.WAITING
        ).select_related("course")
    }


# --- admin views ----------------------------------------------------------------------------------


def course_fill_rates(period: TrainingPeriod) -> QuerySet[Course]:
    """Published courses with their waiting-list length, fullest first."""
    return (
        Course.objects.filter(period=period, status=CourseStatus.PUBLISHED)
        .select_related("provider")
        .annotate(waiting=Count("waitlist", filter=Q(waitlist__status=WaitlistStatus.WAITING)))
    )


@dataclass
class DistrictRow:
    unit: Unit
    counts: dict[str, int]
    hours: dict[str, Decimal]

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def selections_by_district(period: TrainingPeriod, scope: Scope) -> list[DistrictRow]:
    """Live selections per district and category within the user's reach (two queries)."""
    districts = list(Unit.objects.filter(scope.unit_q(""), kind=UnitKind.DISTRICT, path__startswith=period.city.path))
    if not districts:
        return []
    rows = (
        Enrollment.objects.filter(period=period, status__in=(EnrollmentStatus.SELECTED, EnrollmentStatus.COMPLETED))
        .filter(scope.unit_q("teacher__unit"))
        .values_list("teacher__unit__parent_id", "course__category")
        .annotate(n=Count("id"), hours=Sum("course__hours"))
        .order_by()
    )
    result = {
        d.pk: DistrictRow(d, {c.value: 0 for c in Category}, {c.value: ZERO for c in Category}) for d in districts
    }
    for parent_id, category, n, hours in rows:
        if parent_id in result:
            result[parent_id].counts[category] = n
            result[parent_id].hours[category] = hours or ZERO
    return list(result.values())


@dataclass
class SchoolProgress:
    unit: Unit
    teachers: int = 0
    selected: int = 0
    planned_enough: int = 0

    @property
    def selected_rate(self) -> float:
        return self.selected / self.teachers if self.teachers else 0.0

    @property
    def planned_rate(self) -> float:
        return self.planned_enough / self.teachers if self.teachers else 0.0


def active_teachers_in_scope(scope: Scope, period: TrainingPeriod) -> QuerySet[Teacher]:
    return Teacher.objects.filter(
        scope.unit_q("unit"), status=TeacherStatus.ACTIVE, unit__path__startswith=period.city.path
    )


def school_progress(period: TrainingPeriod, scope: Scope) -> list[SchoolProgress]:
    """Per school in reach: active teachers, how many selected anything, how many planned enough."""
    teachers = list(active_teachers_in_scope(scope, period).values_list("pk", "unit_id"))
    units = {u.pk: u for u in Unit.objects.filter(pk__in={unit_id for _, unit_id in teachers})}
    plans = plans_for_teachers([pk for pk, _ in teachers], period)
    selected = set(
        Enrollment.objects.filter(
            period=period,
            teacher_id__in=[pk for pk, _ in teachers],
            status__in=(EnrollmentStatus.SELECTED, EnrollmentStatus.COMPLETED),
        )
        .values_list("teacher_id", flat=True)
        .distinct()
    )
    rows: dict[int, SchoolProgress] = {}
    for pk, unit_id in teachers:
        row = rows.setdefault(unit_id, SchoolProgress(units[unit_id]))
        row.teachers += 1
        row.selected += pk in selected
        row.planned_enough += plans[pk].met
    return sorted(rows.values(), key=lambda r: r.unit.path)


@dataclass
class NudgeRow:
    teacher: Teacher
    plan: Plan


def nudge_list(period: TrainingPeriod, teachers: QuerySet[Teacher], category: str = "") -> list[NudgeRow]:
    """Teachers (already scoped and filtered) whose plan does not yet meet the period's rule.

    ``category`` keeps only those short in that category.
    """
    teachers = list(teachers.select_related("unit", "user"))
    plans = plans_for_teachers([t.pk for t in teachers], period)
    rows = []
    for teacher in teachers:
        plan = plans[teacher.pk]
        if plan.met:
            continue
        if category and not _short_in(plan, category):
            continue
        rows.append(NudgeRow(teacher, plan))
    return rows


def _short_in(plan: Plan, category: str) -> bool:
    if not plan.evaluation:
        return False
    label = str(Category(category).label)
    return any(r.label == label and not r.met for r in plan.evaluation.requirements)
