"""Demo data for Maoming's school–provider model, on the existing Maoming 2024 period (MM2024) and its
rule set (credits/demo.py, courses/demo.py); runs after the course demo (order 25).

- The notice's five providers serve Maoming, and only they (set here, as each city's admin would:
  providers are a city's own records, with their codes, contacts and staff, so no migration invents them).
- MM2024: one provider per school, courses only through approved offers (立项), filing by 2024-09-15;
  the offer rules of the notice (ordinary ≥ 42 h with 师德师风 on a three-year plan, approved by the
  city; rotation ≥ 60 h from the nine modules, 小学/初中 by the county, 高中 by the city).
- Offers approved and pending (and one returned), submitted and decided through the services.
- Schools in every state: no provider yet (茂南第一中学, the demo principal's, to try the flow), chosen,
  agreement pending, filed and returned; a school directly under the city (局直属) filed with the city.
- Filed schools sent their participant form; some of their teachers passed, so statements have figures.
- Who pays: Maoming's professional fees by the school; Guangzhou 2201's 公需 by the province, 专业/选修
  by the employer.
"""

from __future__ import annotations

import datetime as dt
import io
import random
from decimal import Decimal
from zoneinfo import ZoneInfo

from django.core.files.base import ContentFile

from courses import services
from courses.models import (
    Agreement,
    AgreementState,
    AgreementVersion,
    ApprovalLevel,
    Course,
    CourseMode,
    CourseOffer,
    CourseSelection,
    CourseStatus,
    FeePayer,
    LateRegistration,
    OfferRule,
    OfferStageLevel,
    OutcomeCompilation,
    ParticipantFormSend,
    Payer,
    Provider,
    ProviderStaff,
    SchoolProviderMode,
    SelectionStatus,
    TrainingPeriod,
    ledger_reference,
)
from courses.selectors import participants_of
from credits.models import Category, CreditEntry, CreditKind, Source, Topic
from portal import idcard
from portal.models import Position, Role, RoleAssignment, Stage, Teacher, Unit, UnitKind, User

SHANGHAI = ZoneInfo("Asia/Shanghai")
MAOMING_PROVIDERS = ["BNUZH", "GZOU", "TEACHERONLINE", "GDEI", "NAEA"]
ROTATION_MODULES = [
    "ethics",
    "mental",
    "nurture",
    "digital",
    "preschool",
    "curriculum",
    "shuangjian",
    "school-research",
    "research",
]
ORDINARY_YEAR_ONE = [
    ("师德师风专题：新时代教师职业道德", "10", ["ethics"]),
    ("核心素养导向的课堂教学改进", "16", ["curriculum"]),
    ("“双减”背景下的作业设计与评价", "10", ["shuangjian"]),
    ("教育科研方法与课题研究", "8", ["research"]),
]


def _at(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


def load(ctx) -> None:
    mm = ctx.cities["440900"]
    period = TrainingPeriod.objects.get(code="MM2024")
    _providers(mm)
    _fee_payers(period)
    TrainingPeriod.objects.filter(pk=period.pk).update(
        school_providers=SchoolProviderMode.ONE, offers_required=True, agreement_due_on=dt.date(2024, 9, 15)
    )
    period.refresh_from_db()
    rules = _offer_rules(period)
    offers = _offers(ctx, period, rules)
    _agreements(ctx, period, offers)
    _late_and_outcomes(period)


def _providers(mm: Unit) -> None:
    """The notice's five serve Maoming; the sixth (华南师范大学) serves Guangzhou only."""
    for provider in Provider.objects.all():
        if provider.code in MAOMING_PROVIDERS:
            provider.cities.add(mm)
        else:
            provider.cities.remove(mm)


def _fee_payers(period: TrainingPeriod) -> None:
    rows = [FeePayer(period=period, category=Category.PROFESSIONAL, payer=Payer.EMPLOYER)]
    for gz in TrainingPeriod.objects.filter(city__code="440100"):
        rows += [
            FeePayer(period=gz, category=Category.PUBLIC, payer=Payer.PROVINCE),
            FeePayer(period=gz, category=Category.PROFESSIONAL, payer=Payer.EMPLOYER),
            FeePayer(period=gz, category=Category.ELECTIVE, payer=Payer.EMPLOYER),
        ]
    FeePayer.objects.bulk_create(rows)


def _offer_rules(period: TrainingPeriod) -> dict[str, OfferRule]:
    kinds = {k.code: k for k in CreditKind.objects.all()}
    topics = {t.code: t for t in Topic.objects.all()}
    stages = {s.code: s for s in Stage.objects.all()}
    ordinary = OfferRule.objects.create(
        period=period, kind=kinds["ordinary"], min_hours=Decimal(42), plan_years=3, default_level=ApprovalLevel.CITY
    )
    ordinary.required_topics.set([topics["ethics"]])
    rotation = OfferRule.objects.create(
        period=period, kind=kinds["rotation"], min_hours=Decimal(60), default_level=ApprovalLevel.CITY
    )
    rotation.allowed_topics.set([topics[c] for c in ROTATION_MODULES])
    OfferStageLevel.objects.bulk_create(
        [
            OfferStageLevel(rule=rotation, stage=stages["primary"], level=ApprovalLevel.DISTRICT),
            OfferStageLevel(rule=rotation, stage=stages["junior"], level=ApprovalLevel.DISTRICT),
            OfferStageLevel(rule=rotation, stage=stages["senior"], level=ApprovalLevel.CITY),
        ]
    )
    return {"ordinary": ordinary, "rotation": rotation}


def _admin(role: Role, unit: Unit) -> User:
    return RoleAssignment.objects.filter(role=role, unit=unit).select_related("user").first().user


def _staff(provider: Provider) -> User:
    return ProviderStaff.objects.filter(provider=provider).select_related("user").first().user


def _offers(ctx, period: TrainingPeriod, rules: dict[str, OfferRule]) -> dict[str, list[CourseOffer]]:
    """Per provider: the ordinary offer of year 1 of its plan, and its rotation project where it has one."""
    mm = ctx.cities["440900"]
    maonan = ctx.districts["440900"][0]
    city_admin, county_admin = _admin(Role.CITY_ADMIN, mm), _admin(Role.DISTRICT_ADMIN, maonan)
    stages = {s.code: s for s in Stage.objects.all()}
    topics = {t.code: t for t in Topic.objects.all()}
    ordinary_kind, rotation_kind = rules["ordinary"].kind, rules["rotation"].kind
    approved: dict[str, list[CourseOffer]] = {}
    for n, code in enumerate(MAOMING_PROVIDERS, start=1):
        provider = Provider.objects.get(code=code)
        staff = _staff(provider)
        ordinary = CourseOffer.objects.create(
            provider=provider,
            period=period,
            rule=rules["ordinary"],
            title=f"{provider.name}2024年普通远程培训课程（三年规划第一年）",
            plan_year=1,
            area=mm,
        )
        for k, (title, hours, codes) in enumerate(ORDINARY_YEAR_ONE, start=1):
            course = Course.objects.create(
                period=period,
                code=f"{period.code}-{code[:4]}{k}",
                title=f"{title}（{provider.name}）",
                category=Category.PROFESSIONAL,
                kind=ordinary_kind,
                hours=Decimal(hours),
                provider=provider,
                mode=CourseMode.ONLINE,
                fee_per_hour=Decimal("3.5"),
                description="普通远程培训课程，按专题拆分学时。",
                status=CourseStatus.DRAFT,
                offer=ordinary,
            )
            course.topics.set([topics[c] for c in codes])
        Course.objects.filter(period=period, provider=provider, kind=ordinary_kind, offer__isnull=True).update(
            offer=ordinary
        )
        services.offer_submit(ordinary, staff, _at(2024, 7, 10 + n, 10))
        if code != "NAEA":  # 国家教行政学院's offer is still waiting for the city
            services.offer_approve(ordinary, city_admin, _at(2024, 7, 25, 15))
            approved.setdefault(code, []).append(ordinary)
        rotation_courses = Course.objects.filter(period=period, provider=provider, kind=rotation_kind)
        if not rotation_courses.exists():
            continue
        # 北师大珠海 and 研修网: compulsory education in 茂南区 (the county approves); 广开大: senior high
        # (the city); 广二师: every stage of the city (the city).
        area, serves = {
            "BNUZH": (maonan, ["primary", "junior"]),
            "TEACHERONLINE": (maonan, ["primary", "junior"]),
            "GZOU": (mm, ["senior"]),
        }.get(code, (mm, []))
        rotation = CourseOffer.objects.create(
            provider=provider,
            period=period,
            rule=rules["rotation"],
            title=f"{provider.name}2024年全员轮训网络研修项目",
            area=area,
        )
        rotation.stages.set([stages[s] for s in serves])
        rotation_courses.update(offer=rotation)
        services.offer_submit(rotation, staff, _at(2024, 7, 12, 9))
        if code == "TEACHERONLINE":
            services.offer_return(
                rotation, county_admin, "校本教研模块缺少实施安排，请补充后重新提交", _at(2024, 7, 20, 11)
            )
        elif code in ("BNUZH", "GDEI"):
            decider = county_admin if code == "BNUZH" else city_admin
            services.offer_approve(rotation, decider, _at(2024, 7, 22, 16))
            approved.setdefault(code, []).append(rotation)
    return approved


def _demo_pdf(school: Unit, provider: Provider) -> bytes:
    from reportlab.pdfbase import pdfmetrics
    from reportlab.pdfbase.cidfonts import UnicodeCIDFont
    from reportlab.pdfgen import canvas

    pdfmetrics.registerFont(UnicodeCIDFont("STSong-Light"))
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.setFont("STSong-Light", 16)
    page.drawString(72, 760, "2024年茂名市中小学教师继续教育专业科目远程培训合作协议书（演示）")
    page.setFont("STSong-Light", 12)
    page.drawString(72, 730, f"甲方：{school.name}")
    page.drawString(72, 710, f"乙方：{provider.name}")
    page.save()
    return out.getvalue()


def _city_direct_school(ctx, mm: Unit) -> Unit:
    """A school directly under the city (局直属): it files its agreement with the city."""
    from portal.demo import random_mobile, random_name

    school = Unit.objects.create(code="440900-001", name="茂名市第一中学", kind=UnitKind.SCHOOL, parent=mm)
    senior = Stage.objects.get(code="senior")
    school.stages.set([senior])
    rng: random.Random = ctx.rng
    teachers = [
        Teacher(
            name=random_name(rng),
            id_number=idcard.make("440902", dt.date(1980, 5, 1) + dt.timedelta(days=37 * i), 500 + i),
            unit=school,
            stage=senior,
            subject=["语文", "数学", "英语", "物理"][i % 4],
            position=Position.PRINCIPAL if i == 0 else Position.TEACHER,
            mobile=random_mobile(rng),
        )
        for i in range(8)
    ]
    for teacher in teachers:
        teacher.derive_from_id_number()
    Teacher.objects.bulk_create(teachers)
    return school


def _principal(school: Unit) -> User:
    """The school's admin: the demo's own where there is one, else its principal gets a login (demo password)."""
    from portal.demo import DEMO_PASSWORD

    existing = RoleAssignment.objects.filter(role=Role.SCHOOL_ADMIN, unit=school).select_related("user").first()
    if existing:
        return existing.user
    principal = Teacher.objects.filter(unit=school, position=Position.PRINCIPAL).first()
    user = User(id_number=principal.id_number, name=principal.name, mobile=principal.mobile)
    user.set_password(DEMO_PASSWORD)
    user.save()
    principal.user = user
    principal.save(update_fields=["user"])
    RoleAssignment.objects.create(user=user, role=Role.SCHOOL_ADMIN, unit=school)
    return user


def _agreements(ctx, period: TrainingPeriod, approved: dict[str, list[CourseOffer]]) -> None:
    mm = ctx.cities["440900"]
    city_direct = _city_direct_school(ctx, mm)
    schools = [s for s in ctx.schools["440900"]]
    providers = {p.code: p for p in Provider.objects.filter(code__in=MAOMING_PROVIDERS)}
    # 茂南区: none (the demo principal's school), pending, filed, returned; other counties a mix.
    plan = {
        schools[1].pk: ("BNUZH", AgreementState.PENDING),
        schools[2].pk: ("BNUZH", AgreementState.FILED),
        schools[3].pk: ("TEACHERONLINE", AgreementState.RETURNED),
        city_direct.pk: ("GZOU", AgreementState.PENDING),
    }
    cycle = ["GZOU", "GDEI", "BNUZH", "TEACHERONLINE", "GDEI", "GZOU"]
    states = [AgreementState.FILED, AgreementState.FILED, AgreementState.PENDING, AgreementState.CHOSEN, None]
    for i, school in enumerate(schools[4:]):
        state = states[i % len(states)]
        if state is not None:
            plan[school.pk] = (cycle[i % len(cycle)], state)
    by_pk = {s.pk: s for s in [*schools, city_direct]}
    for school_pk, (code, state) in plan.items():
        school = by_pk[school_pk]
        _agreement(period, school, providers[code], state, _principal(school), ctx.rng, approved.get(code, []))


def _agreement(period, school, provider, state, chooser, rng, offers) -> None:
    filing_unit = services.filing_unit_of(school)
    chosen_at = _at(2024, 8, 2 + rng.randrange(10), 10)
    fee = rng.choice([Decimal("3.00"), Decimal("3.50"), Decimal("4.00")])
    agreement = Agreement.objects.create(
        period=period,
        school=school,
        provider=provider,
        fee_per_hour=None if state == AgreementState.CHOSEN else fee,
        state=state,
        filing_unit=filing_unit,
        chosen_by=chooser,
        chosen_at=chosen_at,
        updated_at=chosen_at,
    )
    if state == AgreementState.CHOSEN:
        return
    decider = RoleAssignment.objects.filter(
        unit=filing_unit, role=Role.DISTRICT_ADMIN if filing_unit.kind == UnitKind.DISTRICT else Role.CITY_ADMIN
    ).first()
    decider_name = decider.user.name if decider else f"{filing_unit.name}教师发展中心"
    pdf = _demo_pdf(school, provider)
    versions = (
        [(AgreementState.RETURNED, "协议未加盖学校公章，请盖章后重新上传")] if state == AgreementState.RETURNED else []
    )
    if state == AgreementState.FILED:
        versions = [(AgreementState.FILED, "")]
    elif state == AgreementState.PENDING:
        versions = [("", "")]
    for number, (decision, reason) in enumerate(versions, start=1):
        version = AgreementVersion(
            agreement=agreement,
            number=number,
            fee_per_hour=fee,
            uploaded_by=chooser,
            uploaded_by_name=chooser.name,
            uploaded_at=chosen_at + dt.timedelta(days=3),
            decision=decision,
            reason=reason,
            decided_by=decider.user if decision and decider else None,
            decided_by_name=decider_name if decision else "",
            decided_at=chosen_at + dt.timedelta(days=8) if decision else None,
        )
        version.file.save(f"agreement-{agreement.pk}-v{number}.pdf", ContentFile(pdf), save=False)
        version.save()
    if state == AgreementState.FILED:
        _train(period, agreement, chooser, rng, offers, chosen_at)


def _train(period, agreement, chooser, rng, offers, when) -> None:
    """The filed school sent its form; its participants took the provider's approved courses, some passed."""
    teachers = participants_of(agreement)
    sent = ParticipantFormSend.objects.create(
        period=period,
        school=agreement.school,
        provider=agreement.provider,
        count=len(teachers),
        sent_by=chooser,
        sent_by_name=chooser.name,
        sent_at=when + dt.timedelta(days=12),
    )
    sent.teachers.set(teachers)
    courses = [
        c
        for offer in offers
        if agreement.school.is_within(offer.area)
        for c in Course.objects.filter(offer=offer).select_related("kind").order_by("code")
    ]
    if not courses:
        return
    entries: list[CreditEntry] = []
    taken: dict[int, int] = {}
    for teacher in teachers:
        for course in rng.sample(courses, k=min(2, len(courses))):
            if course.capacity is not None and course.enrolled_count + taken.get(course.pk, 0) >= course.capacity:
                continue
            passed = rng.random() < 0.6
            selection = CourseSelection.objects.create(
                teacher=teacher,
                course=course,
                period=period,
                selected_at=when + dt.timedelta(days=14),
                status=SelectionStatus.COMPLETED if passed else SelectionStatus.SELECTED,
                completed_at=_at(2024, 11, 20, 10) if passed else None,
            )
            taken[course.pk] = taken.get(course.pk, 0) + 1
            if passed:
                hours = course.hours - (Decimal("0.5") if rng.random() < 0.3 else 0)
                entries.append(
                    CreditEntry(
                        teacher=teacher,
                        year=period.year,
                        category=course.category,
                        kind=course.kind,
                        topic_codes=CreditEntry.join_topics(t.code for t in course.topics.all()),
                        hours=hours,
                        source=Source.IMPORT,
                        reference=ledger_reference(selection.pk),
                        recorded_at=_at(2024, 11, 20, 10),
                        reason=f"{course.code} {course.title} 考核合格",
                    )
                )
    CreditEntry.objects.bulk_create(entries)
    for course_pk, n in taken.items():
        Course.objects.filter(pk=course_pk).update(enrolled_count=Course.objects.get(pk=course_pk).enrolled_count + n)


def _late_and_outcomes(period: TrainingPeriod) -> None:
    """广州开放大学 registered its last December results in January, with the city's reason; 北师大珠海
    handed in its compilation."""
    city_admin = _admin(Role.CITY_ADMIN, period.city)
    gzou, bnuzh = Provider.objects.get(code="GZOU"), Provider.objects.get(code="BNUZH")
    LateRegistration.objects.create(
        period=period,
        provider=gzou,
        until=dt.date(2025, 1, 15),
        reason="12月下旬考核的学员因平台维护未能及时登记",
        granted_by=city_admin,
        granted_by_name=city_admin.name,
        granted_at=_at(2025, 1, 3, 9),
    )
    staff = _staff(bnuzh)
    compilation = OutcomeCompilation(
        period=period,
        provider=bnuzh,
        title="2024年茂名市中小学教师优秀研修成果汇编",
        uploaded_by=staff,
        uploaded_by_name=staff.name,
        uploaded_at=_at(2024, 12, 28, 16),
    )
    compilation.file.save("outcomes.pdf", ContentFile(_demo_pdf(period.city, bnuzh)), save=False)
    compilation.save()
