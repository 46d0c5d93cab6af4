"""Home-page cards: the teacher's verdict for the year; the admin's latest compliance rate."""

from __future__ import annotations

from django.conf import settings
from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import ADMIN_ROLES, Role
from portal.registry import JOBS, HomeCard

from .models import ComplianceSnapshot
from .rule_engine import Evaluation, evaluate, fmt_hours
from .selectors import rule_set_for_unit, teacher_totals

SNAPSHOT_JOB = "每晚达标率快照"  # the job writing ComplianceSnapshot (credits/apps.py)


def _verdict_with_hours(result: Evaluation) -> str:
    """The verdict and the hours behind it: "已达标：公需 30 / 30 学时，专业 42 / 42 学时…"."""
    hours = "，".join(
        _("%(label)s %(actual)s / %(required)s 学时")
        % {"label": r.label, "actual": fmt_hours(r.actual), "required": fmt_hours(r.required)}
        for r in result.requirements
        if r.node != "topic"
    )
    return f"{result.sentence}：{hours}" if hours else result.sentence


def credit_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    year = timezone.localtime(now).year
    if scope.teacher:
        rule_set = rule_set_for_unit(scope.teacher.unit, year)
        if rule_set:
            result = evaluate(rule_set.tree, teacher_totals(scope.teacher.pk, year))
            cards.append(
                HomeCard(
                    role=Role.TEACHER,
                    title=_("%(year)s 年度学时") % {"year": year},
                    text=_verdict_with_hours(result),
                    url=reverse("credits:mine"),
                    link_label=_("查看学时"),
                    level="success" if result.met else "warning",
                    order=30,
                )
            )
    units = [u for role in ADMIN_ROLES for u in scope.units.get(role, ())]
    if units:
        top = min(units, key=lambda u: (len(u.path), u.path))
        role = next(r for r in ADMIN_ROLES if top in scope.units.get(r, ()))
        snap = ComplianceSnapshot.objects.filter(unit=top, year=year).order_by("-date").first()
        minute, hour = JOBS[SNAPSHOT_JOB].crontab[:2]
        text = (
            _(
                "截至 %(date)s %(time)s 的快照：%(ok)d / %(n)d 名教师达标（%(rate).1f%%）；"
                "达标率页每 %(minutes)d 分钟统计一次"
            )
            % {
                "minutes": max(1, settings.FIGURES_SECONDS // 60),
                "date": snap.date,
                "time": f"{int(hour):02d}:{int(minute):02d}",
                "ok": snap.compliant,
                "n": snap.teachers,
                "rate": snap.rate * 100,
            }
            if snap
            else _("查看各单位学时达标率和未达标教师名单")
        )
        cards.append(
            HomeCard(
                role=role,
                title=_("学时达标率"),
                text=text,
                url=reverse("credits:dashboard"),
                link_label=_("查看"),
                order=60,
            )
        )
    return cards
