import datetime as dt
from zoneinfo import ZoneInfo

import factory

from courses.models import TrainingPeriod
from enrollment.models import Application, ApplicationState, Programme, ProgrammeLevel, Quota
from portal.models import Unit, UnitKind

SHANGHAI = ZoneInfo("Asia/Shanghai")


def at(text: str) -> dt.datetime:
    """'2022-03-18 23:59' (or with seconds) in Asia/Shanghai."""
    fmt = "%Y-%m-%d %H:%M:%S" if text.count(":") == 2 else "%Y-%m-%d %H:%M"
    return dt.datetime.strptime(text, fmt).replace(tzinfo=SHANGHAI)


class PeriodFactory(factory.django.DjangoModelFactory):
    """A training period (owned by courses; only what programmes need)."""

    class Meta:
        model = TrainingPeriod

    year = 2022
    code = factory.Sequence(lambda n: f"P{n:04d}")
    name = factory.Sequence(lambda n: f"2022年第{n}期")
    selection_opens_at = factory.LazyFunction(lambda: at("2022-03-15 00:00"))
    selection_closes_at = factory.LazyFunction(lambda: at("2022-03-29 23:59:59"))
    training_starts_on = dt.date(2022, 4, 20)
    training_ends_on = dt.date(2022, 6, 20)


class ProgrammeFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Programme

    title = factory.Sequence(lambda n: f"专项培训{n}")
    total_seats = 100
    registration_opens_at = factory.LazyFunction(lambda: at("2022-03-14 00:00"))
    registration_closes_at = factory.LazyFunction(lambda: at("2022-03-18 23:59:59"))


GUANGZHOU_2022 = [
    (UnitKind.SCHOOL, "2022-03-18 23:59:59"),
    (UnitKind.DISTRICT, "2022-03-25 23:59:59"),
    (UnitKind.CITY, "2022-03-30 23:59:59"),
]
COUNTY_ENDING = [(UnitKind.SCHOOL, "2022-03-18 23:59:59"), (UnitKind.DISTRICT, "2022-03-25 23:59:59")]


def programme_with_chain(
    city: Unit, chain=GUANGZHOU_2022, quotas: dict[Unit, int] | None = None, **kwargs
) -> Programme:
    """A programme of ``city`` with its levels (Guangzhou's 2022 dates by default) and quota rows."""
    period = kwargs.pop("period", None) or PeriodFactory(city=city)
    programme = ProgrammeFactory(period=period, **kwargs)
    ProgrammeLevel.objects.bulk_create(
        [
            ProgrammeLevel(programme=programme, order=i, unit_kind=kind, deadline=at(d))
            for i, (kind, d) in enumerate(chain, start=1)
        ]
    )
    for district, seats in (quotas or {}).items():
        Quota.objects.create(programme=programme, district=district, seats=seats)
    return programme


def bulk_applications(programme: Programme, teachers, state=ApplicationState.SUBMITTED, level_order: int = 1):
    """Applications created directly (set-based), for tests about lists and bulk actions."""
    level = programme.levels.get(order=level_order)
    rows = []
    for teacher in teachers:
        district = teacher.unit.parent  # tests put schools directly under a district
        rows.append(
            Application(
                programme=programme,
                teacher=teacher,
                school=teacher.unit,
                district=district,
                state=state,
                level=level,
                deadline=level.deadline,
                submitted_at=at("2022-03-14 09:00"),
            )
        )
    return Application.objects.bulk_create(rows)
