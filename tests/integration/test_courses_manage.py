"""City admins and provider staff maintain courses in the portal."""

from decimal import Decimal

import pytest
import time_machine
from django.urls import reverse

from courses.models import Course, CourseSelection, CourseSession, ProviderStaff, WaitlistEntry, WaitlistStatus
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory, shanghai
from tests.factories.portal import UserFactory

IN_WINDOW = shanghai(2022, 3, 20, 10)


@pytest.fixture
def staff(tree):
    provider = ProviderFactory(code="GDEI", name="广东第二师范学院")
    provider.cities.add(tree.city)  # its staff see and use the periods of the cities it serves
    user = UserFactory()
    ProviderStaff.objects.create(provider=provider, user=user)
    user.provider = provider
    return user


def _form(period, provider, **overrides):
    data = {
        "period": period.pk,
        "code": "X1",
        "title": "课堂观察工作坊",
        "category": "professional",
        "hours": "6",
        "provider": provider.pk,
        "mode": "offline",
        "capacity": "30",
        "fee_per_hour": "0",
        "description": "",
        "status": "published",
        "sessions-TOTAL_FORMS": "1",
        "sessions-INITIAL_FORMS": "0",
        "sessions-MIN_NUM_FORMS": "0",
        "sessions-MAX_NUM_FORMS": "1000",
        "sessions-0-date": "2022-04-25",
        "sessions-0-starts_at": "14:00",
        "sessions-0-ends_at": "17:00",
        "sessions-0-place": "天河区教师发展中心",
    }
    data.update(overrides)
    return data


def test_course_create_with_session_by_provider_staff(client, tree, staff):
    period = PeriodFactory(city=tree.city)
    client.force_login(staff)

    response = client.post(reverse("courses:course_create"), _form(period, staff.provider))

    assert response.status_code == 302
    course = Course.objects.get(code="X1")
    assert course.provider == staff.provider
    assert [str(s.place) for s in CourseSession.objects.filter(course=course)] == ["天河区教师发展中心"]


def test_course_create_fee_above_period_cap_refused(client, tree, staff):
    period = PeriodFactory(city=tree.city, max_fee_per_hour=Decimal("4"))
    client.force_login(staff)

    response = client.post(reverse("courses:course_create"), _form(period, staff.provider, fee_per_hour="4.5"))

    assert response.status_code == 200
    assert response.context["form"].errors["fee_per_hour"] == ["每学时收费 4.5 元超过本周期上限 4 元"]
    assert Course.objects.count() == 0


def test_course_create_for_other_provider_refused(client, tree, staff):
    period = PeriodFactory(city=tree.city)
    other = ProviderFactory()
    client.force_login(staff)

    response = client.post(reverse("courses:course_create"), _form(period, other))

    assert "provider" in response.context["form"].errors
    assert Course.objects.count() == 0


@time_machine.travel(IN_WINDOW)
def test_course_edit_more_seats_promotes_waiting_teacher(client, tree, staff):
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, provider=staff.provider, capacity=1, code="X1", mode="online")
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW)
    Course.objects.filter(pk=course.pk).update(enrolled_count=1)
    WaitlistEntry.objects.create(teacher=tree.teacher_b.teacher, course=course, created_at=IN_WINDOW)
    client.force_login(staff)

    client.post(
        reverse("courses:course_edit", args=[course.pk]),
        _form(period, staff.provider, mode="online", capacity="2", **{"sessions-TOTAL_FORMS": "0"}),
    )

    course.refresh_from_db()
    assert (course.capacity, course.enrolled_count) == (2, 2)
    assert WaitlistEntry.objects.get().status == WaitlistStatus.PROMOTED


@time_machine.travel(IN_WINDOW)
def test_course_edit_capacity_below_selections_refused(client, tree, staff):
    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period, provider=staff.provider, capacity=5, code="X1", mode="online")
    Course.objects.filter(pk=course.pk).update(enrolled_count=3)
    client.force_login(staff)

    response = client.post(
        reverse("courses:course_edit", args=[course.pk]),
        _form(period, staff.provider, mode="online", capacity="2", **{"sessions-TOTAL_FORMS": "0"}),
    )

    assert response.context["form"].errors["capacity"] == ["已有 3 人选课，名额不能少于已选人数"]
    assert Course.objects.get(pk=course.pk).capacity == 5


def test_manage_list_query_count_is_flat(client, tree, staff, django_assert_max_num_queries):
    period = PeriodFactory(city=tree.city)
    CourseFactory(period=period, provider=staff.provider)
    client.force_login(staff)
    client.get(reverse("courses:manage_list"))
    with django_assert_max_num_queries(20) as one:
        client.get(reverse("courses:manage_list"))
    for _ in range(30):
        CourseFactory(period=period, provider=staff.provider)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("courses:manage_list"))

    assert len(response.context["page"]) == 20


@time_machine.travel(IN_WINDOW)
def test_nudge_query_count_is_flat(client, tree, django_assert_max_num_queries):
    from tests.factories.portal import TeacherFactory

    period = PeriodFactory(city=tree.city)
    course = CourseFactory(period=period)
    CourseSelection.objects.create(teacher=tree.teacher_a.teacher, course=course, period=period, selected_at=IN_WINDOW)
    client.force_login(tree.erin)
    client.get(reverse("courses:nudge"))
    with django_assert_max_num_queries(25) as few:
        client.get(reverse("courses:nudge"))
    for _ in range(30):
        teacher = TeacherFactory(unit=tree.school_b)
        CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=IN_WINDOW)

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("courses:nudge"))

    assert response.context["page"].paginator.count == 33
