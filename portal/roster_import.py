"""Roster (花名册) import for a unit (the export is ``portal.roster_export``).

Public interface (used by the roster pages and the management commands):

``roster_columns(unit) -> list[Column]``
    姓名, 身份证号, 学段, 任教学科, 手机号码, 状态 (blank = 在职), 职务 (optional);
    a district or city import starts with 学校代码 (an employer unit inside the
    importing unit's subtree). ``roster_needs_school_code(unit)`` says which.
``roster_template(unit) -> bytes``
    The .xlsx to fill in: title row, Chinese headers, the ID column formatted
    as text, drop-down lists for 学段 / 状态 / 职务, a 填写说明 sheet with a
    sample row, and (district/city) a sheet listing the school codes.
``roster_import(file, *, unit, actor=None, dry_run=False) -> ImportResult``
    All or nothing. Raises ImportFileError for a file that cannot be read;
    row problems come back in ``result.errors`` and then nothing is written.
    Rows are matched by ID number: new ones are created, changed ones updated,
    identical ones left alone (re-importing a file changes nothing). A number
    already on another unit's roster is an error naming that unit (a transfer
    is a deliberate action, never a side effect of an import). The error says
    only what the uploader may already see (``ConflictWording``): the unit is named
    when it lies in her reach or in the same district, otherwise "another unit's
    roster: ask your district admin"; each such refusal is kept for that district
    (``portal.services.roster_conflicts_record``, dry runs too). A number twice
    in the file is an error naming both rows. Gender and birth date come from
    the ID number. ``dry_run`` checks everything, fills ``result.preview`` and
    writes nothing.
    Side effects (not in a dry run, only when there is no error), in one
    transaction: Teacher rows created (linked to an existing login with the
    same ID number) and updated; a TeacherMove for every teacher whose status
    changes to 调出/退休. On PostgreSQL rows go in with COPY (new rows straight
    into the table, changed rows through a temporary table and one UPDATE ...
    FROM); elsewhere bulk_create / bulk_update. Never one query per row. Once
    committed, the kept dashboard figures are forgotten (portal.figures).
"""

from __future__ import annotations

import datetime as dt
import functools
import heapq
import io
import itertools
import re
from collections.abc import Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from django.db import IntegrityError, connection, transaction
from django.utils import timezone, translation
from django.utils.translation import gettext as _

from portal import idcard, importing
from portal.figures import figures_forget
from portal.importing import (
    Column,
    ImportFileError,
    ImportResult,
    PreviewRow,
    Table,
    choice,
    read_table,
    text,
)
from portal.locking import LockBusy, lock_key
from portal.models import (
    EMPLOYER_KINDS,
    Position,
    RosterConflictSource,
    Stage,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.scoping import scope_for
from portal.services import roster_conflicts_record
from portal.text import clean_name

PREVIEW_LIMIT = 200
ROSTER_MAX_ROWS = 300_000  # a city's whole roster in one file (Guangzhou has some 200,000 teachers)
ROSTER_LOCK_KEY = 0x726F73746572  # portal.locking.lock_key: one roster import at a time
_CJK_SPACE = re.compile(r"(?<=[\u3400-\u9fff])\s+(?=[\u3400-\u9fff])")


# --------------------------------------------------------------------------- columns


def roster_needs_school_code(unit: Unit) -> bool:
    """District and city imports name each row's school; a school's import is for itself."""
    return unit.kind not in EMPLOYER_KINDS


def _parse_name(value: Any) -> str:
    value = value if value.__class__ is str else str(value)
    if not value.isprintable() or not value.isascii():
        value = clean_name(value)  # controls and bidi overrides out
        if not value:
            raise ValueError(_("不能为空，也不能只有空格或不可见字符"))
    if " " in value or "\t" in value:
        value = _CJK_SPACE.sub("", value)
        value = re.sub(r"\s+", " ", value)
    if len(value) > 50:
        raise ValueError(_("不能超过 50 个字"))
    return value


def _parse_school_code(value: Any) -> str:
    value = str(value).replace(" ", "")
    if len(value) > 32:
        raise ValueError(_("学校代码不能超过 32 个字符"))
    return value


def _labels(choices) -> dict[str, str]:
    """Label -> value in the file format's language (Chinese) and in the user's, so both import."""
    mapping = {str(label): value for value, label in choices}
    with translation.override("zh-hans"):
        mapping.update({str(label): value for value, label in choices})
    return mapping


def roster_columns(unit: Unit, stages: Sequence[Stage] | None = None) -> list[Column]:
    """The import's columns. Headers stay Chinese in every UI language: they are the file format."""
    stages = list(Stage.objects.all()) if stages is None else stages
    stage_map: dict[str, int] = {s.name: s.pk for s in stages}
    stage_map.update({s.code: s.pk for s in stages})
    status_map = {**_labels(TeacherStatus.choices), **{v: v for v in TeacherStatus.values}}
    position_map = _labels(Position.choices)
    columns = []
    if roster_needs_school_code(unit):
        columns.append(Column("school", "学校代码", aliases=("单位代码", "学校编码"), parse=_parse_school_code))
    columns += [
        Column("name", "姓名", aliases=("教师姓名",), parse=_parse_name),
        Column(
            "id_number",
            "身份证号",
            aliases=("身份证号码", "身份证", "公民身份号码"),
            parse=importing.id_number,
        ),
        Column("stage", "学段", aliases=("任教学段",), parse=choice(stage_map, _("学段"), [s.name for s in stages])),
        Column("subject", "任教学科", aliases=("学科", "任教科目"), required=False, default="", parse=text(30)),
        Column(
            "mobile",
            "手机号码",
            aliases=("手机", "手机号", "联系电话"),
            required=False,
            default="",
            parse=importing.mobile,
        ),
        Column(
            "status",
            "状态",
            aliases=("在职状态", "人员状态"),
            required=False,
            default=TeacherStatus.ACTIVE.value,
            parse=choice(status_map, _("状态"), [str(label) for label in TeacherStatus.labels]),
        ),
        Column(
            "position", "职务", required=False, default=Position.TEACHER.value, parse=choice(position_map, _("职务"))
        ),
    ]
    return columns


# --------------------------------------------------------------------------- template


def roster_template(unit: Unit) -> bytes:
    """The .xlsx template for ``unit`` (see module docstring)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font, PatternFill
    from openpyxl.utils import get_column_letter
    from openpyxl.worksheet.datavalidation import DataValidation

    stages = list(Stage.objects.all())
    columns = roster_columns(unit, stages)
    headers = [c.header for c in columns]
    wb = Workbook()
    ws = wb.active
    ws.title = _("花名册")
    ws.append([_("%(unit)s 教师花名册（表头请勿修改，从第 3 行起一人一行；带 * 的列必填）") % {"unit": unit.name}])
    ws["A1"].font = Font(bold=True, size=13)
    ws.append([f"{c.header}*" if c.required else c.header for c in columns])
    head_fill = PatternFill("solid", fgColor="DDEBF7")
    for cell in ws[2]:
        cell.font = Font(bold=True)
        cell.fill = head_fill
        cell.alignment = Alignment(horizontal="center")
    last_row = 5000
    lists = {
        "stage": [s.name for s in stages],
        "status": [str(label) for _v, label in TeacherStatus.choices],
        "position": [str(label) for _v, label in Position.choices],
    }
    for i, column in enumerate(columns, start=1):
        letter = get_column_letter(i)
        ws.column_dimensions[letter].width = {"id_number": 22, "mobile": 14, "school": 14}.get(column.key, 10)
        if column.key in ("id_number", "mobile", "school"):
            ws.column_dimensions[letter].number_format = "@"
        if column.key in lists:
            dv = DataValidation(
                type="list",
                formula1='"' + ",".join(lists[column.key]) + '"',
                allow_blank=True,
                showErrorMessage=True,
                errorTitle=_("请从列表中选择"),
                error=_("请填写：%(values)s") % {"values": "、".join(lists[column.key])},
            )
            dv.add(f"{letter}3:{letter}{last_row}")
            ws.add_data_validation(dv)
    ws.freeze_panes = "A3"

    help_ws = wb.create_sheet(_("填写说明"))
    notes = [
        _("填写说明"),
        _("1. 在“花名册”工作表中从第 3 行起填写，一名教师一行；不要修改表头。"),
        _("2. 身份证号填 18 位，最后一位可以是 X；单元格已设为文本格式，请勿改成数字（数字会丢失后几位）。"),
        _("3. 性别和出生日期由身份证号自动得出，无需填写。"),
        _("4. 学段：%(stages)s。状态：在职、调出、退休（不填视为在职）。") % {"stages": "、".join(lists["stage"])},
        _("5. 再次导入同一文件不会重复添加；按身份证号更新已有教师。已在其他学校花名册中的教师请使用“调动”功能。"),
        _("6. 任何一行有错误时不会导入任何数据，请按错误清单改正后重新导入。"),
        "",
        _("示例（仅供参考，请勿填在本表）："),
    ]
    for note in notes:
        help_ws.append([note])
    help_ws["A1"].font = Font(bold=True, size=13)
    help_ws.append(headers)
    sample_id = idcard.make("440106", dt.date(1985, 6, 15), 123)
    schools = (
        list(
            Unit.objects.filter(path__startswith=unit.path, kind__in=EMPLOYER_KINDS, is_active=True)
            .order_by("path")
            .values_list("code", "name")
        )
        if roster_needs_school_code(unit)
        else []
    )
    sample = {
        "school": schools[0][0] if schools else unit.code,
        "name": "张三",
        "id_number": sample_id,
        "stage": lists["stage"][2] if len(lists["stage"]) > 2 else "",
        "subject": "数学",
        "mobile": "13800138000",
        "status": "在职",
        "position": "教师",
    }
    help_ws.append([sample.get(c.key, "") for c in columns])
    help_ws.column_dimensions["A"].width = 16
    for i in range(1, len(columns) + 1):
        help_ws.cell(row=len(notes) + 1, column=i).font = Font(bold=True)

    if roster_needs_school_code(unit):
        codes_ws = wb.create_sheet(_("学校代码"))
        codes_ws.append([_("学校代码"), _("学校名称")])
        for code, name in schools:
            codes_ws.append([code, name])
        codes_ws.column_dimensions["A"].width = 16
        codes_ws.column_dimensions["B"].width = 36
    out = io.BytesIO()
    wb.save(out)
    return out.getvalue()


# --------------------------------------------------------------------------- conflicts


class ConflictWording:
    """What someone adding a teacher to ``unit`` may be told about a number already on another roster.

    Inside her reach: the unit's name, and "use 调动". In the same district (for a city-direct
    unit: another city-direct unit): the name, and "ask the district admin". Anywhere else: only
    that it is another unit's roster. ``district`` is the unit whose admin is told (and asked).
    """

    def __init__(self, unit: Unit, actor: User | None):
        self.unit = unit
        self.reach = scope_for(actor).admin_paths() if actor is not None else (unit.path,)

    @functools.cached_property
    def district(self) -> Unit:
        return self.unit.ancestor_of_kind(UnitKind.DISTRICT) or self.unit.ancestor_of_kind(UnitKind.CITY) or self.unit

    def in_reach(self, path: str) -> bool:
        return any(path.startswith(p) for p in self.reach)

    def message(self, path: str, name: str) -> str:
        if self.in_reach(path):
            return _("已在 %(unit)s 的花名册中，调动请使用“调动”功能") % {"unit": name}
        district = self.district
        who = (
            _("区级管理员")
            if district.kind == UnitKind.DISTRICT and self.unit.kind in EMPLOYER_KINDS
            else _("市级管理员")
        )
        if district.kind == UnitKind.DISTRICT:
            near = path.startswith(district.path)
        else:  # city-direct: only another city-direct unit
            near = path.startswith(district.path) and path.count("/") == 3
        if near:
            return _("已在%(unit)s的花名册中：请联系%(who)s办理调动") % {"unit": name, "who": who}
        return _("已在其他单位的花名册中：请联系%(who)s办理调动") % {"who": who}


# --------------------------------------------------------------------------- import

_FIELDS = ("name", "stage_id", "subject", "mobile", "status", "position")


@dataclass
class _Existing:
    pk: int
    unit_id: int
    unit_name: str
    unit_path: str
    values: tuple  # in _FIELDS order
    status_date: dt.date | None


def _lookup(numbers: list[str]) -> tuple[dict[str, _Existing], dict[str, int]]:
    """Teachers already stored under these ID numbers (anywhere), and logins no teacher points to yet.

    On PostgreSQL one query for both, the numbers sent once as an array.
    """
    if connection.vendor != "postgresql":
        return _fetch_existing(numbers), _free_logins(numbers)
    t, u, usr = Teacher._meta.db_table, Unit._meta.db_table, User._meta.db_table
    sql = (
        f"SELECT n.id_number, t.id, t.unit_id, u.name, u.path, t.name, t.stage_id, t.subject, t.mobile, t.status, "  # noqa: S608
        f"t.position, t.status_date, l.id FROM unnest(%s::varchar[]) AS n(id_number) "
        f"LEFT JOIN {t} t ON t.id_number = n.id_number LEFT JOIN {u} u ON u.id = t.unit_id "
        f"LEFT JOIN {usr} l ON t.id IS NULL AND l.id_number = n.id_number "
        f"AND NOT EXISTS (SELECT 1 FROM {t} t2 WHERE t2.user_id = l.id) "
        f"WHERE t.id IS NOT NULL OR l.id IS NOT NULL"
    )
    existing: dict[str, _Existing] = {}
    logins: dict[str, int] = {}
    with connection.cursor() as cursor:
        cursor.execute(sql, [numbers])
        for number, pk, unit_id, unit_name, unit_path, *values, status_date, login in cursor.fetchall():
            if pk is not None:
                existing[number] = _Existing(pk, unit_id, unit_name, unit_path, tuple(values), status_date)
            else:
                logins[number] = login
    return existing, logins


def _fetch_existing(numbers: list[str]) -> dict[str, _Existing]:
    """Teachers already stored under these ID numbers, anywhere in the system (one query on PostgreSQL)."""
    t, u = Teacher._meta.db_table, Unit._meta.db_table
    sql = (
        f"SELECT t.id_number, t.id, t.unit_id, u.name, u.path, t.name, t.stage_id, t.subject, t.mobile, t.status, "  # noqa: S608
        f"t.position, t.status_date FROM {t} t JOIN {u} u ON u.id = t.unit_id WHERE "
    )
    found: dict[str, _Existing] = {}
    with connection.cursor() as cursor:
        for batch_sql, params in _in_batches(sql, "t.id_number", numbers):
            cursor.execute(batch_sql, params)
            for number, pk, unit_id, unit_name, unit_path, *values, status_date in cursor.fetchall():
                found[number] = _Existing(pk, unit_id, unit_name, unit_path, tuple(values), status_date)
    return found


def _free_logins(numbers: list[str]) -> dict[str, int]:
    """Logins with these ID numbers that no teacher record points to yet."""
    t, u = Teacher._meta.db_table, User._meta.db_table
    sql = (
        f"SELECT u.id_number, u.id FROM {u} u WHERE NOT EXISTS "  # noqa: S608
        f"(SELECT 1 FROM {t} t WHERE t.user_id = u.id) AND "
    )
    found: dict[str, int] = {}
    with connection.cursor() as cursor:
        for batch_sql, params in _in_batches(sql, "u.id_number", numbers):
            cursor.execute(batch_sql, params)
            found.update(cursor.fetchall())
    return found


def _in_batches(sql: str, column: str, values: list[str]) -> Iterator[tuple[str, list]]:
    if not values:
        return
    if connection.vendor == "postgresql":
        yield f"{sql}{column} = ANY(%s)", [values]
        return
    for start in range(0, len(values), 500):
        batch = values[start : start + 500]
        yield f"{sql}{column} IN ({', '.join(['%s'] * len(batch))})", batch


def _resolve_schools(table: Table, unit: Unit) -> list[int | None]:
    """The target unit id of every row (学校代码 checked against the importing unit's subtree)."""
    if "school" not in table.values:
        return [unit.pk] * len(table)
    codes = {c for c in table.values["school"] if c}
    codes |= {c.upper() for c in codes}
    inside = dict(
        Unit.objects.filter(path__startswith=unit.path, kind__in=EMPLOYER_KINDS, code__in=codes).values_list(
            "code", "pk"
        )
    )
    # Codes are letters and digits; let "s001" find "S001".
    upper = {code.upper(): pk for code, pk in inside.items()}
    unknown = {c for c in codes if c not in inside and c.upper() not in upper}
    elsewhere = {
        code: (name, kind, path)
        for code, name, kind, path in Unit.objects.filter(code__in=unknown).values_list("code", "name", "kind", "path")
    }
    targets: list[int | None] = []
    for i, code in enumerate(table.values["school"]):
        if code is None:
            targets.append(None)
            continue
        pk = inside.get(code) or upper.get(code.upper())
        if pk is None:
            if code in elsewhere:
                name, _kind, path = elsewhere[code]
                if path.startswith(unit.path):
                    message = _("“%(code)s”是%(name)s，不是学校或用人单位，请填写教师所在学校的代码") % {
                        "code": code,
                        "name": name,
                    }
                else:
                    # Whose code it is stays unsaid: the uploader may not see that unit.
                    message = _("“%(code)s”不属于%(unit)s，只能导入本单位范围内的学校") % {
                        "code": code,
                        "unit": unit.name,
                    }
            else:
                message = _("没有代码为“%(code)s”的学校，请对照模板中的“学校代码”表填写") % {"code": code}
            table.add_error(i, "school", message)
        targets.append(pk)
    return targets


@dataclass
class _Plan:
    creates: list[tuple]  # (index, ID number, unit_id, values)
    updates: list[tuple]  # (index, _Existing, values)
    unchanged: int
    logins: dict[str, int]  # ID number -> id of a login no teacher points to yet
    conflicts: list[int]  # teachers on a roster outside the uploader's reach


def _plan(table: Table, targets: list[int | None], wording: ConflictWording) -> _Plan:
    """Compare every good row with what is stored; record conflicts as errors."""
    vals = table.values
    ids: list[str | None] = vals["id_number"]
    bad = table.bad
    existing, logins = _lookup([p for i, p in enumerate(ids) if p is not None and i not in bad])
    n = len(table)
    defaults = {c.key: c.default for c in table.columns}
    keys = [f.removesuffix("_id") for f in _FIELDS]
    # A column left out of the file: new rows take its default, stored rows keep their value.
    absent = [k not in table.present for k in keys]
    cols = [[defaults[k]] * n if a else vals[k] for k, a in zip(keys, absent, strict=True)]
    creates, updates, unchanged, conflicts = [], [], 0, []
    get_existing = existing.get
    for i, number, target, row in zip(range(n), ids, targets, zip(*cols, strict=True), strict=True):
        if number is None or target is None or i in bad:
            continue
        old = get_existing(number)
        if old is None:
            creates.append((i, number, target, row))
            continue
        if old.unit_id != target:
            table.add_error(i, "id_number", wording.message(old.unit_path, old.unit_name))
            if not wording.in_reach(old.unit_path):
                conflicts.append(old.pk)
            continue
        if any(absent):
            row = tuple(o if a else v for v, o, a in zip(row, old.values, absent, strict=True))
        if row == old.values:
            unchanged += 1
        else:
            updates.append((i, old, row))
    return _Plan(creates, updates, unchanged, logins, conflicts)


def _preview(table: Table, plan: _Plan, stages: dict[int, str], limit: int) -> list[PreviewRow]:
    """The first ``limit`` rows that create or change something, in file order."""
    status_labels = {k: str(v) for k, v in TeacherStatus.choices}
    position_labels = {k: str(v) for k, v in Position.choices}
    headers = {c.key: c.header for c in table.columns}
    field_headers = dict(zip(_FIELDS, [headers[f.removesuffix("_id")] for f in _FIELDS], strict=True))
    ids = table.values["id_number"]
    items = heapq.merge(
        ((i, "create", number, unit_id, row, ()) for i, number, unit_id, row in plan.creates),
        ((i, "update", ids[i], old.unit_id, row, old.values) for i, old, row in plan.updates),
    )
    picked = list(itertools.islice(items, limit))
    unit_names = {}
    if "school" in table.present:
        unit_names = dict(Unit.objects.filter(pk__in={p[3] for p in picked}).values_list("pk", "name"))
    out: list[PreviewRow] = []
    for i, action, number, unit_id, row, old_values in picked:
        name, stage_id, subject, mobile, status, position = row
        values = {headers["school"]: unit_names.get(unit_id, "")} if unit_names else {}
        values.update(
            {
                headers["name"]: name,
                headers["id_number"]: number,
                headers["stage"]: stages.get(stage_id, ""),
                headers["subject"]: subject or "",
                headers["mobile"]: mobile or "",
                headers["status"]: status_labels.get(status, status),
                headers["position"]: position_labels.get(position, position),
            }
        )
        changed = tuple(field_headers[f] for f, a, b in zip(_FIELDS, row, old_values, strict=False) if a != b)
        out.append(PreviewRow(table.rows[i], action, values, changed))
    return out


@dataclass
class RosterFile:
    """A roster file read and checked on its own (no database rows consulted yet)."""

    unit: Unit
    table: Table
    targets: list[int | None]  # unit id per data row
    stages: dict[int, str]


def roster_parse(file: Any, *, unit: Unit) -> RosterFile:
    """Read and check a roster file: cells, duplicates, school codes. Raises ImportFileError."""
    stages = list(Stage.objects.all())
    table = read_table(file, roster_columns(unit, stages), max_rows=ROSTER_MAX_ROWS)
    table.check_unique("id_number", _("与第 %(row)d 行重复，同一人只能出现一次"))
    targets = _resolve_schools(table, unit)
    return RosterFile(unit, table, targets, {s.pk: s.name for s in stages})


def roster_apply(
    parsed: RosterFile, *, actor: User | None = None, dry_run: bool = False, preview_limit: int = PREVIEW_LIMIT
) -> ImportResult:
    """Compare a parsed file with the stored roster and, when nothing is wrong and not a dry run, write it.

    Side effects: see the module docstring (one transaction; nothing written on any error).
    """
    table = parsed.table
    result = ImportResult(dry_run=dry_run)
    try:
        with transaction.atomic():
            if not dry_run:
                # Imports run one at a time, so a number added by another import meanwhile is seen as existing.
                lock_key(ROSTER_LOCK_KEY)
            wording = ConflictWording(parsed.unit, actor)
            plan = _plan(table, parsed.targets, wording)
            if plan.conflicts:
                roster_conflicts_record(
                    plan.conflicts,
                    unit=parsed.unit,
                    district=wording.district,
                    actor=actor,
                    source=RosterConflictSource.IMPORT,
                )
            if table.errors:
                table.sort_errors()
                result.errors = table.errors
                return result
            result.created, result.updated, result.unchanged = len(plan.creates), len(plan.updates), plan.unchanged
            result.preview = _preview(table, plan, parsed.stages, preview_limit)
            if dry_run:
                return result
            _write(plan, actor)
            # A school's whole roster at once: the admins' counts (portal.figures) show it at their next read.
            transaction.on_commit(figures_forget)
            result.written = True
    except IntegrityError:
        raise ImportFileError(_("导入时花名册被其他操作同时修改了，未写入任何数据，请重新导入")) from None
    except LockBusy as exc:
        raise LockBusy(_("另一个花名册导入正在进行，未写入任何数据，请稍后重试。")) from exc
    return result


def roster_import(
    file: Any, *, unit: Unit, actor: User | None = None, dry_run: bool = False, preview_limit: int = PREVIEW_LIMIT
) -> ImportResult:
    """Import a roster file into ``unit`` (see module docstring for rules and side effects)."""
    return roster_apply(roster_parse(file, unit=unit), actor=actor, dry_run=dry_run, preview_limit=preview_limit)


def _write(plan: _Plan, actor: User | None) -> None:
    today = timezone.localdate()
    now = timezone.now()
    logins = plan.logins
    changed_rows = []
    moves = []
    for _i, old, row in plan.updates:
        status = row[4]
        status_date = old.status_date
        if status != old.values[4]:
            status_date = None if status == TeacherStatus.ACTIVE else today
            if status != TeacherStatus.ACTIVE:
                moves.append(
                    TeacherMove(
                        teacher_id=old.pk, from_unit_id=old.unit_id, status=status, date=today, recorded_by=actor
                    )
                )
        changed_rows.append((old.pk, *row, status_date))
    if connection.vendor == "postgresql":
        with connection.wrap_database_errors:  # COPY goes past Django's cursor wrapper; name its errors alike
            _copy_creates(plan.creates, logins, today, now)
            _copy_updates(changed_rows, now)
    else:
        _bulk_creates(plan.creates, logins, today, now)
        _bulk_updates(changed_rows, now)
    if moves:
        TeacherMove.objects.bulk_create(moves, batch_size=2000)


def _copy_text(value: str) -> str:
    """Text for COPY's text format (backslash, tab and line breaks escaped)."""
    if value.isprintable() and "\\" not in value:
        return value
    return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")


_CREATE_COLUMNS = (
    "name",
    "id_number",
    "gender",
    "birth_date",
    "unit_id",
    "stage_id",
    "subject",
    "position",
    "mobile",
    "status",
    "status_date",
    "user_id",
    "created_at",
    "updated_at",
)
_UPDATE_COLUMNS = ("id", *_FIELDS, "status_date")


def _copy_value(value: Any) -> str:
    if value is None:
        return "\\N"
    if value.__class__ is str:
        if value.isprintable() and "\\" not in value:
            return value
        return value.replace("\\", "\\\\").replace("\t", "\\t").replace("\n", "\\n").replace("\r", "\\r")
    if isinstance(value, dt.datetime):
        return value.isoformat()
    return str(value)


def _copy_buffer(rows: list[tuple]) -> io.StringIO:
    buf = io.StringIO()
    buf.writelines("\t".join(map(_copy_value, row)) + "\n" for row in rows)
    buf.seek(0)
    return buf


def _copy_creates(creates: list[tuple], logins: dict[str, int], today: dt.date, now: dt.datetime) -> None:
    """New teachers straight into the table with COPY; gender and birth date read off the number."""
    if not creates:
        return
    null = "\\N"
    stamp = now.isoformat()
    retired_date = today.isoformat()
    active = TeacherStatus.ACTIVE.value
    buf = io.StringIO()
    write = buf.write
    for _i, number, unit_id, (name, stage_id, subject, mobile, status, position) in creates:
        write(
            f"{_copy_text(name)}\t{number}\t{'M' if number[16] in '13579' else 'F'}\t"
            f"{number[6:10]}-{number[10:12]}-{number[12:14]}\t{unit_id}\t{null if stage_id is None else stage_id}\t"
            f"{_copy_text(subject)}\t{position}\t{mobile}\t{status}\t"
            f"{null if status == active else retired_date}\t{logins.get(number, null)}\t{stamp}\t{stamp}\n"
        )
    buf.seek(0)
    with connection.cursor() as cursor:
        cursor.copy_expert(f"COPY {Teacher._meta.db_table} ({', '.join(_CREATE_COLUMNS)}) FROM STDIN", buf)


def _copy_updates(rows: list[tuple], now: dt.datetime) -> None:
    if not rows:
        return
    table = Teacher._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            "CREATE TEMP TABLE roster_import_update (id bigint PRIMARY KEY, name varchar(50), stage_id bigint, "
            "subject varchar(30), mobile varchar(11), status varchar(12), position varchar(20), status_date date) "
            "ON COMMIT DROP"
        )
        cursor.copy_expert(f"COPY roster_import_update ({', '.join(_UPDATE_COLUMNS)}) FROM STDIN", _copy_buffer(rows))
        sets = ", ".join(f"{c} = u.{c}" for c in (*_FIELDS, "status_date"))
        cursor.execute(
            f"UPDATE {table} t SET {sets}, updated_at = %s FROM roster_import_update u WHERE t.id = u.id",  # noqa: S608
            [now],
        )
        cursor.execute("DROP TABLE roster_import_update")


def _bulk_creates(creates: list[tuple], logins: dict[str, int], today: dt.date, now: dt.datetime) -> None:
    teachers = []
    for _i, number, unit_id, (name, stage_id, subject, mobile, status, position) in creates:
        teachers.append(
            Teacher(
                name=name,
                id_number=number,
                gender="M" if number[16] in "13579" else "F",
                birth_date=dt.date(int(number[6:10]), int(number[10:12]), int(number[12:14])),
                unit_id=unit_id,
                stage_id=stage_id,
                subject=subject,
                position=position,
                mobile=mobile,
                status=status,
                status_date=None if status == TeacherStatus.ACTIVE else today,
                user_id=logins.get(number),
                created_at=now,
                updated_at=now,
            )
        )
    Teacher.objects.bulk_create(teachers, batch_size=1000)


def _bulk_updates(rows: list[tuple], now: dt.datetime) -> None:
    teachers = []
    for row in rows:
        values = dict(zip(_UPDATE_COLUMNS, row, strict=True))
        teachers.append(Teacher(updated_at=now, **values))
    Teacher.objects.bulk_update(teachers, [*_FIELDS, "status_date", "updated_at"], batch_size=500)
