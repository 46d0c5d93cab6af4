"""Reads of declarations (学时申报) and school-based training (校本研修); every queryset starts from portal.scoping."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass
from decimal import Decimal

from django.db.models import Count, F, Min, Q, QuerySet, Sum

from credits.models import (
    Declaration,
    DeclarationEvidence,
    DeclarationState,
    HoursAuditEntry,
    SchoolActivity,
)
from portal.models import Role, Unit, User
from portal.scoping import scope_for


def declarations_visible_to(user: User) -> QuerySet[Declaration]:
    """A teacher: her own. Admins: those of the schools in their reach. Others: none."""
    scope = scope_for(user)
    q = scope.unit_q("school") if scope.is_admin else Q(pk__in=[])
    if scope.teacher:
        q |= Q(teacher=scope.teacher)
    return Declaration.objects.filter(q)


def declarations_for_review(user: User) -> QuerySet[Declaration]:
    """The declarations a school admin certifies: her schools' (404 for everybody else's)."""
    return Declaration.objects.filter(scope_for(user).unit_q("school", roles=(Role.SCHOOL_ADMIN,)))


def evidence_visible_to(user: User) -> QuerySet[DeclarationEvidence]:
    """Evidence is served to the teacher who declared and to the admins who review her school."""
    return DeclarationEvidence.objects.filter(declaration__in=declarations_visible_to(user))


def declaration_timeline(declaration: Declaration) -> QuerySet[HoursAuditEntry]:
    return HoursAuditEntry.objects.filter(subject="declaration", subject_id=declaration.pk).order_by("created_at", "id")


@dataclass
class SchoolPending:
    unit: Unit
    pending: int
    oldest: dt.datetime | None
    certified: int
    now: dt.datetime

    @property
    def age_days(self) -> int | None:
        return (self.now - self.oldest).days if self.oldest else None


def pending_by_school(user: User, year: int, now: dt.datetime) -> list[SchoolPending]:
    """For a district or city: each school's declarations waiting for certification, the oldest one's age,
    and how many it certified (two queries, whatever the number of schools)."""
    rows = list(
        Declaration.objects.filter(scope_for(user).unit_q("school"), year=year)
        .values("school_id")
        .annotate(
            pending=Count("pk", filter=Q(state=DeclarationState.SUBMITTED)),
            oldest=Min("submitted_at", filter=Q(state=DeclarationState.SUBMITTED)),
            certified=Count("pk", filter=Q(state=DeclarationState.CERTIFIED)),
        )
        .order_by()
    )
    units = Unit.objects.in_bulk([r["school_id"] for r in rows])
    result = [SchoolPending(units[r["school_id"]], r["pending"], r["oldest"], r["certified"], now) for r in rows]
    return sorted(result, key=lambda r: (-r.pending, r.unit.path))


def spot_check_sample(user: User, year: int) -> QuerySet[Declaration]:
    """The district's spot-check sample for ``year``: certified declarations it drew, with what it found."""
    return Declaration.objects.filter(
        scope_for(user).unit_q("school", roles=(Role.DISTRICT_ADMIN,)), year=year, sampled_at__isnull=False
    )


def school_activities_visible_to(user: User) -> QuerySet[SchoolActivity]:
    return SchoolActivity.objects.filter(scope_for(user).unit_q("school"))


@dataclass
class SchoolTrainingRow:
    unit: Unit
    activities: int
    attendances: int
    hours: Decimal


def school_training_by_school(user: User, year: int) -> list[SchoolTrainingRow]:
    """Per school in reach: activities, attendances and hours awarded in ``year`` (two queries)."""
    rows = list(
        school_activities_visible_to(user)
        .filter(year=year)
        .values("school_id")
        .annotate(n=Count("pk"), people=Sum("attendee_count"), hours=Sum(F("hours") * F("attendee_count")))
        .order_by()
    )
    units = Unit.objects.in_bulk([r["school_id"] for r in rows])
    result = [
        SchoolTrainingRow(units[r["school_id"]], r["n"], r["people"] or 0, Decimal(r["hours"] or 0)) for r in rows
    ]
    return sorted(result, key=lambda r: r.unit.path)
