import datetime as dt
from decimal import Decimal

import factory

from credits.demo import GUANGZHOU_TREE, MAOMING_TREE  # noqa: F401 - the preloaded rules, re-exported
from credits.models import Category, CreditEntry, CreditKind, RuleSet, Source, Topic
from tests.factories.portal import CityFactory, TeacherFactory


def preloaded() -> None:
    """The topics and kinds of the data migration (a transactional test may have truncated them)."""
    Topic.objects.get_or_create(code="ethics", defaults={"name": "师德师风"})
    Topic.objects.get_or_create(code="shuangjian", defaults={"name": "双减"})
    CreditKind.objects.get_or_create(code="ordinary", defaults={"name": "普通远程培训课程", "category": "professional"})
    CreditKind.objects.get_or_create(code="rotation", defaults={"name": "全员轮训网络研修", "category": "professional"})


class RuleSetFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = RuleSet

    city = factory.SubFactory(CityFactory)
    year = 2022
    name = factory.Sequence(lambda n: f"规则{n}")
    tree = factory.LazyFunction(lambda: GUANGZHOU_TREE)


class CreditEntryFactory(factory.django.DjangoModelFactory):
    class Meta:
        model = CreditEntry

    teacher = factory.SubFactory(TeacherFactory)
    year = 2022
    category = Category.PROFESSIONAL
    hours = Decimal(10)
    source = Source.IMPORT
    reference = factory.Sequence(lambda n: f"test:{n}")
    reason = "测试"
    recorded_at = factory.LazyFunction(lambda: dt.datetime(2022, 6, 1, tzinfo=dt.UTC))


def entries(teacher, year: int, *rows) -> list[CreditEntry]:
    """rows: (category, hours[, kind_code[, topics]])"""
    kinds = {k.code: k for k in CreditKind.objects.all()}
    made = []
    for row in rows:
        category, hours, kind, topics = (
            (*row, None, ())[:4]
            if len(row) == 2
            else (
                *row,
                (),
            )[:4]
        )
        made.append(
            CreditEntryFactory(
                teacher=teacher,
                year=year,
                category=category,
                hours=Decimal(str(hours)),
                kind=kinds.get(kind) if kind else None,
                topic_codes=CreditEntry.join_topics(topics),
            )
        )
    return made


# A Maoming-style rule: professional hours count as 42 "ordinary" or 60 "rotation", never untyped.
KINDED_TREE = {
    "any_of": [
        {"min_hours": {"kind": "ordinary", "hours": 42}},
        {"min_hours": {"kind": "rotation", "hours": 60}},
    ]
}
