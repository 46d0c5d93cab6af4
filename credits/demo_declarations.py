"""Demo data of hours earned outside the catalogue: each city's declaration settings, declarations in every
state (pending, certified, returned, revoked, in the district's spot-check sample and checked), and
school-based training activities, made through the real services so the ledger and audit agree.
"""

from __future__ import annotations

import datetime as dt
import io
from decimal import Decimal

from django.core.files.uploadedfile import SimpleUploadedFile
from reportlab.pdfgen import canvas

from credits import declaration_services as declarations
from credits import school_training_services as training
from credits.models import Declaration, DeclarationSettings, DeclarationState, Topic
from portal.models import Role, RoleAssignment, TeacherStatus

# (title, organiser, days before now it started, full days, minutes, hours, category, topic code)
DECLARED = [
    ("广东省中小学教师学科教学研讨会", "广东省教育研究院", 40, 2, 0, "16", "professional", "curriculum"),
    ("区域教研：大单元教学设计工作坊", "区教师发展中心", 30, 0, 180, "4", "professional", ""),
    ("师德师风专题报告会", "市教育局", 25, 0, 135, "3", "professional", "ethics"),
    ("粤港澳大湾区教育论坛", "华南师范大学", 20, 1, 0, "8", "elective", ""),
    ("书法与汉字文化研修", "市少年宫", 15, 0, 90, "2", "elective", ""),
]


def _evidence(name: str) -> SimpleUploadedFile:
    out = io.BytesIO()
    page = canvas.Canvas(out)
    page.drawString(72, 720, "Certificate of attendance")
    page.save()
    return SimpleUploadedFile(name, out.getvalue(), content_type="application/pdf")


def _actor(role: Role, unit):
    return RoleAssignment.objects.filter(role=role, unit=unit).select_related("user").first().user


def load(ctx) -> None:
    now = ctx.now
    year = now.year
    topics = {t.code: t for t in Topic.objects.all()}
    for code, city in ctx.cities.items():
        categories = ["professional", "elective"] if code == "440100" else ["professional"]
        for y, declare_until, certify_until in (
            (2022 if code == "440100" else 2024, dt.date(2022 if code == "440100" else 2024, 12, 31), None),
            (year, dt.date(year + 1, 1, 15), dt.date(year + 1, 1, 31)),
        ):
            DeclarationSettings.objects.get_or_create(
                city=city,
                year=y,
                defaults={
                    "categories": categories,
                    "declare_until": declare_until,
                    "certify_until": certify_until or declare_until + dt.timedelta(days=15),
                },
            )
        _declarations(ctx, code, [d for d in DECLARED if d[6] in categories], topics)
        _school_training(ctx, code, topics)


def _declarations(ctx, city_code: str, rows, topics) -> None:
    now = ctx.now
    school = ctx.schools[city_code][0]
    district = ctx.districts[city_code][0]
    teacher = next(t for t in ctx.teachers[city_code] if t.unit == school and t.user_id and t.position != "principal")
    admin, district_admin = _actor(Role.SCHOOL_ADMIN, school), _actor(Role.DISTRICT_ADMIN, district)
    made = []
    for title, organiser, ago, days, minutes, hours, category, topic in rows:
        start = (now - dt.timedelta(days=ago)).date()
        if start.year != now.year:
            start = dt.date(now.year, 1, 2)
        made.append(
            declarations.declaration_submit(
                actor=teacher.user,
                data=declarations.DeclarationInput(
                    title=title,
                    organiser=organiser,
                    starts_on=start,
                    ends_on=start + dt.timedelta(days=max(days - 1, 0)),
                    category=category,
                    topic=topics.get(topic),
                    full_days=days,
                    minutes=minutes,
                    hours=Decimal(hours),
                ),
                files=[_evidence(f"{title}.pdf")],
                now=now - dt.timedelta(days=ago - 1),
            )
        )
    # One of each state: certified (and drawn for the spot check, checked), certified then revoked,
    # returned with a reason, and the rest waiting.
    declarations.declaration_certify_bulk(actor=admin, ids=[d.pk for d in made[:2]], now=now)
    declarations.declaration_return(
        actor=admin, declaration=made[2], reason="证书未盖章，请上传盖章的结业证书", now=now
    )
    if len(made) > 3:
        declarations.declaration_certify(actor=admin, declaration=made[3], now=now)
        declarations.declaration_revoke(
            actor=admin, declaration=Declaration.objects.get(pk=made[3].pk), reason="与平台课程重复记录", now=now
        )
    declarations.spot_check_draw(actor=district_admin, district=district, year=now.year, count=1, now=now)
    sampled = Declaration.objects.filter(sampled_at__isnull=False, school=school).first()
    if sampled is not None and sampled.state == DeclarationState.CERTIFIED:
        declarations.spot_check_pass(actor=district_admin, declaration=sampled, now=now)


def _school_training(ctx, city_code: str, topics) -> None:
    now = ctx.now
    school = ctx.schools[city_code][0]
    admin = _actor(Role.SCHOOL_ADMIN, school)
    roster = [t.pk for t in ctx.teachers[city_code] if t.unit == school and t.status == TeacherStatus.ACTIVE]
    for title, ago, hours, topic, who in (
        ("校本教研：同课异构与评课", 35, "3", "school-research", roster),
        ("师德师风学习会", 21, "2", "ethics", roster),
        ("新教师课堂诊断", 7, "2", "", roster[: len(roster) // 2]),
    ):
        day = (now - dt.timedelta(days=ago)).date()
        if day.year != now.year:
            day = dt.date(now.year, 1, 3)
        training.school_activity_record(
            actor=admin,
            school=school,
            data=training.ActivityInput(
                title=title, date=day, hours=Decimal(hours), category="professional", topic=topics.get(topic)
            ),
            teacher_ids=who,
            now=now,
        )
