# ruff: noqa: S608 - the SQL below interpolates only column aliases and placeholders built from a validated rule tree
"""Reads of the ledger: a teacher's totals, many teachers' totals, compliance roll-ups."""

from __future__ import annotations

import datetime as dt
import json
from collections import defaultdict
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from decimal import Decimal
from typing import Any

from django.db import connection, transaction
from django.db.models import QuerySet, Sum
from django.utils.translation import get_language
from django.utils.translation import gettext as _

from credits.models import Category, ComplianceSnapshot, CreditEntry, CreditKind, RuleSet
from credits.rule_engine import (
    Column,
    Evaluation,
    Totals,
    columns_needed,
    evaluate,
    evaluation_of_sums,
    sql_condition,
    totals_from_columns,
)
from portal.figures import figures_counted
from portal.models import TeacherStatus, Unit
from portal.privacy import id_number_for
from portal.replica import reading_connection


def _add_rows(result: dict[int, Totals], rows: Iterable[tuple[int, str, str | None, str | None, Any]]) -> None:
    for teacher_id, category, kind, topic_codes, hours in rows:
        topics = [c for c in (topic_codes or "").split(",") if c]
        result.setdefault(teacher_id, Totals()).add(Decimal(hours), category, kind, topics)


def totals_kept() -> bool:
    """Whether the database keeps credits_teacheryeartotal (PostgreSQL: a ledger insert trigger does)."""
    return connection.vendor == "postgresql"


def totals_for_teachers(teacher_ids: Iterable[int], year: int) -> dict[int, Totals]:
    """Each teacher's Totals for ``year`` (zero Totals for teachers without entries). One query.

    PostgreSQL reads the kept totals (TeacherYearTotal); SQLite sums the ledger. Either
    way a category, kind or topic whose hours sum to zero (reversed) is left out.
    """
    ids = list(teacher_ids)
    result: dict[int, Totals] = {tid: Totals() for tid in ids}
    if not ids:
        return result
    if totals_kept():
        with reading_connection().cursor() as cursor:
            cursor.execute(_KEPT_TOTALS_SQL, [ids, year])
            for teacher_id, total, public, professional, elective, kinds, topics in cursor.fetchall():
                by_category = {"public": public, "professional": professional, "elective": elective}
                result[teacher_id] = Totals(
                    total=total,
                    by_category={k: v for k, v in by_category.items() if v},
                    by_kind=_json_hours(kinds),
                    by_topic=_json_hours(topics),
                )
        return result
    rows = (
        CreditEntry.objects.filter(teacher_id__in=ids, year=year)
        .values_list("teacher_id", "category", "kind__code", "topic_codes")
        .annotate(hours=Sum("hours"))
        .order_by()
    )
    _add_rows(result, rows)
    for totals in result.values():
        # As the kept totals cannot tell "reversed to zero" from "none": a zero sum is left out.
        for sums in (totals.by_category, totals.by_kind, totals.by_topic):
            for key in [k for k, v in sums.items() if not v]:
                del sums[key]
    return result


def _json_hours(value: str | bytes | dict | None) -> dict[str, Decimal]:
    """A jsonb {key: hours} as Decimals (the driver may hand over the text or the decoded object)."""
    if value is None:
        return {}
    decoded = json.loads(value, parse_float=Decimal, parse_int=Decimal) if isinstance(value, str | bytes) else value
    return {key: Decimal(str(hours)) for key, hours in decoded.items() if hours}


# Kinds are kept by id (a code may be renamed); Totals speak codes.
_KEPT_TOTALS_SQL = (
    "SELECT tt.teacher_id, tt.total, tt.public, tt.professional, tt.elective,"
    " (SELECT jsonb_object_agg(k.code, kv.value) FROM jsonb_each(tt.kinds) kv"
    "  JOIN credits_creditkind k ON k.id = kv.key::integer),"
    " tt.topics FROM credits_teacheryeartotal tt WHERE tt.teacher_id = ANY(%s) AND tt.year = %s"
)


def teacher_totals(teacher_id: int, year: int) -> Totals:
    """One teacher's Totals for ``year``. One query."""
    return totals_for_teachers([teacher_id], year)[teacher_id]


# --------------------------------------------------------------------------- rule sets


def rule_set_for_unit(unit: Unit, year: int) -> RuleSet | None:
    """The rule set of the unit's city for ``year``. One query."""
    return RuleSet.objects.filter(city__code=unit.city_code, year=year).select_related("city").first()


def kinds_counted(tree: dict | None) -> dict[str, list[CreditKind]]:
    """The kinds ``tree`` counts apart, by category, in the tree's order; {} when it counts none.

    Hours of such a category must carry one of its kinds, or they count toward none of the
    rule's lines. One query when the tree names kinds, none otherwise.
    """
    codes = [c.code for c in columns_needed(tree) if c.dimension == "kind"] if tree else []
    found = CreditKind.objects.in_bulk(codes, field_name="code") if codes else {}
    counted: dict[str, list[CreditKind]] = {}
    for code in codes:
        if code in found:
            counted.setdefault(found[code].category, []).append(found[code])
    return counted


def kinds_counted_for_unit(unit: Unit, year: int) -> dict[str, list[CreditKind]]:
    """``kinds_counted`` for the rule set of the unit's city for ``year``. Two queries at most."""
    rule_set = rule_set_for_unit(unit, year)
    return kinds_counted(rule_set.tree if rule_set else None)


def rule_sets_for_unit(unit: Unit) -> dict[int, RuleSet]:
    """The rule sets of the unit's city by year, newest first (a page's year choice and its rule together). One
    query."""
    found = RuleSet.objects.filter(city__code=unit.city_code).select_related("city").order_by("-year")
    return {rule_set.year: rule_set for rule_set in found}


# --------------------------------------------------------------------------- set-based compliance


@dataclass
class UnitRate:
    """Teachers and compliant teachers of a unit (with everything below it)."""

    unit: Unit | None
    teachers: int = 0
    compliant: int = 0

    @property
    def short(self) -> int:
        return self.teachers - self.compliant

    @property
    def rate(self) -> float:
        return self.compliant / self.teachers if self.teachers else 0.0

    @property
    def percent(self) -> str:
        return f"{self.rate * 100:.1f}"


@dataclass
class Overview:
    unit: Unit
    year: int
    rule_set: RuleSet
    total: UnitRate
    children: list[UnitRate]
    by_path: list[tuple[str, int, int]] = field(default_factory=list)  # employer units: (path, teachers, compliant)
    counted_at: dt.datetime | None = None  # when the counts were taken, if kept (portal.figures)


@dataclass
class TeacherRow:
    """One teacher's line in a dashboard list; ``evaluation`` filled for the shown rows only."""

    teacher_id: int
    name: str
    id_number: str
    unit_name: str
    unit_path: str
    sums: dict[Column, Decimal]
    met: bool
    evaluation: Evaluation | None = None

    @property
    def total(self) -> Decimal:
        return self.sums.get(Column("total", ""), Decimal(0))

    @property
    def masked_id_number(self) -> str:
        from portal import idcard

        return idcard.mask(self.id_number)


class CompiledRule:
    """SQL pieces for one rule tree: per-teacher sum columns and the "met" condition."""

    def __init__(self, tree: dict):
        from credits.models import CreditKind

        self.tree = tree
        self.columns = columns_needed(tree)
        kind_codes = [c.code for c in self.columns if c.dimension == "kind"]
        kind_ids = dict(CreditKind.objects.filter(code__in=kind_codes).values_list("code", "id")) if kind_codes else {}
        # Per column: the ledger sum over ``e`` and the same figure read from the kept totals ``tt``
        # (one row per teacher and year; PostgreSQL), each with its params.
        sums: list[tuple[str, list]] = []
        kept: list[tuple[str, list]] = []
        for column in self.columns:
            if column.dimension == "total":
                sums.append(("SUM(e.hours)", []))
                kept.append(("tt.total", []))
                continue
            if column.dimension == "category":
                field = column.code if column.code in Category.values else None
                sums.append(("SUM(CASE WHEN e.category = %s THEN e.hours END)", [column.code]))
                kept.append((f"tt.{field}" if field else "NULL::numeric", []))
            elif column.dimension == "kind":
                kind_id = kind_ids.get(column.code, -1)
                sums.append(("SUM(CASE WHEN e.kind_id = %s THEN e.hours END)", [kind_id]))
                kept.append(("(tt.kinds ->> %s)::numeric", [str(kind_id)]))
            else:
                like = f"%,{_like_escape(column.code)},%"
                sums.append(("SUM(CASE WHEN e.topic_codes LIKE %s ESCAPE '\\' THEN e.hours END)", [like]))
                kept.append(("(tt.topics ->> %s)::numeric", [column.code]))
        aliases = [c.alias for c in self.columns]
        self.sums_sql, self.sums_params = _select_list(aliases, sums)
        self.kept_sql, self.kept_params = _select_list(aliases, kept)
        # Kept totals plus the sums of ``e`` (the courses selected, not yet credited), for a
        # query grouped by teacher and ``tt.id``.
        self.kept_plus_sums_sql, self.kept_plus_sums_params = _select_list(
            aliases,
            [(f"COALESCE({k}, 0) + COALESCE({e}, 0)", [*kp, *ep]) for (k, kp), (e, ep) in zip(kept, sums, strict=True)],
        )
        self.met_sql, self.met_params = sql_condition(tree, lambda c: f"COALESCE(s.{c.alias}, 0)")

    def per_teacher(
        self, unit: Unit, year: int, *, as_of: dt.datetime | None = None, search: str = ""
    ) -> tuple[str, list]:
        """SQL and params: one row per active teacher under ``unit`` with her sums for ``year``.

        Teachers without entries get NULL sums (the conditions COALESCE them). ``as_of``:
        only entries recorded before that moment count. Columns: teacher_id, name,
        id_number, unit_name, path, then one per ``self.columns`` alias.

        The current state comes from the kept totals where the database keeps
        them (one row per teacher, no ledger scan); ``as_of`` and SQLite sum the ledger.
        """
        where = "t.status = %s AND u.path LIKE %s ESCAPE '\\'"
        where_params: list = [_active(), _like_prefix(unit.path)]
        if search:
            where += " AND (t.name LIKE %s OR t.id_number LIKE %s)"
            where_params += [f"%{search}%", f"%{search.upper()}%"]
        if as_of is None and totals_kept():
            sql = (
                "SELECT t.id AS teacher_id, t.name AS name, t.id_number AS id_number, u.name AS unit_name,"
                f" u.path AS path, {self.kept_sql}"
                " FROM portal_teacher t JOIN portal_unit u ON u.id = t.unit_id"
                " LEFT JOIN credits_teacheryeartotal tt ON tt.teacher_id = t.id AND tt.year = %s"
                f" WHERE {where}"
            )
            return sql, [*self.kept_params, year, *where_params]
        before = " AND e.recorded_at < %s" if as_of else ""
        params: list = [*self.sums_params, year, *([as_of] if as_of else []), *where_params]
        sql = (
            "SELECT t.id AS teacher_id, t.name AS name, t.id_number AS id_number, u.name AS unit_name,"
            f" u.path AS path, {self.sums_sql}"
            " FROM portal_teacher t JOIN portal_unit u ON u.id = t.unit_id"
            f" LEFT JOIN credits_creditentry e ON e.teacher_id = t.id AND e.year = %s{before}"
            f" WHERE {where} GROUP BY t.id, u.id"
        )
        return sql, params


def _select_list(aliases: list[str], parts: list[tuple[str, list]]) -> tuple[str, list]:
    """``expr AS alias, ...`` and the params in order."""
    return ", ".join(f"{sql} AS {alias}" for alias, (sql, _p) in zip(aliases, parts, strict=True)), [
        p for _sql, params in parts for p in params
    ]


def _active() -> str:
    return TeacherStatus.ACTIVE.value


def _like_escape(text: str) -> str:
    # Unit and topic codes may hold "_", a LIKE wildcard.
    return text.replace("\\", "\\\\").replace("_", "\\_").replace("%", "\\%")


def _like_prefix(path: str) -> str:
    return _like_escape(path) + "%"


def compliance_by_path(
    unit: Unit, year: int, tree: dict, as_of: dt.datetime | None = None
) -> list[tuple[str, int, int]]:
    """(employer unit path, active teachers, compliant teachers) under ``unit``: ONE aggregation query.

    ``as_of``: count only entries recorded before that moment (for back-dated snapshots).
    """
    rule = CompiledRule(tree)
    inner, params = rule.per_teacher(unit, year, as_of=as_of)
    sql = f"SELECT s.path, COUNT(*), SUM(CASE WHEN {rule.met_sql} THEN 1 ELSE 0 END) FROM ({inner}) s GROUP BY s.path"
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, [*rule.met_params, *params])
        return [(path, int(n), int(ok or 0)) for path, n, ok in cursor.fetchall()]


def compliance_overview(
    unit: Unit, year: int, rule_set: RuleSet | None = None, *, kept: bool = False
) -> Overview | None:
    """达标率 of ``unit`` and of each child unit. A fixed number of queries, whatever the teacher count.

    ``kept`` (the dashboard): the sums per child unit are counted at most every FIGURES_SECONDS
    per unit, year and rule (portal.figures), ``Overview.counted_at`` says when, and
    ``Overview.by_path`` is left empty.
    """
    rule_set = rule_set or rule_set_for_unit(unit, year)
    if rule_set is None:
        return None
    tree = rule_set.tree
    counted_at, rows = None, []
    if kept:
        counted = figures_counted(
            "compliance_roll_up",
            (unit.pk, unit.path, year, tree),
            lambda: _roll_up(unit.path, compliance_by_path(unit, year, tree)),
        )
        (teachers, compliant, by_child), counted_at = counted.value, counted.at
    else:
        rows = compliance_by_path(unit, year, tree)
        teachers, compliant, by_child = _roll_up(unit.path, rows)
    children = [
        UnitRate(child, *by_child.get(child.path, (0, 0)))
        for child in Unit.objects.filter(parent=unit).order_by("path")
    ]
    return Overview(
        unit=unit,
        year=year,
        rule_set=rule_set,
        total=UnitRate(unit, teachers, compliant),
        children=[rate for rate in children if rate.teachers],
        by_path=rows,
        counted_at=counted_at,
    )


def _roll_up(parent_path: str, rows: list[tuple[str, int, int]]) -> tuple[int, int, dict[str, tuple[int, int]]]:
    """(teachers, compliant, {child unit's path: (teachers, compliant)}) from the rows per employer unit."""
    by_child: defaultdict[str, tuple[int, int]] = defaultdict(lambda: (0, 0))
    teachers = compliant = 0
    for path, n, ok in rows:
        teachers += n
        compliant += ok
        if child_path := _child_path(parent_path, path):
            was_n, was_ok = by_child[child_path]
            by_child[child_path] = (was_n + n, was_ok + ok)
    return teachers, compliant, dict(by_child)  # a plain dict: kept in the cache, pickled


def _child_path(parent_path: str, path: str) -> str | None:
    rest = path[len(parent_path) :]
    if not rest:
        return None
    return parent_path + rest.split("/", 1)[0] + "/"


def teacher_rows(
    unit: Unit,
    year: int,
    tree: dict,
    *,
    only_short: bool = False,
    search: str = "",
    limit: int | None = None,
    offset: int = 0,
) -> Iterator[TeacherRow]:
    """Teachers under ``unit`` with their sums and verdict, ordered by unit and name. ONE query.

    Streams from the cursor so an export of 250,000 rows holds only a chunk in memory.
    """
    rule = CompiledRule(tree)
    inner, params = rule.per_teacher(unit, year, search=search)
    cols = ", ".join(f"COALESCE(s.{c.alias}, 0)" for c in rule.columns)
    sql = (
        f"SELECT s.teacher_id, s.name, s.id_number, s.unit_name, s.path,"
        f" CASE WHEN {rule.met_sql} THEN 1 ELSE 0 END, {cols} FROM ({inner}) s"
    )
    params = [*rule.met_params, *params]
    if only_short:
        sql += f" WHERE NOT {rule.met_sql}"
        params += rule.met_params
    sql += " ORDER BY s.path, s.name, s.teacher_id"
    if limit is not None:
        sql += " LIMIT %s OFFSET %s"
        params += [limit, offset]
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        while chunk := cursor.fetchmany(2000):
            for row in chunk:
                sums = {c: Decimal(str(v)) for c, v in zip(rule.columns, row[6:], strict=True)}
                yield TeacherRow(row[0], row[1], row[2], row[3], row[4], sums, bool(row[5]))


def short_count(unit: Unit, year: int, tree: dict, search: str = "", *, show_all: bool = False) -> int:
    """How many teachers under ``unit`` (matching ``search``) miss the rule (all of them: ``show_all``). One query."""
    rule = CompiledRule(tree)
    inner, params = rule.per_teacher(unit, year, search=search)
    sql = f"SELECT COUNT(*) FROM ({inner}) s"
    if not show_all:
        sql += f" WHERE NOT {rule.met_sql}"
        params += rule.met_params
    with reading_connection().cursor() as cursor:
        cursor.execute(sql, params)
        return int(cursor.fetchone()[0])


def with_evaluations(rows: list[TeacherRow], tree: dict) -> list[TeacherRow]:
    """Fill each row's evaluation from its sums (no queries but the cached names).

    Rows with the same sums (often: none yet) share one evaluation, kept across requests
    (``rule_engine.evaluation_of_sums``).
    """
    tree_json, language = json.dumps(tree, sort_keys=True), get_language()
    for row in rows:
        # The sums are in the rule's column order, the same for every row.
        row.evaluation = evaluation_of_sums(tree_json, tuple(row.sums.items()), language)
    return rows


def snapshot_trend(unit: Unit, year: int) -> list[ComplianceSnapshot]:
    return list(ComplianceSnapshot.objects.filter(unit=unit, year=year).order_by("date"))


def totals_from_entries(entries: Iterable[CreditEntry]) -> Totals:
    """Totals of already fetched entries (kind preloaded), without another query."""
    totals = Totals()
    for e in entries:
        totals.add(e.hours, e.category, e.kind.code if e.kind is not None else None, e.topics)
    return totals


def topic_names() -> dict[str, str]:
    from credits.rule_engine import _db_names

    return _db_names().topics


def column_label(column: Column) -> str:
    from credits.rule_engine import _db_names, category_label

    if column.dimension == "total":
        return _("总学时")
    if column.dimension == "category":
        return category_label(column.code)
    if column.dimension == "kind":
        return _db_names().kinds.get(column.code, column.code)
    return _("%(topic)s专题学时") % {"topic": _db_names().topics.get(column.code, column.code)}


def export_rows(unit: Unit, year: int, tree: dict, *, only_short: bool) -> tuple[list[str], Iterator[list]]:
    """Headers and a row generator for the compliance export: one query, streamed from a server-side cursor.

    Lean on purpose (plain tuples, no per-row objects): the city export runs to 250,000 rows.
    ID numbers are masked (portal.privacy): a compliance list needs no whole number.
    The shortfall sentence is computed once per distinct set of sums — at city scale many
    teachers share them (nothing yet, exactly the required hours, ...).
    """
    rule = CompiledRule(tree)
    columns = rule.columns
    headers = [_("单位"), _("姓名"), _("身份证号"), *[column_label(c) for c in columns], _("是否达标"), _("未达标说明")]
    inner, params = rule.per_teacher(unit, year)
    cols = ", ".join(f"COALESCE(s.{c.alias}, 0)" for c in columns)
    sql = (
        f"SELECT s.unit_name, s.name, s.id_number, CASE WHEN {rule.met_sql} THEN 1 ELSE 0 END, {cols} FROM ({inner}) s"
    )
    params = [*rule.met_params, *params]
    if only_short:
        sql += f" WHERE NOT {rule.met_sql}"
        params += rule.met_params
    sql += " ORDER BY s.path, s.name, s.teacher_id"
    yes, no = _("是"), _("否")

    def rows() -> Iterator[list]:
        sentences: dict[tuple, str] = {}
        reading = reading_connection()
        with transaction.atomic(using=reading.alias), reading.chunked_cursor() as cursor:
            cursor.execute(sql, params)
            while chunk := cursor.fetchmany(5000):
                for unit_name, name, id_number, met, *values in chunk:
                    key = tuple(values)
                    if met:
                        sentence = ""
                    elif key in sentences:
                        sentence = sentences[key]
                    else:
                        sums = dict(zip(columns, (Decimal(str(v)) for v in values), strict=True))
                        sentence = sentences[key] = evaluate(tree, totals_from_columns(sums)).sentence
                        if len(sentences) > 100_000:
                            sentences.clear()
                    yield [unit_name, name, id_number_for(id_number), *map(float, values), yes if met else no, sentence]

    return headers, rows()


# --------------------------------------------------------------------------- the rule builder


def rule_sets_managed_by(user: Any) -> QuerySet[RuleSet]:
    """The rule sets of the user's cities (city admins)."""
    from portal.models import Role
    from portal.scoping import scope_for

    return RuleSet.objects.filter(scope_for(user).unit_q("city", roles=(Role.CITY_ADMIN,))).select_related("city")


@dataclass(frozen=True)
class PassCount:
    """How many of a city's active teachers a rule passes on one year's ledger."""

    year: int
    teachers: int
    passed: int

    @property
    def percent(self) -> str:
        return f"{self.passed * 100 / self.teachers:.1f}" if self.teachers else "0.0"


def rule_pass_count(city: Unit, year: int, tree: dict) -> PassCount:
    """The city's active teachers and how many of them ``tree`` passes on ``year``'s ledger. ONE query.

    The rule builder asks it for the year before the rule's, before the rule is saved.
    """
    rows = compliance_by_path(city, year, tree)
    return PassCount(year=year, teachers=sum(n for _p, n, _ok in rows), passed=sum(ok for _p, _n, ok in rows))
