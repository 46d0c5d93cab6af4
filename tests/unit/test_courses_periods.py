"""A period's selection phase is derived from its windows and the clock (Guangzhou 2201's real dates)."""

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from courses.models import SelectionPhase, TrainingPeriod

SH = ZoneInfo("Asia/Shanghai")


def _2201(**overrides) -> TrainingPeriod:
    fields = dict(
        selection_opens_at=dt.datetime(2022, 3, 15, tzinfo=SH),
        selection_closes_at=dt.datetime(2022, 3, 30, tzinfo=SH),
        late_opens_at=dt.datetime(2022, 3, 26, tzinfo=SH),
        late_closes_at=dt.datetime(2022, 3, 30, tzinfo=SH),
        drop_allowed_in_late=False,
    )
    fields.update(overrides)
    return TrainingPeriod(**fields)


@pytest.mark.parametrize(
    ("moment", "phase"),
    [
        (dt.datetime(2022, 3, 14, 23, 59, 59, tzinfo=SH), SelectionPhase.BEFORE),
        (dt.datetime(2022, 3, 15, 0, 0, tzinfo=SH), SelectionPhase.OPEN),
        (dt.datetime(2022, 3, 25, 23, 59, 59, tzinfo=SH), SelectionPhase.OPEN),
        (dt.datetime(2022, 3, 26, 0, 0, tzinfo=SH), SelectionPhase.LATE),
        (dt.datetime(2022, 3, 29, 23, 59, 59, tzinfo=SH), SelectionPhase.LATE),
        (dt.datetime(2022, 3, 30, 0, 0, tzinfo=SH), SelectionPhase.CLOSED),
        # 2022-03-29 16:00 UTC is already 03-30 00:00 in Guangzhou.
        (dt.datetime(2022, 3, 29, 16, 0, tzinfo=dt.UTC), SelectionPhase.CLOSED),
        (dt.datetime(2022, 3, 29, 15, 59, tzinfo=dt.UTC), SelectionPhase.LATE),
    ],
)
def test_selection_phase_2201_boundaries(moment, phase):
    assert _2201().selection_phase(moment) == phase


def test_can_drop_only_in_main_phase_by_default():
    period = _2201()

    assert period.can_drop(dt.datetime(2022, 3, 25, 12, tzinfo=SH)) is True
    assert period.can_drop(dt.datetime(2022, 3, 27, 12, tzinfo=SH)) is False


def test_can_drop_in_late_phase_when_configured():
    assert _2201(drop_allowed_in_late=True).can_drop(dt.datetime(2022, 3, 27, 12, tzinfo=SH)) is True


def test_late_window_after_main_window_extends_selection():
    period = _2201(
        selection_closes_at=dt.datetime(2022, 3, 26, tzinfo=SH),
        late_closes_at=dt.datetime(2022, 4, 2, tzinfo=SH),
    )

    assert period.selection_window_end == dt.datetime(2022, 4, 2, tzinfo=SH)
    assert period.selection_phase(dt.datetime(2022, 4, 1, tzinfo=SH)) == SelectionPhase.LATE


def test_period_without_late_window_closes_with_selection():
    period = _2201(late_opens_at=None, late_closes_at=None)

    assert period.selection_phase(dt.datetime(2022, 3, 27, tzinfo=SH)) == SelectionPhase.OPEN
    assert period.selection_window_end == dt.datetime(2022, 3, 30, tzinfo=SH)
