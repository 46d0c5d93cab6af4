"""Reads for the roster pages, every one starting from portal.scoping, and the teacher
batches the apps' reminder jobs walk."""

import datetime as dt
from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from portal import idcard
from portal.figures import Counted, figures_counted
from portal.models import (
    EMPLOYER_KINDS,
    Announcement,
    Audience,
    Contact,
    Role,
    RoleAssignment,
    RosterConflict,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.registry import AUDIENCES
from portal.scoping import ReachUnit, Scope, scope_for, teachers_managed_by, teachers_visible_to, units_visible_to


def teacher_search_q(value: str, prefix: str = "") -> Q:
    """Q for teachers matching what a user typed: an ID number (its start, or its last 4-6 characters, the 尾号
    offices ask by; typed loosely) or part of a name."""
    value = value.strip()
    if not value:
        return Q()
    number = idcard.normalize(value)
    if number[:1].isdigit():
        if len(number) < 18:
            starts = Q(**{f"{prefix}id_number__startswith": number})
            return starts | Q(**{f"{prefix}id_number__endswith": number}) if 4 <= len(number) <= 6 else starts
        return Q(**{f"{prefix}id_number": number})
    return Q(**{f"{prefix}name__contains": value})


def roster_for(user: User) -> QuerySet[Teacher]:
    """The teachers an admin keeps (her subtree), with what the list shows joined in."""
    return teachers_managed_by(user).select_related("unit", "stage")


def teacher_for_view(user: User, pk: int) -> QuerySet[Teacher]:
    return teachers_visible_to(user).select_related("unit", "stage", "user").filter(pk=pk)


def teacher_moves(teacher: Teacher) -> QuerySet[TeacherMove]:
    return teacher.moves.select_related("from_unit", "to_unit", "recorded_by")


def employer_units_for(user: User) -> QuerySet[Unit]:
    """Schools and other employers in the user's reach (choices for filters and transfers)."""
    return units_visible_to(user).filter(kind__in=EMPLOYER_KINDS, is_active=True).order_by("path")


def unit_filter_units(user: User, selected: Unit | None) -> list[Unit] | list[ReachUnit]:
    """The units a unit filter offers, one level of the tree at a time: the user's own units, the chain down to the
    chosen one, and the units right under it (a district's schools once the district is chosen; a chosen school's
    neighbours). A city's thousands of schools are never offered at once. One query, or none when the reach is
    small: its units are known from the scope (``Scope.small_reach``), and given as its ``ReachUnit``s (pk, kind,
    path, name, as a Unit has them)."""
    scope = scope_for(user)
    roots = scope.admin_paths()
    if selected is not None and scope.reaches(selected):
        focus = selected.path if selected.kind not in EMPLOYER_KINDS else selected.path.rsplit("/", 2)[0] + "/"
    else:
        focus = roots[0] if len(roots) == 1 else ""
    # Every prefix of a path is an ancestor's path: "/440100/", "/440100/440104/", ...
    chain = {focus[: i + 1] for i, c in enumerate(focus) if c == "/"}
    reach = scope.small_reach()
    if reach is not None:  # the units are known already: no query
        depth = focus.count("/") + 1
        shown = [
            u for u in reach if u.is_active and (u.path in roots or u.path in chain or _is_child(u.path, focus, depth))
        ]
        return sorted(shown, key=lambda u: u.path)
    q = Q(path__in=roots)
    if focus:
        q |= Q(path__in=chain) | Q(parent__path=focus)
    return list(Unit.objects.filter(scope.unit_q(""), q, is_active=True).only("name", "path", "kind").order_by("path"))


def _is_child(path: str, focus: str, depth: int) -> bool:
    return bool(focus) and path.startswith(focus) and path.count("/") == depth


def units_in_reach(user: User) -> QuerySet[Unit]:
    """Every active unit in the user's reach (the values a unit filter accepts)."""
    return units_visible_to(user).filter(is_active=True)


def roster_conflicts_visible_to(user: User) -> QuerySet[RosterConflict]:
    """Refused additions kept for the districts (and cities) the user administers, newest first."""
    q = scope_for(user).unit_q("district", roles=(Role.DISTRICT_ADMIN, Role.CITY_ADMIN))
    return RosterConflict.objects.filter(q).select_related("teacher__unit", "unit", "actor").order_by("-last_at", "-id")


# What a roster must have before a period opens (the roster page counts the same gaps).
ROSTER_PROBLEM_Q = Q(mobile="") | Q(stage__isnull=True) | Q(subject="") | Q(name="")


def teacher_user_batches(city: Unit, size: int = 2000) -> Iterator[list[tuple[int, int]]]:
    """(teacher id, user id) of the city's active teachers with a login, in batches of ``size`` (reminder jobs)."""
    qs = (
        Teacher.objects.filter(unit__path__startswith=city.path, status=TeacherStatus.ACTIVE, user__isnull=False)
        .order_by("pk")
        .values_list("pk", "user_id")
    )
    batch: list[tuple[int, int]] = []
    for row in qs.iterator(chunk_size=size):
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def roster_problems(user: User) -> dict[str, int]:
    """Counts of what a school admin should fix now, one aggregate query over her reach (``teachers_managed_by``'s
    teachers, found by their units' ids: the home page's cards read the reach's units anyway)."""
    active = Q(status=TeacherStatus.ACTIVE)
    return Teacher.objects.filter(scope_for(user).unit_ids_q("unit")).aggregate(
        active=Count("pk", filter=active),
        missing_mobile=Count("pk", filter=active & Q(mobile="")),
        missing_stage=Count("pk", filter=active & Q(stage__isnull=True)),
        missing_subject=Count("pk", filter=active & Q(subject="")),
        no_login=Count("pk", filter=active & Q(user__isnull=True)),
        retired=Count("pk", filter=Q(status=TeacherStatus.RETIRED)),
        transferred=Count("pk", filter=Q(status=TeacherStatus.TRANSFERRED)),
    )


@dataclass
class TreeNode:
    unit: Unit
    active: int = 0
    total: int = 0
    children: list["TreeNode"] = field(default_factory=list)

    @property
    def school_count(self) -> int:
        return sum(1 for c in self.children if c.unit.kind in EMPLOYER_KINDS) + sum(
            c.school_count for c in self.children if c.unit.kind not in EMPLOYER_KINDS
        )


def unit_tree_for(user: User) -> list[TreeNode]:
    """The user's units as a tree with teacher counts; one aggregate query.

    Counts of a district (or city) include everything below it.
    """
    units = list(
        units_visible_to(user)
        .filter(is_active=True)
        .annotate(
            n_active=Count("teachers", filter=Q(teachers__status=TeacherStatus.ACTIVE)),
            n_total=Count("teachers"),
        )
        .order_by("path")
    )
    nodes = {u.path: TreeNode(unit=u, active=u.n_active, total=u.n_total) for u in units}
    roots: list[TreeNode] = []
    for unit in units:  # ordered by path: parents come first
        node = nodes[unit.path]
        parent_path = unit.path[: unit.path.rstrip("/").rfind("/") + 1]
        parent = nodes.get(parent_path)
        if parent is None:
            roots.append(node)
        else:
            parent.children.append(node)
    for unit in reversed(units):
        n = nodes[unit.path]
        parent = nodes.get(unit.path[: unit.path.rstrip("/").rfind("/") + 1])
        if parent is not None:
            parent.active += n.active
            parent.total += n.total
    return roots


def organisation_counts(user: User) -> Counted[dict[str, int]]:
    """Districts, schools and active teachers in the user's reach (two queries), counted at most every
    FIGURES_SECONDS for the same reach (portal.figures): a city's home card counts 250,000 teachers."""
    scope = scope_for(user)

    def count() -> dict[str, int]:
        units = (
            units_visible_to(user)
            .filter(is_active=True)
            .aggregate(
                districts=Count("pk", filter=Q(kind=UnitKind.DISTRICT)),
                schools=Count("pk", filter=Q(kind=UnitKind.SCHOOL)),
                empty_schools=Count(
                    "pk", filter=Q(kind=UnitKind.SCHOOL) & ~Exists(Teacher.objects.filter(unit=OuterRef("pk")))
                ),
            )
        )
        teachers = Teacher.objects.filter(scope.unit_q("unit"), status=TeacherStatus.ACTIVE).count()
        return {**units, "teachers": teachers}

    return figures_counted("organisation_counts", (scope.admin_paths(),), count)


# --- the platform operator's view: cities, never their people ----------------------------------------------------


def cities_for_operator() -> QuerySet[Unit]:
    """Every city with the size of its tree (counts only: the operator sees no city's people). One query."""
    return (
        Unit.objects.filter(kind=UnitKind.CITY)
        .annotate(
            n_districts=Count("children", filter=Q(children__kind=UnitKind.DISTRICT), distinct=True),
            n_admins=Count("role_assignments", filter=Q(role_assignments__role=Role.CITY_ADMIN), distinct=True),
        )
        .order_by("code")
    )


def city_admins(city: Unit) -> QuerySet[RoleAssignment]:
    return RoleAssignment.objects.filter(unit=city, role=Role.CITY_ADMIN).select_related("user").order_by("pk")


def admins_of(user: User) -> QuerySet[RoleAssignment]:
    """The admin roles held in the user's reach (the unit tree page lists them). One query."""
    return (
        RoleAssignment.objects.filter(scope_for(user).unit_q("unit"))
        .select_related("user", "unit")
        .order_by("unit__path", "role", "user__name")
    )


def parent_units_for(user: User) -> QuerySet[Unit]:
    """Where the user may add units: her cities (a district or a city-level school) and districts."""
    scope = scope_for(user)
    q = scope.unit_q("", roles=(Role.CITY_ADMIN, Role.DISTRICT_ADMIN))
    return Unit.objects.filter(q, kind__in=(UnitKind.CITY, UnitKind.DISTRICT), is_active=True).order_by("path")


# --- contacts and announcements ----------------------------------------------------------------------------------

PUBLISHER_ROLES = (Role.CITY_ADMIN, Role.DISTRICT_ADMIN)


def publisher_units_for(user: User) -> QuerySet[Unit]:
    """The city and districts whose contacts and announcements the user keeps."""
    q = scope_for(user).unit_q("", roles=PUBLISHER_ROLES)
    return Unit.objects.filter(q, kind__in=(UnitKind.CITY, UnitKind.DISTRICT), is_active=True).order_by("path")


def contacts_managed_by(user: User) -> QuerySet[Contact]:
    return Contact.objects.filter(scope_for(user).unit_q("unit", roles=PUBLISHER_ROLES)).select_related("unit")


def contacts_for(scope: Scope) -> list[Contact]:
    """A teacher's contacts: her district's first, then the city's. One query."""
    if scope.teacher is None:
        return []
    paths = scope.teacher.unit.ancestor_paths()
    contacts = Contact.objects.filter(unit__path__in=paths).select_related("unit")
    return sorted(contacts, key=lambda c: (-len(c.unit.path), c.order, c.pk))


def announcements_managed_by(user: User) -> QuerySet[Announcement]:
    return Announcement.objects.filter(scope_for(user).unit_q("unit", roles=PUBLISHER_ROLES)).select_related("unit")


def announcements_for(user: User, now: dt.datetime) -> list[Announcement]:
    """Published announcements that concern the user, newest first: her units' people's, and an app's audiences.

    A teacher is concerned by her school's district and city, an admin by those above her
    units; a programme's applicants by that programme's. One query, plus one per app audience.
    """
    scope = scope_for(user)
    teacher_paths = set(scope.teacher.unit.ancestor_paths()) if scope.teacher else set()
    admin_paths = {p for units in scope.units.values() for u in units for p in u.ancestor_paths()}
    cities = {p.split("/")[1] for p in teacher_paths | admin_paths}
    if not cities:
        return []
    candidates = Announcement.objects.filter(
        Q(unit__path__in=teacher_paths | admin_paths) | Q(audience__in=list(AUDIENCES), unit__code__in=cities),
        publish_at__lte=now,
    ).select_related("unit")
    targets: dict[str, set[int]] = {}
    found = []
    for a in candidates.order_by("-publish_at", "-pk")[:200]:
        if a.audience in AUDIENCES:
            if a.audience not in targets:
                targets[a.audience] = set(AUDIENCES[a.audience].targets_of(user.pk))
            concerned = a.target_id in targets[a.audience]
        else:
            as_teacher = a.unit.path in teacher_paths and a.audience != Audience.ADMINS
            as_admin = a.unit.path in admin_paths and a.audience != Audience.TEACHERS
            concerned = as_teacher or as_admin
        if concerned:
            found.append(a)
    return found
