"""Demo data for special programmes, called by `manage.py load_demo` after the courses demo made the periods.

For each city's current period (year of ``ctx.now``): programmes whose registration is open
on ``ctx.now`` (school deadline a few days later, district and city after that) with a quota
table per district, and applications in every state. Guangzhou also gets the historical 2022
programme with the notice's real dates (register from 03-14, school 03-18, district 03-25,
city 03-30), its list finalized. Applications are written by the domain functions where a
demo login exists (so the audit log and the inbox are real) and in bulk elsewhere.
"""

from __future__ import annotations

import datetime as dt
import logging
from zoneinfo import ZoneInfo

from courses.models import TrainingPeriod
from portal.models import Position, Role, RoleAssignment, Stage, Teacher, UnitKind

from . import services
from .models import (
    Application,
    ApplicationState,
    AuditAction,
    AuditEntry,
    Programme,
    ProgrammeLevel,
    Quota,
)

log = logging.getLogger(__name__)
SHANGHAI = ZoneInfo("Asia/Shanghai")

PRINCIPAL_COURSE = "中学(中职)校长任职资格培训"
PRINCIPAL_TEXT = (
    "面向拟任或新任中学（含中职）校长、副校长，围绕学校发展规划、课程教学领导、"
    "教师队伍建设与依法治校开展集中研修与跟岗实践。学员报名后须按时足时参训，不得无故缺席。"
)


def _end_of_day(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(23, 59, 59), tzinfo=SHANGHAI)


def _programme(period, title, description, seats, opens, closes, chain, stages=(), positions=()) -> Programme:
    programme = Programme.objects.create(
        period=period,
        title=title,
        description=description,
        total_seats=seats,
        registration_opens_at=opens,
        registration_closes_at=closes,
        eligible_positions=list(positions),
    )
    if stages:
        programme.eligible_stages.set(Stage.objects.filter(code__in=stages))
    ProgrammeLevel.objects.bulk_create(
        [
            ProgrammeLevel(programme=programme, order=i, unit_kind=kind, deadline=deadline)
            for i, (kind, deadline) in enumerate(chain, start=1)
        ]
    )
    return programme


def _quotas(programme: Programme, districts, seats_for) -> None:
    Quota.objects.bulk_create(
        [Quota(programme=programme, district=d, seats=seats_for(i)) for i, d in enumerate(districts)]
    )


def _login(role: Role, unit):
    found = RoleAssignment.objects.filter(role=role, unit=unit).select_related("user").first()
    return found.user if found else None


def _bulk(
    programme: Programme,
    teachers,
    state: str,
    level_order: int,
    submitted: dt.datetime,
    decided: dt.datetime | None = None,
    reason: str = "",
) -> None:
    """Applications of teachers without a login, with the audit trail their state implies."""
    levels = list(programme.levels.order_by("order"))
    level = levels[level_order - 1]
    rows = []
    for t in teachers:
        rows.append(
            Application(
                programme=programme,
                teacher=t,
                school=t.unit,
                district_id=t.unit.parent_id,
                state=state,
                level=level,
                deadline=level.deadline,
                submitted_at=submitted,
                decided_at=decided,
                reject_reason=reason,
            )
        )
    created = Application.objects.bulk_create(rows)
    entries = []
    for a in created:
        entries.append(
            AuditEntry(
                programme=programme,
                application=a,
                district=a.district,
                actor_name=a.teacher.name,
                actor_role=Role.TEACHER,
                action=AuditAction.SUBMIT,
                level=levels[0],
                to_state=ApplicationState.SUBMITTED,
                created_at=submitted,
            )
        )
        passed = level_order - 1 if state != ApplicationState.FINALIZED else len(levels)
        for lv in levels[:passed]:
            final = lv == levels[-1]
            entries.append(
                AuditEntry(
                    programme=programme,
                    application=a,
                    district=a.district,
                    actor_name=f"{_approver_unit(a, lv).name}管理员",
                    actor_role=lv.role,
                    action=AuditAction.FINALIZE if final else AuditAction.APPROVE,
                    level=lv,
                    to_state=ApplicationState.FINALIZED if final else ApplicationState.APPROVED,
                    created_at=decided or submitted,
                )
            )
        if state == ApplicationState.REJECTED:
            entries.append(
                AuditEntry(
                    programme=programme,
                    application=a,
                    district=a.district,
                    actor_name=f"{_approver_unit(a, level).name}管理员",
                    actor_role=level.role,
                    action=AuditAction.REJECT,
                    level=level,
                    from_state=ApplicationState.SUBMITTED if level_order == 1 else ApplicationState.APPROVED,
                    to_state=ApplicationState.REJECTED,
                    comment=reason,
                    created_at=decided or submitted,
                )
            )
        if state == ApplicationState.EXPIRED:
            entries.append(
                AuditEntry(
                    programme=programme,
                    application=a,
                    district=a.district,
                    actor_name="系统",
                    actor_role="system",
                    action=AuditAction.EXPIRE,
                    level=level,
                    from_state=ApplicationState.SUBMITTED,
                    to_state=ApplicationState.EXPIRED,
                    created_at=decided or submitted,
                )
            )
    AuditEntry.objects.bulk_create(entries)


def _approver_unit(application: Application, level: ProgrammeLevel):
    if level.unit_kind == UnitKind.SCHOOL:
        return application.school
    if level.unit_kind == UnitKind.DISTRICT:
        return application.district
    return application.programme.period.city


def _eligible(teachers, programme: Programme) -> list[Teacher]:
    stage_ids = set(programme.eligible_stages.values_list("pk", flat=True))
    positions = set(programme.eligible_positions)
    return [
        t
        for t in teachers
        if t.is_active and (not stage_ids or t.stage_id in stage_ids) and (not positions or t.position in positions)
    ]


def _current_guangzhou(ctx, period) -> None:
    now = ctx.now.astimezone(SHANGHAI)
    city = period.city
    districts = ctx.districts[city.code]
    opens = dt.datetime.combine(now.date() - dt.timedelta(days=3), dt.time(8), tzinfo=SHANGHAI)
    school_deadline = _end_of_day(now.date() + dt.timedelta(days=3))
    chain = [
        (UnitKind.SCHOOL, school_deadline),
        (UnitKind.DISTRICT, _end_of_day(now.date() + dt.timedelta(days=10))),
        (UnitKind.CITY, _end_of_day(now.date() + dt.timedelta(days=15))),
    ]
    principals = _programme(
        period,
        PRINCIPAL_COURSE,
        PRINCIPAL_TEXT,
        3 * len(districts),
        opens,
        school_deadline,
        chain,
        stages=("junior", "senior", "vocational"),
        positions=(Position.PRINCIPAL, Position.VICE_PRINCIPAL),
    )
    _quotas(principals, districts, lambda i: 3)
    backbone = _programme(
        period,
        "骨干教师教学能力提升研修班",
        "面向各学段在职教师，开展课堂教学诊断、课例研究与跨校协作研修，结业后承担校本研修指导任务。",
        sum(5 if i else 8 for i in range(len(districts))),
        opens,
        school_deadline,
        chain,
    )
    _quotas(backbone, districts, lambda i: 8 if i == 0 else 5)
    _programme(
        period,
        "中小学心理健康教育骨干教师培训",
        "面向心理健康教育专兼职教师，不设区名额，全市共 60 人。",
        60,
        opens,
        school_deadline,
        chain,
    )
    teachers = [t for t in ctx.teachers[city.code] if t.is_active]
    # Principals across the city: some approved at school, some at district, one rejected.
    eligible = [t for t in _eligible(teachers, principals) if t.user_id is None]
    submitted = opens + dt.timedelta(hours=10)
    decided = now - dt.timedelta(hours=20)
    _bulk(principals, eligible[0:3], ApplicationState.SUBMITTED, 1, submitted)
    _bulk(principals, eligible[3:6], ApplicationState.APPROVED, 2, submitted, decided)
    _bulk(principals, eligible[6:8], ApplicationState.APPROVED, 3, submitted, decided)
    _bulk(principals, eligible[8:9], ApplicationState.REJECTED, 1, submitted, decided, "本年度已参加同类培训")
    # The demo school: its teachers wait for the demo school admin; the demo teacher's login is left to apply.
    school = ctx.schools[city.code][0]
    own = [t for t in teachers if t.unit_id == school.pk and t.user_id is None and t.position != Position.PRINCIPAL]
    _bulk(backbone, own[:5], ApplicationState.SUBMITTED, 1, submitted)
    _bulk(backbone, own[5:7], ApplicationState.APPROVED, 2, submitted, decided)
    others = [t for t in teachers if t.unit.parent_id == districts[0].pk and t.unit_id != school.pk]
    _bulk(backbone, others[:6], ApplicationState.APPROVED, 2, submitted, decided)
    _bulk(backbone, others[6:8], ApplicationState.SUBMITTED, 1, submitted)
    # One decision taken through the domain functions by the demo district admin, so the audit log has it.
    carol = _login(Role.DISTRICT_ADMIN, districts[0])
    first = Application.objects.filter(programme=backbone, level__order=2).first()
    if carol is not None and first is not None:
        services.application_approve(
            actor=carol, application=first, now=now - dt.timedelta(hours=2), comment="同意推荐"
        )


def _current_maoming(ctx, period) -> None:
    now = ctx.now.astimezone(SHANGHAI)
    city = period.city
    districts = ctx.districts[city.code]
    opens = dt.datetime.combine(now.date() - dt.timedelta(days=2), dt.time(8), tzinfo=SHANGHAI)
    school_deadline = _end_of_day(now.date() + dt.timedelta(days=4))
    county = _programme(
        period,
        "义务教育阶段教师全员轮训网络研修（县级立项）",
        "面向 2024 年轮训学时未达 60 的义务教育阶段教师，由县级教师发展中心审核立项，审核通过即为最终名单。",
        20 * len(districts),
        opens,
        school_deadline,
        [(UnitKind.SCHOOL, school_deadline), (UnitKind.DISTRICT, _end_of_day(now.date() + dt.timedelta(days=11)))],
        stages=("primary", "junior"),
    )
    _quotas(county, districts, lambda i: 20)
    _programme(
        period,
        "高中教师全员轮训网络研修（市级立项）",
        "面向高中教师，学校审核后由市教师发展中心立项审定。",
        80,
        opens,
        school_deadline,
        [(UnitKind.SCHOOL, school_deadline), (UnitKind.CITY, _end_of_day(now.date() + dt.timedelta(days=12)))],
        stages=("senior",),
    )
    teachers = [t for t in ctx.teachers[city.code] if t.is_active and t.user_id is None]
    eligible = _eligible(teachers, county)
    submitted = opens + dt.timedelta(hours=9)
    decided = now - dt.timedelta(hours=12)
    _bulk(county, eligible[0:8], ApplicationState.SUBMITTED, 1, submitted)
    _bulk(county, eligible[8:14], ApplicationState.APPROVED, 2, submitted, decided)
    _bulk(county, eligible[14:18], ApplicationState.FINALIZED, 2, submitted, decided)


def _historical_guangzhou(ctx, period) -> None:
    """2022: the notice's dates; the list was finalized by the city on 03-30."""
    city = period.city
    districts = ctx.districts[city.code]

    def d(day: int, end: bool = True) -> dt.datetime:
        return _end_of_day(dt.date(2022, 3, day)) if end else dt.datetime(2022, 3, day, 9, tzinfo=SHANGHAI)

    programme = _programme(
        period,
        PRINCIPAL_COURSE,
        PRINCIPAL_TEXT,
        2 * len(districts),
        d(14, False),
        d(18),
        [(UnitKind.SCHOOL, d(18)), (UnitKind.DISTRICT, d(25)), (UnitKind.CITY, d(30))],
        stages=("junior", "senior", "vocational"),
        positions=(Position.PRINCIPAL, Position.VICE_PRINCIPAL),
    )
    _quotas(programme, districts, lambda i: 2)
    eligible = [t for t in _eligible(ctx.teachers[city.code], programme) if t.user_id is None]
    _bulk(programme, eligible[:7], ApplicationState.FINALIZED, 3, d(15, False), d(29, False))
    _bulk(programme, eligible[7:9], ApplicationState.REJECTED, 2, d(15, False), d(24, False), "本区名额已满")
    _bulk(programme, eligible[9:10], ApplicationState.EXPIRED, 1, d(16, False), d(19, False))


def load(ctx) -> None:
    """Fill in this app's demo data. ``ctx`` is portal.demo.DemoContext."""
    year = ctx.now.astimezone(SHANGHAI).year
    for code, city in ctx.cities.items():
        current = TrainingPeriod.objects.filter(city=city, year=year).order_by("-selection_opens_at").first()
        if current is None:
            log.warning("enrollment demo: no %s training period of %s; no programmes made", city.name, year)
            continue
        if code == "440100":
            _current_guangzhou(ctx, current)
        else:
            _current_maoming(ctx, current)
    gz = ctx.cities.get("440100")
    historical = TrainingPeriod.objects.filter(city=gz, year=2022).order_by("selection_opens_at").first()
    if historical is not None and not historical.programmes.exists():
        _historical_guangzhou(ctx, historical)
