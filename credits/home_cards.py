"""Home-page cards: the teacher's verdict for the year; the admin's latest compliance rate."""

from __future__ import annotations

from django.urls import reverse
from django.utils import timezone
from django.utils.translation import gettext as _

from portal.models import ADMIN_ROLES, Role
from portal.registry import HomeCard

from .models import ComplianceSnapshot
from .rule_engine import evaluate
from .selectors import rule_set_for_unit, teacher_totals


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
                    text=result.sentence,
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
        text = (
            _("%(date)s：%(ok)d / %(n)d 名教师达标（%(rate).1f%%）")
            % {"date": snap.date, "ok": snap.compliant, "n": snap.teachers, "rate": snap.rate * 100}
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
