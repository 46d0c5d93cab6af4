"""Benchmark: would partitioning the credit-hour ledger by year pay?

    eval "$(.ci/services env)" && .venv/bin/python bench/ledger_partitions.py [--entries 25000000] [--teachers N]

Creates its own database (bench_ledger_partitions, dropped at the end) and in it two copies of
the same ledger, ``--entries`` entries over five years (2022-2026) of ``--teachers`` teachers
(25,000,000 = five years of a 250,000-teacher city at 20 entries a year, or one year of
Guangdong's 1.2 million): ``ledger_plain``, shaped like credits_creditentry (its columns,
defaults, indexes and unique constraints), and ``ledger_by_year``, partitioned by RANGE (year),
one partition a year, with the same indexes (a partitioned table's unique constraints must
contain the partition key, so (source, reference) becomes (source, reference, year): a weaker
guarantee than today's). Neither has foreign keys, so the contest is the layout alone. Then,
each side in turn, several times (medians), the work the portal does with the ledger:

* a teacher's entries of one year (the teacher's page, the certificate);
* a teacher's entries of every year;
* the import's duplicate check by (source, reference), without the year;
* one insert (a result registered by a provider), autocommit;
* one year's per-teacher, per-category sums (a totals rebuild of that year);
* removing the oldest year (DELETE vs DETACH and DROP of its partition; rolled back: the real
  ledger is append-only, so this is what an archive would cost, not something the portal does).

Partitioning pays if the request paths (the first four) are no slower and the year-wide work is
at least twice as fast; the last row says which it is.
"""

import argparse
import random
import time

from _common import Report, contest, drop_database, fresh_database, median, size

DB_NAME = "bench_ledger_partitions"
YEARS = range(2022, 2027)
SAMPLES = 300


def load(entries: int, teachers: int) -> None:
    from django.db import connection

    per_year = entries // len(YEARS)
    with connection.cursor() as cur:
        # The ledger's indexes and unique constraints, created on each copy after its load.
        cur.execute(
            "SELECT indexdef FROM pg_indexes WHERE tablename = 'credits_creditentry'"
            " AND indexname <> 'credits_creditentry_pkey'"
        )
        indexes = [row[0] for row in cur.fetchall()]
        cur.execute(
            "CREATE TABLE ledger_plain (LIKE credits_creditentry INCLUDING DEFAULTS INCLUDING IDENTITY"
            " INCLUDING CONSTRAINTS)"
        )
        # The same rows for both; each teacher's entries of a year spread through it, as they arrive.
        cur.execute(
            """
            INSERT INTO ledger_plain (teacher_id, year, category, topic_codes, hours, source, reference,
                                      recorded_at, reason)
            SELECT g %% %(t)s + 1, %(first)s + g / %(per)s,
                   (ARRAY['public', 'professional', 'elective'])[g %% 3 + 1],
                   CASE WHEN g %% 20 = 0 THEN ',ethics,' ELSE '' END,
                   (g %% 7 + 1) * 1.5, 'import', 'b:' || g,
                   make_timestamptz(%(first)s + g / %(per)s, 1, 1, 8, 0, 0, 'Asia/Shanghai')
                     + (g %% %(per)s) * interval '1 second', ''
            FROM generate_series(0, %(n)s - 1) g
            """,
            {"t": teachers, "first": YEARS[0], "per": per_year, "n": per_year * len(YEARS)},
        )
        cur.execute(
            """
            CREATE TABLE ledger_by_year (LIKE credits_creditentry INCLUDING DEFAULTS INCLUDING CONSTRAINTS)
            PARTITION BY RANGE (year)
            """
        )
        for year in (*YEARS, YEARS[-1] + 1):
            cur.execute(
                f"CREATE TABLE ledger_{year} PARTITION OF ledger_by_year FOR VALUES FROM ({year}) TO ({year + 1})"
            )
        cur.execute("INSERT INTO ledger_by_year SELECT * FROM ledger_plain")
        cur.execute("ALTER TABLE ledger_plain ADD PRIMARY KEY (id)")
        cur.execute("ALTER TABLE ledger_by_year ADD PRIMARY KEY (id, year)")
        for n, definition in enumerate(indexes):
            for table in ("ledger_plain", "ledger_by_year"):
                head, _on, columns = definition.partition(" ON public.credits_creditentry ")
                if table == "ledger_by_year" and head.startswith("CREATE UNIQUE"):
                    columns = columns[:-1] + ", year)"  # a partitioned table's unique keys hold the partition key
                cur.execute(f"CREATE {'UNIQUE ' if 'UNIQUE' in head else ''}INDEX {table}_{n} ON {table} {columns}")
        cur.execute("CREATE SEQUENCE ledger_by_year_id START 1000000000")
        cur.execute("VACUUM ANALYZE ledger_plain")
        cur.execute("VACUUM ANALYZE ledger_by_year")
        cur.execute(
            "SELECT pg_total_relation_size('ledger_plain'), (SELECT SUM(pg_total_relation_size(inhrelid))"
            " FROM pg_inherits WHERE inhparent = 'ledger_by_year'::regclass)"
        )
        plain, parted = cur.fetchone()
    print(f"sizes: plain {plain / 1e9:.2f} GB, by year {float(parted) / 1e9:.2f} GB", flush=True)


def run_each(sql: str, params: list[list]) -> callable:
    from django.db import connection

    def go():
        with connection.cursor() as cur:
            for p in params:
                cur.execute(sql, p)
                cur.fetchall()

    return go


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entries", type=int, default=size()["partition_entries"])
    parser.add_argument("--teachers", type=int, default=None, help="default: entries / 100 (20 a year)")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    teachers = args.teachers or max(1, args.entries // 100)
    # A run at another size than BENCH_SIZE's (the 25,000,000 one) keeps its own place in the report.
    name = "ledger_partitions" if args.entries == size()["partition_entries"] else f"ledger_partitions_{args.entries:_}"
    report = Report(name, entries=args.entries, teachers=teachers, years=f"{YEARS[0]}-{YEARS[-1]}")
    with report.building():
        fresh_database(DB_NAME)
        started = time.perf_counter()
        load(args.entries, teachers)
        print(f"loaded {args.entries:,} entries twice in {time.perf_counter() - started:.0f} s", flush=True)

    from django.db import connection, transaction

    rng = random.Random(25)
    who = [[rng.randint(1, teachers), rng.choice(YEARS)] for _ in range(SAMPLES)]
    refs = [[f"b:{rng.randrange(args.entries)}"] for _ in range(SAMPLES)]
    contests = [
        (
            "a teacher's entries of one year",
            "SELECT id, category, hours, recorded_at FROM {t} WHERE teacher_id = %s AND year = %s ORDER BY recorded_at",
            who,
            1.0,
        ),
        (
            "a teacher's entries of every year",
            "SELECT id, year, category, hours FROM {t} WHERE teacher_id = %s ORDER BY year, recorded_at",
            [[t] for t, _y in who],
            1.0,
        ),
        (
            "duplicate check by (source, reference)",
            "SELECT id FROM {t} WHERE source = 'import' AND reference = %s",
            refs,
            1.0,
        ),
    ]
    request_ratios = []
    for label, sql, params, target in contests:
        times = contest(
            {
                "parted": run_each(sql.format(t="ledger_by_year"), params),
                "plain": run_each(sql.format(t="ledger_plain"), params),
            },
            args.repeat,
        )
        request_ratios.append(
            report.ratio(
                f"partitioned: {label}",
                [t * 1000 / len(params) for t in times["parted"]],
                [t * 1000 / len(params) for t in times["plain"]],
                bare_name="one plain table",
                target=target,
                unit="ms",
                note=f"per query, {len(params)} queries a run",
            )
        )

    def inserts(table: str, ident: str):
        def go():
            with connection.cursor() as cur:
                for k in range(SAMPLES):
                    cur.execute(
                        f"INSERT INTO {table} (id, teacher_id, year, category, topic_codes, hours, source, reference,"
                        " recorded_at, reason) VALUES (" + ident + ", %s, 2026, 'public', '', 3, 'provider', %s,"
                        " now(), '')",
                        [rng.randint(1, teachers), f"p:{table}:{time.monotonic_ns()}:{k}"],
                    )

        return go

    times = contest(
        {
            "parted": inserts("ledger_by_year", "nextval('ledger_by_year_id')"),
            "plain": inserts("ledger_plain", "DEFAULT"),
        },
        args.repeat,
    )
    request_ratios.append(
        report.ratio(
            "partitioned: one insert (autocommit)",
            [t * 1000 / SAMPLES for t in times["parted"]],
            [t * 1000 / SAMPLES for t in times["plain"]],
            bare_name="one plain table",
            target=1.0,
            unit="ms",
        )
    )

    year = YEARS[-1]
    times = contest(
        {
            "parted": run_each(
                "SELECT teacher_id, category, SUM(hours) FROM ledger_by_year WHERE year = %s GROUP BY 1, 2", [[year]]
            ),
            "plain": run_each(
                "SELECT teacher_id, category, SUM(hours) FROM ledger_plain WHERE year = %s GROUP BY 1, 2", [[year]]
            ),
        },
        3,
    )
    year_ratio = report.ratio(
        f"partitioned: per-teacher sums of {year}",
        times["parted"],
        times["plain"],
        bare_name="one plain table",
        target=0.5,
        note="a totals rebuild of one year",
    )

    def rolled_back(*statements: str):
        def go():
            with transaction.atomic(), connection.cursor() as cur:
                for statement in statements:
                    cur.execute(statement)
                transaction.set_rollback(True)

        return go

    oldest = YEARS[0]
    times = contest(
        {
            "parted": rolled_back(
                f"ALTER TABLE ledger_by_year DETACH PARTITION ledger_{oldest}", f"DROP TABLE ledger_{oldest}"
            ),
            "plain": rolled_back(f"DELETE FROM ledger_plain WHERE year = {oldest}"),
        },
        1,
    )
    report.ratio(
        f"partitioned: removing {oldest} (archive)",
        times["parted"],
        times["plain"],
        bare_name="DELETE from one plain table",
        target=None,
        note="rolled back; the real ledger is append-only, so the portal never does this",
    )
    pays = all(r <= 1.05 for r in request_ratios) and year_ratio <= 0.5
    worst = max(request_ratios)
    report.figure(
        "partitioning the ledger by year pays",
        int(pays),
        "(1 = yes)",
        note=f"request paths at worst {worst:.2f}x a plain table, one year's sums {year_ratio:.2f}x "
        f"(median request-path ratio {median(request_ratios):.2f}x)",
    )
    report.save()
    drop_database(DB_NAME)


if __name__ == "__main__":
    main()
