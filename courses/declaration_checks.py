"""A declaration (credits) that repeats hours the portal's own courses already recorded is a duplicate.

Registered with credits.declaration_services.register_duplicate_check from CoursesConfig.ready, since
credits may not import courses.
"""

from __future__ import annotations

from collections.abc import Sequence

from django.utils.translation import gettext as _

from courses.models import CourseSelection, SelectionStatus
from credits.declaration_services import Candidate, normalized


def course_duplicates(candidates: Sequence[Candidate]) -> dict[int, str]:
    """Candidates (by position) whose teacher completed a portal course of the same title, or of a provider
    named as the organiser, whose training dates overlap the declared ones. One query."""
    done = CourseSelection.objects.filter(
        teacher_id__in={c.teacher_id for c in candidates}, status=SelectionStatus.COMPLETED
    ).values_list(
        "teacher_id",
        "course__title",
        "course__provider__name",
        "course__period__training_starts_on",
        "course__period__training_ends_on",
    )
    by_teacher: dict[int, list[tuple]] = {}
    for teacher_id, *row in done:
        by_teacher.setdefault(teacher_id, []).append(tuple(row))
    found = {}
    for i, c in enumerate(candidates):
        for title, provider, starts, ends in by_teacher.get(c.teacher_id, ()):
            same = normalized(title) == normalized(c.title) or normalized(provider) == normalized(c.organiser)
            if same and starts <= c.ends_on and ends >= c.starts_on:
                found[i] = _("与平台课程《%(title)s》（%(provider)s）已记录的学时重复，请勿重复申报。") % {
                    "title": title,
                    "provider": provider,
                }
                break
    return found
