"""The conversion rule of declared hours: a full day is 8 hours; for part of a day, 45 minutes is 1 hour."""

import datetime as dt
from decimal import Decimal

import pytest

from credits.declaration_services import DeclarationInput, DeclarationRefused, declaration_hours_check
from credits.models import DeclarationSettings

GUANGDONG = DeclarationSettings(hours_per_day=Decimal("8"), minutes_per_hour=45)


@pytest.mark.parametrize(
    ("full_days", "minutes", "hours"),
    [
        (0, 44, 0),
        (0, 45, 1),
        (0, 89, 1),
        (0, 90, 2),
        (0, 359, 7),
        (0, 360, 8),
        (0, 500, 8),  # part of a day never counts for more than a whole one
        (1, 0, 8),
        (2, 0, 16),
        (1, 45, 9),
    ],
)
def test_max_hours_at_the_edges_of_the_rule(full_days, minutes, hours):
    assert GUANGDONG.max_hours(full_days, minutes) == Decimal(hours)


def test_a_city_with_another_rule_converts_by_its_own_figures():
    other = DeclarationSettings(hours_per_day=Decimal("6"), minutes_per_hour=60)

    assert other.max_hours(1, 119) == Decimal(7)


def _input(**kwargs) -> DeclarationInput:
    values = dict(
        title="t",
        organiser="o",
        starts_on=dt.date(2022, 5, 10),
        ends_on=dt.date(2022, 5, 10),
        category="professional",
        hours=Decimal("1"),
    )
    values.update(kwargs)
    return DeclarationInput(**values)


def test_declaring_the_converted_figure_is_accepted():
    assert declaration_hours_check(GUANGDONG, _input(minutes=90, hours=Decimal("2"))) == Decimal(2)


def test_declaring_above_the_converted_figure_is_refused_with_the_figure():
    with pytest.raises(DeclarationRefused) as exc:
        declaration_hours_check(GUANGDONG, _input(minutes=89, hours=Decimal("1.5")))

    assert str(exc.value) == (
        "按本市折算规则（整天按 8 学时计，不足一天每 45 分钟计 1 学时），最多可申报 1 学时，现在填写的是 1.5 学时。"
    )


def test_more_days_than_the_dates_hold_are_refused():
    with pytest.raises(DeclarationRefused) as exc:
        declaration_hours_check(GUANGDONG, _input(full_days=1, minutes=45, hours=Decimal("9")))

    assert "共 1 天" in str(exc.value)
