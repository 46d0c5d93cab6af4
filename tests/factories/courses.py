import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import factory

from courses.models import Course, CourseMode, CourseSession, CourseStatus, Provider, TrainingPeriod
from credits.demo import GUANGZHOU_TREE
from credits.models import RuleSet
from tests.factories.portal import CityFactory

SHANGHAI = ZoneInfo("Asia/Shanghai")


def shanghai(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=SHANGHAI)


class ProviderFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Provider

    code = factory.Sequence(lambda n: f"P{n:03d}")
    name = factory.Sequence(lambda n: f"施教机构{n}")


class RuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleSet

    city = factory.SubFactory(CityFactory)
    year = 2022
    name = "2022 年度学时要求"
    tree = factory.LazyFunction(lambda: GUANGZHOU_TREE)


class PeriodFactory(factory.django.DjangoModelFactory):
    """Guangzhou 2201 as the notice has it: selection 03-15..03-29 with 补选 03-26..03-29."""

    class Meta:
        model = TrainingPeriod

    city = factory.SubFactory(CityFactory)
    year = 2022
    code = factory.Sequence(lambda n: f"22{n:02d}")
    name = "2201期全员培训"
    rule_set = factory.SubFactory(
        RuleSetFactory, city=factory.SelfAttribute("..city"), year=factory.SelfAttribute("..year")
    )
    selection_opens_at = shanghai(2022, 3, 15)
    selection_closes_at = shanghai(2022, 3, 30)
    late_opens_at = shanghai(2022, 3, 26)
    late_closes_at = shanghai(2022, 3, 30)
    drop_allowed_in_late = False
    training_starts_on = dt.date(2022, 4, 20)
    training_ends_on = dt.date(2022, 6, 20)


class CourseFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = Course

    period = factory.SubFactory(PeriodFactory)
    code = factory.Sequence(lambda n: f"C{n:04d}")
    title = factory.Sequence(lambda n: f"课程{n}")
    category = "professional"
    hours = Decimal("12")
    provider = factory.SubFactory(ProviderFactory)
    mode = CourseMode.ONLINE
    capacity = None
    status = CourseStatus.PUBLISHED


class SessionFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CourseSession

    course = factory.SubFactory(CourseFactory, mode=CourseMode.OFFLINE)
    date = dt.date(2022, 4, 25)
    starts_at = dt.time(9, 0)
    ends_at = dt.time(12, 0)
    place = "教师发展中心 301"
