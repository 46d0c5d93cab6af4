"""The platform operator creates a city and its first city admin; she sets the city up from the admin alone."""

import datetime as dt

import pytest
from django.urls import reverse

from portal import idcard
from portal.models import Role, RoleAssignment, Unit, UnitKind, User


@pytest.fixture
def staff_erin(tree):
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    return tree.erin


def _inline_mgmt(prefix="role_assignments", total=0, initial=0):
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": str(initial),
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


@pytest.fixture
def operator(db):
    from tests.factories.portal import UserFactory

    return UserFactory(name="省平台运维", is_staff=True, is_operator=True)


def test_operator_adds_a_city_and_its_admin_who_sets_up_district_school_and_admin(client, operator):
    client.force_login(operator)
    add_unit = reverse("admin:portal_unit_add")
    client.post(add_unit, {"code": "440200", "name": "韶关市", "kind": "city", "is_active": "on"})
    city = Unit.objects.get(code="440200")
    city_admin_number = idcard.make("440203", dt.date(1979, 5, 5), 21)
    client.post(
        reverse("admin:portal_user_add"),
        {
            "id_number": city_admin_number,
            "name": "韶关市教师发展中心",
            "usable_password": "true",
            "password1": "Sg9-city-centre-1",
            "password2": "Sg9-city-centre-1",
            **_inline_mgmt(total=1),
            "role_assignments-0-role": "city_admin",
            "role_assignments-0-unit": city.pk,
        },
    )
    city_admin = User.objects.get(id_number=city_admin_number)
    assert city_admin.must_change_password  # the operator chose it
    city_admin.is_staff, city_admin.must_change_password = True, False  # ... and she has replaced it
    city_admin.save(update_fields=["is_staff", "must_change_password"])
    client.force_login(city_admin)
    client.post(
        add_unit,
        {
            "code": "440203",
            "name": "武江区",
            "kind": "district",
            "parent": city.pk,
            "district_type": "district",
            "is_active": "on",
        },
    )
    district = Unit.objects.get(code="440203")
    client.post(
        add_unit,
        {
            "code": "440203001",
            "name": "韶关市武江实验小学",
            "kind": "school",
            "parent": district.pk,
            "ownership": "public",
            "is_active": "on",
        },
    )
    school = Unit.objects.get(code="440203001")
    number = idcard.make("440203", dt.date(1980, 3, 3), 17)
    response = client.post(
        reverse("admin:portal_user_add"),
        {
            "id_number": number.lower(),
            "name": "韶关校管",
            "usable_password": "true",
            "password1": "Sg9-mountain-river",
            "password2": "Sg9-mountain-river",
            **_inline_mgmt(total=1),
            "role_assignments-0-role": "school_admin",
            "role_assignments-0-unit": school.pk,
        },
    )

    assert response.status_code == 302
    assert (city.path, district.path, school.path) == ("/440200/", "/440200/440203/", "/440200/440203/440203001/")
    assert list(city.role_assignments.values_list("user", "role")) == [(city_admin.pk, Role.CITY_ADMIN)]
    new_admin = User.objects.get(id_number=number)
    assert list(new_admin.role_assignments.values_list("role", "unit__code")) == [("school_admin", "440203001")]
    assert new_admin.check_password("Sg9-mountain-river")


def test_city_admin_cannot_add_a_city(client, staff_erin):
    client.force_login(staff_erin)

    response = client.post(reverse("admin:portal_unit_add"), {"code": "440300", "name": "深圳市", "kind": "city"})

    assert response.status_code == 200
    assert response.context["adminform"].form.errors["kind"] == ["新建城市由平台运营人员办理"]
    assert not Unit.objects.filter(code="440300").exists()


def test_operator_sees_cities_but_no_district_school_or_teacher(client, operator, tree):
    client.force_login(operator)

    units = client.get(reverse("admin:portal_unit_changelist"))
    district = client.get(reverse("admin:portal_unit_change", args=[tree.district1.pk]))
    teachers = client.get(reverse("admin:portal_teacher_changelist"))

    assert list(units.context["cl"].result_list) == [tree.city]
    assert (district.status_code, teachers.status_code) == (404, 403)


def test_school_needs_a_parent(client, staff_erin):
    client.force_login(staff_erin)

    response = client.post(reverse("admin:portal_unit_add"), {"code": "X1", "name": "孤儿学校", "kind": "school"})

    assert response.status_code == 200
    assert not Unit.objects.filter(code="X1").exists()


def test_city_admin_sees_only_her_units_in_admin(client, staff_erin, tree):
    other_city = Unit.objects.create(code="OTHER", name="别市", kind=UnitKind.CITY)
    client.force_login(staff_erin)

    listing = client.get(reverse("admin:portal_unit_changelist"))
    foreign = client.get(reverse("admin:portal_unit_change", args=[other_city.pk]))

    assert set(listing.context["cl"].result_list) == set(Unit.objects.filter(path__startswith=tree.city.path))
    assert foreign.status_code == 404


def test_city_admin_cannot_give_roles_outside_her_reach(client, staff_erin):
    other_city = Unit.objects.create(code="OS", name="外市", kind=UnitKind.CITY)
    client.force_login(staff_erin)
    user = User.objects.create_user(idcard.make("440106", dt.date(1981, 1, 1), 3), "pw", name="x")

    client.post(
        reverse("admin:portal_roleassignment_add"), {"user": user.pk, "role": "city_admin", "unit": other_city.pk}
    )

    assert not RoleAssignment.objects.filter(user=user).exists()


def test_school_admin_without_staff_flag_cannot_enter_admin(client, tree):
    client.force_login(tree.alice)

    response = client.get(reverse("admin:portal_unit_changelist"))

    assert response.status_code == 302
    assert "/admin/login/" in response["Location"]


def test_teacher_search_in_admin_finds_loosely_typed_id(client, staff_erin, tree):
    teacher = tree.teacher_a.teacher
    client.force_login(staff_erin)
    n = teacher.id_number

    response = client.get(reverse("admin:portal_teacher_changelist"), {"q": f"{n[:6]} {n[6:].lower()}"})

    assert list(response.context["cl"].result_list) == [teacher]


def test_city_admin_cannot_edit_a_user_with_powers_in_another_city(client, staff_erin, tree):
    other_city = Unit.objects.create(code="OC", name="别市", kind=UnitKind.CITY)
    RoleAssignment.objects.create(user=tree.alice, role=Role.CITY_ADMIN, unit=other_city)
    client.force_login(staff_erin)

    listing = client.get(reverse("admin:portal_user_changelist"))
    change = client.get(reverse("admin:portal_user_change", args=[tree.alice.pk]))

    assert tree.alice not in listing.context["cl"].result_list
    assert tree.bob in listing.context["cl"].result_list
    assert change.status_code == 404


def test_operator_sees_and_changes_the_job_schedules(client, operator):
    from django_celery_beat.models import PeriodicTask

    task = PeriodicTask.objects.get(task="enrollment.tasks.approval_reminders")
    client.force_login(operator)

    listing = client.get(reverse("admin:django_celery_beat_periodictask_changelist"))
    change = client.get(reverse("admin:django_celery_beat_periodictask_change", args=[task.pk]))
    delete = client.get(reverse("admin:django_celery_beat_periodictask_delete", args=[task.pk]))

    assert (listing.status_code, change.status_code, delete.status_code) == (200, 200, 403)
    assert task.name in listing.content.decode()


@pytest.mark.parametrize("who", ["erin", "carol"])
def test_city_and_district_admins_do_not_see_the_job_schedules(client, tree, who):
    user = getattr(tree, who)
    user.is_staff = True
    user.save(update_fields=["is_staff"])
    client.force_login(user)

    assert client.get(reverse("admin:django_celery_beat_periodictask_changelist")).status_code == 403


def test_operator_with_a_city_role_sees_that_citys_people_only(client, operator, tree):
    other_city = Unit.objects.create(code="OC", name="外市", kind=UnitKind.CITY)
    RoleAssignment.objects.create(user=operator, role=Role.CITY_ADMIN, unit=tree.city)
    client.force_login(operator)

    teachers = client.get(reverse("admin:portal_teacher_changelist")).context["cl"].queryset
    units = client.get(reverse("admin:portal_unit_changelist")).context["cl"].queryset

    assert set(teachers) == {tree.teacher_a.teacher, tree.teacher_b.teacher, tree.teacher_c.teacher}
    assert set(units) == set(Unit.objects.filter(path__startswith=tree.city.path)) | {other_city}
