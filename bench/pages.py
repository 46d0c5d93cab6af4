"""Benchmark: the pages people wait on, each against a bare authenticated request of the same run.

    eval "$(.ci/services env)" && .venv/bin/python bench/pages.py [--sizes 20000:500,250000:1500] [--repeat 11]
        [--only roster,review]

For each size (teachers:courses; 20,000:500 by default, and 250,000:1,500 too with
BENCH_SIZE=city) it creates its own database (bench_pages, dropped and re-created), a city
(bench/_data.py) with an open training period under Guangzhou's rule, the catalogue, 30 % of
the teachers with three selections each, four ledger entries per teacher (the kept totals the
dashboards read), ten special programmes with applications waiting at the school and district
levels, and one login per role. Then, in-process through Django's test client (the whole
middleware stack, a real session), each page and the bare view ``/_bench/bare/`` (tests/urls.py:
login required, a short text response) in turn, ``--repeat`` rounds; the ratio of the medians
(target <= 10: the issue's bar for the page work to come) and the page's query count. ``--only``
times just the pages whose name contains one of its comma-separated words (the data is built whole).

The pages: the 课程超市 (catalogue), the teacher's plan panel (the htmx answer to a select of a
course already chosen: the course's buttons and the plan, nothing written), each role's home
page, the roster (school and city admin), the review queue (school and district admin) and the
dashboards (compliance, fill rates, school progress).
"""

import argparse
import datetime as dt
import random

import _data
from _common import Report, contest, drop_database, fresh_database, size

DB_NAME = "bench_pages"


def build(teachers: int, courses: int):
    """The city and one user per role; ({role: user}, {page: (role, method, url)})."""
    from django.utils import timezone

    from enrollment.models import ApplicationState
    from portal.models import Role, Teacher

    now = timezone.now()
    rng = random.Random(14)
    place = _data.city(teachers)
    period = _data.open_period(place, now)
    catalogue = _data.courses(period, courses, rng)
    _data.selections(period, share=0.3, per_teacher=3)
    _data.ledger(4, now.year)
    school, district = place.schools[0], place.districts[0]
    # A teacher of the first school with three selections (ids ending below 300 have them).
    teacher = next(t for t in Teacher.objects.filter(unit=school).order_by("id") if t.pk % 1000 < 300)
    (teacher_user,) = _data.logins([teacher.pk])
    opens = now - dt.timedelta(days=2)
    deadlines = [now + dt.timedelta(days=d) for d in (5, 10, 15)]
    # Programme k: the teachers whose id ends in k (two digits), but ours; every other one of them (by
    # the hundreds of their id, so that every district, the measured admin's too, has both) waits at
    # the school level, the others at the district level.
    applicants = (
        "SELECT id FROM portal_teacher WHERE id %% 100 = %(k)s AND id <> %(me)s AND (id / 100 %% 2 = 0) = %(lower)s"
    )
    for k in range(size()["programmes"]):
        made, levels = _data.programme(
            period, seats=teachers // 50, title=f"专项培训{k + 1}", opens=opens, deadlines=deadlines
        )
        for level, state, lower in (
            (levels[0], ApplicationState.SUBMITTED, True),
            (levels[1], ApplicationState.APPROVED, False),
        ):
            params = {"k": k, "me": teacher.pk, "lower": lower}
            _data.applications(made, level, state, opens, teachers=applicants, params=params)
    _data.vacuum("enrollment_application", "courses_courseselection", "portal_teacher")
    users = {
        "teacher": teacher_user,
        "school_admin": _data.admin(Role.SCHOOL_ADMIN, school, 1),
        "district_admin": _data.admin(Role.DISTRICT_ADMIN, district, 2),
        "city_admin": _data.admin(Role.CITY_ADMIN, place.city, 3),
        "provider": _data.provider_staff(catalogue[0].provider, 4),
        "operator": _data.operator(5),
    }
    chosen = teacher.course_selections.filter(status="selected").values_list("course_id", flat=True).first()
    p = f"period={period.pk}"
    pages = {
        "catalogue (课程超市)": ("teacher", "get", f"/courses/?{p}"),
        "catalogue, a search": ("teacher", "get", f"/courses/?{p}&category=professional&q=教学&has_seats=true"),
        "plan panel (htmx answer to a select)": ("teacher", "htmx", f"/courses/{chosen}/select/"),
        "home: teacher": ("teacher", "get", "/"),
        "home: school admin": ("school_admin", "get", "/"),
        "home: district admin": ("district_admin", "get", "/"),
        "home: city admin": ("city_admin", "get", "/"),
        "home: provider": ("provider", "get", "/"),
        "home: operator": ("operator", "get", "/"),
        "roster: school admin": ("school_admin", "get", "/portal/roster/"),
        "roster: city admin": ("city_admin", "get", "/portal/roster/"),
        "review queue: school admin": ("school_admin", "get", "/enrollment/review/"),
        "review queue: district admin": ("district_admin", "get", "/enrollment/review/"),
        "dashboard: compliance (city)": ("city_admin", "get", "/credits/dashboard/"),
        "dashboard: fill rates (city)": ("city_admin", "get", f"/courses/progress/courses/?{p}"),
        "dashboard: school progress (city)": ("city_admin", "get", f"/courses/progress/schools/?{p}"),
        "dashboard: school progress (district)": ("district_admin", "get", f"/courses/progress/schools/?{p}"),
    }
    return users, pages


def table_sizes() -> dict:
    """Rows and MB (with indexes) of the biggest tables, and the whole database's MB: for docs/scaling.md."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            "SELECT c.relname, c.reltuples::bigint, pg_total_relation_size(c.oid) / 1048576"
            " FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace"
            " WHERE n.nspname = 'public' AND c.relkind = 'r' ORDER BY pg_total_relation_size(c.oid) DESC LIMIT 8"
        )
        tables = {name: {"rows": rows, "mb": mb} for name, rows, mb in cur.fetchall()}
        cur.execute("SELECT pg_database_size(current_database()) / 1048576")
        return {"database_mb": cur.fetchone()[0], "tables": tables}


def client_for(user):
    from django.test import Client

    client = Client(raise_request_exception=True)
    client.force_login(user)
    client.get("/")  # the CSRF cookie, as a browser has it after its first page
    return client


def request(client, method: str, url: str):
    if method == "htmx":
        return client.post(url, {}, headers={"HX-Request": "true", "X-CSRFToken": client.cookies["csrftoken"].value})
    return client.get(url)


def measure(report: Report, teachers: int, courses: int, repeat: int, only: list[str]) -> None:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    with report.building():
        fresh_database(DB_NAME)
        users, pages = build(teachers, courses)
    clients = {role: client_for(user) for role, user in users.items()}
    label = f"{teachers:,} teachers / {courses:,} courses"
    report.context[f"database at {label}"] = sizes = table_sizes()
    print(f"built {label}: {sizes}", flush=True)
    for name, (role, method, url) in pages.items():
        if only and not any(word in name for word in only):
            continue
        client = clients[role]
        response = request(client, method, url)
        assert response.status_code == 200, (name, response.status_code)
        # Counted at once: the log is cleared by the next request once the context is left.
        with CaptureQueriesContext(connection) as captured:
            request(client, method, url)
        queries = len(captured)
        with CaptureQueriesContext(connection) as captured:
            client.get("/_bench/bare/")
        bare_queries = len(captured)
        times = contest(
            {
                "page": lambda c=client, m=method, u=url: request(c, m, u),
                "bare": lambda c=client: c.get("/_bench/bare/"),
            },
            repeat,
        )
        report.ratio(
            f"page: {name} @ {label}",
            [t * 1000 for t in times["page"]],
            [t * 1000 for t in times["bare"]],
            bare_name="bare authenticated view",
            target=10,
            unit="ms",
            note=f"{queries} queries (bare view {bare_queries})",
            queries=queries,
            size=label,
        )


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument(
        "--sizes",
        default=",".join(f"{t}:{c}" for t, c in size()["pages"]),
        help="teachers:courses pairs, comma-separated",
    )
    parser.add_argument("--repeat", type=int, default=11)
    parser.add_argument("--only", default="", help="time only the pages whose name contains one of these words")
    args = parser.parse_args()
    only = [word for word in args.only.split(",") if word]
    sizes = [tuple(int(n) for n in pair.split(":")) for pair in args.sizes.split(",")]
    report = Report("pages", sizes=[f"{t}:{c}" for t, c in sizes])
    for teachers, courses in sizes:
        measure(report, teachers, courses, args.repeat, only)
        drop_database(DB_NAME)
    report.save()


if __name__ == "__main__":
    main()
