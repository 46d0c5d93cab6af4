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
