"""Realistic demo data: Guangzhou and Maoming with their districts, schools,
teachers and one login per role. Other apps add theirs as registered demo steps
(``portal.registry.register_demo``).
"""

import datetime as dt
import random
from dataclasses import dataclass, field

from django.db import connection, transaction
from django.utils import timezone

from portal import idcard
from portal.models import (
    DistrictType,
    Ownership,
    Position,
    ReminderDate,
    Role,
    RoleAssignment,
    Stage,
    Teacher,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.registry import DEMO_STEPS, MEMBERSHIPS

DEMO_PASSWORD = "jijiao2026"  # noqa: S105 - printed for the demo, never used outside it

CITIES = {
    "440100": (
        "广州市",
        "4401",
        [
            ("440104", "越秀区", DistrictType.DISTRICT),
            ("440105", "海珠区", DistrictType.DISTRICT),
            ("440103", "荔湾区", DistrictType.DISTRICT),
            ("440106", "天河区", DistrictType.DISTRICT),
            ("440111", "白云区", DistrictType.DISTRICT),
            ("440112", "黄埔区", DistrictType.DISTRICT),
            ("440113", "番禺区", DistrictType.DISTRICT),
            ("440114", "花都区", DistrictType.DISTRICT),
            ("440115", "南沙区", DistrictType.DISTRICT),
            ("440117", "从化区", DistrictType.DISTRICT),
            ("440118", "增城区", DistrictType.DISTRICT),
        ],
    ),
    "440900": (
        "茂名市",
        "4409",
        [
            ("440902", "茂南区", DistrictType.DISTRICT),
            ("440904", "电白区", DistrictType.DISTRICT),
            ("440981", "高州市", DistrictType.COUNTY_CITY),
            ("440982", "化州市", DistrictType.COUNTY_CITY),
            ("440983", "信宜市", DistrictType.COUNTY_CITY),
            ("440991", "滨海新区", DistrictType.ZONE),
            ("440992", "高新区", DistrictType.ZONE),
        ],
    ),
}

SCHOOL_TEMPLATES = [
    ("第一中学", Ownership.PUBLIC, ["junior", "senior"]),
    ("实验小学", Ownership.PUBLIC, ["primary"]),
    ("育才幼儿园", Ownership.PUBLIC, ["kindergarten"]),
    ("华英学校", Ownership.PRIVATE, ["primary", "junior"]),
]
SUBJECTS = {
    "kindergarten": ["学前教育"],
    "primary": ["语文", "数学", "英语", "科学", "音乐", "体育", "美术", "道德与法治"],
    "junior": ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "道德与法治", "信息科技"],
    "senior": ["语文", "数学", "英语", "物理", "化学", "生物", "历史", "地理", "思想政治", "信息技术"],
    "vocational": ["计算机应用", "电子商务", "机电技术"],
    "special": ["特殊教育"],
}
SURNAMES = "王李张刘陈杨黄赵吴周徐孙马朱胡郭何林罗高梁郑谢宋唐许韩冯邓曹彭曾肖田董潘袁蔡蒋余"
GIVEN = "伟芳娜敏静丽强磊军洋勇艳杰娟涛明超秀霞平刚桂英华建国文海燕红玲晓梅雪琳婷慧"


def random_name(rng: random.Random) -> str:
    return rng.choice(SURNAMES) + "".join(rng.choice(GIVEN) for _ in range(rng.choice((1, 2))))


def random_mobile(rng: random.Random) -> str:
    return f"1{rng.choice('3578')}{rng.randrange(10**9):09d}"


def random_birth(rng: random.Random) -> dt.date:
    return dt.date(1965, 1, 1) + dt.timedelta(days=rng.randrange(365 * 35))


@dataclass
class DemoContext:
    """What the organisation step made, for the other apps' demo loaders."""

    now: dt.datetime
    rng: random.Random
    cities: dict[str, Unit] = field(default_factory=dict)
    districts: dict[str, list[Unit]] = field(default_factory=dict)  # city code -> districts
    schools: dict[str, list[Unit]] = field(default_factory=dict)  # city code -> schools
    teachers: dict[str, list[Teacher]] = field(default_factory=dict)  # city code -> teachers


def _demo_user(name: str, area: str, seq: int, **extra) -> User:
    number = idcard.make(area, dt.date(1980, 1, 1) + dt.timedelta(days=seq), 100 + seq % 800)
    user = User(id_number=number, name=name, **extra)
    user.set_password(DEMO_PASSWORD)
    user.save()
    return user


def build_organisation(ctx: DemoContext, teachers_per_school: int = 12) -> None:
    stages = {s.code: s for s in Stage.objects.all()}
    rng = ctx.rng
    teachers: list[Teacher] = []
    for city_code, (city_name, _prefix, districts) in CITIES.items():
        city = Unit.objects.create(code=city_code, name=city_name, kind=UnitKind.CITY)
        ctx.cities[city_code] = city
        Unit.objects.create(code=f"{city_code}-TDC", name=f"{city_name}教师发展中心", kind=UnitKind.CENTER, parent=city)
        ctx.districts[city_code] = []
        ctx.schools[city_code] = []
        for d_code, d_name, d_type in districts:
            district = Unit.objects.create(
                code=d_code, name=d_name, kind=UnitKind.DISTRICT, parent=city, district_type=d_type
            )
            ctx.districts[city_code].append(district)
            for n, (suffix, ownership, stage_codes) in enumerate(SCHOOL_TEMPLATES, start=1):
                short = d_name.removesuffix("区").removesuffix("市")
                school = Unit.objects.create(
                    code=f"{d_code}{n:03d}",
                    name=f"{city_name.removesuffix('市')}市{short}{suffix}",
                    kind=UnitKind.SCHOOL,
                    parent=district,
                    ownership=ownership,
                )
                school.stages.set([stages[c] for c in stage_codes])
                ctx.schools[city_code].append(school)
                for i in range(teachers_per_school):
                    stage_code = stage_codes[i % len(stage_codes)]
                    status = TeacherStatus.ACTIVE
                    if i == teachers_per_school - 1 and n == 1:
                        status = TeacherStatus.RETIRED
                    teachers.append(
                        Teacher(
                            name=random_name(rng),
                            id_number=idcard.make(d_code, random_birth(rng), rng.randrange(1000)),
                            unit=school,
                            stage=stages[stage_code],
                            subject=rng.choice(SUBJECTS[stage_code]),
                            position=Position.PRINCIPAL if i == 0 else Position.TEACHER,
                            mobile=random_mobile(rng),
                            status=status,
                            status_date=dt.date(2026, 7, 1) if status != TeacherStatus.ACTIVE else None,
                        )
                    )
    # Generated numbers can collide; keep the first of each.
    unique = {t.id_number: t for t in reversed(teachers)}
    for teacher in unique.values():
        teacher.derive_from_id_number()
    Teacher.objects.bulk_create(list(unique.values()))
    for city_code in ctx.cities:
        ctx.teachers[city_code] = list(
            Teacher.objects.filter(unit__path__startswith=f"/{city_code}/").select_related("unit", "stage")
        )


def build_logins(ctx: DemoContext) -> None:
    """One login per role and city; the teacher logins are real roster entries."""
    for city_code, city in ctx.cities.items():
        area = CITIES[city_code][2][0][0]
        school = ctx.schools[city_code][0]
        district = ctx.districts[city_code][0]
        teacher = next(
            t for t in ctx.teachers[city_code] if t.unit == school and t.is_active and t.position != "principal"
        )
        user = User(id_number=teacher.id_number, name=teacher.name, mobile=teacher.mobile)
        user.set_password(DEMO_PASSWORD)
        user.save()
        teacher.user = user
        teacher.save(update_fields=["user"])

        principal = next(t for t in ctx.teachers[city_code] if t.unit == school and t.position == "principal")
        admin = User(id_number=principal.id_number, name=principal.name, mobile=principal.mobile)
        admin.set_password(DEMO_PASSWORD)
        admin.save()
        principal.user = admin
        principal.save(update_fields=["user"])
        RoleAssignment.objects.create(user=admin, role=Role.SCHOOL_ADMIN, unit=school)

        d_admin = _demo_user(f"{district.name}继教办", area, 1)
        RoleAssignment.objects.create(user=d_admin, role=Role.DISTRICT_ADMIN, unit=district)

        c_admin = _demo_user(f"{city.name}教师发展中心", area, 2, is_staff=True)
        RoleAssignment.objects.create(user=c_admin, role=Role.CITY_ADMIN, unit=city)


def build_reminder_dates(ctx: DemoContext) -> None:
    """Guangzhou's habit: remind teachers short of hours on 1 November and 1 December."""
    year = timezone.localdate(ctx.now).year
    ReminderDate.objects.bulk_create(
        ReminderDate(city=city, date=dt.date(year, month, 1), note="学时不足提醒")
        for city in ctx.cities.values()
        for month in (11, 12)
    )


def load(seed: int = 2026, now: dt.datetime | None = None) -> DemoContext:
    ctx = DemoContext(now=now or timezone.now(), rng=random.Random(seed))
    with transaction.atomic():
        build_organisation(ctx)
        build_logins(ctx)
        build_reminder_dates(ctx)
        for _order, step in DEMO_STEPS:
            step(ctx)
        # Fresh statistics: planned on those of empty tables, the city-wide pages take seconds.
        with connection.cursor() as cursor:
            if connection.vendor == "postgresql":  # autovacuum may be analysing a table just filled: wait for it
                cursor.execute("SET LOCAL lock_timeout = '60s'")
            cursor.execute("ANALYZE")
    return ctx


def logins() -> list[tuple[str, str, str]]:
    """The demo logins as stored: every role holder who has a password, one per role and unit."""
    rows: list[tuple[str, str, str]] = []
    for a in RoleAssignment.objects.select_related("user", "unit").order_by("unit__path", "role"):
        rows.append((f"{a.get_role_display()}（{a.unit.name}）", a.user.id_number, a.user.name))
    for membership in MEMBERSHIPS:
        for organisation, user in membership.holders():
            rows.append((f"{membership.role.label}（{organisation}）", user.id_number, user.name))
    for operator in User.objects.filter(is_operator=True).order_by("pk"):
        rows.append((str(Role.OPERATOR.label), operator.id_number, operator.name))
    admins = {row[1] for row in rows}
    teachers = Teacher.objects.filter(user__isnull=False).select_related("unit", "user")
    for t in teachers.order_by("unit__path", "user__must_change_password", "id"):
        if t.id_number not in admins:
            note = "，首次登录须修改密码" if t.user.must_change_password else ""
            rows.append((f"{Role.TEACHER.label}（{t.unit.name}{note}）", t.id_number, t.name))
    return rows


def is_loaded() -> bool:
    return Unit.objects.filter(code__in=CITIES.keys()).exists()
