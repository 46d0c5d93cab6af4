"""Special programmes' sessions take attendance through courses (session kind "programme").

Registered from EnrollmentConfig.ready: the city that runs the programme marks attendance; its
finalized participants must attend.
"""

from __future__ import annotations

from django.db.models import Q, QuerySet

from courses.models import SessionKind
from courses.sessions import SessionKindSpec
from portal.models import Role, Teacher

from .models import ApplicationState, ProgrammeSession


def _registered(session: ProgrammeSession) -> QuerySet[Teacher]:
    return Teacher.objects.filter(
        programme_applications__programme_id=session.programme_id,
        programme_applications__state=ApplicationState.FINALIZED,
    )


def programme_session_kind() -> SessionKindSpec:
    return SessionKindSpec(
        kind=SessionKind.PROGRAMME,
        model=ProgrammeSession,
        related=("programme__period__city",),
        title=lambda s: s.programme.title,
        period=lambda s: s.programme.period,
        markers_q=lambda scope: scope.unit_q("programme__period__city", roles=(Role.CITY_ADMIN,)),
        registered=_registered,
        teacher_q=lambda teacher: Q(
            programme__applications__teacher=teacher, programme__applications__state=ApplicationState.FINALIZED
        ),
    )
