"""Reads for the course supermarket; every queryset starts from portal.scoping."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any, NamedTuple

from django.db import connection
from django.db.models import Count, OuterRef, Q, QuerySet, Subquery, Sum
from django.db.models.functions import Coalesce

from courses.models import (
    LIVE_AGREEMENT_STATES,
    Agreement,
    AgreementState,
    ApprovalLevel,
    Course,
    CourseOffer,
    CourseSelection,
    CourseStatus,
    OfferStatus,
    ParticipantFormSend,
    Provider,
    SchoolProviderMode,
    SelectionPhase,
    SelectionStatus,
    TrainingPeriod,
    WaitlistEntry,
    WaitlistStatus,
)
from courses.models import (
    LIVE_SELECTION_STATES as LIVE_STATES,
)
from credits.models import Category
from credits.rule_engine import Evaluation, Totals, evaluate
from credits.selectors import totals_for_teachers
from portal.figures import Counted, figures_counted
from portal.models import Role, Teacher, TeacherStatus, Unit, UnitKind, User
from portal.replica import reading_connection
from portal.scoping import Scope, scope_for

ZERO = Decimal(0)


# --- periods --------------------------------------------------------------------------------------


def _city_codes(scope: Scope) -> set[str]:
    codes = {path.split("/")[1] for role_paths in scope.paths.values() for path in role_paths}
    if scope.teacher:
        codes.add(scope.teacher.unit.city_code)
    return codes


def periods_visible_to(user: User) -> QuerySet[TrainingPeriod]:
    """Periods of the cities the user belongs to (as teacher or admin) or that her providers serve (provider staff)."""
    scope = scope_for(user)
    q = Q(city__code__in=_city_codes(scope))
    if scope.provider_ids:
        served = Provider.cities.through.objects.filter(provider_id__in=scope.provider_ids).values("unit_id")
        q |= Q(city_id__in=served)
    return TrainingPeriod.objects.filter(q).select_related("city", "rule_set")


def period_current(periods: Iterable[TrainingPeriod], now: dt.datetime) -> TrainingPeriod | None:
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


# What a course card shows (courses/_partials.html#course-card), besides its provider's name and its topics.
CARD_FIELDS = ("code", "title", "category", "mode", "hours", "fee_per_hour")


def catalogue_courses(period: TrainingPeriod, teacher: Teacher | None = None) -> QuerySet[Course]:
    """Published courses of the period, ready for the catalogue (topics: ``courses.views._with_cards``).

    Where the period asks for it, only courses of approved offers (立项) for the teacher's area and,
    once her school chose its provider, only that provider's.
    """
    qs = (
        Course.objects.filter(period=period, status=CourseStatus.PUBLISHED)
        .select_related("provider")
        .only(*CARD_FIELDS, "period_id", "capacity", "enrolled_count", "updated_at", "provider__name")
    )
    if period.offers_required:
        qs = qs.filter(offer__status=OfferStatus.APPROVED)
        if teacher is not None:
            qs = qs.filter(offer__area__path__in=teacher.unit.ancestor_paths())
    if period.uses_school_providers and teacher is not None:
        chosen = Agreement.objects.filter(
            period=period, school_id=teacher.unit_id, state__in=LIVE_AGREEMENT_STATES
        ).values("provider_id")
        if chosen.exists():
            qs = qs.filter(provider_id__in=chosen)
    return qs


def courses_managed_by(user: User) -> QuerySet[Course]:
    """City admins: every course of their cities' periods; provider staff: their providers' courses."""
    scope = scope_for(user)
    q = Q(pk__in=[])
    city_paths = scope.paths.get(Role.CITY_ADMIN, ())
    for path in city_paths:
        q |= Q(period__city__path=path)
    if scope.provider_ids:
        q |= Q(provider_id__in=scope.provider_ids)
    return Course.objects.filter(q).select_related("provider", "period", "kind")


def providers_managed_by(user: User) -> QuerySet[Provider]:
    """City admins: the active providers serving their cities; provider staff: their own providers."""
    scope = scope_for(user)
    q = Q(pk__in=scope.provider_ids)
    cities = [u.pk for u in scope.units.get(Role.CITY_ADMIN, ())]
    if cities:
        q |= Q(is_active=True, cities__in=cities)
    return Provider.objects.filter(q).distinct()


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
        CourseSelection.objects.filter(teacher_id__in=ids, period=period, status=SelectionStatus.SELECTED).values_list(
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
    tree = period.rule_set.tree if period.rule_set is not None else None
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


def teacher_plan(
    teacher: Teacher, period: TrainingPeriod, selections: dict[int, CourseSelection] | None = None
) -> Plan:
    """One teacher's plan; pass her ``teacher_selections`` when already loaded to save a query."""
    if selections is None:
        return plans_for_teachers([teacher.pk], period)[teacher.pk]
    selected = [e for e in selections.values() if e.status == SelectionStatus.SELECTED]
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
    tree = period.rule_set.tree if period.rule_set is not None else None
    return Plan(
        period=period,
        earned=earned,
        planned=planned,
        evaluation=evaluate(tree, earned + planned) if tree else None,
        categories=_category_lines(earned, planned),
    )


def teacher_selections(teacher: Teacher, period: TrainingPeriod) -> dict[int, CourseSelection]:
    """The teacher's live selections of the period by course id, with what the plan shows of their courses
    (one query)."""
    return {
        e.course_id: e
        for e in CourseSelection.objects.filter(
            teacher=teacher, period=period, status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED)
        )
        .select_related("course__kind")
        .only(
            "teacher_id",
            "course_id",
            "period_id",
            "status",
            *(f"course__{f}" for f in ("title", "hours", "category", "enrolled_count", "kind__code")),
        )
    }


def teacher_waitlist(teacher: Teacher, period: TrainingPeriod) -> dict[int, WaitlistEntry]:
    return {
        w.course_id: w
        for w in WaitlistEntry.objects.filter(teacher=teacher, course__period=period, status=WaitlistStatus.WAITING)
        .select_related("course")
        .only("teacher_id", "course_id", "status", "course__title")
    }


# --- admin views ----------------------------------------------------------------------------------


def course_fill_rates(period: TrainingPeriod) -> QuerySet[Course]:
    """Published courses with their waiting-list length (a subquery per row, so that counting the courses
    needs no join)."""
    waiting = (
        WaitlistEntry.objects.filter(course=OuterRef("pk"), status=WaitlistStatus.WAITING)
        .order_by()
        .values("course")
        .annotate(n=Count("pk"))
        .values("n")
    )
    return (
        Course.objects.filter(period=period, status=CourseStatus.PUBLISHED)
        .select_related("provider")
        .annotate(waiting=Coalesce(Subquery(waiting), 0))
    )


def selection_progress(unit: Unit, period: TrainingPeriod) -> Counted[tuple[int, int]]:
    """(active teachers under ``unit``, how many of them selected a course in ``period``).

    Two counts over the unit's teachers, taken at most every FIGURES_SECONDS (portal.figures):
    an admin's home card, opened often and by many admins during the selection rush.
    """

    def count() -> tuple[int, int]:
        under = Q(teacher__unit__path__startswith=unit.path, teacher__status=TeacherStatus.ACTIVE)
        teachers = Teacher.objects.filter(unit__path__startswith=unit.path, status=TeacherStatus.ACTIVE).count()
        selected = CourseSelection.objects.filter(under, period=period, status__in=LIVE_STATES).aggregate(
            n=Count("teacher", distinct=True)
        )["n"]
        return teachers, selected

    return figures_counted("selection_progress", (unit.pk, unit.path, period.pk), count)


class UnitName(NamedTuple):
    """What a progress row shows of its unit: cheap to keep in the cache, unlike a Unit."""

    pk: int
    name: str
    path: str


@dataclass
class DistrictRow:
    unit: UnitName
    counts: dict[str, int]
    hours: dict[str, Decimal]
    counted_at: dt.datetime | None = None

    @property
    def total(self) -> int:
        return sum(self.counts.values())


def selections_by_district(period: TrainingPeriod, scope: Scope) -> list[DistrictRow]:
    """Selections (live ones) per district and category within the user's reach (two queries), counted
    at most every FIGURES_SECONDS for the same period and reach (portal.figures)."""
    counted = figures_counted(
        "selections_by_district",
        (period.pk, period.city.path, scope.admin_paths()),
        lambda: _count_by_district(period, scope),
    )
    return [
        DistrictRow(UnitName(pk, name, path), counts, hours, counted_at=counted.at)
        for pk, name, path, counts, hours in counted.value
    ]


def _count_by_district(period: TrainingPeriod, scope: Scope) -> list[tuple[int, str, str, dict, dict]]:
    districts = Unit.objects.filter(scope.unit_q(""), kind=UnitKind.DISTRICT, path__startswith=period.city.path)
    result = {
        pk: (pk, name, path, {c.value: 0 for c in Category}, {c.value: ZERO for c in Category})
        for pk, name, path in districts.values_list("pk", "name", "path")
    }
    if not result:
        return []
    rows = (
        CourseSelection.objects.filter(period=period, status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED))
        .filter(scope.unit_q("teacher__unit"))
        .values_list("teacher__unit__parent_id", "course__category")
        .annotate(n=Count("id"), hours=Sum("course__hours"))
        .order_by()
    )
    for parent_id, category, n, hours in rows:
        if parent_id in result:
            result[parent_id][3][category] = n
            result[parent_id][4][category] = hours or ZERO
    return list(result.values())


@dataclass
class SchoolProgress:
    unit: UnitName
    teachers: int = 0
    selected: int = 0
    planned_enough: int = 0
    counted_at: dt.datetime | None = None

    @property
    def selected_rate(self) -> float:
        return self.selected / self.teachers if self.teachers else 0.0

    @property
    def planned_rate(self) -> float:
        return self.planned_enough / self.teachers if self.teachers else 0.0


# (unit id, name, path, active teachers, teachers who selected, teachers whose plan is enough), by path.
_ProgressRow = tuple[int, str, str, int, int, int]


def active_teachers_in_scope(scope: Scope, period: TrainingPeriod) -> QuerySet[Teacher]:
    return Teacher.objects.filter(
        scope.unit_q("unit"), status=TeacherStatus.ACTIVE, unit__path__startswith=period.city.path
    )


def school_progress(period: TrainingPeriod, scope: Scope) -> list[SchoolProgress]:
    """Per school in reach: active teachers, how many selected anything, how many planned enough.

    Counted in Python from each teacher's plan (periods without a rule set; ``school_progress_sql``
    for the others), at most every FIGURES_SECONDS for the same reach (portal.figures).
    """
    return _progress(period, scope, lambda: _count_progress(period, scope))


def _count_progress(period: TrainingPeriod, scope: Scope) -> list[_ProgressRow]:
    teachers = list(active_teachers_in_scope(scope, period).values_list("pk", "unit_id"))
    units = Unit.objects.in_bulk({unit_id for _, unit_id in teachers})
    plans = plans_for_teachers([pk for pk, _ in teachers], period)
    selected = set(
        CourseSelection.objects.filter(
            period=period,
            teacher_id__in=[pk for pk, _ in teachers],
            status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED),
        )
        .values_list("teacher_id", flat=True)
        .distinct()
    )
    rows: dict[int, list[int]] = {}
    for pk, unit_id in teachers:
        row = rows.setdefault(unit_id, [0, 0, 0])
        row[0] += 1
        row[1] += pk in selected
        row[2] += plans[pk].met
    return sorted(
        ((u, units[u].name, units[u].path, n, chose, enough) for u, (n, chose, enough) in rows.items()),
        key=lambda r: r[2],
    )


def _progress(period: TrainingPeriod, scope: Scope, count: Callable[[], list[_ProgressRow]]) -> list[SchoolProgress]:
    """The rows ``count`` makes, kept per period, rule and reach (the user's reach is checked by the view)."""
    tree = period.rule_set.tree if period.rule_set is not None else None
    counted = figures_counted("school_progress", (period.pk, period.city.path, tree, scope.admin_paths()), count)
    return [
        SchoolProgress(UnitName(pk, name, path), teachers, chose, enough, counted_at=counted.at)
        for pk, name, path, teachers, chose, enough in counted.value
    ]


@dataclass
class NudgeRow:
    teacher: Teacher
    plan: Plan


# --- set-based plans for whole schools, districts and cities ----------------------------------------
#
# A district or a city has tens of thousands of teachers: their plans are judged in SQL, with the
# credits app's compiled rule (the same tree, turned into per-teacher sums and one boolean), over
# the ledger's entries plus the hours of the courses selected and not yet completed. Python then
# evaluates only the rows on the page shown.


class PlanSQL:
    """One row per active teacher in reach: ``teacher_id, unit_id, path, name, <sum columns>, met``."""

    def __init__(self, period: TrainingPeriod, scope: Scope):
        from credits.selectors import CompiledRule

        if period.rule_set is None:
            raise ValueError("plans are judged against the period's rule set, and this period has none")
        self.period = period
        self.tree = period.rule_set.tree
        self.rule = CompiledRule(self.tree)
        paths = scope.admin_paths() or ("/nowhere/",)
        reach = " OR ".join(["u.path LIKE %s ESCAPE '\\'"] * len(paths))
        self._reach = f"t.status = %s AND ({reach}) AND u.path LIKE %s ESCAPE '\\'"
        self._reach_params = [TeacherStatus.ACTIVE.value, *map(_like_prefix, paths), _like_prefix(period.city.path)]

    def rows_sql(self) -> tuple[str, list]:
        from credits.selectors import totals_kept

        if totals_kept():
            return self._rows_from_kept_totals_sql()
        entries = (
            "SELECT e0.teacher_id, e0.category, e0.kind_id, e0.topic_codes, e0.hours FROM credits_creditentry e0"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            f" WHERE e0.year = %s AND e0.teacher_id IN ({self._teachers_sql()})"
            " UNION ALL"
            f" {self._selected_sql()}"
        )
        inner = (
            f"SELECT t.id AS teacher_id, t.unit_id AS unit_id, u.path AS path, t.name AS name, {self.rule.sums_sql}"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            f" FROM portal_teacher t JOIN portal_unit u ON u.id = t.unit_id LEFT JOIN e"
            f" ON e.teacher_id = t.id WHERE {self._reach} GROUP BY t.id, u.id"
        )
        # The entries are computed once (MATERIALIZED): with a misestimated path prefix the
        # planner would otherwise re-run the whole union for every teacher of a city.
        sql = (
            f"WITH e AS MATERIALIZED ({entries})"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            f" SELECT s.*, CASE WHEN {self.rule.met_sql} THEN 1 ELSE 0 END AS met FROM ({inner}) s"
        )
        params = [
            self.period.year,
            *self._reach_params,
            *self._selected_params(),
            *self.rule.met_params,
            *self.rule.sums_params,
            *self._reach_params,
        ]
        return sql, params

    def _rows_from_kept_totals_sql(self) -> tuple[str, list]:
        """The same rows from the kept totals (one row per teacher) plus her selected courses:
        the ledger of the year is not read."""
        inner = (
            "SELECT t.id AS teacher_id, t.unit_id AS unit_id, u.path AS path, t.name AS name,"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            f" {self.rule.kept_plus_sums_sql}"
            " FROM portal_teacher t JOIN portal_unit u ON u.id = t.unit_id"
            " LEFT JOIN credits_teacheryeartotal tt ON tt.teacher_id = t.id AND tt.year = %s"
            f" LEFT JOIN e ON e.teacher_id = t.id WHERE {self._reach} GROUP BY t.id, u.id, tt.id"
        )
        sql = (
            f"WITH e AS MATERIALIZED ({self._selected_sql()})"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            f" SELECT s.*, CASE WHEN {self.rule.met_sql} THEN 1 ELSE 0 END AS met FROM ({inner}) s"
        )
        params = [
            *self._selected_params(),
            *self.rule.met_params,
            *self.rule.kept_plus_sums_params,
            self.period.year,
            *self._reach_params,
        ]
        return sql, params

    def _teachers_sql(self) -> str:
        return f"SELECT t.id FROM portal_teacher t JOIN portal_unit u ON u.id = t.unit_id WHERE {self._reach}"  # noqa: S608 - fixed SQL fragments; every value is a parameter

    def _selected_sql(self) -> str:
        """The courses selected in the period by the teachers in reach, as ledger-like rows."""
        agg = "string_agg(tp.code, ',')" if connection.vendor == "postgresql" else "group_concat(tp.code, ',')"
        # The topics joined once per course, not a subquery per selection: PostgreSQL costs that
        # subquery so high that it JIT-compiles the query, which takes seconds.
        topics = (
            f"SELECT ct.course_id, {agg} AS codes FROM courses_course_topics ct"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            " JOIN credits_topic tp ON tp.id = ct.topic_id GROUP BY ct.course_id"
        )
        return (
            "SELECT en.teacher_id, c.category, c.kind_id, (',' || COALESCE(tc.codes, '') || ',') AS topic_codes,"  # noqa: S608 - fixed SQL fragments; every value is a parameter
            " c.hours FROM courses_courseselection en JOIN courses_course c ON c.id = en.course_id"
            f" LEFT JOIN ({topics}) tc ON tc.course_id = c.id"
            f" WHERE en.period_id = %s AND en.status = %s AND en.teacher_id IN ({self._teachers_sql()})"
        )

    def _selected_params(self) -> list:
        return [self.period.pk, SelectionStatus.SELECTED.value, *self._reach_params]

    def short_in_sql(self, category: str) -> tuple[str, list]:
        """SQL condition on ``s``: short of the category's own minimum (false if the rule has none)."""
        hours = _category_minimum(self.tree, category)
        if hours is None or category not in Category.values:
            return "1 = 0", []
        # A float compares as a number on SQLite too (a Decimal parameter would arrive as text).
        return f"COALESCE(s.h_category_{category}, 0) < %s", [float(hours)]

    def totals(self, row: dict) -> Totals:
        from credits.rule_engine import totals_from_columns

        return totals_from_columns({c: row.get(c.alias) or Decimal(0) for c in self.rule.columns})


def _category_minimum(tree: dict, category: str) -> Decimal | None:
    ((key, arg),) = tree.items()
    if key in ("all_of", "any_of"):
        found = [h for child in arg if (h := _category_minimum(child, category)) is not None]
        return max(found) if found else None
    if key == "min_hours" and arg.get("category") == category:
        return Decimal(str(arg["hours"]))
    return None


def _like_prefix(path: str) -> str:
    return path.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%") + "%"


def _fetch(sql: str, params: list) -> list[dict]:
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        names = [c[0] for c in cursor.description]
        return [dict(zip(names, row, strict=True)) for row in cursor.fetchall()]


def school_progress_sql(period: TrainingPeriod, scope: Scope) -> list[SchoolProgress]:
    """Per employer unit in reach: active teachers, how many selected anything, how many planned enough.

    Two aggregation queries (plus the units), whatever the number of teachers, at most every
    FIGURES_SECONDS for the same period, rule and reach (portal.figures): a city's count takes
    seconds at 250,000 teachers.
    """
    return _progress(period, scope, lambda: _count_progress_sql(period, scope))


def _count_progress_sql(period: TrainingPeriod, scope: Scope) -> list[_ProgressRow]:
    plans = PlanSQL(period, scope)
    rows_sql, params = plans.rows_sql()
    by_unit = f"SELECT p.unit_id, COUNT(*) AS n, SUM(p.met) AS met FROM ({rows_sql}) p GROUP BY p.unit_id"  # noqa: S608
    counts = _fetch(by_unit, params)
    selected = dict(
        CourseSelection.objects.filter(period=period, status__in=LIVE_STATES, teacher__status=TeacherStatus.ACTIVE)
        .filter(scope.unit_q("teacher__unit"))
        .values_list("teacher__unit_id")
        .annotate(n=Count("teacher_id", distinct=True))
        .order_by()
    )
    in_reach = Unit.objects.filter(pk__in=[r["unit_id"] for r in counts])
    units = {pk: (name, path) for pk, name, path in in_reach.values_list("pk", "name", "path")}
    rows = [
        (r["unit_id"], *units[r["unit_id"]], r["n"], selected.get(r["unit_id"], 0), int(r["met"] or 0)) for r in counts
    ]
    return sorted(rows, key=lambda r: r[2])


class NudgeRows:
    """Teachers in reach whose plan is not met, as a sliceable, countable sequence for Paginator.

    Each slice is one query; the rows shown get their teacher and a full evaluation (two more).
    """

    def __init__(
        self, period: TrainingPeriod, scope: Scope, *, unit_id: int | None = None, name: str = "", short_in: str = ""
    ):
        self.plans = PlanSQL(period, scope)
        sql, params = self.plans.rows_sql()
        where: list[str] = ["p.met = 0"]
        extra: list[object] = []
        if unit_id:
            where.append("p.unit_id = %s")
            extra.append(unit_id)
        if name:
            where.append("p.name LIKE %s")
            extra.append(f"%{name}%")
        if short_in:
            cond, more = self.plans.short_in_sql(short_in)
            where.append(cond.replace("s.", "p."))
            extra += more
        self.sql = f"SELECT p.* FROM ({sql}) p WHERE {' AND '.join(where)}"  # noqa: S608 - fixed SQL fragments; every value is a parameter
        self.params = [*params, *extra]
        self._count: int | None = None

    def count(self) -> int:
        if self._count is None:
            self._count = _fetch(f"SELECT COUNT(*) AS n FROM ({self.sql}) q", self.params)[0]["n"]  # noqa: S608 - fixed SQL fragments; every value is a parameter
        return self._count

    def __len__(self) -> int:
        return self.count()

    def __getitem__(self, index: slice) -> list[NudgeRow]:
        if not isinstance(index, slice):
            raise TypeError("NudgeRows supports slices only")
        start, stop = index.start or 0, index.stop
        limit = "" if stop is None else f" LIMIT {int(stop) - int(start)}"
        rows = _fetch(f"{self.sql} ORDER BY p.path, p.name, p.teacher_id{limit} OFFSET {int(start)}", self.params)
        return self._with_teachers(rows)

    def __iter__(self) -> Iterator[NudgeRow]:
        """Every row (for the export): three queries per thousand teachers, never one per row."""
        ids = [r["teacher_id"] for r in _fetch(f"{self.sql} ORDER BY p.path, p.name, p.teacher_id", self.params)]
        for chunk in _chunks(ids, 1000):
            yield from self._rows_for(chunk)

    def _with_teachers(self, rows: list[dict]) -> list[NudgeRow]:
        return self._rows_for([r["teacher_id"] for r in rows])

    def _rows_for(self, ids: list[int]) -> list[NudgeRow]:
        teachers = Teacher.objects.select_related("unit").in_bulk(ids)
        plans = plans_for_teachers(ids, self.plans.period)
        return [NudgeRow(teachers[i], plans[i]) for i in ids]


def _chunks(items: list[int], size: int) -> Iterator[list[int]]:
    for start in range(0, len(items), size):
        yield items[start : start + size]


# --- the city's year: periods as teachers see them, providers as the city keeps them ----------------------------


@dataclass(frozen=True)
class Milestone:
    """One date of a period's year, as teachers read it."""

    at: dt.datetime
    label: str
    detail: str = ""

    def passed(self, now: dt.datetime) -> bool:
        return self.at <= now


def _day_start(day: dt.date) -> dt.datetime:
    from django.utils import timezone

    return timezone.make_aware(dt.datetime.combine(day, dt.time.min))


def period_timeline(period: TrainingPeriod) -> list[Milestone]:
    """The period's dates in order: selection, 补选 (with its drop rule), training. No queries."""
    from django.utils.translation import gettext as _

    items = [Milestone(period.selection_opens_at, _("选课开始"), _("在课程超市选课，选课期间可以退课重选"))]
    late_opens, late_closes = period.late_opens_at, period.late_closes_at
    if late_opens and late_closes:
        rule = _("补选期间可以退课") if period.drop_allowed_in_late else _("补选期间只能增选，不能退课")
        detail = _("学时不足的教师增选课程；%(rule)s") % {"rule": rule}
        items.append(Milestone(late_opens, _("补选开始"), detail))
    if late_closes and late_closes == period.selection_closes_at:
        items.append(Milestone(period.selection_closes_at, _("选课与补选截止")))
    else:
        items.append(Milestone(period.selection_closes_at, _("选课截止")))
        if late_opens and late_closes:
            items.append(Milestone(late_closes, _("补选截止")))
    items.append(Milestone(_day_start(period.training_starts_on), _("培训开始"), _("按所选课程参加学习")))
    items.append(
        Milestone(
            _day_start(period.training_ends_on + dt.timedelta(days=1)),
            _("培训结束"),
            _("%(day)s 为最后一天；此后按本年度学时规则核定是否达标") % {"day": period.training_ends_on.isoformat()},
        )
    )
    return sorted(items, key=lambda m: m.at)


def periods_managed_by(user: User) -> QuerySet[TrainingPeriod]:
    """The periods of the user's cities (city admins)."""
    scope = scope_for(user)
    return TrainingPeriod.objects.filter(scope.unit_q("city", roles=(Role.CITY_ADMIN,))).select_related(
        "city", "rule_set"
    )


def providers_of_cities(user: User) -> QuerySet[Provider]:
    """The providers serving the user's cities, active or not (the city admin's provider page)."""
    cities = [u.pk for u in scope_for(user).units.get(Role.CITY_ADMIN, ())]
    return Provider.objects.filter(cities__in=cities).distinct()


# --- the school–provider model (Maoming 2024) -------------------------------------------------------------
#
# Whole lists are a fixed number of queries: agreements, the latest participant forms, the teachers who
# must train (one aggregation over the ledger, credits.selectors) and passed learners are each fetched
# once for every school in reach, then joined here.


def partnership_periods_visible_to(user: User) -> list[TrainingPeriod]:
    """Periods of the user's cities (providers: of the cities they serve) whose schools choose a provider."""
    scope = scope_for(user)
    qs = periods_visible_to(user).exclude(school_providers=SchoolProviderMode.NONE)
    if scope.provider_ids:
        qs = qs.filter(Q(city__code__in=_city_codes(scope)) | Q(city__providers__in=scope.provider_ids)).distinct()
    return list(qs)


def offer_periods_visible_to(user: User) -> list[TrainingPeriod]:
    """Periods with offer rules (立项), of the user's cities or the cities a provider serves."""
    scope = scope_for(user)
    qs = periods_visible_to(user).filter(offer_rules__isnull=False)
    if scope.provider_ids:
        qs = qs.filter(Q(city__code__in=_city_codes(scope)) | Q(city__providers__in=scope.provider_ids))
    return list(qs.distinct())


def offers_visible_to(user: User) -> QuerySet[CourseOffer]:
    """Provider staff: their offers; city admins: their cities' offers; district admins: those they approve."""
    scope = scope_for(user)
    q = Q(provider_id__in=scope.provider_ids)
    for path in scope.paths.get(Role.CITY_ADMIN, ()):
        q |= Q(period__city__path=path)
    if scope.paths.get(Role.DISTRICT_ADMIN):
        q |= scope.unit_q("approver", roles=(Role.DISTRICT_ADMIN,))
    return CourseOffer.objects.filter(q).select_related("provider", "period__city", "rule__kind", "area", "approver")


def offers_to_decide(user: User) -> QuerySet[CourseOffer]:
    """Submitted offers waiting for the user's decision at their approval level."""
    scope = scope_for(user)
    q = Q(pk__in=[])
    if scope.paths.get(Role.DISTRICT_ADMIN):
        q |= Q(approval_level=ApprovalLevel.DISTRICT) & scope.unit_q("approver", roles=(Role.DISTRICT_ADMIN,))
    if scope.paths.get(Role.CITY_ADMIN):
        q |= Q(approval_level=ApprovalLevel.CITY) & scope.unit_q("approver", roles=(Role.CITY_ADMIN,))
    return offers_visible_to(user).filter(q, status=OfferStatus.SUBMITTED)


def agreements_visible_to(user: User) -> QuerySet[Agreement]:
    """The school's own, its county center's and the city's (admin reach), and the chosen provider's."""
    scope = scope_for(user)
    q = scope.unit_q("school") if scope.is_admin else Q(pk__in=[])
    if scope.provider_ids:
        q |= Q(provider_id__in=scope.provider_ids, state__in=LIVE_AGREEMENT_STATES)
    return Agreement.objects.filter(q).select_related("period__city", "school__parent", "provider", "filing_unit")


def school_agreements(school: Unit, period: TrainingPeriod) -> list[Agreement]:
    """The school's live choices for the period (one, where the period allows one)."""
    return list(
        Agreement.objects.filter(period=period, school=school, state__in=LIVE_AGREEMENT_STATES)
        .select_related("provider", "filing_unit", "period")
        .order_by("chosen_at", "pk")
    )


def providers_for_period(period: TrainingPeriod) -> QuerySet[Provider]:
    """The active providers serving the period's city: what a school may choose from."""
    return Provider.objects.filter(is_active=True, cities=period.city).order_by("code")


# --- who must train ----------------------------------------------------------------------------------------


def must_train_ids(period: TrainingPeriod, unit: Unit) -> dict[int, str]:
    """Active teachers under ``unit`` whose ledger does not yet meet the period's rule: {teacher id: unit path}.

    Maoming 2024: ordinary hours < 42 and rotation hours < 60 (or 师德师风 missing). One query.
    """
    from credits.selectors import teacher_rows

    if period.rule_set is None:
        return {}
    return {
        row.teacher_id: row.unit_path for row in teacher_rows(unit, period.year, period.rule_set.tree, only_short=True)
    }


def must_train_by_school(period: TrainingPeriod, scope: Scope) -> list[tuple[Unit, int, int]]:
    """(school, active teachers, teachers who must train) for every employer unit in reach. Two queries."""
    from credits.selectors import compliance_by_path

    if period.rule_set is None:
        return []
    counts: dict[str, tuple[int, int]] = {}
    for unit in _reach_units(period, scope):
        for path, teachers, compliant in compliance_by_path(unit, period.year, period.rule_set.tree):
            counts[path] = (teachers, teachers - compliant)
    units = {u.path: u for u in Unit.objects.filter(path__in=list(counts)).select_related("parent")}
    return [(units[p], *counts[p]) for p in sorted(counts) if p in units]


def _reach_units(period: TrainingPeriod, scope: Scope) -> list[Unit]:
    """The topmost units of the user's admin reach inside the period's city (usually one)."""
    paths = [p for p in scope.admin_paths() if p.startswith(period.city.path)]
    if any(period.city.path.startswith(p) for p in scope.admin_paths()):
        return [period.city]
    return list(Unit.objects.filter(path__in=paths))


# --- participants and the participant information form (学员信息采集表) ---------------------------------


PARTICIPANT_FORM_HEADERS = ("序号", "姓名", "性别", "身份证号", "学段", "任教学科", "手机号码", "学校", "所属区县")


def participants_of(agreement: Agreement) -> list[Teacher]:
    """The school's teachers training with the agreement's provider this period (three queries).

    Those who must train (by the ledger), unless they train with another provider the school chose,
    and those who selected the provider's courses (who stay on the list once they have passed).
    """
    period, school = agreement.period, agreement.school
    must = set(must_train_ids(period, school))
    others = set(
        Agreement.objects.filter(period=period, school=school, state__in=LIVE_AGREEMENT_STATES)
        .exclude(pk=agreement.pk)
        .values_list("provider_id", flat=True)
    )
    providers_of: dict[int, set[int]] = defaultdict(set)
    for teacher_id, provider_id in CourseSelection.objects.filter(
        period=period, teacher__unit=school, status__in=LIVE_STATES
    ).values_list("teacher_id", "course__provider_id"):
        providers_of[teacher_id].add(provider_id)
    ids = {t for t, providers in providers_of.items() if agreement.provider_id in providers}
    ids |= {t for t in must if not providers_of.get(t, set()) & others}
    return list(
        Teacher.objects.filter(pk__in=ids, unit=school).select_related("unit__parent", "stage").order_by("name", "pk")
    )


def district_name(unit: Unit) -> str:
    """所属区县 of a school: its county, or 市直属 for schools directly under the city (parent preloaded)."""
    from django.utils.translation import gettext as _

    parent = unit.parent
    if parent is not None and parent.kind == UnitKind.DISTRICT:
        return parent.name
    return _("市直属")


def participant_form_rows(teachers: Iterable[Teacher]) -> list[list]:
    """Rows of the form in PARTICIPANT_FORM_HEADERS' order, with whole ID numbers (the provider registers
    hours on the provincial platform with them): the caller records the access."""
    return [
        [
            n,
            t.name,
            t.get_gender_display(),
            t.id_number,
            t.stage.name if t.stage else "",
            t.subject,
            t.mobile,
            t.unit.name,
            district_name(t.unit),
        ]
        for n, t in enumerate(teachers, start=1)
    ]


def latest_participant_forms(period: TrainingPeriod, school_ids: Iterable[int]) -> dict[tuple[int, int], Any]:
    """The latest form each school sent each provider: {(school id, provider id): send}, with ``teacher_ids``.

    Two queries for any number of schools.
    """
    latest: dict[tuple[int, int], Any] = {}
    for send in ParticipantFormSend.objects.filter(period=period, school_id__in=list(school_ids)).order_by(
        "school_id", "provider_id", "-sent_at", "-pk"
    ):
        latest.setdefault((send.school_id, send.provider_id), send)
    members: dict[int, set[int]] = defaultdict(set)
    through = ParticipantFormSend.teachers.through
    for send_id, teacher_id in through.objects.filter(
        participantformsend_id__in=[s.pk for s in latest.values()]
    ).values_list("participantformsend_id", "teacher_id"):
        members[send_id].add(teacher_id)
    for send in latest.values():
        send.teacher_ids = members.get(send.pk, set())
    return latest


def passed_counts(period: TrainingPeriod, school_q: Q) -> dict[tuple[int, int], int]:
    """Teachers who passed (a completed selection) per (school, provider) for the schools of ``school_q``. One query."""
    rows = (
        CourseSelection.objects.filter(period=period, status=SelectionStatus.COMPLETED)
        .filter(school_q)
        .values_list("teacher__unit_id", "course__provider_id")
        .annotate(n=Count("teacher_id", distinct=True))
        .order_by()
    )
    return {(unit_id, provider_id): n for unit_id, provider_id, n in rows}


@dataclass
class SchoolRow:
    """One school of a county's (or the city's) overview, with one of its providers (or none yet)."""

    school: Unit
    agreement: Agreement | None
    must_train: int = 0
    passed: int = 0
    last_form: Any = None  # ParticipantFormSend or None
    form_stale: bool = True  # never sent, or a teacher who must train is not on the last form

    @property
    def filed(self) -> bool:
        return self.agreement is not None and self.agreement.state == AgreementState.FILED


def schools_overview(period: TrainingPeriod, scope: Scope) -> list[SchoolRow]:
    """Every school in reach with its provider, agreement state, participant form and passed learners.

    A fixed number of queries whatever the number of schools.
    """
    schools = list(
        Unit.objects.filter(scope.unit_q(""), kind=UnitKind.SCHOOL, is_active=True, path__startswith=period.city.path)
        .select_related("parent")
        .order_by("path")
    )
    by_id = {s.pk: s for s in schools}
    agreements: dict[int, list[Agreement]] = defaultdict(list)
    for a in (
        Agreement.objects.filter(period=period, state__in=LIVE_AGREEMENT_STATES, school_id__in=list(by_id))
        .select_related("provider")
        .order_by("chosen_at", "pk")
    ):
        agreements[a.school_id].append(a)
    must: dict[int, set[int]] = defaultdict(set)
    by_path = {s.path: s.pk for s in schools}
    for unit in _reach_units(period, scope):
        for teacher_id, path in must_train_ids(period, unit).items():
            if path in by_path:
                must[by_path[path]].add(teacher_id)
    passed = passed_counts(period, Q(teacher__unit_id__in=list(by_id)))
    forms = latest_participant_forms(period, by_id)
    rows: list[SchoolRow] = []
    for school in schools:
        needed = must.get(school.pk, set())
        choices: list[Agreement | None] = list(agreements.get(school.pk, ())) or [None]
        for agreement in choices:
            form = forms.get((school.pk, agreement.provider_id)) if agreement else None
            rows.append(
                SchoolRow(
                    school=school,
                    agreement=agreement,
                    must_train=len(needed),
                    passed=passed.get((school.pk, agreement.provider_id), 0) if agreement else 0,
                    last_form=form,
                    form_stale=form is None or not needed <= form.teacher_ids,
                )
            )
    return rows


# --- money: fee statements -------------------------------------------------------------------------------

# Hours earned through a selection are the ledger's: its entry (reference "enrollment:<id>"), plus the
# reversal of it if any, plus the entry that recorded it again with its kind (reference "kind:enrollment:<id>",
# courses migration 0009). Every value is a parameter; the fragments are fixed.
_EARNED_SQL = (
    "SELECT {keys}, COUNT(DISTINCT s.teacher_id), SUM(e.hours + COALESCE(r.hours, 0))"
    " FROM courses_courseselection s"
    " JOIN courses_course c ON c.id = s.course_id"
    " JOIN portal_teacher t ON t.id = s.teacher_id"
    " JOIN portal_unit u ON u.id = t.unit_id"
    " JOIN credits_creditentry e ON ((e.source IN (%s, %s) AND e.reference = 'enrollment:' || CAST(s.id AS TEXT))"
    "  OR (e.source = %s AND e.reference = 'kind:enrollment:' || CAST(s.id AS TEXT)))"
    " LEFT JOIN credits_creditentry r ON r.reverses_id = e.id"
    " WHERE s.period_id = %s AND s.status = %s AND ({reach}){extra}"
    " GROUP BY {keys}"
)


def _earned(period: TrainingPeriod, keys: str, reach: list[str], extra: str = "", params: list | None = None) -> list:
    from credits.models import Source

    reach_sql = " OR ".join(["u.path LIKE %s ESCAPE '\\'"] * len(reach)) or "1 = 0"
    sql = _EARNED_SQL.format(keys=keys, reach=reach_sql, extra=extra)
    args = [
        Source.COURSE.value,
        Source.IMPORT.value,
        Source.MANUAL.value,
        period.pk,
        SelectionStatus.COMPLETED.value,
        *map(_like_prefix, reach),
        *(params or []),
    ]
    with connection.cursor() as cursor:
        cursor.execute(sql, args)
        return cursor.fetchall()


CENT = Decimal("0.01")


def _amount(hours: Decimal, rate: Decimal) -> Decimal:
    from decimal import ROUND_HALF_UP

    return (Decimal(hours) * Decimal(rate)).quantize(CENT, rounding=ROUND_HALF_UP)


def fee_payers(period: TrainingPeriod) -> dict[str, str]:
    """Who pays each category in the period; the employer where the period says nothing."""
    from courses.models import Payer

    payers = {c.value: Payer.EMPLOYER.value for c in Category}
    payers.update(dict(period.fee_payers.values_list("category", "payer")))
    return payers


@dataclass
class StatementLine:
    teacher: Teacher
    category: str
    hours: Decimal
    rate: Decimal
    amount: Decimal


@dataclass
class CategoryTotal:
    category: str
    label: str
    payer: str
    payer_label: str
    hours: Decimal
    amount: Decimal

    @property
    def school_pays(self) -> bool:
        from courses.models import Payer

        return self.payer == Payer.EMPLOYER


@dataclass
class Statement:
    """A school's fee statement with one provider: participants × hours earned × agreed fee."""

    period: TrainingPeriod
    school: Unit
    provider: Provider
    agreement: Agreement | None
    lines: list[StatementLine]
    categories: list[CategoryTotal]

    @property
    def participants(self) -> int:
        return len({line.teacher.pk for line in self.lines})

    @property
    def hours(self) -> Decimal:
        return sum((line.hours for line in self.lines), ZERO)

    @property
    def amount(self) -> Decimal:
        return sum((line.amount for line in self.lines), ZERO)

    @property
    def school_due(self) -> Decimal:
        return sum((c.amount for c in self.categories if c.school_pays), ZERO)

    @property
    def cap(self) -> Decimal | None:
        return self.period.max_fee_per_hour

    @property
    def over_cap(self) -> bool:
        return self.cap is not None and any(line.rate > self.cap for line in self.lines)


def _agreed_rate(agreement: Agreement | None, course_fee: Decimal) -> Decimal:
    if agreement is not None and agreement.fee_per_hour is not None:
        return agreement.fee_per_hour
    return Decimal(course_fee)


def fee_statement(period: TrainingPeriod, school: Unit, provider: Provider) -> Statement:
    """The statement of ``school`` with ``provider`` for the period, per teacher and category. Four queries."""
    from courses.models import Payer

    agreement = (
        Agreement.objects.filter(period=period, school=school, provider=provider, state__in=LIVE_AGREEMENT_STATES)
        .order_by("-pk")
        .first()
    )
    rows = _earned(
        period,
        "s.teacher_id, c.category, c.fee_per_hour",
        [school.path],
        " AND t.unit_id = %s AND c.provider_id = %s",
        [school.pk, provider.pk],
    )
    teachers = Teacher.objects.in_bulk({r[0] for r in rows})
    lines = []
    for teacher_id, category, course_fee, _n, hours in rows:
        rate = _agreed_rate(agreement, course_fee)
        hours = Decimal(hours)
        lines.append(StatementLine(teachers[teacher_id], category, hours, rate, _amount(hours, rate)))
    lines.sort(key=lambda line: (line.teacher.name, line.teacher.pk, line.category))
    payers = fee_payers(period)
    categories = []
    for c in Category:
        mine = [line for line in lines if line.category == c.value]
        if mine:
            categories.append(
                CategoryTotal(
                    c.value,
                    str(c.label),
                    payers[c.value],
                    str(Payer(payers[c.value]).label),
                    sum((line.hours for line in mine), ZERO),
                    sum((line.amount for line in mine), ZERO),
                )
            )
    return Statement(period, school, provider, agreement, lines, categories)


@dataclass
class FeeTotal:
    """Participants, hours and amount of one school with one provider, or summed per provider or county."""

    key: Any  # (school, provider), a Provider or a county Unit
    participants: int = 0
    hours: Decimal = ZERO
    amount: Decimal = ZERO
    schools: set = field(default_factory=set)

    def add(self, other: FeeTotal, school_id: int) -> None:
        self.participants += other.participants
        self.hours += other.hours
        self.amount += other.amount
        self.schools.add(school_id)


def fee_totals(period: TrainingPeriod, scope: Scope) -> tuple[list[FeeTotal], list[FeeTotal], list[FeeTotal]]:
    """Per (school, provider) in reach, then summed per provider and per county (市直属: the city).

    Admins: the schools in reach; provider staff: the schools that chose them. Each (school, provider)
    with a live agreement is listed even before any hours. Five queries.
    """
    agreements_qs = Agreement.objects.filter(period=period, state__in=LIVE_AGREEMENT_STATES)
    if scope.is_admin:
        reach, extra, params = [u.path for u in _reach_units(period, scope)], "", []
        agreements_qs = agreements_qs.filter(scope.unit_q("school"))
    else:
        ids = list(scope.provider_ids) or [0]
        reach, extra, params = [period.city.path], f" AND c.provider_id IN ({', '.join(['%s'] * len(ids))})", ids
        agreements_qs = agreements_qs.filter(provider_id__in=ids)
    agreements = {(a.school_id, a.provider_id): a for a in agreements_qs}
    hours_rows = _earned(period, "t.unit_id, c.provider_id, c.category, c.fee_per_hour", reach, extra, params)
    people = {
        (unit_id, provider_id): n
        for unit_id, provider_id, n, _hours in _earned(period, "t.unit_id, c.provider_id", reach, extra, params)
    }
    if not scope.is_admin:  # a provider sees the schools that chose it, nothing else
        hours_rows = [r for r in hours_rows if (r[0], r[1]) in agreements]
        people = {k: v for k, v in people.items() if k in agreements}
    pairs: dict[tuple[int, int], FeeTotal] = {key: FeeTotal(key) for key in agreements}
    for unit_id, provider_id, _category, course_fee, _n, hours in hours_rows:
        total = pairs.setdefault((unit_id, provider_id), FeeTotal((unit_id, provider_id)))
        rate = _agreed_rate(agreements.get((unit_id, provider_id)), course_fee)
        total.hours += Decimal(hours)
        total.amount += _amount(Decimal(hours), rate)
    for key, n in people.items():
        pairs[key].participants = n
    schools = Unit.objects.select_related("parent").in_bulk({k[0] for k in pairs})
    providers = Provider.objects.in_bulk({k[1] for k in pairs})
    by_school = sorted(
        (FeeTotal((schools[s], providers[p]), t.participants, t.hours, t.amount) for (s, p), t in pairs.items()),
        key=lambda t: (t.key[0].path, t.key[1].code),
    )
    by_provider: dict[int, FeeTotal] = {}
    by_county: dict[int, FeeTotal] = {}
    for total in by_school:
        school, provider = total.key
        by_provider.setdefault(provider.pk, FeeTotal(provider)).add(total, school.pk)
        county = school.parent if school.parent and school.parent.kind == UnitKind.DISTRICT else period.city
        by_county.setdefault(county.pk, FeeTotal(county)).add(total, school.pk)
    return (
        by_school,
        sorted(by_provider.values(), key=lambda t: t.key.code),
        sorted(by_county.values(), key=lambda t: t.key.path),
    )
