"""No set-up form of a city offers another city's objects: periods, rule sets, providers, districts,
programmes, contacts, announcements (kinds, topics and stages are platform-wide, the same for all)."""

import pytest
from django import forms
from django.urls import reverse

from courses.models import Provider, TrainingPeriod
from credits.models import RuleSet
from enrollment.models import Programme
from portal.models import Unit
from tests.factories.courses import PeriodFactory, ProviderFactory
from tests.factories.enrollment import at, programme_with_chain
from tests.factories.setup import other_city

pytestmark = pytest.mark.django_db

SETUP_PAGES = [
    ("portal:setup", ()),
    ("portal:unit_tree", ()),
    ("portal:contacts", ()),
    ("portal:announcements", ()),
    ("portal:announcement_create", ()),
    ("credits:rule_list", ()),
    ("credits:rule_create", ()),
    ("courses:period_list", ()),
    ("courses:period_create", ()),
    ("courses:provider_list", ()),
    ("courses:course_create", ()),
    ("courses:course_import", ()),
    ("courses:manage_list", ()),
    ("enrollment:setup_programme_list", ()),
    ("enrollment:setup_programme_create", ()),
]


@pytest.fixture
def two_cities(tree):
    """The tree's city with its own period, rule set, provider and programme; a second city with all of them."""
    period = PeriodFactory(city=tree.city, name="甲市2022期", rule_set__name="甲市学时规则")
    provider = ProviderFactory(name="甲市开放大学", code="JIA-PROV")
    provider.cities.add(tree.city)
    programme = programme_with_chain(tree.city, period=period, title="甲市校长培训", quotas={tree.district1: 2})
    return tree, period, provider, programme, other_city(at("2022-03-01 09:00"))


def _city_of(obj) -> str:
    """The city code an offered object belongs to; "" for platform-wide objects."""
    if isinstance(obj, Unit):
        return obj.city_code
    if isinstance(obj, TrainingPeriod | RuleSet):
        return obj.city.code
    if isinstance(obj, Programme):
        return obj.period.city.code
    if isinstance(obj, Provider):
        codes = {c.code for c in obj.cities.all()}
        return codes.pop() if len(codes) == 1 else ",".join(sorted(codes))
    return ""


def _forms_in(context) -> list[forms.BaseForm]:
    found: list[forms.BaseForm] = []

    def walk(value, depth=0):
        if depth > 3:
            return
        if isinstance(value, forms.BaseForm):
            found.append(value)
        elif isinstance(value, forms.BaseFormSet):
            found.extend(value.forms)
        elif isinstance(value, dict):
            for v in value.values():
                walk(v, depth + 1)
        elif hasattr(value, "__dataclass_fields__"):
            for name in value.__dataclass_fields__:
                walk(getattr(value, name), depth + 1)

    contexts = context if isinstance(context, list) else [context]  # a ContextList when includes render
    for ctx in contexts:
        for value in ctx.flatten().values():
            walk(value)
    return found


def _offered_cities(response) -> set[str]:
    cities = set()
    for form in _forms_in(response.context):
        for field in form.fields.values():
            queryset = getattr(field, "queryset", None)
            if queryset is not None:
                cities |= {_city_of(obj) for obj in queryset}
    return cities - {""}


@pytest.mark.parametrize(("url_name", "args"), SETUP_PAGES)
def test_setup_page_offers_only_the_citys_own_objects(client, two_cities, url_name, args):
    tree, *_own, other = two_cities
    client.force_login(tree.erin)

    response = client.get(reverse(url_name, args=args))

    assert response.status_code == 200
    assert _offered_cities(response) <= {tree.city.code}
    body = response.content.decode()
    assert [name for name in other.names if name in body] == []


def test_edit_pages_offer_only_the_citys_own_objects(client, two_cities):
    tree, period, provider, programme, other = two_cities
    client.force_login(tree.erin)
    pages = [
        reverse("credits:rule_edit", args=[period.rule_set.pk]),
        reverse("courses:period_edit", args=[period.pk]),
        reverse("courses:period_fee_payers", args=[period.pk]),
        reverse("courses:provider_detail", args=[provider.pk]),
        reverse("enrollment:setup_programme_edit", args=[programme.pk]),
        reverse("enrollment:quota_manage", args=[programme.pk]),
    ]

    for url in pages:
        response = client.get(url)

        assert response.status_code == 200, url
        assert _offered_cities(response) <= {tree.city.code}, url
        assert [name for name in other.names if name in response.content.decode()] == [], url


def test_the_other_citys_objects_are_404(client, two_cities):
    tree, *_own, other = two_cities
    client.force_login(tree.erin)
    pages = [
        reverse("credits:rule_edit", args=[other.rule_set.pk]),
        reverse("courses:period_edit", args=[other.period.pk]),
        reverse("courses:period_fee_payers", args=[other.period.pk]),
        reverse("courses:provider_detail", args=[other.provider.pk]),
        reverse("enrollment:setup_programme_edit", args=[other.programme.pk]),
        reverse("portal:contact_edit", args=[other.contact.pk]),
        reverse("portal:announcement_edit", args=[other.announcement.pk]),
        reverse("portal:announcement", args=[other.announcement.pk]),
    ]

    assert [client.get(url).status_code for url in pages] == [404] * len(pages)


def test_a_forged_choice_of_the_other_city_is_refused(client, two_cities):
    tree, *_own, other = two_cities
    client.force_login(tree.erin)
    data = {
        "year": "2023",
        "code": "J2301",
        "name": "甲市2023期",
        "rule_set": other.rule_set.pk,
        "selection_opens_at": "2023-03-15T00:00",
        "selection_closes_at": "2023-03-30T00:00",
        "training_starts_on": "2023-04-20",
        "training_ends_on": "2023-06-20",
        "save": "1",
    }

    response = client.post(reverse("courses:period_create"), data)

    assert response.status_code == 200
    assert response.context["form"].errors["rule_set"] == ["选择一个有效的选项： 该选择不在可用的选项中。"]
    assert TrainingPeriod.objects.filter(code="J2301").exists() is False
