"""manage.py seed_scale --teachers N [--city-code CODE] [--per-school 80]

A city of N teachers for benchmarks and load tests: districts of up to 150
schools, about 80 teachers per school, valid unique generated ID numbers
(gender and birth date derived while generating). Units go in with
bulk_create, teachers with COPY on PostgreSQL (bulk_create elsewhere), so
250,000 teachers take well under a minute.
"""

import datetime as dt
import io
import math
import random
import time

from django.core.management.base import BaseCommand, CommandError
from django.db import connection, transaction
from django.utils import timezone

from portal import idcard
from portal.demo import GIVEN, SUBJECTS, SURNAMES
from portal.models import DistrictType, Ownership, Stage, Teacher, TeacherStatus, Unit, UnitKind

SCHOOLS_PER_DISTRICT = 150
_BIRTH_BASE = dt.date(1963, 1, 1)
_BIRTH_DAYS = 12775  # 35 years; 37 is prime to it, so (k * 37) % _BIRTH_DAYS never repeats below it
_SCHOOL_STAGES = (["primary"], ["junior"], ["junior", "senior"], ["kindergarten"], ["primary", "junior"])


def build_city(city_code: str, schools: int, *, name: str | None = None) -> tuple[Unit, list[Unit], list[Unit]]:
    """A city with districts and ``schools`` schools (codes "<district><nnn>"), in a few queries."""
    if not (len(city_code) == 6 and city_code.isdigit()):
        raise CommandError("--city-code must be 6 digits (its first four make the generated ID numbers' area codes)")
    if Unit.objects.filter(code=city_code).exists():
        raise CommandError(f"unit {city_code} already exists; pick another --city-code")
    n_districts = max(1, math.ceil(schools / SCHOOLS_PER_DISTRICT))
    if n_districts > 99:
        raise CommandError("at most 99 districts (14,850 schools)")
    city = Unit.objects.create(code=city_code, name=name or f"规模测试市{city_code}", kind=UnitKind.CITY)
    districts = []
    for d in range(1, n_districts + 1):
        code = f"{city_code[:4]}{d:02d}"
        districts.append(
            Unit(
                code=code,
                name=f"测试{d}区",
                kind=UnitKind.DISTRICT,
                parent=city,
                district_type=DistrictType.DISTRICT,
                path=f"{city.path}{code}/",
            )
        )
    districts = Unit.objects.bulk_create(districts)
    school_units = []
    for s in range(schools):
        district = districts[s // SCHOOLS_PER_DISTRICT]
        code = f"{district.code}{s % SCHOOLS_PER_DISTRICT + 1:03d}"
        school_units.append(
            Unit(
                code=code,
                name=f"{district.name}第{s % SCHOOLS_PER_DISTRICT + 1}学校",
                kind=UnitKind.SCHOOL,
                parent=district,
                path=f"{district.path}{code}/",
                ownership=Ownership.PRIVATE if s % 7 == 6 else Ownership.PUBLIC,
            )
        )
    school_units = Unit.objects.bulk_create(school_units, batch_size=2000)
    if connection.vendor != "postgresql":  # bulk_create sets primary keys on PostgreSQL and SQLite 3.35+
        school_units = list(Unit.objects.filter(path__startswith=city.path, kind=UnitKind.SCHOOL).order_by("id"))
    stages = {s.code: s.pk for s in Stage.objects.all()}
    through = Unit.stages.through
    links = [
        through(unit_id=school.pk, stage_id=stages[code])
        for n, school in enumerate(school_units)
        for code in _SCHOOL_STAGES[n % len(_SCHOOL_STAGES)]
        if code in stages
    ]
    through.objects.bulk_create(links, batch_size=5000)
    return city, districts, school_units


def teacher_rows(schools: list[Unit], count: int, seed: int = 1):
    """(name, id_number, gender, birth_date, unit_id, stage_id, subject, mobile) for ``count`` teachers."""
    rng = random.Random(seed)  # noqa: S311 - made-up names, not secrets
    stages = {s.code: s.pk for s in Stage.objects.all()}
    per_school = math.ceil(count / len(schools))
    made_in_district: dict[str, int] = {}
    surnames, given = SURNAMES, GIVEN
    for i in range(count):
        n = i // per_school
        school = schools[n]
        area = school.path.split("/")[2]
        k = made_in_district.get(area, 0)
        made_in_district[area] = k + 1
        seq = k % 1000
        birth = _BIRTH_BASE + dt.timedelta(days=(k // 1000) * 37 % _BIRTH_DAYS)
        first17 = f"{area}{birth:%Y%m%d}{seq:03d}"
        stage_code = _SCHOOL_STAGES[n % len(_SCHOOL_STAGES)][i % len(_SCHOOL_STAGES[n % len(_SCHOOL_STAGES)])]
        yield (
            rng.choice(surnames) + rng.choice(given) + (rng.choice(given) if i % 3 else ""),
            first17 + idcard.check_digit(first17),
            "M" if seq % 2 else "F",
            birth,
            school.pk,
            stages.get(stage_code),
            rng.choice(SUBJECTS[stage_code]),
            f"1{3 + i % 7}{i:09d}",
        )


class Command(BaseCommand):
    help = "Make a city of N teachers fast (benchmarks, load tests)."

    def add_arguments(self, parser):
        parser.add_argument("--teachers", type=int, required=True)
        parser.add_argument("--city-code", default="990100", help="6 digits; default 990100")
        parser.add_argument("--per-school", type=int, default=80)

    def handle(self, *args, teachers, city_code, per_school, **options):
        if teachers < 0 or per_school < 1:
            raise CommandError("--teachers must be >= 0 and --per-school >= 1")
        started = time.monotonic()
        with transaction.atomic():
            city, districts, schools = build_city(city_code, max(1, math.ceil(teachers / per_school)))
            if teachers:
                rows = teacher_rows(schools, teachers)
                if connection.vendor == "postgresql":
                    _copy_teachers(rows)
                else:
                    _bulk_teachers(rows)
        self.stdout.write(
            f"city {city.code}: {len(districts)} districts, {len(schools)} schools, {teachers} teachers "
            f"in {time.monotonic() - started:.1f} s"
        )


_COLUMNS = (
    "name",
    "id_number",
    "gender",
    "birth_date",
    "unit_id",
    "stage_id",
    "subject",
    "mobile",
    "position",
    "status",
    "created_at",
    "updated_at",
)


def _copy_teachers(rows, chunk: int = 50_000) -> None:
    now = timezone.now().isoformat()
    tail = f"\tteacher\t{TeacherStatus.ACTIVE.value}\t{now}\t{now}\n"
    sql = f"COPY {Teacher._meta.db_table} ({', '.join(_COLUMNS)}) FROM STDIN"
    with connection.cursor() as cursor:
        while True:
            buf = io.StringIO()
            n = 0
            for name, number, gender, birth, unit_id, stage_id, subject, mobile in rows:
                stage = "\\N" if stage_id is None else stage_id
                buf.write(f"{name}\t{number}\t{gender}\t{birth}\t{unit_id}\t{stage}\t{subject}\t{mobile}{tail}")
                n += 1
                if n == chunk:
                    break
            if not n:
                return
            buf.seek(0)
            cursor.copy_expert(sql, buf)


def _bulk_teachers(rows, chunk: int = 5000) -> None:
    batch = []
    for name, number, gender, birth, unit_id, stage_id, subject, mobile in rows:
        batch.append(
            Teacher(
                name=name,
                id_number=number,
                gender=gender,
                birth_date=birth,
                unit_id=unit_id,
                stage_id=stage_id,
                subject=subject,
                mobile=mobile,
            )
        )
        if len(batch) == chunk:
            Teacher.objects.bulk_create(batch)
            batch = []
    Teacher.objects.bulk_create(batch)
