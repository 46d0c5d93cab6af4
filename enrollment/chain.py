"""Reading a programme's chain of levels: which level comes next, where the quota is counted,
who decides at a level. Pure functions over already-fetched rows (no queries)."""

from collections.abc import Sequence

from portal.models import Role, Unit, UnitKind

from .models import LEVEL_KIND_RANK, LEVEL_ROLE, ProgrammeLevel


def next_level(levels: Sequence[ProgrammeLevel], level_id: int) -> ProgrammeLevel | None:
    """The level after ``level_id`` in the chain, or None when it is the last (the decision finalizes)."""
    ordered = sorted(levels, key=lambda lv: lv.order)
    for i, lv in enumerate(ordered):
        if lv.pk == level_id:
            return ordered[i + 1] if i + 1 < len(ordered) else None
    raise ValueError(f"level {level_id} is not in this chain")


def quota_level(levels: Sequence[ProgrammeLevel]) -> ProgrammeLevel:
    """The level whose approval uses a seat: the first at district or city rank (the last if none is).

    Raises ValueError for a programme without levels (it has no chain yet).
    """
    ordered = sorted(levels, key=lambda lv: lv.order)
    if not ordered:
        raise ValueError("a programme without levels has no quota level")
    for lv in ordered:
        if LEVEL_KIND_RANK[UnitKind(lv.unit_kind)] >= LEVEL_KIND_RANK[UnitKind.DISTRICT]:
            return lv
    return ordered[-1]


def beyond_quota(levels: Sequence[ProgrammeLevel]) -> list[int]:
    """Ids of the levels after the quota level: an application waiting there holds a seat already."""
    if not levels:
        return []
    qlevel = quota_level(levels)
    return [lv.pk for lv in levels if lv.order > qlevel.order]


def approver_role(level: ProgrammeLevel, district_kind: str) -> Role:
    """The role that decides at ``level``; units directly under the city (市属) go to the city at district level."""
    if level.unit_kind == UnitKind.DISTRICT and district_kind == UnitKind.CITY:
        return Role.CITY_ADMIN
    return LEVEL_ROLE[UnitKind(level.unit_kind)]


def district_of(unit: Unit) -> Unit:
    """The quota unit of a teacher's unit: its district (county), or the city for units directly under it."""
    return unit.ancestor_of_kind(UnitKind.DISTRICT) or unit.ancestor_of_kind(UnitKind.CITY)
