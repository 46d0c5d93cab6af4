"""Benchmark: a city's compliance over its teachers and their ledger entries.

    eval "$(.ci/services env)" && .venv/bin/python bench/compliance.py [--teachers N] [--per-teacher N]

Creates its own database (bench_compliance, dropped and re-created, dropped again at the end), a
city of ``--teachers`` teachers and ``--per-teacher`` ledger entries each (bench/_data.py; 250,000
and 20, so 5,000,000 entries, with BENCH_SIZE=city), under Guangzhou's rule. Then, all in the
same run, each side several times in turn (medians):

* the rebuild of the kept per-teacher-year totals (credits_teacheryeartotal,
  ``manage.py rebuild_credit_totals``) against the bare aggregation it writes (no target: recovery;
  one run of each);
* the city's compliance with school and district roll-ups
  (credits.selectors.compliance_overview: SQL generated from the rule tree over
  the kept totals, one aggregation query, districts rolled up in Python) against
  a hand-written SQL aggregation over the ledger itself returning the same
  per-school counts (districts rolled up the same way), as a ratio (target <= 1.2);
* the xlsx export of every teacher's line (credits.selectors.export_rows
  through credits.xlsx_stream.write_rows, query and verdicts included) against
  bare xlsxwriter in constant-memory mode writing the same, already fetched
  rows (target <= 1.3);
* peak memory (max RSS) with each figure.
"""

import argparse
import tempfile
import time
from pathlib import Path

import _data
from _common import Report, contest, drop_database, fresh_database, rss_mb, size

DB_NAME = "bench_compliance"
YEAR = 2026
TREE = _data.COMPLIANCE_TREE
HAND_SQL = """
SELECT x.path, COUNT(*),
       COUNT(*) FILTER (WHERE x.total >= 90 AND x.pub >= 30 AND x.pro >= 42 AND x.ele >= 18 AND x.eth >= 1)
FROM (
    SELECT u.path,
           COALESCE(SUM(e.hours), 0) AS total,
           COALESCE(SUM(e.hours) FILTER (WHERE e.category = 'public'), 0) AS pub,
           COALESCE(SUM(e.hours) FILTER (WHERE e.category = 'professional'), 0) AS pro,
           COALESCE(SUM(e.hours) FILTER (WHERE e.category = 'elective'), 0) AS ele,
           COALESCE(SUM(e.hours) FILTER (WHERE e.topic_codes LIKE '%%,ethics,%%'), 0) AS eth
    FROM portal_teacher t
    JOIN portal_unit u ON u.id = t.unit_id
    LEFT JOIN credits_creditentry e ON e.teacher_id = t.id AND e.year = %s
    WHERE t.status = 'active' AND u.path LIKE %s
    GROUP BY t.id, u.path
) x
GROUP BY x.path
"""


def seed(teachers: int, per_teacher: int):
    """The city and its ledger; (city, entries)."""
    from credits.models import RuleSet

    started = time.perf_counter()
    place = _data.city(teachers)
    RuleSet.objects.create(city=place.city, year=YEAR, name="规模测试", tree=TREE)
    entries = _data.ledger(per_teacher, YEAR)
    print(f"seed: {teachers:,} teachers, {entries:,} ledger entries in {time.perf_counter() - started:.1f} s")
    return place.city, entries


def roll_up(rows) -> dict[str, tuple[int, int]]:
    districts: dict[str, list[int]] = {}
    for path, n, ok in rows:
        key = "/".join(path.split("/")[:3]) + "/"
        pair = districts.setdefault(key, [0, 0])
        pair[0] += n
        pair[1] += ok
    return {k: (v[0], v[1]) for k, v in districts.items()}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--teachers", type=int, default=size()["teachers"])
    parser.add_argument("--per-teacher", type=int, default=size()["ledger_per_teacher"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()

    report = Report("compliance", teachers=args.teachers)
    with report.building():
        fresh_database(DB_NAME)
        city, entries = seed(args.teachers, args.per_teacher)
    report.context["ledger_entries"] = entries
    from django.db import connection

    from credits.selectors import compliance_overview, export_rows
    from credits.services import credit_totals_rebuild
    from credits.xlsx_stream import write_rows

    def ours():
        overview = compliance_overview(city, YEAR)
        return overview, roll_up(overview.by_path)

    def hand():
        with connection.cursor() as cur:
            cur.execute(HAND_SQL, [YEAR, city.path + "%"])
            rows = cur.fetchall()
        return rows, roll_up(rows)

    hand_rows, hand_districts = hand()  # also warms the cache for both
    overview, our_districts = ours()
    assert sorted(hand_rows) == sorted(overview.by_path), "our counts differ from the hand-written SQL"
    assert our_districts == hand_districts
    times = contest({"ours": ours, "hand": hand}, args.repeat)
    report.ratio(
        f"compliance of {overview.total.teachers:,} teachers, school and district roll-ups",
        times["ours"],
        times["hand"],
        bare_name="hand-written SQL over the ledger",
        target=1.2,
        note=f"{overview.total.rate:.1%} compliant, {len(overview.by_path):,} schools",
    )

    def rebuild_bare():
        with connection.cursor() as cur:
            cur.execute("SELECT teacher_id, year, category, SUM(hours) FROM credits_creditentry GROUP BY 1, 2, 3")

    times = contest({"ours": credit_totals_rebuild, "bare": rebuild_bare}, 1)  # no target: once
    report.ratio(
        f"rebuild_credit_totals over {entries:,} entries",
        times["ours"],
        times["bare"],
        bare_name="bare SUM ... GROUP BY of the ledger",
        target=None,
        note="recovery path, no target",
    )

    with tempfile.TemporaryDirectory() as tmp:
        ours_path, bare_path = Path(tmp, "ours.xlsx"), Path(tmp, "bare.xlsx")
        import xlsxwriter

        def our_export():
            headers, rows = export_rows(city, YEAR, TREE, only_short=False)
            return write_rows(str(ours_path), title="规模测试 教师学时", headers=headers, rows=rows)

        # The same rows, fetched beforehand, written by bare xlsxwriter (constant memory).
        headers, rows = export_rows(city, YEAR, TREE, only_short=False)
        data = list(rows)

        def bare_export():
            wb = xlsxwriter.Workbook(str(bare_path), {"constant_memory": True})
            ws = wb.add_worksheet()
            ws.write_row(0, 0, ["规模测试 教师学时"])
            ws.write_row(1, 0, headers)
            for r, row in enumerate(data, start=2):
                ws.write_row(r, 0, row)
            wb.close()

        written = our_export()
        assert written == len(data)
        rss_before = rss_mb()
        times = contest({"ours": our_export, "bare": bare_export}, 3)
    report.ratio(
        f"xlsx export of {written:,} teachers (query + verdicts + write)",
        times["ours"],
        times["bare"],
        bare_name="bare xlsxwriter constant_memory, rows fetched beforehand",
        target=1.3,
        note=f"peak RSS {rss_before:.0f} MB before the timed runs (the bare side holds every row in memory)",
    )
    report.save()
    drop_database(DB_NAME)


if __name__ == "__main__":
    main()
