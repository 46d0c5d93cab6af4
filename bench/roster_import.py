"""Benchmark: importing a 100,000-row city roster.

    eval "$(.ci/services env)" && .venv/bin/python bench/roster_import.py [--rows N]

Creates its own database (bench_roster_import, dropped and re-created), builds
a city with ~80 teachers per school (bench/_data.py), writes a roster .xlsx of
``--rows`` rows (100,000 with BENCH_SIZE=city) with xlsxwriter, then, all in the
same run, each contest ``--repeat`` times in turn (medians):

* bare read passes over the file: openpyxl (read-only) and python-calamine;
* our parse-and-validate (roster_parse) and its ratio to the faster reader;
* our database write (roster_apply: lookup, plan, COPY) and its ratio to a
  bare psycopg2 COPY of the same rows into an equivalent table;
* a re-import of the same file (nothing to write) and peak memory.

The figures without a target (the re-import, the COPY without foreign keys, openpyxl, the edited
file) are taken once; those with a target are the medians of ``--repeat`` rounds.
"""

import argparse
import tempfile
import time
from pathlib import Path

import _data
from _common import Report, drop_database, fresh_database, median, rss_mb, size

DB_NAME = "bench_roster_import"


def write_file(path: Path, schools, rows: int, *, edit_every: int = 0) -> None:
    """The roster file; with ``edit_every`` n, every n-th teacher's subject is changed (an edited file)."""
    import xlsxwriter

    from portal.management.commands.seed_scale import teacher_rows
    from portal.models import Stage

    codes = {s.pk: s.code for s in schools}
    stage_names = {s.pk: s.name for s in Stage.objects.all()}
    wb = xlsxwriter.Workbook(str(path), {"constant_memory": True})
    ws = wb.add_worksheet("花名册")
    ws.write_string(0, 0, "规模测试市 教师花名册")
    ws.write_row(1, 0, ["学校代码", "姓名", "身份证号", "学段", "任教学科", "手机号码", "状态", "职务"])
    for r, (name, number, _g, _b, unit_id, stage_id, subject, mobile) in enumerate(teacher_rows(schools, rows), 2):
        if edit_every and r % edit_every == 0:
            subject = "心理健康"
        ws.write_row(r, 0, [codes[unit_id], name, number, stage_names[stage_id], subject, mobile, "在职", "教师"])
    wb.close()


def bare_openpyxl(path: Path) -> float:
    import openpyxl

    started = time.perf_counter()
    wb = openpyxl.load_workbook(path, read_only=True, data_only=True)
    n = sum(1 for _row in wb.worksheets[0].iter_rows(values_only=True))
    wb.close()
    assert n > 0
    return time.perf_counter() - started


def bare_calamine(path: Path) -> float:
    import python_calamine

    started = time.perf_counter()
    wb = python_calamine.CalamineWorkbook.from_path(str(path))
    rows = wb.get_sheet_by_index(0).to_python()
    assert rows
    return time.perf_counter() - started


def bare_copy(rows: list[tuple], *, foreign_keys: bool) -> float:
    """psycopg2 COPY of the same rows into a table like portal_teacher, formatting included.

    The table has portal_teacher's columns, indexes and unique constraints; with
    ``foreign_keys`` also its foreign keys (checked per row by PostgreSQL, as for
    the real table).
    """
    from django.db import connection

    from portal.roster_import import _CREATE_COLUMNS, _copy_buffer

    with connection.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS bench_copy")
        cur.execute("CREATE TABLE bench_copy (LIKE portal_teacher INCLUDING ALL)")
        if foreign_keys:
            cur.execute(
                "SELECT pg_get_constraintdef(oid) FROM pg_constraint "
                "WHERE conrelid = 'portal_teacher'::regclass AND contype = 'f'"
            )
            for n, (definition,) in enumerate(cur.fetchall()):
                cur.execute(f"ALTER TABLE bench_copy ADD CONSTRAINT bench_copy_fk{n} {definition}")
    raw = connection.connection  # the psycopg2 connection itself (autocommit)
    started = time.perf_counter()
    with raw.cursor() as cur:
        cur.copy_expert(f"COPY bench_copy ({', '.join(_CREATE_COLUMNS)}) FROM STDIN", _copy_buffer(rows))
    raw.commit()
    elapsed = time.perf_counter() - started
    with connection.cursor() as cur:
        cur.execute("SELECT count(*) FROM bench_copy")
        assert cur.fetchone()[0] == len(rows)
        cur.execute("DROP TABLE bench_copy")
    return elapsed


def copy_rows() -> list[tuple]:
    """The rows the import wrote, as the bare COPY gets them."""
    from django.utils import timezone

    from portal.models import Teacher

    now = timezone.now()
    fields = (
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
    )
    return [(*values, None, None, now, now) for values in Teacher.objects.values_list(*fields)]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=size()["roster_rows"])
    parser.add_argument("--repeat", type=int, default=3, help="rounds of each contest; medians are reported")
    args = parser.parse_args()
    report = Report("roster_import", rows=args.rows)
    with report.building():
        fresh_database(DB_NAME)
        place = _data.city(0, schools=(args.rows + 79) // 80)
        city, schools = place.city, place.schools
        tmp = Path(tempfile.mkdtemp(prefix="bench_roster_"))
        path, edited = tmp / "roster.xlsx", tmp / "edited.xlsx"
        started = time.perf_counter()
        write_file(path, schools, args.rows)
        write_file(edited, schools, args.rows, edit_every=10)
        print(f"files: {args.rows:,} rows each, written in {time.perf_counter() - started:.1f} s")

    from django.db import connection

    from portal.roster_import import roster_apply, roster_parse

    rss_before = rss_mb()

    # Ours first, so the peak memory figure is ours and not openpyxl's; each round runs both sides.
    t_parse, t_calamine, t_write, t_copy = [], [], [], []
    for _round in range(args.repeat):
        with connection.cursor() as cur:
            cur.execute("TRUNCATE portal_teacher CASCADE")
        started = time.perf_counter()
        parsed = roster_parse(path, unit=city)
        t_parse.append(time.perf_counter() - started)
        assert not parsed.table.errors, parsed.table.errors[:5]
        t_calamine.append(bare_calamine(path))
        started = time.perf_counter()
        result = roster_apply(parsed)
        t_write.append(time.perf_counter() - started)
        assert result.created == args.rows, result.summary
        if not _round:  # the figures without a target are taken once
            rss_ours = rss_mb()
            started = time.perf_counter()
            again = roster_apply(roster_parse(path, unit=city))
            t_again = time.perf_counter() - started
            assert again.unchanged == args.rows, again.summary
            rows = copy_rows()
            t_copy_nofk = bare_copy(rows, foreign_keys=False)
        t_copy.append(bare_copy(rows, foreign_keys=True))

    t_openpyxl = bare_openpyxl(path)

    parsed = roster_parse(edited, unit=city)
    started = time.perf_counter()
    changed = roster_apply(parsed)
    t_update = time.perf_counter() - started
    edited.unlink()

    report.ratio(
        f"roster parse + validate, {args.rows:,} rows",
        t_parse,
        t_calamine,
        bare_name="bare python-calamine read",
        target=2,
        note=f"openpyxl read-only alone {t_openpyxl:.2f} s",
    )
    report.ratio(
        "roster database write (lookup, plan, COPY)",
        t_write,
        t_copy,
        bare_name="bare COPY, same indexes and foreign keys",
        target=2,
        note=f"{median(t_write) / t_copy_nofk:.2f}x bare COPY without foreign keys; {result.summary}",
    )
    report.ratio(
        "roster re-import, nothing changed (parse + compare)",
        t_again,
        t_calamine,
        bare_name="bare python-calamine read",
        target=None,
        note=again.summary,
    )
    report.ratio(
        "roster edited file, database part (temp table + UPDATE ... FROM)",
        t_update,
        median(t_copy),
        bare_name="bare COPY of every row",
        target=None,
        note=changed.summary,
    )
    report.figure("roster import peak RSS", round(rss_ours), "MB", note=f"{rss_before:.0f} MB before the import")
    path.unlink()
    tmp.rmdir()
    report.save()
    drop_database(DB_NAME)


if __name__ == "__main__":
    main()
