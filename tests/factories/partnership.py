"""Maoming 2024's school–provider model on the ``tree`` fixture's city: the notice's dates, fee cap and rules."""

import datetime as dt
import io
from decimal import Decimal
from types import SimpleNamespace

from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.pdfgen import canvas

from courses.models import (
    ApprovalLevel,
    CourseOffer,
    CourseStatus,
    OfferRule,
    OfferStageLevel,
    ProviderStaff,
    SchoolProviderMode,
)
from credits.models import CreditKind, Topic
from portal.models import Stage, User
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, shanghai
from tests.factories.credits import MAOMING_TREE, RuleSetFactory, preloaded
from tests.factories.portal import UserFactory

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
IN_TRAINING = shanghai(2024, 9, 10, 10)  # inside 2024-08-01 .. 2024-12-31


def real_pdf(text: str = "agreement") -> bytes:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, text)
    page.save()
    return out.getvalue()


def pdf_upload(name: str = "协议.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, real_pdf(), content_type="application/pdf")


def private_files_in(monkeypatch, path) -> None:
    """Keep a test's uploaded documents under ``path``: the fields' storages were built at import time."""
    from courses.models import AgreementVersion, OutcomeCompilation

    for model in (AgreementVersion, OutcomeCompilation):
        storage = model._meta.get_field("file").storage
        monkeypatch.setattr(storage, "base_location", str(path), raising=False)
        monkeypatch.setattr(storage, "location", str(path), raising=False)


def topics(*codes):
    for code in codes:
        Topic.objects.get_or_create(code=code, defaults={"name": code})
    return list(Topic.objects.filter(code__in=codes))


def staff_of(provider, name="机构老师") -> User:
    user = UserFactory(name=name)
    ProviderStaff.objects.create(provider=provider, user=user)
    return user


def maoming(tree, **period_fields) -> SimpleNamespace:
    """Period MM2024 of ``tree.city`` (one provider per school, offers required, 4 元 cap, filing by 09-15),
    its offer rules (ordinary ≥ 42 with 师德师风 on a 3-year plan, by the city; rotation ≥ 60 from the nine
    modules, 小学/初中 by the county, 高中 by the city) and two providers serving the city, with staff."""
    preloaded()
    topics(*ROTATION_MODULES)
    for code, name, order in (("primary", "小学", 20), ("junior", "初中", 30), ("senior", "高中", 40)):
        Stage.objects.get_or_create(code=code, defaults={"name": name, "order": order})
    kinds = {k.code: k for k in CreditKind.objects.all()}
    stages = {s.code: s for s in Stage.objects.all()}
    rule_set = RuleSetFactory(city=tree.city, year=2024, tree=MAOMING_TREE)
    fields = {
        "school_providers": SchoolProviderMode.ONE,
        "offers_required": True,
        "max_fee_per_hour": Decimal("4.00"),
        "agreement_due_on": dt.date(2024, 9, 15),
        **period_fields,
    }
    period = PeriodFactory(
        city=tree.city,
        year=2024,
        code="MM2024",
        name="茂名市2024年专业科目远程培训",
        rule_set=rule_set,
        selection_opens_at=shanghai(2024, 8, 1),
        selection_closes_at=shanghai(2025, 1, 1),
        late_opens_at=None,
        late_closes_at=None,
        training_starts_on=dt.date(2024, 8, 1),
        training_ends_on=dt.date(2024, 12, 31),
        **fields,
    )
    ordinary = OfferRule.objects.create(period=period, kind=kinds["ordinary"], min_hours=42, plan_years=3)
    ordinary.required_topics.set(topics("ethics"))
    rotation = OfferRule.objects.create(period=period, kind=kinds["rotation"], min_hours=60)
    rotation.allowed_topics.set(topics(*ROTATION_MODULES))
    for code, level in (("primary", "district"), ("junior", "district"), ("senior", "city")):
        OfferStageLevel.objects.create(rule=rotation, stage=stages[code], level=level)
    p1, p2 = ProviderFactory(name="北京师范大学珠海校区"), ProviderFactory(name="广州开放大学")
    for provider in (p1, p2):
        provider.cities.add(tree.city)
    return SimpleNamespace(
        tree=tree,
        period=period,
        ordinary=ordinary,
        rotation=rotation,
        kinds=kinds,
        stages=stages,
        p1=p1,
        p2=p2,
        staff1=staff_of(p1, "北师大老师"),
        staff2=staff_of(p2, "广开大老师"),
    )


def offer_with_courses(
    m,
    provider,
    rule,
    *,
    hours=(10, 16, 16),
    topic_codes=("ethics", "curriculum", "research"),
    area=None,
    stages=(),
    plan_year=1,
    fee=Decimal("3.50"),
) -> CourseOffer:
    """A draft offer with one course per ``hours`` (topic by topic), all of the rule's kind."""
    offer = CourseOffer.objects.create(
        provider=provider,
        period=m.period,
        rule=rule,
        title=f"{provider.name}·{rule.kind.name}",
        plan_year=plan_year if rule.plan_years else None,
        area=area or m.tree.city,
    )
    offer.stages.set([m.stages[s] for s in stages])
    for h, code in zip(hours, topic_codes, strict=True):
        course = CourseFactory(
            period=m.period,
            provider=provider,
            kind=rule.kind,
            hours=Decimal(str(h)),
            fee_per_hour=fee,
            offer=offer,
            status=CourseStatus.DRAFT,
        )
        course.topics.set(topics(code))
    return offer


def approved_offer(m, provider, rule=None, **kwargs) -> CourseOffer:
    from courses.services import offer_approve, offer_submit
    from portal.models import Role, RoleAssignment

    rule = rule or m.ordinary
    offer = offer_with_courses(m, provider, rule, **kwargs)
    staff = ProviderStaff.objects.filter(provider=provider).first().user
    offer_submit(offer, staff, IN_TRAINING)
    offer.refresh_from_db()
    approver = (
        RoleAssignment.objects.filter(
            unit=offer.approver,
            role=Role.DISTRICT_ADMIN if offer.approval_level == ApprovalLevel.DISTRICT else Role.CITY_ADMIN,
        )
        .first()
        .user
    )
    offer_approve(offer, approver, IN_TRAINING)
    offer.refresh_from_db()
    return offer
