"""Reads for special programmes. Every queryset starts from portal.scoping."""

import datetime as dt
from dataclasses import dataclass

from django.db.models import Count, Min, OuterRef, Q, QuerySet, Subquery, Window

from portal.lookups import IdIn
from portal.models import Role, RoleAssignment, Teacher, Unit, UnitKind, User
from portal.scoping import Scope, scope_for, teachers_visible_to

from . import chain
from .models import (
    LEVEL_ROLE,
    PENDING_STATES,
    Application,
    ApplicationQuerySet,
    ApplicationState,
    AuditEntry,
    Programme,
    ProgrammeLevel,
    Quota,
)


def _city_codes(scope: Scope) -> set[str]:
    codes = {p.split("/")[1] for p in scope.admin_paths()}
    if scope.teacher:
        codes.add(scope.teacher.unit.path.split("/")[1])
    return codes


def programmes_visible_to(user: User) -> QuerySet[Programme]:
    """Programmes of the cities the user works in (as admin or teacher)."""
    scope = scope_for(user)
    return Programme.objects.filter(period__city__code__in=_city_codes(scope)).select_related("period", "period__city")


def programmes_open_for(user: User, now: dt.datetime) -> QuerySet[Programme]:
    return programmes_visible_to(user).filter(registration_opens_at__lte=now, registration_closes_at__gte=now)


def applications_visible_to(user: User) -> QuerySet[Application]:
    """Admins: applications from schools in their reach. A teacher: her own. Others: none."""
    scope = scope_for(user)
    q = scope.unit_q("school") if scope.is_admin else Q(pk__in=[])
    if scope.teacher:
        q |= Q(teacher=scope.teacher)
    return Application.objects.filter(q)


def actionable_q(scope: Scope, programme: Programme | None = None) -> Q:
    """Applications whose current level is decided by one of the user's roles, in that role's reach.

    Units directly under the city are decided by the city at district level (their application's
    district is the city). A city admin's levels are matched by lists of ids (``programme``'s, or those of
    her cities' programmes: one small query), so that each of the two levels she decides finds its rows by
    index instead of a scan of every pending application of the city; other admins' rows are found by
    their schools' ids (a district admin's by her districts' ids), and their levels by a subquery.
    """
    ids: dict[str, list[int]] | None = None
    if programme is not None:
        ids = {}
        for level in programme.levels.all():
            ids.setdefault(level.unit_kind, []).append(level.pk)
    elif scope.admin_paths((Role.CITY_ADMIN,)):
        ids = {}
        for pk, kind in ProgrammeLevel.objects.filter(programme__period__city__code__in=_city_codes(scope)).values_list(
            "pk", "unit_kind"
        ):
            ids.setdefault(kind, []).append(pk)

    def at_level(kind: str) -> Q:
        if ids is None:
            return Q(level_id__in=ProgrammeLevel.objects.filter(unit_kind=kind).values("pk"))
        return Q(level_id__in=ids.get(kind, []))

    q = Q(pk__in=[])
    for kind, role in LEVEL_ROLE.items():
        if not scope.admin_paths((role,)):
            continue
        if kind != UnitKind.DISTRICT:
            q |= at_level(kind) & scope.unit_ids_q("school", roles=(role,))
        elif (units := scope.small_reach((role,))) is not None:
            # An application carries its district (the closest one above the school), so those of a small
            # reach are those of its districts: found by the quota count's index, no test of each school.
            q |= at_level(kind) & Q(IdIn("district_id", [u.pk for u in units if u.kind == UnitKind.DISTRICT]))
        else:
            cities = Unit.objects.filter(kind=UnitKind.CITY).values("pk")
            q |= at_level(kind) & ~Q(district_id__in=cities) & scope.unit_ids_q("school", roles=(role,))
    city_units = [u.pk for u in scope.units.get(Role.CITY_ADMIN, ()) if u.kind == UnitKind.CITY]
    if city_units:
        q |= (
            at_level(UnitKind.DISTRICT)
            & Q(district_id__in=city_units)
            & scope.unit_ids_q("school", roles=(Role.CITY_ADMIN,))
        )
    return q


def review_queue(user: User, now: dt.datetime, programme: Programme | None = None) -> QuerySet[Application]:
    """What the user can decide now (of ``programme``, if given): pending at a level of hers, deadline not passed."""
    qs = Application.objects.filter(actionable_q(scope_for(user), programme)).pending(now)
    return qs if programme is None else qs.filter(programme=programme)


def may_act(user: User, application: Application, now: dt.datetime) -> bool:
    """Whether ``user`` may approve or reject ``application`` now (for showing buttons; services re-check)."""
    if application.effective_state(now) not in PENDING_STATES:
        return False
    role = chain.approver_role(application.level, application.district.kind)
    return scope_for(user).reaches(application.school, roles=(role,))


def list_rows(qs: ApplicationQuerySet, now: dt.datetime) -> QuerySet[Application]:
    """The joins a list page needs, so its query count does not grow with the rows, and only the columns
    its rows show (fifty applications with six related rows each: most of the page's time in full rows)."""
    related = ["teacher", "teacher__stage", "school", "district", "level", "programme"]
    columns = ["programme_id", "teacher_id", "school_id", "district_id", "level_id", "state", "deadline"]
    columns += ["submitted_at", "teacher__name", "teacher__id_number", "teacher__position", "teacher__stage__name"]
    columns += ["school__name", "district__name", "level__unit_kind", "programme__title"]
    return qs.with_effective_state(now).select_related(*related).only(*columns)


REVIEW_COLUMNS = (
    "pk", "school_id", "level_id", "state", "deadline", "submitted_at",
    "teacher__name", "teacher__id_number", "teacher__position", "teacher__stage__name",
    "school__name", "district__name",
)  # fmt: skip


def review_list(qs: ApplicationQuerySet) -> QuerySet:
    """The review queue's rows (``{% review_rows %}``): named tuples of the columns its table shows, read with
    their teacher, stage, school and district in one query, and the count of the whole queue as ``total``
    (``portal.pagination.FirstPageCountedPaginator``). As model instances (five a row, from a query that
    also worked out each row's state), fifty rows cost half again as much; the state as shown is
    ``models.effective_state``, the level one of the programme's."""
    return qs.annotate(total=Window(Count("pk"))).values_list(*REVIEW_COLUMNS, "total", named=True)


@dataclass(frozen=True)
class QuotaFill:
    district: Unit
    seats: int
    used: int
    waiting: int  # waiting at the quota level (not yet counted)
    reopened_until: dt.datetime | None

    @property
    def free(self) -> int:
        return self.seats - self.used


def quota_fill(programme: Programme, now: dt.datetime, reach: Q | None = None) -> list[QuotaFill]:
    """Per district of the quota table: seats, seats used (approved at the quota level or beyond), waiting.

    ``reach`` (a filter on the district, e.g. ``Scope.unit_ids_q("district")``) keeps the districts of it.
    """
    levels = list(programme.levels.all())
    qlevel = chain.quota_level(levels) if levels else None
    beyond = chain.beyond_quota(levels)
    in_table = Quota.objects.filter(programme=programme).select_related("district")
    quotas = list(in_table if reach is None else in_table.filter(reach))
    if not quotas:  # no quota of a district in reach: nothing to count
        return []
    applications = Application.objects.filter(IdIn("district_id", [q.district_id for q in quotas]), programme=programme)
    counts = applications.values("district_id").annotate(
        used=Count("pk", filter=Q(state=ApplicationState.FINALIZED) | Q(state__in=PENDING_STATES, level_id__in=beyond)),
        waiting=Count("pk", filter=Q(state__in=PENDING_STATES, level=qlevel, deadline__gte=now)),
    )
    by_district = {c["district_id"]: c for c in counts}
    return [
        QuotaFill(
            district=q.district,
            seats=q.seats,
            used=by_district.get(q.district_id, {}).get("used", 0),
            waiting=by_district.get(q.district_id, {}).get("waiting", 0),
            reopened_until=q.reopened_until,
        )
        for q in quotas
    ]


def quota_fill_seen_by(user: User, programme: Programme, now: dt.datetime) -> list[QuotaFill]:
    """The quota table as ``user`` sees it: the programme's city admin every district, others those of their reach."""
    scope = scope_for(user)
    if scope.reaches(programme.period.city, roles=(Role.CITY_ADMIN,)):
        return quota_fill(programme, now)
    return quota_fill(programme, now, scope.unit_ids_q("district", kinds=(UnitKind.DISTRICT, UnitKind.CITY)))


@dataclass(frozen=True)
class QueueSummary:
    role: Role
    programme_id: int
    programme_title: str
    level_label: str
    count: int
    deadline: dt.datetime


def queue_summary(user: User, now: dt.datetime) -> list[QueueSummary]:
    """Per programme and level: how many the user can decide now and the earliest deadline (one query)."""
    rows = (
        review_queue(user, now)
        .values("programme_id", "programme__title", "level__unit_kind")
        .annotate(n=Count("pk"), deadline=Min("deadline"))
        .order_by("deadline")
    )
    return [
        QueueSummary(
            role=LEVEL_ROLE[UnitKind(r["level__unit_kind"])],
            programme_id=r["programme_id"],
            programme_title=r["programme__title"],
            level_label=str(ProgrammeLevel(unit_kind=r["level__unit_kind"]).label),
            count=r["n"],
            deadline=r["deadline"],
        )
        for r in rows
    ]


@dataclass(frozen=True)
class PendingReminder:
    user_id: int
    role: str
    programme_id: int
    programme_title: str
    level_id: int
    deadline: dt.datetime
    count: int


def approver_pending_reminders(now: dt.datetime, within: dt.timedelta = dt.timedelta(days=2)) -> list[PendingReminder]:
    """For reminder jobs: each approver with applications waiting for her at a level whose deadline
    falls within ``within`` from ``now``. Four queries whatever the number of approvers.
    """
    pending = Application.objects.filter(state__in=PENDING_STATES, deadline__gte=now, deadline__lte=now + within)
    reminders: list[PendingReminder] = []
    for kind, role in LEVEL_ROLE.items():
        if kind == UnitKind.CITY:
            unit_field = "programme__period__city_id"
        elif kind == UnitKind.DISTRICT:
            unit_field = "district_id"
        else:
            unit_field = "school_id"
        groups = list(
            pending.filter(level__unit_kind=kind)
            .values(unit_field, "programme_id", "programme__title", "level_id")
            .annotate(n=Count("pk"), deadline=Min("deadline"))
        )
        if not groups:
            continue
        unit_ids = {g[unit_field] for g in groups}
        # At district level, units directly under the city are the city's (their district_id is the city).
        holders: dict[int, list[tuple[int, str]]] = {}
        for user_id, unit_id, held in RoleAssignment.objects.filter(
            Q(role=role) | Q(role=Role.CITY_ADMIN), unit_id__in=unit_ids, user__is_active=True
        ).values_list("user_id", "unit_id", "role"):
            holders.setdefault(unit_id, []).append((user_id, held))
        for g in groups:
            for user_id, held in holders.get(g[unit_field], []):
                reminders.append(
                    PendingReminder(
                        user_id=user_id,
                        role=held,
                        programme_id=g["programme_id"],
                        programme_title=g["programme__title"],
                        level_id=g["level_id"],
                        deadline=g["deadline"],
                        count=g["n"],
                    )
                )
    return reminders


def application_timeline(application: Application) -> QuerySet[AuditEntry]:
    return application.audit_entries.select_related("level").order_by("created_at", "id")


def audit_visible_to(user: User, programme: Programme) -> QuerySet[AuditEntry]:
    """The city sees the whole log; district and school admins the entries of their applications."""
    scope = scope_for(user)
    qs = AuditEntry.objects.filter(programme=programme).select_related("application__teacher", "level", "district")
    if scope.reaches(programme.period.city, roles=(Role.CITY_ADMIN,)):
        return qs
    return qs.filter(scope.unit_q("application__school"))


def district_roster(user: User, programme: Programme, now: dt.datetime) -> QuerySet[Teacher]:
    """Every teacher the user sees, with her application to ``programme`` (if any) annotated."""
    apps = Application.objects.filter(programme=programme, teacher=OuterRef("pk"))
    return (
        teachers_visible_to(user)
        .filter(unit__path__startswith=programme.period.city.path)
        .select_related("unit", "stage")
        .annotate(
            application_id=Subquery(apps.values("pk")[:1]),
            application_state=Subquery(apps.values("state")[:1]),
            application_deadline=Subquery(apps.values("deadline")[:1]),
            application_level=Subquery(apps.values("level__unit_kind")[:1]),
        )
        .order_by("unit__path", "name", "pk")
    )


def roster_state_label(
    state: str | None, deadline: dt.datetime | None, level_kind: str | None, now: dt.datetime
) -> str:
    if not state:
        return ""
    app = Application(state=state, deadline=deadline or now)
    effective = app.effective_state(now)
    if effective in PENDING_STATES and level_kind:
        return "待" + str(ProgrammeLevel(unit_kind=level_kind).label)
    return str(effective.label)


def export_rows(
    user: User, programme: Programme, *, finalized_only: bool, district: Unit | None
) -> QuerySet[Application]:
    """The rows of a list on paper: the district's approved (past its level) or the city's final list."""
    qs = applications_visible_to(user).filter(programme=programme)
    if district is not None:
        qs = qs.filter(district=district)
    if finalized_only:
        qs = qs.filter(state=ApplicationState.FINALIZED)
    else:
        beyond = chain.beyond_quota(list(programme.levels.all()))
        qs = qs.filter(Q(state=ApplicationState.FINALIZED) | Q(state__in=PENDING_STATES, level_id__in=beyond))
    return qs.select_related("teacher", "teacher__stage", "school", "district").order_by(
        "district__path", "school__path", "teacher__name", "pk"
    )


def programmes_managed_by(user: User) -> QuerySet[Programme]:
    """The programmes of the user's cities (city admins set them up)."""
    q = scope_for(user).unit_q("period__city", roles=(Role.CITY_ADMIN,))
    return Programme.objects.filter(q).select_related("period", "period__city")


def applicant_user_ids(programme_id: int) -> list[int]:
    """The logins of a programme's applicants whose application is still alive or finalized (announcements)."""
    return list(
        Application.objects.filter(programme_id=programme_id, teacher__user__isnull=False)
        .exclude(state__in=(ApplicationState.WITHDRAWN, ApplicationState.REJECTED, ApplicationState.EXPIRED))
        .values_list("teacher__user_id", flat=True)
    )


def programmes_applied_by(user_id: int) -> list[int]:
    """The programmes a user has applied to (and not withdrawn from, nor been turned down)."""
    return list(
        Application.objects.filter(teacher__user_id=user_id)
        .exclude(state__in=(ApplicationState.WITHDRAWN, ApplicationState.REJECTED, ApplicationState.EXPIRED))
        .values_list("programme_id", flat=True)
    )


def programme_targets(city: Unit) -> list[tuple[int, str]]:
    """(id, title) of a city's programmes, newest first: the choices of an announcement to their applicants."""
    return list(
        Programme.objects.filter(period__city=city).order_by("-registration_opens_at", "pk").values_list("pk", "title")
    )
