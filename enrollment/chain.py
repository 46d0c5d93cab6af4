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


def quota_level(levels: Sequence[ProgrammeLevel]) -> ProgrammeLevel | None:
    """The level whose approval uses a seat: the first at district or city rank (the last if none is)."""
    ordered = sorted(levels, key=lambda lv: lv.order)
    for lv in ordered:
        if LEVEL_KIND_RANK[UnitKind(lv.unit_kind)] >= LEVEL_KIND_RANK[UnitKind.DISTRICT]:
            return lv
    return ordered[-1] if ordered else None


def approver_role(level: ProgrammeLevel, district_kind: str) -> Role:
    """The role that decides at ``level``; units directly under the city (市属) go to the city at district level."""
    if level.unit_kind == UnitKind.DISTRICT and district_kind == UnitKind.CITY:
        return Role.CITY_ADMIN
    return LEVEL_ROLE[UnitKind(level.unit_kind)]


def district_of(unit: Unit) -> Unit:
    """The quota unit of a teacher's unit: its district (county), or the city for units directly under it."""
    return unit.ancestor_of_kind(UnitKind.DISTRICT) or unit.ancestor_of_kind(UnitKind.CITY)
