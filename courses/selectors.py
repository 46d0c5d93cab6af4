"""Reads for the course supermarket; every queryset starts from portal.scoping."""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal

from django.db import connection
from django.db.models import Count, Q, QuerySet, Sum

from courses.models import (
    LIVE_SELECTION_STATES as LIVE_STATES,
)
from courses.models import (
    Course,
    CourseSelection,
    CourseStatus,
    Provider,
    SelectionPhase,
    SelectionStatus,
    TrainingPeriod,
    WaitlistEntry,
    WaitlistStatus,
)
from credits.models import Category
from credits.rule_engine import Evaluation, Totals, evaluate
from credits.selectors import totals_for_teachers
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
    """Periods of the cities the user belongs to (as teacher or admin); providers see every period."""
    scope = scope_for(user)
    qs = TrainingPeriod.objects.select_related("city", "rule_set")
    if scope.provider_ids:
        return qs
    return qs.filter(city__code__in=_city_codes(scope))


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


def catalogue_courses(period: TrainingPeriod) -> QuerySet[Course]:
    """Published courses of the period, ready for the catalogue (topics: ``courses.views._with_cards``)."""
    return Course.objects.filter(period=period, status=CourseStatus.PUBLISHED).select_related("provider")


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
    """The teacher's live selections of the period by course id (one query)."""
    return {
        e.course_id: e
        for e in CourseSelection.objects.filter(
            teacher=teacher, period=period, status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED)
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
        CourseSelection.objects.filter(period=period, status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED))
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
        CourseSelection.objects.filter(
            period=period,
            teacher_id__in=[pk for pk, _ in teachers],
            status__in=(SelectionStatus.SELECTED, SelectionStatus.COMPLETED),
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

    Two aggregation queries (plus the units), whatever the number of teachers.
    """
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
    units = Unit.objects.in_bulk([r["unit_id"] for r in counts])
    rows = [
        SchoolProgress(
            units[r["unit_id"]],
            teachers=r["n"],
            selected=selected.get(r["unit_id"], 0),
            planned_enough=int(r["met"] or 0),
        )
        for r in counts
    ]
    return sorted(rows, key=lambda r: r.unit.path)


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
