"""Benchmark: the deadline sweep over 100,000 overdue applications.

    eval "$(.ci/services env)" && .venv/bin/python bench/deadline_sweep.py [--rows N]

Creates its own database (bench_deadline_sweep, dropped and re-created), a
Guangzhou-2022 programme and N teachers (bench/_data.py; 100,000 with
BENCH_SIZE=city), each with a login, whose applications
still wait at the school level after its deadline (2022-03-18 23:59:59), plus
1,000 applications at the district level that are not due yet. Then, in the
same run:

* one bare set-based UPDATE doing the same state change, and one bare SQL
  statement doing the sweep's whole work (lock, update, audit row, notice),
  ``--repeat`` runs each (medians), rolled back (after the deferred foreign-key
  checks, which are timed);
* our sweep (enrollment.services.application_expire_overdue: batched, locked, conditional, with
  audit entries and one notice per teacher), ``--repeat`` runs, and its ratios;
* after resetting the data, the sweep through a real Celery worker on Redis
  (DB 6) that is killed with SIGKILL half-way and restarted; then the count of
  wrong transitions (an overdue application not expired, or a not-due one
  touched) and duplicated ones (an application with more than one expiry
  audit entry, or audit entries that do not match the expired rows).
"""

import argparse
import datetime as dt
import os
import signal
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit
from zoneinfo import ZoneInfo

import _data
from _common import ROOT, Report, drop_database, fresh_database, median, size

DB_NAME = "bench_deadline_sweep"
REDIS_DB = 6
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2022, 3, 19, 0, 0, tzinfo=SHANGHAI)
NOT_DUE = 1000


def setup_database() -> tuple[str, str]:
    redis_url = os.environ.get("REDIS_URL")
    if not redis_url:
        sys.exit('REDIS_URL is needed: eval "$(.ci/services env)" first')
    broker = urlunsplit(urlsplit(redis_url)._replace(path=f"/{REDIS_DB}"))
    os.environ["REDIS_URL"] = broker
    return fresh_database(DB_NAME), broker


def build(rows: int):
    """``rows`` applications waiting at the school level past its deadline, NOT_DUE at the district level."""
    from enrollment.models import ApplicationState

    _place, programme, (school_level, district_level, _city) = _data.guangzhou_chain(rows + NOT_DUE)
    submitted = dt.datetime(2022, 3, 14, 9, tzinfo=SHANGHAI)
    first = "SELECT id FROM portal_teacher ORDER BY id LIMIT %(rows)s"
    rest = "SELECT id FROM portal_teacher ORDER BY id OFFSET %(rows)s"
    params = {"rows": rows}
    _data.applications(programme, school_level, ApplicationState.SUBMITTED, submitted, teachers=first, params=params)
    _data.applications(programme, district_level, ApplicationState.APPROVED, submitted, teachers=rest, params=params)


def vacuum() -> None:
    _data.vacuum("enrollment_application", "enrollment_auditentry", "portal_notification")


BARE_UPDATE = (
    "UPDATE enrollment_application SET state = 'expired', decided_at = %(now)s"
    " WHERE state IN ('submitted', 'approved') AND deadline < %(now)s"
)
# The sweep's whole effect as one statement: lock, update, one audit row and one notice per application.
BARE_SAME_WORK = (
    "WITH s AS (SELECT id, state FROM enrollment_application"
    "   WHERE state IN ('submitted', 'approved') AND deadline < %(now)s FOR UPDATE),"
    " u AS (UPDATE enrollment_application a SET state = 'expired', decided_at = %(now)s FROM s WHERE a.id = s.id"
    "   RETURNING a.id, a.programme_id, a.level_id, a.district_id, a.teacher_id, s.state AS from_state),"
    " au AS (INSERT INTO enrollment_auditentry (programme_id, application_id, district_id, actor_id, actor_name,"
    "   actor_role, action, level_id, from_state, to_state, comment, data, created_at)"
    "   SELECT u.programme_id, u.id, u.district_id, NULL, '系统', 'system', 'expire', u.level_id, u.from_state,"
    "   'expired', '', '{}'::jsonb, %(now)s FROM u)"
    " INSERT INTO portal_notification (user_id, kind, title, body, url, created_at, dedup_key)"
    " SELECT t.user_id, 'enrollment.expired', '报名已逾期', '审核截止前未处理，申请已失效。', '/enrollment/', %(now)s,"
    "   'enrollment.expired.' || u.programme_id || '.' || u.level_id"
    " FROM u JOIN portal_teacher t ON t.id = u.teacher_id WHERE t.user_id IS NOT NULL ON CONFLICT DO NOTHING"
)


def bare(sql: str, repeat: int = 3) -> list[float]:
    """``repeat`` runs of ``sql``, each rolled back so the sweep finds the same rows; their times.

    The foreign-key checks that a commit would run (Django's constraints are deferred) run before
    the rollback and are timed: the sweep pays them too. The one UPDATE changes no key, so it has none.
    """
    from django.db import connection, transaction

    times = []
    for _ in range(repeat):
        with transaction.atomic(), connection.cursor() as cur:
            start = time.perf_counter()
            cur.execute(sql, {"now": NOW})
            cur.execute("SET CONSTRAINTS ALL IMMEDIATE")
            times.append(time.perf_counter() - start)
            transaction.set_rollback(True)
        vacuum()
    return times


def reset() -> None:
    """Everything pending again, no audit entries or notices: as before the sweep."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute("UPDATE enrollment_application SET state = 'submitted', decided_at = NULL WHERE state = 'expired'")
        # The audit log is append-only (a trigger refuses changes); the bench database may drop it.
        cur.execute("ALTER TABLE enrollment_auditentry DISABLE TRIGGER USER")
        cur.execute("DELETE FROM enrollment_auditentry")
        cur.execute("ALTER TABLE enrollment_auditentry ENABLE TRIGGER USER")
        cur.execute("DELETE FROM portal_notification")
    vacuum()


def run_worker(env: dict, log) -> subprocess.Popen:
    proc = subprocess.Popen(  # noqa: S603 - our own interpreter and fixed arguments
        [
            sys.executable,
            "-m",
            "celery",
            "-A",
            "portal",
            "worker",
            "--pool=prefork",
            "--concurrency=2",
            "--queues=sweeps,default",  # as the deadline worker of production (portal/settings.py TASK_QUEUES)
            "-n",
            f"bench-{time.monotonic_ns()}@%h",
            "--without-gossip",
            "--without-mingle",
            "--without-heartbeat",
            "--loglevel=INFO",
        ],
        cwd=ROOT,
        env=env,
        stdout=log,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    return proc


def wait_ready(log_path: Path, offset: int, proc: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            sys.exit(f"worker exited:\n{log_path.read_text(errors='replace')[-3000:]}")
        if b" ready." in log_path.read_bytes()[offset:]:
            return
        time.sleep(0.2)
    sys.exit("worker not ready")


def killed_worker_run(bench_url: str, broker: str, rows: int) -> tuple[int, int, int, float]:
    """Sweep through a worker, SIGKILL it half-way, restart; (expired at kill, wrong, duplicated, seconds)."""
    import redis

    from enrollment.models import Application
    from enrollment.tasks import applications_expire_overdue

    redis.Redis.from_url(broker).flushdb()
    visibility = 15
    env = {
        **os.environ,
        "DATABASE_URL": bench_url,
        "REDIS_URL": broker,
        "CELERY_VISIBILITY_TIMEOUT": str(visibility),
        "DJANGO_SETTINGS_MODULE": "tests.integration.background.worker_settings",
        "DB_CONN_MAX_AGE": "0",
        "PYTHONPATH": str(ROOT),
    }
    with tempfile.TemporaryDirectory() as tmp:
        log_path = Path(tmp) / "worker.log"
        with log_path.open("ab") as log:
            first = run_worker(env, log)
            wait_ready(log_path, 0, first)
            start = time.perf_counter()
            applications_expire_overdue.delay(NOW.isoformat())
            expired = Application.objects.filter(state="expired")
            give_up = time.monotonic() + 120
            while not (at_kill := expired.count()):
                if time.monotonic() > give_up:
                    os.killpg(first.pid, signal.SIGKILL)
                    sys.exit(f"the worker did not start the sweep:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.05)
            time.sleep(0.2)  # a batch or two more, so the kill lands mid-way
            os.killpg(first.pid, signal.SIGKILL)
            first.wait()
            at_kill = expired.count()
            offset = log_path.stat().st_size
            second = run_worker(env, log)
            wait_ready(log_path, offset, second)
            give_up = time.monotonic() + 600
            while expired.count() < rows:
                if time.monotonic() > give_up:
                    os.killpg(second.pid, signal.SIGKILL)
                    sys.exit(f"the restarted worker did not finish the sweep:\n{log_path.read_text()[-3000:]}")
                time.sleep(0.2)
            elapsed = time.perf_counter() - start
            time.sleep(visibility + 5)  # let any redelivered duplicate run to its end, then stop
            os.killpg(second.pid, signal.SIGTERM)
            second.wait(timeout=60)
    return (at_kill, *count_errors(rows), elapsed)


def count_errors(rows: int) -> tuple[int, int]:
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT"
            " COUNT(*) FILTER (WHERE a.deadline < %s AND a.state <> 'expired')"
            " + COUNT(*) FILTER (WHERE a.deadline >= %s AND (a.state <> 'approved' OR a.decided_at IS NOT NULL))"
            " FROM enrollment_application a",
            [NOW, NOW],
        )
        wrong = cur.fetchone()[0]
        cur.execute(
            "SELECT COALESCE(SUM(n - 1), 0) FROM (SELECT COUNT(*) AS n FROM enrollment_auditentry"
            " WHERE action = 'expire' GROUP BY application_id) d"
        )
        duplicated = cur.fetchone()[0]
        cur.execute(
            "SELECT COUNT(*) FROM enrollment_auditentry e JOIN enrollment_application a ON a.id = e.application_id"
            " WHERE e.action = 'expire' AND a.state <> 'expired'"
        )
        wrong += cur.fetchone()[0]
        cur.execute("SELECT COUNT(DISTINCT application_id) FROM enrollment_auditentry WHERE action = 'expire'")
        wrong += abs(rows - cur.fetchone()[0])  # an expired application without its audit entry
    return int(wrong), int(duplicated)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--rows", type=int, default=size()["sweep_rows"])
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args()
    report = Report("deadline_sweep", rows=args.rows)
    with report.building():
        bench_url, broker = setup_database()
        start = time.perf_counter()
        build(args.rows)
        vacuum()
        print(f"built {args.rows} overdue + {NOT_DUE} not-due applications in {time.perf_counter() - start:.1f} s")

    from enrollment.services import application_expire_overdue

    update = bare(BARE_UPDATE, args.repeat)
    same_work = bare(BARE_SAME_WORK, args.repeat)
    sweeps = []
    for attempt in range(args.repeat):
        if attempt:
            reset()
        start = time.perf_counter()
        expired = application_expire_overdue(NOW)
        sweeps.append(time.perf_counter() - start)
        in_process_errors = count_errors(args.rows)
        assert expired == args.rows and in_process_errors == (0, 0), (expired, in_process_errors)
    report.ratio(
        f"deadline sweep of {args.rows:,} overdue applications (state, audit, notice)",
        sweeps,
        update,
        bare_name="one bare set-based UPDATE",
        target=3,
        note=f"{median(sweeps) / median(same_work):.2f}x one bare SQL statement doing the same work "
        f"({median(same_work):.3f} s)",
    )

    reset()
    at_kill, wrong, duplicated, elapsed = killed_worker_run(bench_url, broker, args.rows)
    note = f"worker SIGKILLed with {at_kill:,} of {args.rows:,} expired, restarted, all done after {elapsed:.1f} s"
    report.figure("sweep through a killed worker: wrong transitions", wrong, "", target="= 0", met=not wrong, note=note)
    report.figure(
        "sweep through a killed worker: duplicated transitions", duplicated, "", target="= 0", met=not duplicated
    )
    report.save()
    drop_database(DB_NAME)
    if wrong or duplicated:
        sys.exit(1)


if __name__ == "__main__":
    main()
