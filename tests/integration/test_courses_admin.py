"""The Django admin for periods and courses: staff city admins see only their city's rows."""

import pytest
from django.urls import reverse

from courses.models import CourseSelection
from tests.factories.courses import CourseFactory, PeriodFactory, shanghai


@pytest.fixture
def staff_erin(tree):
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    return tree.erin


def test_admin_period_list_shows_only_own_city(client, tree, staff_erin):
    own = PeriodFactory(city=tree.city, name="本市周期")
    PeriodFactory(name="外市周期")
    client.force_login(staff_erin)

    response = client.get(reverse("admin:courses_trainingperiod_changelist"))

    assert list(response.context["cl"].queryset) == [own]


def test_admin_course_of_other_city_is_not_found(client, tree, staff_erin):
    other = CourseFactory()
    client.force_login(staff_erin)

    response = client.get(reverse("admin:courses_course_change", args=[other.pk]))

    assert response.status_code == 404


def test_admin_course_selections_are_read_only(client, tree, staff_erin):
    course = CourseFactory(period=PeriodFactory(city=tree.city))
    selection = CourseSelection.objects.create(
        teacher=tree.teacher_a.teacher, course=course, period=course.period, selected_at=shanghai(2022, 3, 20)
    )
    client.force_login(staff_erin)

    listed = client.get(reverse("admin:courses_courseselection_changelist"))
    add = client.get(reverse("admin:courses_courseselection_add"))

    assert list(listed.context["cl"].queryset) == [selection]
    assert add.status_code == 403


def test_admin_is_closed_to_school_admin(client, tree):
    tree.alice.is_staff = True
    tree.alice.save(update_fields=["is_staff"])
    client.force_login(tree.alice)

    assert client.get(reverse("admin:courses_course_changelist")).status_code == 403


def _provider_form(provider, cities, staff=()):
    data = {
        "code": provider.code,
        "name": provider.name,
        "contact_name": "",
        "contact_phone": "",
        "contact_email": "",
        "is_active": "on",
        "cities": [c.pk for c in cities],
        "staff-TOTAL_FORMS": str(len(staff)),
        "staff-INITIAL_FORMS": "0",
        "staff-MIN_NUM_FORMS": "0",
        "staff-MAX_NUM_FORMS": "1000",
    }
    for i, user in enumerate(staff):
        data[f"staff-{i}-user"] = user.pk
        data[f"staff-{i}-provider"] = provider.pk
    return data


def test_admin_providers_are_those_serving_the_city(client, tree, staff_erin):
    from portal.models import Unit, UnitKind
    from tests.factories.courses import ProviderFactory

    other_city = Unit.objects.create(code="OC", name="外市", kind=UnitKind.CITY)
    ours, theirs = ProviderFactory(name="本市机构"), ProviderFactory(name="外市机构")
    ours.cities.set([tree.city])
    theirs.cities.set([other_city])
    client.force_login(staff_erin)

    listing = client.get(reverse("admin:courses_provider_changelist"))
    foreign = client.get(reverse("admin:courses_provider_change", args=[theirs.pk]))
    edit = client.post(reverse("admin:courses_provider_change", args=[theirs.pk]), _provider_form(theirs, [tree.city]))

    assert list(listing.context["cl"].queryset) == [ours]
    assert (foreign.status_code, edit.status_code) == (404, 404)
    assert list(theirs.cities.all()) == [other_city]


def test_admin_provider_shared_with_another_city_keeps_that_city(client, tree, staff_erin):
    from portal.models import Unit, UnitKind
    from tests.factories.courses import ProviderFactory

    other_city = Unit.objects.create(code="OC", name="外市", kind=UnitKind.CITY)
    shared = ProviderFactory(name="两市机构")
    shared.cities.set([tree.city, other_city])
    client.force_login(staff_erin)

    form = client.get(reverse("admin:courses_provider_change", args=[shared.pk])).context["adminform"].form
    response = client.post(
        reverse("admin:courses_provider_change", args=[shared.pk]), _provider_form(shared, [tree.city])
    )

    assert list(form.fields["cities"].queryset) == [tree.city]
    assert response.status_code == 302
    assert set(shared.cities.all()) == {tree.city, other_city}


def test_admin_city_admin_cannot_make_herself_or_another_admin_provider_staff(client, tree, staff_erin):
    from courses.models import ProviderStaff
    from tests.factories.courses import ProviderFactory

    provider = ProviderFactory()
    provider.cities.set([tree.city])
    client.force_login(staff_erin)
    url = reverse("admin:courses_provider_change", args=[provider.pk])

    choices = client.get(url).context["inline_admin_formsets"][0].formset.empty_form.fields["user"].queryset
    herself = client.post(url, _provider_form(provider, [tree.city], staff=[staff_erin]))
    principal = client.post(url, _provider_form(provider, [tree.city], staff=[tree.alice]))
    plain = client.post(url, _provider_form(provider, [tree.city], staff=[tree.teacher_a]))

    assert staff_erin not in choices and tree.alice not in choices and tree.teacher_a in choices
    assert (herself.status_code, principal.status_code, plain.status_code) == (200, 200, 302)
    assert list(ProviderStaff.objects.values_list("user", flat=True)) == [tree.teacher_a.pk]


def test_period_with_another_citys_rule_set_is_refused(tree):
    from django.core.exceptions import ValidationError

    from tests.factories.courses import RuleSetFactory

    period = PeriodFactory(city=tree.city, rule_set=RuleSetFactory(year=2022))

    with pytest.raises(ValidationError) as exc:
        period.full_clean()

    assert exc.value.message_dict["rule_set"] == ["学时规则必须是本周期所在城市的规则"]
