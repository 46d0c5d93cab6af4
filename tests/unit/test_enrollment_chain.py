"""Reading a chain of levels (pure functions, no database)."""

import pytest

from enrollment import chain
from enrollment.models import Application, ApplicationState, ProgrammeLevel
from portal.models import Role, UnitKind
from tests.factories.enrollment import at


def _chain(*kinds):
    return [
        ProgrammeLevel(pk=i, order=i, unit_kind=k, deadline=at("2022-03-18 23:59:59"))
        for i, k in enumerate(kinds, start=1)
    ]


GUANGZHOU = _chain(UnitKind.SCHOOL, UnitKind.DISTRICT, UnitKind.CITY)
COUNTY = _chain(UnitKind.SCHOOL, UnitKind.DISTRICT)
SENIOR_HIGH = _chain(UnitKind.SCHOOL, UnitKind.CITY)


def test_next_level_follows_the_order():
    assert [chain.next_level(GUANGZHOU, i) and chain.next_level(GUANGZHOU, i).unit_kind for i in (1, 2, 3)] == [
        UnitKind.DISTRICT,
        UnitKind.CITY,
        None,
    ]


def test_next_level_of_the_last_county_level_is_none():
    assert chain.next_level(COUNTY, 2) is None


def test_next_level_of_a_foreign_level_is_an_error():
    with pytest.raises(ValueError):
        chain.next_level(COUNTY, 9)


@pytest.mark.parametrize(
    ("levels", "kind"),
    [(GUANGZHOU, "district"), (COUNTY, "district"), (SENIOR_HIGH, "city"), (_chain(UnitKind.SCHOOL), "school")],
)
def test_quota_is_counted_at_the_first_level_above_school(levels, kind):
    assert chain.quota_level(levels).unit_kind == kind


def test_units_directly_under_the_city_are_decided_by_the_city_at_district_level():
    district_level = GUANGZHOU[1]

    assert chain.approver_role(district_level, UnitKind.CITY) == Role.CITY_ADMIN
    assert chain.approver_role(district_level, UnitKind.DISTRICT) == Role.DISTRICT_ADMIN
    assert chain.approver_role(GUANGZHOU[0], UnitKind.DISTRICT) == Role.SCHOOL_ADMIN


@pytest.mark.parametrize(
    ("state", "now", "expected"),
    [
        (ApplicationState.SUBMITTED, "2022-03-18 23:59:59", ApplicationState.SUBMITTED),
        (ApplicationState.SUBMITTED, "2022-03-19 00:00", ApplicationState.EXPIRED),
        (ApplicationState.APPROVED, "2022-03-19 00:00", ApplicationState.EXPIRED),
        (ApplicationState.REJECTED, "2022-03-19 00:00", ApplicationState.REJECTED),
        (ApplicationState.FINALIZED, "2022-04-01 00:00", ApplicationState.FINALIZED),
    ],
)
def test_expiry_is_derived_from_the_deadline(state, now, expected):
    application = Application(state=state, deadline=at("2022-03-18 23:59:59"))

    assert application.effective_state(at(now)) == expected
