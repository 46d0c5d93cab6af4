"""The kinds of session that take attendance: offline course sessions here, programme sessions from enrollment.

enrollment builds on courses, so courses cannot name its models: each kind is registered (from its
app's ``ready()``) with what attendance needs to know about its sessions.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from django.db.models import Model, Q, QuerySet
from django.utils import timezone

from portal.models import Teacher
from portal.scoping import Scope


@dataclass(frozen=True)
class SessionKindSpec:
    """``model`` has ``date``, ``starts_at``, ``ends_at`` and ``place``; the callables answer for one kind."""

    kind: str
    model: type[Model]
    related: tuple[str, ...]  # select_related paths that make ``title`` and ``period`` free
    title: Callable[[Any], str]
    period: Callable[[Any], Any]  # the session's courses.TrainingPeriod
    markers_q: Callable[[Scope], Q]  # the sessions this scope may take attendance of
    registered: Callable[[Any], QuerySet[Teacher]]  # who must attend one session
    teacher_q: Callable[[Teacher], Q]  # the sessions a teacher must attend
    provider_id: Callable[[Any], int | None] = lambda session: None


SESSION_KINDS: dict[str, SessionKindSpec] = {}


def register_session_kind(spec: SessionKindSpec) -> None:
    SESSION_KINDS[spec.kind] = spec


def session_spec(kind: str) -> SessionKindSpec:
    """The registered kind; KeyError for an unknown one (views answer 404)."""
    return SESSION_KINDS[kind]


def sessions_of(kind: str) -> QuerySet:
    spec = session_spec(kind)
    return spec.model.objects.select_related(*spec.related)  # type: ignore[attr-defined]


def session_starts_at(session: Any) -> dt.datetime:
    return dt.datetime.combine(session.date, session.starts_at, tzinfo=timezone.get_current_timezone())


def _course_registered(session: Any) -> QuerySet[Teacher]:
    from courses.models import LIVE_SELECTION_STATES

    return Teacher.objects.filter(
        course_selections__course_id=session.course_id, course_selections__status__in=LIVE_SELECTION_STATES
    )


def _course_teacher_q(teacher: Teacher) -> Q:
    from courses.models import LIVE_SELECTION_STATES

    return Q(course__selections__teacher=teacher, course__selections__status__in=LIVE_SELECTION_STATES)


def course_session_kind() -> SessionKindSpec:
    from courses.models import CourseSession, SessionKind
    from portal.models import Role

    return SessionKindSpec(
        kind=SessionKind.COURSE,
        model=CourseSession,
        related=("course__period__city", "course__provider"),
        title=lambda s: s.course.title,
        period=lambda s: s.course.period,
        markers_q=lambda scope: (
            Q(course__provider_id__in=scope.provider_ids)
            | scope.unit_q("course__period__city", roles=(Role.CITY_ADMIN,))
        ),
        registered=_course_registered,
        teacher_q=_course_teacher_q,
        provider_id=lambda s: s.course.provider_id,
    )
