"""What every benchmark needs: a fresh PostgreSQL database of its own, Django on it, peak memory."""

import os
import resource
import sys
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parent.parent
if str(ROOT) not in sys.path:
    sys.path.insert(0, str(ROOT))


def rss_mb() -> float:
    """Peak resident memory of this process so far, in MB."""
    return resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024


def fresh_database(name: str) -> str:
    """Drop and create database ``name`` beside DATABASE_URL's, point Django at it, migrate; its URL.

    Exits with a hint when DATABASE_URL is not PostgreSQL (`eval "$(.ci/services env)"` sets it).
    """
    import psycopg2

    url = os.environ.get("DATABASE_URL")
    if not url or not url.startswith("postgres"):
        sys.exit('DATABASE_URL must point at PostgreSQL: eval "$(.ci/services env)" first')
    parts = urlsplit(url)
    admin = psycopg2.connect(urlunsplit(parts._replace(path="/postgres")))
    admin.autocommit = True
    with admin.cursor() as cur:
        cur.execute(f"DROP DATABASE IF EXISTS {name}")
        cur.execute(f"CREATE DATABASE {name}")
    admin.close()
    bench_url = urlunsplit(parts._replace(path=f"/{name}"))
    os.environ["DATABASE_URL"] = bench_url
    os.environ["DJANGO_SETTINGS_MODULE"] = "tests.settings"
    import django

    django.setup()
    from django.core.management import call_command

    call_command("migrate", verbosity=0)
    return bench_url


def build_guangzhou_2201(teachers: int):
    """Period 2201 and its principals' programme with the notice's chain, for ``teachers`` teachers.

    A city, a district with 50 schools, the teachers (each with a login), the
    period, the programme and its levels: school by 03-18, district by 03-25,
    city by 03-30 (23:59:59 Asia/Shanghai). Returns (district, teachers, programme, levels).
    """
    import datetime as dt
    from zoneinfo import ZoneInfo

    from django.contrib.auth.hashers import make_password

    from courses.models import TrainingPeriod
    from enrollment.models import Programme, ProgrammeLevel
    from portal import idcard
    from portal.models import Teacher, Unit, UnitKind, User

    shanghai = ZoneInfo("Asia/Shanghai")
    city = Unit.objects.create(code="440100", name="广州市", kind=UnitKind.CITY)
    district = Unit.objects.create(code="440106", name="天河区", kind=UnitKind.DISTRICT, parent=city)
    schools = [Unit(code=f"S{i:04d}", name=f"学校{i}", kind=UnitKind.SCHOOL, parent=district) for i in range(50)]
    for school in schools:
        school.path = school.compute_path()
    schools = Unit.objects.bulk_create(schools)
    numbers = [
        idcard.make("440106", dt.date(1970, 1, 1) + dt.timedelta(days=i // 1000), i % 1000) for i in range(teachers)
    ]
    password = make_password(None)
    users = User.objects.bulk_create(
        [User(id_number=num, name=f"教师{i}", password=password) for i, num in enumerate(numbers)], batch_size=5000
    )
    rows = []
    for i, (num, user) in enumerate(zip(numbers, users, strict=True)):
        teacher = Teacher(name=f"教师{i}", id_number=num, unit=schools[i % len(schools)], user=user, subject="数学")
        teacher.derive_from_id_number()
        rows.append(teacher)
    rows = Teacher.objects.bulk_create(rows, batch_size=5000)
    period = TrainingPeriod.objects.create(
        city=city,
        year=2022,
        code="2201",
        name="2201期",
        selection_opens_at=dt.datetime(2022, 3, 15, tzinfo=shanghai),
        selection_closes_at=dt.datetime(2022, 3, 29, 23, 59, 59, tzinfo=shanghai),
        training_starts_on=dt.date(2022, 4, 20),
        training_ends_on=dt.date(2022, 6, 20),
    )
    programme = Programme.objects.create(
        period=period,
        title="中学(中职)校长任职资格培训",
        total_seats=teachers,
        registration_opens_at=dt.datetime(2022, 3, 14, tzinfo=shanghai),
        registration_closes_at=dt.datetime(2022, 3, 18, 23, 59, 59, tzinfo=shanghai),
    )
    levels = ProgrammeLevel.objects.bulk_create(
        [
            ProgrammeLevel(
                programme=programme,
                order=i,
                unit_kind=kind,
                deadline=dt.datetime(2022, 3, day, 23, 59, 59, tzinfo=shanghai),
            )
            for i, (kind, day) in enumerate(((UnitKind.SCHOOL, 18), (UnitKind.DISTRICT, 25), (UnitKind.CITY, 30)), 1)
        ]
    )
    return district, rows, programme, levels
