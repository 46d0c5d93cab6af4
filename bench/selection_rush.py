"""Benchmark: the first minutes of course selection (选课), and how much of it the stack holds.

    eval "$(.ci/services env)" && .venv/bin/python bench/selection_rush.py [--teachers 20000] [--clients 50]
        [--configs sync:4,gthread:2x4]

Creates its own database (bench_selection_rush, dropped and re-created), a city (bench/_data.py),
one open period under Guangzhou's rule and 500 courses (capacities 30 to unlimited, so the
popular ones fill up and the waiting lists grow), then serves the site with gunicorn on
127.0.0.1 (portal/gunicorn.conf.py, the production settings file; worker class and counts from
``--configs``) and lets simulated teachers (threads, each its own keep-alive HTTP connection) log
in, search the catalogue for a category they still miss and select a course (htmx POST) until
their plan meets the rule, then log out and hand over to the next teacher. In the same run:

* the rush: ``--clients`` teachers with ``--think`` seconds between clicks; select and catalogue
  p50/p95 (target select p95 <= 300 ms), selections committed per second;
* capacity, for each gunicorn configuration: the same teachers with no think time at rising
  concurrency, ``--step-seconds`` a step; the highest request rate at which select p95 stays
  <= 300 ms; then the bare authenticated view (tests/urls.py) on the same gunicorn at rising
  concurrency, its highest rate with p95 <= 300 ms; the ratio of the two (target >= 1/3);
* oversold seats and counters out of step (must be 0) and 5xx responses (must be 0) over it all;
* the select request's median as a ratio to a bare INSERT of one selection row (psycopg2,
  autocommit) and to one in-process ``course_select`` call.

The load generator runs on the same two cores as gunicorn and PostgreSQL, and takes its share:
the figures are for this machine as a whole, the ratios are what carries over. It uses the test
settings (DEBUG off, a fast password hasher so logins do not eat the cores; the select and
catalogue paths are the production code).
"""

import argparse
import http.client
import os
import random
import re
import socket
import statistics
import subprocess
import sys
import threading
import time
import urllib.parse
from pathlib import Path

import _data
from _common import ROOT, Report, drop_database, fresh_database, pct, size

DB_NAME = "bench_selection_rush"
PASSWORD = _data.PASSWORD
CATEGORY_LABELS = {"公需科目": "public", "专业科目": "professional", "选修科目": "elective"}
SEARCH_WORDS = ["", "", "", "教学", "师德", "课程", "能力", "设计"]
P95_TARGET_MS = 300
RUSH_STEPS = [1, 2, 3, 4, 6, 8, 12, 16, 24]
BARE_STEPS = [1, 2, 4, 8, 16, 32, 48]


# --------------------------------------------------------------------------- setup


def seed(teachers: int, courses: int, logins: int, rng: random.Random):
    """City, period, courses, and ``logins`` teacher accounts; returns (period, [id_number...])."""
    from django.utils import timezone

    from portal.models import Teacher

    place = _data.city(teachers)
    period = _data.open_period(place, timezone.now())
    _data.courses(period, courses, rng)
    chosen = list(Teacher.objects.order_by("?").values_list("pk", "id_number")[:logins])
    _data.logins([pk for pk, _number in chosen])
    return period, [number for _pk, number in chosen]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def parse_config(text: str) -> dict:
    """ "sync:4" or "gthread:2x4" (workers x threads) as gunicorn.conf.py's environment."""
    worker_class, _, counts = text.partition(":")
    workers, _, threads = counts.partition("x")
    return {"GUNICORN_WORKER_CLASS": worker_class, "GUNICORN_WORKERS": workers, "GUNICORN_THREADS": threads or "1"}


def start_gunicorn(port: int, config: dict) -> subprocess.Popen:
    env = dict(
        os.environ,
        **config,
        DJANGO_SETTINGS_MODULE="tests.settings",
        PYTHONPATH=str(ROOT),
        GUNICORN_BIND=f"127.0.0.1:{port}",
        GUNICORN_ACCESSLOG="/dev/null",
        GUNICORN_MAX_REQUESTS="0",
    )
    proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "-c",
            str(ROOT / "portal" / "gunicorn.conf.py"),
            "--log-level",
            "warning",
            "portal.wsgi:application",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 30
    while time.monotonic() < deadline:
        try:
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
            conn.request("GET", "/accounts/login/")
            if conn.getresponse().status == 200:
                return proc
        except OSError:
            time.sleep(0.3)
    proc.kill()
    sys.exit("gunicorn did not come up: " + proc.stderr.read().decode()[-2000:])


# --------------------------------------------------------------------------- the simulated teacher


class Browser:
    """Cookies, CSRF and one keep-alive connection, with each request's latency recorded."""

    def __init__(self, port: int, stats: "Stats"):
        self.port, self.stats = port, stats
        self.conn = http.client.HTTPConnection("127.0.0.1", port, timeout=60)
        self.cookies: dict[str, str] = {}

    def request(self, method: str, path: str, *, kind: str, form: dict | None = None, htmx: bool = False):
        headers = {"Host": f"127.0.0.1:{self.port}"}
        if self.cookies:
            headers["Cookie"] = "; ".join(f"{k}={v}" for k, v in self.cookies.items())
        body = None
        if form is not None:
            body = urllib.parse.urlencode(form, doseq=True)
            headers["Content-Type"] = "application/x-www-form-urlencoded"
            headers["X-CSRFToken"] = self.cookies.get("csrftoken", "")
        if htmx:
            headers["HX-Request"] = "true"
        started = time.perf_counter()
        for attempt in range(2):
            try:
                self.conn.request(method, path, body=body, headers=headers)
                response = self.conn.getresponse()
                data = response.read()
                break
            except (http.client.HTTPException, OSError):
                self.conn.close()
                self.conn = http.client.HTTPConnection("127.0.0.1", self.port, timeout=60)
                if attempt:
                    raise
        self.stats.record(kind, time.perf_counter() - started, response.status)
        for header, value in response.getheaders():
            if header.lower() == "set-cookie":
                name, _, rest = value.partition("=")
                self.cookies[name] = rest.split(";", 1)[0]
        return response.status, data.decode("utf-8", "replace")


class Stats:
    def __init__(self):
        self.lock = threading.Lock()
        self.latency: dict[str, list[float]] = {}
        self.statuses: dict[int, int] = {}
        self.errors: list[str] = []

    def record(self, kind: str, seconds: float, status: int) -> None:
        with self.lock:
            self.latency.setdefault(kind, []).append(seconds)
            self.statuses[status] = self.statuses.get(status, 0) + 1


_CSRF = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
_SELECT = re.compile(r'hx-post="/courses/(\d+)/select/"')
_LINE = re.compile(r"<span>(公需科目|专业科目|选修科目|总学时|师德师风专题)</span>\s*<span>([\d.]+)/([\d.]+)")


def missing(html: str) -> list[str]:
    """What the plan panel says is still short: category codes, or "ethics" for the required topic."""
    short = [label for label, actual, required in _LINE.findall(html) if float(actual) < float(required)]
    return [CATEGORY_LABELS[label] for label in short if label in CATEGORY_LABELS] + (
        ["ethics"] if "师德师风专题" in short else []
    )


def pause(rng: random.Random, think: float) -> None:
    """A teacher reads the page before the next click."""
    if think > 0:
        time.sleep(rng.uniform(min(0.5, think), max(think * 2 - 0.5, think)))


def teacher_session(
    browser: Browser, id_number: str, period_id: int, rng: random.Random, think: float, stop_at: float
) -> int:
    """Log in, search and select until the plan is met (or nothing is left); returns selections made."""
    browser.cookies.clear()
    status, html = browser.request("GET", "/accounts/login/", kind="login_page")
    token = _CSRF.search(html).group(1)
    status, _ = browser.request(
        "POST",
        "/accounts/login/",
        kind="login",
        form={"username": id_number, "password": PASSWORD, "csrfmiddlewaretoken": token},
    )
    if status != 302:
        browser.stats.errors.append(f"login {id_number}: {status}")
        return 0
    made = 0
    html = ""
    _, html = browser.request("GET", f"/courses/?period={period_id}", kind="catalogue")
    for _round in range(15):
        if time.monotonic() > stop_at:
            break
        short = missing(html)
        if "计划已达标" in html or not short:
            break
        want = rng.choice(short)
        query = {"period": period_id, "has_seats": "true", "page": rng.choice([1, 1, 1, 2])}
        if want == "ethics":
            query.update(q="师德", page=1)
        else:
            query.update(category=want, q=rng.choice(SEARCH_WORDS))
        pause(rng, think)
        _, page = browser.request("GET", "/courses/?" + urllib.parse.urlencode(query), kind="catalogue")
        ids = _SELECT.findall(page)
        if not ids:
            query.pop("q", None)
            query["page"] = 1
            _, page = browser.request("GET", "/courses/?" + urllib.parse.urlencode(query), kind="catalogue")
            ids = _SELECT.findall(page)
            if not ids:
                break
        pause(rng, think)
        status, html = browser.request("POST", f"/courses/{rng.choice(ids)}/select/", kind="select", form={}, htmx=True)
        if status == 200 and "alert-success" in html:
            made += 1
    browser.request("POST", "/accounts/logout/", kind="logout", form={})
    return made


# --------------------------------------------------------------------------- measurements


def bare_insert_ms(bench_url: str, period_id: int, samples: int = 300) -> float:
    """One selection row inserted with autocommit, nothing else: the floor of any select request."""
    import psycopg2

    conn = psycopg2.connect(bench_url)
    conn.autocommit = True
    with conn.cursor() as cur:
        cur.execute("SELECT id FROM portal_teacher WHERE user_id IS NULL ORDER BY id LIMIT %s", [samples])
        teachers = [r[0] for r in cur.fetchall()]
        cur.execute("SELECT id FROM courses_course WHERE capacity IS NULL ORDER BY id LIMIT 1")
        course = cur.fetchone()[0]
        times = []
        for teacher in teachers:
            started = time.perf_counter()
            cur.execute(
                "INSERT INTO courses_courseselection"
                " (teacher_id, course_id, period_id, status, from_waitlist, selected_at)"
                " VALUES (%s, %s, %s, 'selected', false, now())",
                [teacher, course, period_id],
            )
            times.append(time.perf_counter() - started)
        cur.execute(
            "DELETE FROM courses_courseselection WHERE course_id = %s AND teacher_id = ANY(%s)", [course, teachers]
        )
    conn.close()
    return statistics.median(times) * 1000


def service_select_ms(period_id: int, samples: int = 100) -> float:
    """The domain function alone (lock, checks, insert, counter), in-process, for the same ratio."""
    from django.db import transaction
    from django.utils import timezone

    from courses.models import Course
    from courses.services import course_select
    from portal.models import Teacher

    course = Course.objects.select_related("period__city").filter(period_id=period_id, capacity__isnull=True).first()
    teachers = list(Teacher.objects.filter(user__isnull=True).select_related("unit").order_by("-id")[:samples])
    times = []
    for teacher in teachers:
        started = time.perf_counter()
        with transaction.atomic():
            course_select(teacher, course, timezone.now())
        times.append(time.perf_counter() - started)
    return statistics.median(times) * 1000


def oversold(period_id: int) -> tuple[int, int]:
    """(seats sold beyond capacity, courses whose counter disagrees with their rows)."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            SELECT COALESCE(SUM(GREATEST(live - c.capacity, 0)) FILTER (WHERE c.capacity IS NOT NULL), 0),
                   COUNT(*) FILTER (WHERE live <> c.enrolled_count)
            FROM courses_course c
            LEFT JOIN LATERAL (
                SELECT COUNT(*) AS live FROM courses_courseselection e
                WHERE e.course_id = c.id AND e.status IN ('selected', 'completed')) x ON true
            WHERE c.period_id = %s
            """,
            [period_id],
        )
        return cur.fetchone()


# --------------------------------------------------------------------------- load


class Pool:
    """The teachers waiting to log in, handed out once each."""

    def __init__(self, numbers: list[str]):
        self.numbers, self.lock = list(numbers), threading.Lock()

    def take(self) -> str | None:
        with self.lock:
            return self.numbers.pop() if self.numbers else None


def rush(port: int, pool: Pool, period_id: int, clients: int, seconds: float, think: float, seed: int = 0):
    """``clients`` teachers at once for ``seconds`` (each next teacher from ``pool``); (stats, elapsed)."""
    stats = Stats()
    stop_at = time.monotonic() + seconds

    def client(n: int) -> None:
        local = random.Random(seed * 1000 + n)
        browser = Browser(port, stats)
        while time.monotonic() < stop_at and (number := pool.take()):
            try:
                teacher_session(browser, number, period_id, local, think, stop_at)
            except Exception as exc:
                stats.errors.append(repr(exc))

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(n,)) for n in range(clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.monotonic() - started


def bare_load(port: int, pool: Pool, clients: int, seconds: float):
    """``clients`` logged-in browsers asking for the bare view with no pause; (stats, elapsed)."""
    stats = Stats()
    browsers = []
    for _ in range(clients):
        browser = Browser(port, Stats())  # the logins are not part of the figure
        _, html = browser.request("GET", "/accounts/login/", kind="login_page")
        number = pool.take()
        form = {"username": number, "password": PASSWORD, "csrfmiddlewaretoken": _CSRF.search(html).group(1)}
        status, _ = browser.request("POST", "/accounts/login/", kind="login", form=form)
        assert status == 302, status
        browser.stats = stats
        browsers.append(browser)
    stop_at = time.monotonic() + seconds

    def client(browser: Browser) -> None:
        while time.monotonic() < stop_at:
            browser.request("GET", "/_bench/bare/", kind="bare")

    started = time.monotonic()
    threads = [threading.Thread(target=client, args=(b,)) for b in browsers]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return stats, time.monotonic() - started


def capacity(run_step, steps: list[int], kind: str) -> tuple[float, list[dict]]:
    """Rising concurrency until ``kind``'s p95 passes the target twice; (highest rate within it, steps)."""
    best, table, over = 0.0, [], 0
    for clients in steps:
        stats, elapsed = run_step(clients)
        requests = sum(stats.statuses.values())
        rate = requests / elapsed
        p95 = pct(stats.latency.get(kind, [0.0]), 95) * 1000
        table.append({"clients": clients, "rate": round(rate, 1), "p95_ms": round(p95, 1), "statuses": stats.statuses})
        print(f"  {kind}: {clients:3d} clients {rate:7.1f} req/s, {kind} p95 {p95:7.1f} ms", flush=True)
        ALL.append(stats)
        if p95 <= P95_TARGET_MS:
            best = max(best, rate)
        else:
            over += 1
            if over == 2:
                break
    return best, table


ALL: list = []  # every phase's stats, for the 5xx count


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=20_000)
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--seconds", type=float, default=size()["rush_seconds"] * 3, help="length of the rush")
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="mean think time between a teacher's clicks, uniform in [0.5, 2*mean-0.5] s",
    )
    parser.add_argument("--step-seconds", type=float, default=size()["rush_seconds"] / 2)
    parser.add_argument(
        "--configs",
        default="gthread:4x4" if os.environ.get("BENCH_SIZE") != "city" else "gthread:4x4,sync:5,gthread:2x4",
        help="gunicorn configurations to measure capacity on: sync:WORKERS or gthread:WORKERSxTHREADS; "
        "the first also serves the rush",
    )
    args = parser.parse_args()
    rng = random.Random(2022)
    configs = args.configs.split(",")

    report = Report("selection_rush", teachers=args.teachers, courses=args.courses, machine_cores=os.cpu_count())
    with report.building():
        t0 = time.monotonic()
        bench_url = fresh_database(DB_NAME)
        # Logins for every phase; some teachers keep none, for the in-process and bare-INSERT figures.
        logins = min(3000 + 1500 * len(configs), args.teachers - 500)
        period, numbers = seed(args.teachers, args.courses, logins, rng)
        print(f"setup: {args.teachers} teachers, {len(numbers)} logins in {time.monotonic() - t0:.1f} s", flush=True)
    pool = Pool(numbers)

    from django.db import connection

    connection.close()
    results = {}
    for n, config in enumerate(configs):
        port = free_port()
        server = start_gunicorn(port, parse_config(config))
        try:
            if n == 0:
                stats, elapsed = rush(port, pool, period.pk, args.clients, args.seconds, args.think, seed=1)
                ALL.append(stats)
                first = (config, stats, elapsed)
            print(f"capacity on gunicorn {config}:", flush=True)
            rush_rate, rush_steps = capacity(
                lambda c, p=port: rush(p, pool, period.pk, c, args.step_seconds, 0.0, seed=c), RUSH_STEPS, "select"
            )
            bare_rate, bare_steps = capacity(
                lambda c, p=port: bare_load(p, pool, c, args.step_seconds), BARE_STEPS, "bare"
            )
            results[config] = (rush_rate, bare_rate, rush_steps, bare_steps)
        finally:
            server.terminate()
            server.wait(timeout=20)

    config, stats, elapsed = first
    select, catalogue = stats.latency.get("select", [0.0]), stats.latency.get("catalogue", [0.0])
    requests = sum(stats.statuses.values())
    label = f"{args.clients} teachers, think ~{args.think:g} s, gunicorn {config}"
    report.figure(
        f"rush: select p95 ({label})",
        round(pct(select, 95) * 1000, 1),
        "ms",
        target=f"<= {P95_TARGET_MS}",
        met=pct(select, 95) * 1000 <= P95_TARGET_MS,
        note=f"p50 {pct(select, 50) * 1000:.1f} ms, n={len(select)}; {requests / elapsed:.1f} req/s",
    )
    report.figure(
        f"rush: catalogue p95 ({label})",
        round(pct(catalogue, 95) * 1000, 1),
        "ms",
        note=f"p50 {pct(catalogue, 50) * 1000:.1f} ms, n={len(catalogue)}",
    )
    for config, (rush_rate, bare_rate, rush_steps, bare_steps) in results.items():
        report.ratio(
            f"capacity: rush requests/s with select p95 <= {P95_TARGET_MS} ms, gunicorn {config}",
            rush_rate,
            bare_rate,
            bare_name=f"bare authenticated view, p95 <= {P95_TARGET_MS} ms, same gunicorn",
            target=round(1 / 3, 2),
            higher_is_better=True,
            unit="req/s",
            note="no think time, rising concurrency",
            rush_steps=rush_steps,
            bare_steps=bare_steps,
            config=config,
        )

    from courses.models import CourseSelection, WaitlistEntry

    committed = CourseSelection.objects.filter(period=period).count()
    waiting = WaitlistEntry.objects.filter(course__period=period).count()
    over, mismatched = oversold(period.pk)
    fives = sum(n for phase in ALL for status, n in phase.statuses.items() if status >= 500)
    errors = [e for phase in ALL for e in phase.errors]
    note = f"{committed:,} selections and {waiting:,} waiting-list entries made in all phases"
    report.figure("rush: oversold seats", over, "", target="= 0", met=not over, note=note)
    report.figure("rush: seat counters out of step", mismatched, "", target="= 0", met=not mismatched)
    report.figure("rush: 5xx responses", fives, "", target="= 0", met=not fives, note=f"{len(errors)} client errors")
    insert_ms = bare_insert_ms(bench_url, period.pk)
    service_ms = service_select_ms(period.pk)
    report.ratio(
        "course_select in-process (lock, checks, insert, counter)",
        service_ms,
        insert_ms,
        bare_name="bare INSERT of one selection row",
        target=None,
        unit="ms",
    )
    report.ratio(
        "select request p50 through gunicorn (rush)",
        pct(select, 50) * 1000,
        insert_ms,
        bare_name="bare INSERT of one selection row",
        target=None,
        unit="ms",
    )
    for line in errors[:5]:
        print("  error:", line)
    report.save()
    drop_database(DB_NAME)
    if over or fives or mismatched:
        sys.exit(1)


if __name__ == "__main__":
    main()
