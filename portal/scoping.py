"""Who may see and change what: the one place that decides it.

Every view and selector starts its queryset from here. A user's reach is
the set of unit paths of her administrative roles; a teacher reaches only
herself, provider staff only their providers (roles held through an app's own
table are registered as ``portal.registry.Membership``; courses.selectors builds
on ``Scope.provider_ids``). Nothing here is cached beyond one user object, so a
role granted or taken away applies on the next request.
"""

import functools
from dataclasses import dataclass, field
from typing import NamedTuple

from django.db import DEFAULT_DB_ALIAS, connections
from django.db.models import Q, QuerySet
from django.http import Http404

from portal.lookups import IdIn, ModelColumns, quoted
from portal.models import ADMIN_ROLES, Role, RoleAssignment, Stage, Teacher, Unit, UnitKind, User
from portal.registry import MEMBERSHIPS


@dataclass(frozen=True)
class Scope:
    user_id: int | None
    paths: dict[str, tuple[str, ...]] = field(default_factory=dict)  # admin role -> unit paths
    units: dict[str, tuple[Unit, ...]] = field(default_factory=dict)
    teacher: Teacher | None = None
    memberships: dict[str, tuple[int, ...]] = field(default_factory=dict)  # role -> organisation ids
    is_operator: bool = False  # platform-wide settings only; no city's people through this role
    _units_in_reach: dict = field(default_factory=dict, compare=False, repr=False)  # small_reach's, by paths

    @property
    def roles(self) -> list[Role]:
        found = [Role.TEACHER] if self.teacher else []
        found += [role for role in ADMIN_ROLES if self.paths.get(role)]
        found += [role for role in Role if self.memberships.get(role)]
        if self.is_operator:
            found.append(Role.OPERATOR)
        return found

    @property
    def provider_ids(self) -> tuple[int, ...]:
        return self.memberships.get(Role.PROVIDER, ())

    def has(self, role: Role) -> bool:
        return role in self.roles

    @property
    def is_admin(self) -> bool:
        return any(self.paths.get(role) for role in ADMIN_ROLES)

    def admin_paths(self, roles=ADMIN_ROLES) -> tuple[str, ...]:
        paths = sorted({p for role in roles for p in self.paths.get(role, ())})
        # A path inside another adds nothing to the reach.
        return tuple(p for p in paths if not any(p != q and p.startswith(q) for q in paths))

    def reaches(self, unit: Unit, roles=ADMIN_ROLES) -> bool:
        return any(unit.path.startswith(p) for p in self.admin_paths(roles))

    def unit_q(self, prefix: str = "unit", roles=ADMIN_ROLES) -> Q:
        """Q for rows whose ``prefix`` unit lies in the user's reach (no rows if none).

        ``prefix=""`` filters Unit itself.
        """
        paths = self.admin_paths(roles)
        if not paths:
            return Q(pk__in=[])
        lookup = f"{prefix}__path__startswith" if prefix else "path__startswith"
        q = Q()
        for path in paths:
            q |= Q(**{lookup: path})
        return q

    def small_reach(self, roles=ADMIN_ROLES) -> list["ReachUnit"] | None:
        """The units of the reach (``unit_q("", roles)``'s), when it holds at most SMALL_REACH of them (a
        school's or a district's); None for a bigger one, and for a city's without asking (thousands of
        units). At most one query per scope and roles."""
        paths = self.admin_paths(roles)
        if paths not in self._units_in_reach:
            units = None
            if paths and not any(u.kind == UnitKind.CITY for role in roles for u in self.units.get(role, ())):
                found = Unit.objects.filter(self.unit_q("", roles)).order_by()
                units = [ReachUnit(*row) for row in found.values_list(*ReachUnit._fields)[: SMALL_REACH + 1]]
            self._units_in_reach[paths] = units if units is not None and len(units) <= SMALL_REACH else None
        return self._units_in_reach[paths]

    def unit_ids_q(self, prefix: str, roles=ADMIN_ROLES, kinds: tuple[str, ...] = ()) -> Q:
        """The same rows as ``unit_q(prefix, roles)``, as ``<prefix>_id IN (ids)`` (``IdIn``) when the reach is
        small (``small_reach``): an indexed filter on the row's own column instead of a join to every row's
        unit and a test of its path. A city's reach stays a path test.
        ``kinds``: the only kinds of unit the column can name (a quota's district: district or city), so
        that the list is short, or empty and no query runs.
        """
        units = self.small_reach(roles)
        if units is None:
            return self.unit_q(prefix, roles)
        return Q(IdIn(f"{prefix}_id", [u.pk for u in units if not kinds or u.kind in kinds]))


class ReachUnit(NamedTuple):
    pk: int
    kind: str
    path: str
    name: str
    is_active: bool


SMALL_REACH = 1000


def scope_for(user) -> Scope:
    """The user's scope, computed once per user object (i.e. once per request)."""
    if not getattr(user, "is_authenticated", False):
        return Scope(user_id=None)
    cached = getattr(user, "_portal_scope", None)
    if cached is not None:
        return cached
    paths: dict[str, list[str]] = {}
    units: dict[str, list[Unit]] = {}
    roles, teacher = _roles_and_teacher(user.pk)
    for role, unit in roles:
        paths.setdefault(role, []).append(unit.path)
        units.setdefault(role, []).append(unit)
    scope = Scope(
        user_id=user.pk,
        paths={role: tuple(v) for role, v in paths.items()},
        units={role: tuple(v) for role, v in units.items()},
        teacher=teacher,
        memberships={m.role: m.ids_of(user.pk) for m in MEMBERSHIPS},
        is_operator=user.is_operator,
    )
    user._portal_scope = scope
    return scope


@functools.cache
def _scope_select() -> tuple[str, tuple[ModelColumns, ...]]:
    """The user's role assignments with their units and her teacher record with its unit and stage, in one
    query (what ``RoleAssignment.objects.filter(user=…).select_related("unit")`` and
    ``Teacher.objects.filter(user=…).select_related("unit", "stage")`` read): written once per process,
    since compiling those two querysets cost every request three times what running them does."""
    connection = connections[DEFAULT_DB_ALIAS]
    columns = (
        ModelColumns(Unit, "ru", connection),
        ModelColumns(Teacher, "t", connection),
        ModelColumns(Unit, "tu", connection),
        ModelColumns(Stage, "st", connection),
    )
    user, user_pk = quoted(User, "id")
    assignments, role, assignment_user, assignment_unit, assignment_pk = quoted(
        RoleAssignment, "role", "user", "unit", "id"
    )
    units, unit_pk = quoted(Unit, "id")
    teachers, teacher_user, teacher_unit, teacher_stage = quoted(Teacher, "user", "unit", "stage")
    stages, stage_pk = quoted(Stage, "id")
    sql = (
        f"SELECT ra.{role}, {', '.join(c.sql for c in columns)} FROM {user} usr"  # noqa: S608 - names from the models; the id a parameter
        f" LEFT JOIN {assignments} ra ON ra.{assignment_user} = usr.{user_pk}"
        f" LEFT JOIN {units} ru ON ru.{unit_pk} = ra.{assignment_unit}"
        f" LEFT JOIN {teachers} t ON t.{teacher_user} = usr.{user_pk}"
        f" LEFT JOIN {units} tu ON tu.{unit_pk} = t.{teacher_unit}"
        f" LEFT JOIN {stages} st ON st.{stage_pk} = t.{teacher_stage}"
        f" WHERE usr.{user_pk} = %s ORDER BY ra.{assignment_pk}"
    )
    return sql, columns


def _roles_and_teacher(user_id: int) -> tuple[list[tuple[str, Unit]], Teacher | None]:
    """The user's role assignments in active units, (role, unit) each, and her teacher record. Read from the
    primary always (inside ``replica_reads()`` too): a role taken away applies on the next request."""
    connection = connections[DEFAULT_DB_ALIAS]
    sql, (role_unit, teacher_cols, teacher_unit, stage) = _scope_select()
    with connection.cursor() as cursor:
        cursor.execute(sql, [user_id])
        rows = cursor.fetchall()
    if not rows:  # the user is gone
        return [], None
    roles = [(row[0], unit) for row in rows if (unit := role_unit.build(row, 1, connection)) and unit.is_active]
    at = 1 + len(role_unit.attnames)
    teacher = teacher_cols.build(rows[0], at, connection)
    if teacher is not None:
        at += len(teacher_cols.attnames)
        Teacher.unit.field.set_cached_value(teacher, teacher_unit.build(rows[0], at, connection))
        Teacher.stage.field.set_cached_value(teacher, stage.build(rows[0], at + len(teacher_unit.attnames), connection))
    return roles, teacher


def units_visible_to(user) -> QuerySet[Unit]:
    scope = scope_for(user)
    return Unit.objects.filter(scope.unit_q("")) if scope.is_admin else Unit.objects.none()


def teachers_visible_to(user) -> QuerySet[Teacher]:
    """Admins: every teacher of their subtrees. A teacher: herself. Others: nobody."""
    scope = scope_for(user)
    q = scope.unit_q("unit") if scope.is_admin else Q(pk__in=[])
    if scope.teacher:
        q |= Q(pk=scope.teacher.pk)
    return Teacher.objects.filter(q)


def teachers_managed_by(user) -> QuerySet[Teacher]:
    """The teachers whose records the user may change (admins of their units)."""
    return Teacher.objects.filter(scope_for(user).unit_q("unit"))


def get_visible_or_404(queryset: QuerySet, **lookup):
    """Outsiders get 404, never 403: they must not learn the object exists."""
    try:
        return queryset.get(**lookup)
    except queryset.model.DoesNotExist:
        raise Http404 from None
