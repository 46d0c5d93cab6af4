"""The one data builder of the benchmarks: a generated city and what each bench puts into it.

Each step writes in bulk (COPY, set-based SQL or bulk_create) so a city of 250,000 teachers
with 5,000,000 ledger entries is ready in minutes:

* ``city``: the organisation tree and its teachers (``seed_scale``: districts of 150 schools,
  ``per_school`` teachers each, valid generated ID numbers, COPY);
* ``logins``: user accounts for some teachers; ``admin``, ``provider_staff``, ``operator``: one
  account per other role;
* ``open_period`` and ``courses``: a training period whose selection is open now, with the
  Guangzhou rule set, and a catalogue (capacities 30 to unlimited); ``selections``: teachers'
  selections written in one statement, counters kept;
* ``guangzhou_2201``, ``programme`` and ``applications``: the 2201 period with a programme and
  its school → district → city chain (the notice's dates), and applications waiting in it;
* ``ledger``: credit entries made by the server in one INSERT ... SELECT (keys, indexes and the
  totals trigger off during the load, then rebuilt as ``manage.py rebuild_credit_totals`` does).
"""

import datetime as dt
import math
import random
from dataclasses import dataclass
from zoneinfo import ZoneInfo

SHANGHAI = ZoneInfo("Asia/Shanghai")
PASSWORD = "bench-pass-123"  # noqa: S105 - made-up logins in a throwaway database
PROVIDERS = ["北京师范大学珠海校区", "广州开放大学", "中国教师研修网", "广东第二师范学院", "国家教育行政学院"]
# The rule of the compliance bench (Guangzhou's 90 = 30 + 42 + 18 and one hour of ethics).
COMPLIANCE_TREE = {
    "all_of": [
        {"min_total": {"hours": 90}},
        {"min_hours": {"category": "public", "hours": 30}},
        {"min_hours": {"category": "professional", "hours": 42}},
        {"min_hours": {"category": "elective", "hours": 18}},
        {"requires_topic": {"topic": "ethics", "hours": 1}},
    ]
}


@dataclass
class Place:
    city: object
    districts: list
    schools: list
    teachers: int


def city(
    teachers: int, *, code: str = "990100", name: str | None = None, per_school: int = 80, schools: int | None = None
) -> Place:
    """A city of ``teachers`` teachers in schools of ``per_school`` (districts of up to 150 schools).

    ``schools`` overrides the number of schools (an empty city for an import to fill).
    """
    from django.db import connection, transaction

    from portal.management.commands.seed_scale import _copy_teachers, build_city, teacher_rows

    with transaction.atomic():
        unit, districts, units = build_city(code, schools or max(1, math.ceil(teachers / per_school)), name=name)
        if teachers:
            _copy_teachers(teacher_rows(units, teachers))
    with connection.cursor() as cur:
        cur.execute("ANALYZE portal_teacher")
        cur.execute("ANALYZE portal_unit")
    return Place(unit, districts, units, teachers)


def insert_select(model, given: dict[str, str], source: str, params: dict | None = None) -> int:
    """INSERT INTO ``model``'s table SELECT ... ``source``: one statement for any number of rows; the count.

    ``given`` maps columns to SQL expressions over ``source``; every other column gets the
    field's Python default as a parameter (NULL without one), as ``Model.objects.create`` would.
    """
    from django.db import connection

    columns, values, params = [], [], dict(params or {})
    for field in model._meta.concrete_fields:
        if field.primary_key and field.column not in given:
            continue
        columns.append(field.column)
        if field.column in given:
            values.append(given[field.column])
        elif getattr(field, "auto_now", False) or getattr(field, "auto_now_add", False):
            values.append("now()")
        else:
            params[f"default_{field.column}"] = field.get_db_prep_save(field.get_default(), connection)
            values.append(f"%(default_{field.column})s")
    with connection.cursor() as cur:
        cur.execute(
            f"INSERT INTO {model._meta.db_table} ({', '.join(columns)}) SELECT {', '.join(values)} {source}", params
        )
        return cur.rowcount


def logins(ids: list[int], password: str = PASSWORD):
    """A user account for each teacher of ``ids`` (all with ``password``), linked to the teacher; the users.

    Two statements whatever the number: the users from the teachers' rows, then the link.
    """
    from django.contrib.auth.hashers import make_password
    from django.db import connection

    from portal.models import User

    insert_select(
        User,
        {"id_number": "t.id_number", "name": "t.name", "password": "%(password)s"},
        "FROM portal_teacher t WHERE t.id = ANY(%(ids)s) ORDER BY t.id",
        {"password": make_password(password), "ids": ids},
    )
    with connection.cursor() as cur:
        cur.execute(
            "UPDATE portal_teacher t SET user_id = u.id FROM portal_user u"
            " WHERE u.id_number = t.id_number AND t.id = ANY(%s)",
            [ids],
        )
    return User.objects.filter(teacher__in=ids).order_by("teacher")


def _user(number: int, name: str, password: str = PASSWORD, **extra):
    from portal import idcard
    from portal.models import User

    return User.objects.create_user(idcard.make("110101", dt.date(1960, 1, 1), number), password, name=name, **extra)


def admin(role: str, unit, number: int, name: str | None = None):
    """A school, district or city admin over ``unit`` (``number`` makes its ID number unique)."""
    from portal.models import RoleAssignment

    user = _user(number, name or f"{unit.name}管理员")
    RoleAssignment.objects.create(user=user, role=role, unit=unit)
    return user


def provider_staff(provider, number: int):
    from courses.models import ProviderStaff

    user = _user(number, f"{provider.name}工作人员")
    ProviderStaff.objects.create(provider=provider, user=user)
    return user


def operator(number: int):
    return _user(number, "平台运营", is_operator=True)


def open_period(place: Place, now, *, code: str = "BENCH01"):
    """A training period of ``now``'s year whose selection window is open, under the Guangzhou rule set."""
    from courses.models import TrainingPeriod
    from credits.demo import GUANGZHOU_TREE
    from credits.models import RuleSet

    rule_set = RuleSet.objects.create(city=place.city, year=now.year, name="规模测试学时要求", tree=GUANGZHOU_TREE)
    return TrainingPeriod.objects.create(
        city=place.city,
        year=now.year,
        code=code,
        name="规模测试全员培训",
        rule_set=rule_set,
        selection_opens_at=now - dt.timedelta(days=1),
        selection_closes_at=now + dt.timedelta(days=7),
        late_opens_at=now + dt.timedelta(days=5),
        late_closes_at=now + dt.timedelta(days=7),
        training_starts_on=(now + dt.timedelta(days=20)).date(),
        training_ends_on=(now + dt.timedelta(days=80)).date(),
    )


def courses(period, n: int, rng: random.Random) -> list:
    """``n`` published online courses over the three categories, from five providers serving the city."""
    from decimal import Decimal

    from courses.demo import ELECTIVE, PROFESSIONAL, PUBLIC
    from courses.models import Course, CourseMode, CourseStatus, Provider
    from credits.models import Topic

    providers = Provider.objects.bulk_create([Provider(code=f"BP{i}", name=name) for i, name in enumerate(PROVIDERS)])
    for provider in providers:
        provider.cities.add(period.city)
    catalogue = [
        ("public", PUBLIC, ["3", "6", "10"]),
        ("professional", PROFESSIONAL, ["4", "6", "8", "12"]),
        ("elective", ELECTIVE, ["2", "3", "4.5"]),
    ]
    rows = []
    for k in range(n):
        category, titles, hours = catalogue[k % 3]
        title, _topics, _stages, description = titles[k // 3 % len(titles)]
        rows.append(
            Course(
                period=period,
                code=f"B{k:04d}",
                title=f"{title}（{k // 3 // len(titles) + 1}）",
                category=category,
                hours=Decimal(rng.choice(hours)),
                provider=providers[k % len(providers)],
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
    return made


def selections(period, share: float, per_teacher: int) -> int:
    """``share`` of the city's teachers each select ``per_teacher`` unlimited courses; counters kept."""
    from django.db import connection

    with connection.cursor() as cur:
        cur.execute(
            """
            WITH c AS (SELECT id, row_number() OVER (ORDER BY id) - 1 AS k, count(*) OVER () AS n
                       FROM courses_course WHERE period_id = %(p)s AND capacity IS NULL),
                 t AS (SELECT id FROM portal_teacher WHERE id %% 1000 < %(permille)s)
            INSERT INTO courses_courseselection (teacher_id, course_id, period_id, status, from_waitlist, selected_at)
            SELECT t.id, c.id, %(p)s, 'selected', false, now()
            FROM t CROSS JOIN generate_series(0, %(per)s - 1) g JOIN c ON c.k = (t.id * 7 + g * 13) %% c.n
            ON CONFLICT DO NOTHING
            """,
            {"p": period.pk, "permille": round(share * 1000), "per": per_teacher},
        )
        made = cur.rowcount
        cur.execute(
            "UPDATE courses_course c SET enrolled_count = (SELECT count(*) FROM courses_courseselection s"
            " WHERE s.course_id = c.id AND s.status = 'selected') WHERE c.period_id = %s",
            [period.pk],
        )
        cur.execute("ANALYZE courses_courseselection")
    return made


def guangzhou_2201(place: Place):
    """Period 2201 (2022) of the city with its dates from the notice."""
    from courses.models import TrainingPeriod

    return TrainingPeriod.objects.create(
        city=place.city,
        year=2022,
        code="2201",
        name="2201期",
        selection_opens_at=dt.datetime(2022, 3, 15, tzinfo=SHANGHAI),
        selection_closes_at=dt.datetime(2022, 3, 29, 23, 59, 59, tzinfo=SHANGHAI),
        training_starts_on=dt.date(2022, 4, 20),
        training_ends_on=dt.date(2022, 6, 20),
    )


def programme(period, seats: int, *, title: str = "中学(中职)校长任职资格培训", opens=None, deadlines=None):
    """A special programme with the school → district → city chain; (programme, levels).

    Without ``opens``/``deadlines`` it has the notice's 2022 dates: registration 03-14 to 03-18,
    school by 03-18, district by 03-25, city by 03-30 (23:59:59 Asia/Shanghai).
    """
    from enrollment.models import Programme, ProgrammeLevel
    from portal.models import UnitKind

    opens = opens or dt.datetime(2022, 3, 14, tzinfo=SHANGHAI)
    deadlines = deadlines or [dt.datetime(2022, 3, day, 23, 59, 59, tzinfo=SHANGHAI) for day in (18, 25, 30)]
    made = Programme.objects.create(
        period=period,
        title=title,
        total_seats=seats,
        registration_opens_at=opens,
        registration_closes_at=deadlines[0],
    )
    kinds = (UnitKind.SCHOOL, UnitKind.DISTRICT, UnitKind.CITY)
    levels = ProgrammeLevel.objects.bulk_create(
        [
            ProgrammeLevel(programme=made, order=i, unit_kind=kind, deadline=deadline)
            for i, (kind, deadline) in enumerate(zip(kinds, deadlines, strict=True), 1)
        ]
    )
    return made, levels


def applications(programme, level, state: str, submitted_at, *, teachers: str, params: dict | None = None) -> int:
    """One application per teacher of ``teachers`` (SQL selecting portal_teacher ids) waiting at ``level``
    in ``state``, in one statement; the count."""
    from enrollment.models import Application

    return insert_select(
        Application,
        {
            "programme_id": "%(programme)s",
            "teacher_id": "t.id",
            "school_id": "t.unit_id",
            "district_id": "s.parent_id",
            "state": "%(state)s",
            "level_id": "%(level)s",
            "deadline": "%(deadline)s",
            "submitted_at": "%(submitted)s",
        },
        f"FROM portal_teacher t JOIN portal_unit s ON s.id = t.unit_id WHERE t.id IN ({teachers}) ORDER BY t.id",
        {
            **(params or {}),
            "programme": programme.pk,
            "state": state,
            "level": level.pk,
            "deadline": level.deadline,
            "submitted": submitted_at,
        },
    )


def guangzhou_chain(teachers: int, *, per_school: int = 80):
    """A city of ``teachers`` teachers, each with a login, and the 2201 principals' programme.

    Returns (place, programme, levels).
    """
    from portal.models import Teacher

    place = city(teachers, code="440100", name="广州市", per_school=per_school)
    logins(list(Teacher.objects.values_list("pk", flat=True)))
    made, levels = programme(guangzhou_2201(place), seats=teachers)
    return place, made, levels


def vacuum(*tables: str) -> None:
    from django.db import connection

    with connection.cursor() as cur:
        for table in tables:
            cur.execute(f"VACUUM ANALYZE {table}")


def ledger(per_teacher: int, year: int, seed: int = 7) -> int:
    """``per_teacher`` entries for every teacher in ``year`` (about 60 % meet COMPLIANCE_TREE); the count.

    Keys and indexes are dropped during the load and rebuilt after it (as for a bulk migration of
    old records: one validating pass instead of a check per row), the totals trigger is off and
    the kept totals are rebuilt at the end.
    """
    from django.db import connection

    from credits.services import credit_totals_rebuild

    with connection.cursor() as cur:
        cur.execute(
            "SELECT conname, pg_get_constraintdef(oid) FROM pg_constraint"
            " WHERE conrelid = 'credits_creditentry'::regclass AND contype IN ('f', 'u')"
        )
        constraints = cur.fetchall()
        cur.execute(
            "SELECT indexname, indexdef FROM pg_indexes WHERE tablename = 'credits_creditentry'"
            " AND indexname NOT IN (SELECT conname FROM pg_constraint WHERE conrelid = 'credits_creditentry'::regclass)"
        )
        indexes = cur.fetchall()
        for name, _definition in constraints:
            cur.execute(f'ALTER TABLE credits_creditentry DROP CONSTRAINT "{name}"')
        for name, _definition in indexes:
            cur.execute(f'DROP INDEX "{name}"')
        cur.execute("ALTER TABLE credits_creditentry DISABLE TRIGGER credits_entry_totals")
        n = _insert_entries(cur, per_teacher, year, seed)
        cur.execute("ALTER TABLE credits_creditentry ENABLE TRIGGER credits_entry_totals")
        for name, definition in constraints:
            cur.execute(f'ALTER TABLE credits_creditentry ADD CONSTRAINT "{name}" {definition}')
        for _name, definition in indexes:
            cur.execute(definition)
        cur.execute("ANALYZE credits_creditentry")
    credit_totals_rebuild()
    vacuum("credits_teacheryeartotal")
    return n


def _insert_entries(cur, per_teacher: int, year: int, seed: int) -> int:
    """``per_teacher`` entries for every teacher in one INSERT ... SELECT (generated in the server); the count.

    Each teacher gets a scale of the rule's hours (62 % between 1.0 and 1.3, the others between
    0.7 and 0.99) spread over entries of the three categories (7 : 9 : 4), and the ethics topic
    on their first public entry (95 % of them).
    """
    n_pub = max(1, per_teacher * 7 // 20)
    n_ele = max(1, per_teacher * 4 // 20)
    n_pro = max(1, per_teacher - n_pub - n_ele)
    cur.execute("SELECT setseed(%s)", [seed / 1000])
    cur.execute(
        """
        WITH t AS (SELECT id, random() AS r0, random() AS r1, random() < 0.95 AS ethics
                   FROM portal_teacher ORDER BY id),
             s AS (SELECT id, ethics, CASE WHEN r0 < 0.62 THEN 1.0 + r1 * 0.3 ELSE 0.7 + r1 * 0.29 END AS scale FROM t)
        INSERT INTO credits_creditentry (teacher_id, year, category, topic_codes, hours, source, reference,
                                         recorded_at, reason)
        SELECT s.id, %(year)s, p.category,
               CASE WHEN s.ethics AND k = 0 AND p.category = 'public' THEN ',ethics,' ELSE '' END,
               GREATEST(0.5, round((p.need * s.scale / p.n * 2)::numeric) / 2),
               'import', 'b:' || (s.id * %(per)s + p.first + k), %(at)s, ''
        FROM s
        CROSS JOIN (VALUES ('public', %(pub)s, 30, 0), ('professional', %(pro)s, 42, %(pub)s),
                           ('elective', %(ele)s, 18, %(pub)s + %(pro)s)) AS p (category, n, need, first)
        CROSS JOIN LATERAL generate_series(0, p.n - 1) AS k
        ORDER BY s.id
        """,
        {
            "year": year,
            "per": n_pub + n_pro + n_ele,
            "pub": n_pub,
            "pro": n_pro,
            "ele": n_ele,
            "at": f"{year}-06-30 12:00:00+08",
        },
    )
    return cur.rowcount
