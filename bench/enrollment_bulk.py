"""Benchmark: a district admin approves 20,000 applications at once (bulk, within quota).

    eval "$(.ci/services env)" && .venv/bin/python bench/enrollment_bulk.py [--rows N]

Creates its own database (bench_enrollment_bulk, dropped and re-created), a
Guangzhou-2022 programme whose quota table gives the district ``--rows`` seats,
and ``--rows`` teachers (each with a login; 20,000 with BENCH_SIZE=city) whose applications wait at the
district level. Then, in the same run:

* bare SQL doing the same work in one committed transaction: the locked
  quota row, the seat count, one UPDATE of the applications, one
  INSERT ... SELECT of the audit rows and one of the notifications;
* after putting the data back, our ``enrollment.services.application_approve_bulk`` (scope check per row in
  Python, locks, quota check, set-based UPDATE, audit rows and notifications in
  bulk) and its ratio to the bare SQL (target <= 3), ``--repeat`` rounds of both (medians);
* the number of queries ours issued (it must not depend on ``--rows``).
"""

import argparse
import datetime as dt
import time
from zoneinfo import ZoneInfo

import _data
from _common import Report, drop_database, fresh_database, size

DB_NAME = "bench_enrollment_bulk"
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2022, 3, 20, 10, 0, tzinfo=SHANGHAI)


def build(rows: int):
    from enrollment.models import ApplicationState, Quota
    from portal.models import Role

    # Every school in one district (at most 150 schools), so one district admin reviews them all.
    place, programme, levels = _data.guangzhou_chain(rows, per_school=max(80, -(-rows // 150)))
    (district,) = place.districts
    carol = _data.admin(Role.DISTRICT_ADMIN, district, 1, name="区管理员")
    Quota.objects.create(programme=programme, district=district, seats=rows)
    submitted = dt.datetime(2022, 3, 14, 9, tzinfo=SHANGHAI)
    _data.applications(
        programme, levels[1], ApplicationState.APPROVED, submitted, teachers="SELECT id FROM portal_teacher"
    )
    _data.vacuum("enrollment_application", "portal_teacher", "portal_unit")
    return carol, programme, levels


BARE = [
    "SET LOCAL lock_timeout = '5s'",
    "SELECT seats FROM enrollment_quota WHERE programme_id = %(p)s FOR UPDATE",
    "SELECT COUNT(*) FROM enrollment_application WHERE programme_id = %(p)s AND (state = 'finalized'"
    " OR (state IN ('submitted', 'approved') AND level_id = %(city)s))",
    "CREATE TEMP TABLE picked ON COMMIT DROP AS SELECT a.id, a.district_id, t.user_id FROM enrollment_application a"
    " JOIN portal_teacher t ON t.id = a.teacher_id WHERE a.programme_id = %(p)s AND a.level_id = %(district)s"
    " AND a.state IN ('submitted', 'approved') FOR UPDATE OF a",
    "UPDATE enrollment_application a SET state = 'approved', level_id = %(city)s, deadline = %(deadline)s,"
    " decided_at = %(now)s FROM picked WHERE a.id = picked.id",
    "INSERT INTO enrollment_auditentry (programme_id, application_id, district_id, actor_id, actor_name, actor_role,"
    " action, level_id, from_state, to_state, comment, data, created_at) SELECT %(p)s, id, district_id, %(actor)s,"
    " '区管理员', 'district_admin', 'approve', %(district)s, 'approved', 'approved', '', '{}', %(now)s FROM picked",
    "INSERT INTO portal_notification (user_id, kind, title, body, url, created_at) SELECT user_id,"
    " 'enrollment.decided', '区级审核通过', '已转市级审定。', '/enrollment/mine/', %(now)s FROM picked",
]


def bare(carol, programme, levels) -> float:
    from django.db import connection, transaction

    params = {
        "p": programme.pk,
        "city": levels[2].pk,
        "district": levels[1].pk,
        "deadline": levels[2].deadline,
        "now": NOW,
        "actor": carol.pk,
    }
    start = time.perf_counter()
    with transaction.atomic(), connection.cursor() as cur:
        for sql in BARE:
            cur.execute(sql, params)
    elapsed = time.perf_counter() - start  # committed, like ours
    with connection.cursor() as cur:
        cur.execute("SELECT COUNT(*) FROM enrollment_auditentry")
        written = cur.fetchone()[0]
        # Back to the start for ours (TRUNCATE is not a row operation: the audit trigger allows it).
        cur.execute(
            "UPDATE enrollment_application SET state = 'approved', level_id = %(district)s,"
            " deadline = %(old)s, decided_at = NULL",
            {**params, "old": levels[1].deadline},
        )
        cur.execute("TRUNCATE enrollment_auditentry, portal_notification")
    _data.vacuum("enrollment_application")
    assert written
    return elapsed


def ours(carol, programme, levels) -> tuple[float, int, int]:
    from django.db import connection, transaction
    from django.test.utils import CaptureQueriesContext

    from enrollment import services
    from enrollment.models import Application

    ids = list(Application.objects.filter(programme=programme, level=levels[1]).values_list("pk", flat=True))
    with CaptureQueriesContext(connection) as ctx:
        start = time.perf_counter()
        with transaction.atomic():
            result = services.application_approve_bulk(actor=carol, ids=ids, now=NOW)
        elapsed = time.perf_counter() - start
    # Back to the start for the next round.
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE enrollment_application SET state = 'approved', level_id = %s, deadline = %s, decided_at = NULL",
            [levels[1].pk, levels[1].deadline],
        )
        cur.execute("TRUNCATE enrollment_auditentry, portal_notification")
    _data.vacuum("enrollment_application")
    return elapsed, result.done, len(ctx.captured_queries)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--rows", type=int, default=size()["bulk_rows"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report = Report("enrollment_bulk", rows=args.rows)
    with report.building():
        fresh_database(DB_NAME)
        carol, programme, levels = build(args.rows)
    bare_times, our_times = [], []
    for _round in range(args.repeat):
        bare_times.append(bare(carol, programme, levels))
        seconds, done, queries = ours(carol, programme, levels)
        assert done == args.rows, done
        our_times.append(seconds)
    report.ratio(
        f"district bulk approval of {args.rows:,} applications within quota",
        our_times,
        bare_times,
        bare_name="bare SQL (lock, count, UPDATE, audit + notices INSERT ... SELECT)",
        target=3,
        note=f"{queries} queries (independent of the number of rows)",
    )
    report.save()
    drop_database(DB_NAME)


if __name__ == "__main__":
    main()
