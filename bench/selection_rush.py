"""Benchmark: the first minutes of course selection (选课) in a city of 20,000 teachers.

    eval "$(.ci/services env)" && .venv/bin/python bench/selection_rush.py [--teachers 20000] [--clients 50]

Creates its own database (bench_selection_rush, dropped and re-created), seeds a city
(``seed_scale``), one open period with the Guangzhou rule set and 500 courses (capacities
30 to unlimited, so the popular ones fill up and the waiting lists grow), then serves the
site with gunicorn (several sync workers on 127.0.0.1, a free port) and lets N concurrent
simulated teachers (threads, each its own keep-alive HTTP connection) log in, search the
catalogue for a category they still miss and select a course (htmx POST) until their plan
meets the rule, then log out and hand over to the next teacher. Prints, all from this run:

* selections committed per second (counted in the database), requests per second;
* p50/p95 latency of the select request and of the catalogue page;
* oversold seats (must be 0) and 5xx responses (must be 0);
* the select request's median time as a ratio to a bare INSERT of one selection row
  (psycopg2, autocommit) and to one in-process ``course_select`` call, measured here.

It uses the test settings (tests.settings: DEBUG off, fast password hasher so that logins do
not eat the two cores; the select and catalogue paths are the production code).
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

from _common import ROOT, fresh_database

DB_NAME = "bench_selection_rush"
PASSWORD = "bench-pass-123"  # noqa: S105 - made-up logins in a throwaway database
CATEGORY_LABELS = {"公需科目": "public", "专业科目": "professional", "选修科目": "elective"}
SEARCH_WORDS = ["", "", "", "教学", "师德", "课程", "能力", "设计"]


# --------------------------------------------------------------------------- setup


def setup_database() -> str:
    return fresh_database(DB_NAME)


def seed(teachers: int, courses: int, logins: int, rng: random.Random):
    """City, period, courses, and ``logins`` teacher accounts; returns (period, [id_number...])."""
    import datetime as dt
    from decimal import Decimal

    from django.contrib.auth.hashers import make_password
    from django.core.management import call_command
    from django.utils import timezone

    from courses.demo import ELECTIVE, PROFESSIONAL, PUBLIC
    from courses.models import Course, CourseMode, CourseStatus, Provider, TrainingPeriod
    from credits.demo import GUANGZHOU_TREE
    from credits.models import RuleSet, Topic
    from portal.models import Teacher, Unit, User

    call_command("seed_scale", teachers=teachers, city_code="990100", stdout=open(os.devnull, "w"))
    city = Unit.objects.get(code="990100")
    now = timezone.now()
    rule_set = RuleSet.objects.create(city=city, year=now.year, name="规模测试学时要求", tree=GUANGZHOU_TREE)
    period = TrainingPeriod.objects.create(
        city=city,
        year=now.year,
        code="BENCH01",
        name="规模测试全员培训",
        rule_set=rule_set,
        selection_opens_at=now - dt.timedelta(days=1),
        selection_closes_at=now + dt.timedelta(days=7),
        late_opens_at=now + dt.timedelta(days=5),
        late_closes_at=now + dt.timedelta(days=7),
        training_starts_on=(now + dt.timedelta(days=20)).date(),
        training_ends_on=(now + dt.timedelta(days=80)).date(),
    )
    providers = Provider.objects.bulk_create(
        [
            Provider(code=f"BP{i}", name=name)
            for i, name in enumerate(
                ["北京师范大学珠海校区", "广州开放大学", "中国教师研修网", "广东第二师范学院", "国家教育行政学院"]
            )
        ]
    )
    catalogue = [
        ("public", PUBLIC, ["3", "6", "10"]),
        ("professional", PROFESSIONAL, ["4", "6", "8", "12"]),
        ("elective", ELECTIVE, ["2", "3", "4.5"]),
    ]
    rows = []
    for n in range(courses):
        category, titles, hours = catalogue[n % 3]
        title, _topics, _stages, description = titles[n // 3 % len(titles)]
        rows.append(
            Course(
                period=period,
                code=f"B{n:04d}",
                title=f"{title}（{n // 3 // len(titles) + 1}）",
                category=category,
                hours=Decimal(rng.choice(hours)),
                provider=providers[n % len(providers)],
                mode=CourseMode.ONLINE,
                capacity=rng.choice([30, 40, 50, 80, 100, 200, 500, None]),
                description=description,
                status=CourseStatus.PUBLISHED,
            )
        )
    made = Course.objects.bulk_create(rows)
    ethics = Topic.objects.get(code="ethics")
    Course.topics.through.objects.bulk_create(
        [Course.topics.through(course_id=c.pk, topic_id=ethics.pk) for c in made if "师德" in c.title]
    )
    encoded = make_password(PASSWORD)
    chosen = list(Teacher.objects.filter(unit__path__startswith=city.path).order_by("?")[:logins])
    users = User.objects.bulk_create([User(id_number=t.id_number, name=t.name, password=encoded) for t in chosen])
    for teacher, user in zip(chosen, users, strict=True):
        teacher.user_id = user.pk
    Teacher.objects.bulk_update(chosen, ["user_id"], batch_size=1000)
    return period, [t.id_number for t in chosen]


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def start_gunicorn(port: int, workers: int) -> subprocess.Popen:
    env = dict(os.environ, DJANGO_SETTINGS_MODULE="tests.settings", PYTHONPATH=str(ROOT))
    proc = subprocess.Popen(  # noqa: S603 - our own venv's gunicorn
        [
            str(Path(sys.executable).parent / "gunicorn"),
            "portal.wsgi:application",
            "-b",
            f"127.0.0.1:{port}",
            "-w",
            str(workers),
            "--worker-class",
            "sync",
            "--timeout",
            "60",
            "--log-level",
            "warning",
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


def pct(values: list[float], p: float) -> float:
    values = sorted(values)
    return values[min(len(values) - 1, round(p / 100 * (len(values) - 1)))] * 1000


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


# --------------------------------------------------------------------------- main


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--teachers", type=int, default=20_000)
    parser.add_argument("--courses", type=int, default=500)
    parser.add_argument("--clients", type=int, default=50)
    parser.add_argument("--workers", type=int, default=4, help="gunicorn sync workers")
    parser.add_argument("--seconds", type=float, default=60, help="length of the rush")
    parser.add_argument(
        "--think",
        type=float,
        default=2.0,
        help="mean think time between a teacher's clicks, uniform in [0.5, 2*mean-0.5] s",
    )
    args = parser.parse_args()
    rng = random.Random(2022)

    t0 = time.monotonic()
    bench_url = setup_database()
    period, numbers = seed(args.teachers, args.courses, args.clients * 40, rng)
    print(
        f"setup: {args.teachers} teachers, {args.courses} courses, {len(numbers)} logins "
        f"in {time.monotonic() - t0:.1f} s"
    )

    from django.db import connection

    connection.close()
    port = free_port()
    server = start_gunicorn(port, args.workers)
    stats = Stats()
    queue = list(numbers)
    queue_lock = threading.Lock()
    done_teachers = [0]
    started = time.monotonic()
    stop_at = started + args.seconds

    def client(n: int) -> None:
        local = random.Random(n)
        browser = Browser(port, stats)
        while time.monotonic() < stop_at:
            with queue_lock:
                if not queue:
                    return
                number = queue.pop()
            try:
                teacher_session(browser, number, period.pk, local, args.think, stop_at)
                with queue_lock:
                    done_teachers[0] += 1
            except Exception as exc:
                stats.errors.append(repr(exc))

    threads = [threading.Thread(target=client, args=(n,)) for n in range(args.clients)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    elapsed = time.monotonic() - started
    server.terminate()
    server.wait(timeout=20)

    from courses.models import CourseSelection, WaitlistEntry

    committed = CourseSelection.objects.filter(period=period).count()
    waiting = WaitlistEntry.objects.filter(course__period=period).count()
    over, mismatched = oversold(period.pk)
    insert_ms = bare_insert_ms(bench_url, period.pk)
    service_ms = service_select_ms(period.pk)
    fives = sum(n for status, n in stats.statuses.items() if status >= 500)
    requests = sum(stats.statuses.values())
    select, catalogue = stats.latency.get("select", [0.0]), stats.latency.get("catalogue", [0.0])

    print(
        f"rush: {args.clients} concurrent teachers, gunicorn {args.workers} sync workers, think ~{args.think} s,"
        f" {elapsed:.1f} s, {done_teachers[0]} teachers finished"
    )
    print(f"selections committed: {committed} ({committed / elapsed:.1f}/s), waiting-list entries: {waiting}")
    print(f"requests: {requests} ({requests / elapsed:.1f}/s), statuses: {dict(sorted(stats.statuses.items()))}")
    print(f"select    p50 {pct(select, 50):7.1f} ms   p95 {pct(select, 95):7.1f} ms   (n={len(select)})")
    print(f"catalogue p50 {pct(catalogue, 50):7.1f} ms   p95 {pct(catalogue, 95):7.1f} ms   (n={len(catalogue)})")
    print(
        f"oversold seats: {over}   counters out of step: {mismatched}   5xx: {fives}   client errors: "
        f"{len(stats.errors)}"
    )
    print(
        f"bare INSERT of one selection row: {insert_ms:.2f} ms; course_select in-process: {service_ms:.2f} ms "
        f"({service_ms / insert_ms:.1f}x)"
    )
    print(f"select request p50 / bare INSERT: {pct(select, 50) / insert_ms:.1f}x")
    for line in stats.errors[:5]:
        print("  error:", line)
    if over or fives:
        sys.exit(1)


if __name__ == "__main__":
    main()
