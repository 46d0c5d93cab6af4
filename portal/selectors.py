"""Reads for the roster pages, every one starting from portal.scoping, and the teacher
batches the apps' reminder jobs walk."""

from collections.abc import Iterator
from dataclasses import dataclass, field

from django.db.models import Count, Exists, OuterRef, Q, QuerySet

from portal import idcard
from portal.models import (
    EMPLOYER_KINDS,
    Role,
    RosterConflict,
    Teacher,
    TeacherMove,
    TeacherStatus,
    Unit,
    UnitKind,
    User,
)
from portal.scoping import scope_for, teachers_managed_by, teachers_visible_to, units_visible_to


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
    """Counts of what a school admin should fix now, one aggregate query over her reach."""
    active = Q(status=TeacherStatus.ACTIVE)
    return teachers_managed_by(user).aggregate(
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


def organisation_counts(user: User) -> dict[str, int]:
    """Districts, schools and active teachers in the user's reach (two queries)."""
    scope = scope_for(user)
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
