"""Home cards of declarations and school-based training (registered from CreditsConfig.ready)."""

from __future__ import annotations

from django.db.models import Count, Min, Q
from django.urls import reverse
from django.utils.translation import gettext as _

from portal.models import Role
from portal.registry import HomeCard

from .models import Declaration, DeclarationState


def declaration_cards(request, scope, now) -> list[HomeCard]:
    cards: list[HomeCard] = []
    if scope.teacher is not None:
        returned = Declaration.objects.filter(teacher=scope.teacher, state=DeclarationState.RETURNED).count()
        if returned:
            cards.append(
                HomeCard(
                    role=Role.TEACHER,
                    title=_("学时申报被退回"),
                    text=_("有 %(n)d 份申报被学校退回，请查看原因并修改后重新提交。") % {"n": returned},
                    url=reverse("credits:declarations"),
                    link_label=_("查看"),
                    count=returned,
                    level="warning",
                    order=35,
                )
            )
    if scope.has(Role.SCHOOL_ADMIN):
        pending = Declaration.objects.filter(
            scope.unit_ids_q("school", roles=(Role.SCHOOL_ADMIN,)), state=DeclarationState.SUBMITTED
        ).aggregate(n=Count("pk"), oldest=Min("submitted_at"))
        if pending["n"]:
            cards.append(
                HomeCard(
                    role=Role.SCHOOL_ADMIN,
                    title=_("学时申报待认定"),
                    text=_("%(n)d 份待认定，最早一份提交于 %(day)s。")
                    % {"n": pending["n"], "day": f"{pending['oldest']:%Y-%m-%d}"},
                    url=reverse("credits:declaration_review"),
                    link_label=_("去认定"),
                    count=pending["n"],
                    level="warning",
                    order=15,
                )
            )
    if scope.has(Role.DISTRICT_ADMIN):
        counts = Declaration.objects.filter(scope.unit_ids_q("school", roles=(Role.DISTRICT_ADMIN,))).aggregate(
            pending=Count("pk", filter=Q(state=DeclarationState.SUBMITTED)),
            unchecked=Count(
                "pk",
                filter=Q(sampled_at__isnull=False, sample_checked_at__isnull=True, state=DeclarationState.CERTIFIED),
            ),
        )
        cards.append(
            HomeCard(
                role=Role.DISTRICT_ADMIN,
                title=_("学时申报"),
                text=_("各校待认定 %(p)d 份；抽查样本待核验 %(u)d 份。")
                % {"p": counts["pending"], "u": counts["unchecked"]},
                url=reverse("credits:declaration_overview"),
                link_label=_("查看"),
                order=62,
            )
        )
    return cards
