"""A city admin builds her tree in the portal: districts, schools, and the admins of each."""

import pytest
from django.urls import reverse

from portal.models import Role, RoleAssignment, Unit, UnitKind
from tests.factories.portal import UserFactory, id_number

pytestmark = pytest.mark.django_db


def _unit(parent, kind, code, name) -> dict:
    return {"form": "unit", "unit-parent": parent.pk, "unit-kind": kind, "unit-code": code, "unit-name": name}


def _grant(unit, role, number, name, password="") -> dict:
    return {
        "form": "grant",
        "grant-unit": unit.pk,
        "grant-role": role,
        "grant-id_number": number,
        "grant-name": name,
        "grant-password": password,
    }


def test_city_admin_adds_a_district_and_a_school_in_it(client, tree):
    client.force_login(tree.erin)

    client.post(reverse("portal:unit_tree"), _unit(tree.city, UnitKind.DISTRICT, "440307", "龙岗区"))
    district = Unit.objects.get(code="440307")
    client.post(reverse("portal:unit_tree"), _unit(district, UnitKind.SCHOOL, "440307001", "龙岗区实验学校"))

    school = Unit.objects.get(code="440307001")
    assert (district.parent, school.parent, school.path) == (tree.city, district, f"{district.path}440307001/")


def test_a_school_below_a_school_is_refused_with_a_message(client, tree):
    client.force_login(tree.erin)

    response = client.post(reverse("portal:unit_tree"), _unit(tree.school_a, UnitKind.SCHOOL, "X1", "校中校"))

    # A school is no parent: the form offers only the city and its districts.
    assert response.context["unit_form"].errors["parent"] == ["选择一个有效的选项： 该选择不在可用的选项中。"]
    assert Unit.objects.filter(code="X1").exists() is False


def test_a_district_admin_adds_schools_but_no_district(client, tree):
    client.force_login(tree.carol)

    school = client.post(reverse("portal:unit_tree"), _unit(tree.district1, UnitKind.SCHOOL, "D1S9", "天河区新校"))
    district = client.post(reverse("portal:unit_tree"), _unit(tree.city, UnitKind.DISTRICT, "D9", "新区"))

    assert school.status_code == 302
    assert district.status_code == 200  # the city is not hers to choose
    assert list(Unit.objects.filter(code__in=["D1S9", "D9"]).values_list("code", flat=True)) == ["D1S9"]


def test_a_taken_code_is_answered_on_its_field(client, tree):
    client.force_login(tree.erin)

    response = client.post(
        reverse("portal:unit_tree"), _unit(tree.district1, UnitKind.SCHOOL, tree.school_a.code, "重复")
    )

    assert list(response.context["unit_form"].errors) == ["code"]


def test_city_admin_names_a_school_admin_with_a_new_login(client, tree):
    client.force_login(tree.erin)
    number = id_number()

    response = client.post(
        reverse("portal:unit_tree"), _grant(tree.school_b, Role.SCHOOL_ADMIN, number, "新校长", "Principal-2026!")
    )

    assert response.status_code == 302
    assignment = RoleAssignment.objects.get(user__id_number=number)
    user = assignment.user
    assert (assignment.unit, assignment.role, user.check_password("Principal-2026!"), user.must_change_password) == (
        tree.school_b,
        Role.SCHOOL_ADMIN,
        True,
        True,
    )


def test_a_district_admin_may_not_name_a_city_admin(client, tree):
    client.force_login(tree.carol)

    response = client.post(
        reverse("portal:unit_tree"), _grant(tree.district1, Role.CITY_ADMIN, id_number(), "越权", "Some-pass-2026")
    )

    assert list(response.context["grant_form"].errors) == ["role"]
    assert RoleAssignment.objects.filter(role=Role.CITY_ADMIN).count() == 1


def test_a_school_admin_role_on_a_district_is_refused(client, tree):
    client.force_login(tree.erin)
    user = UserFactory(name="某人")

    response = client.post(
        reverse("portal:unit_tree"), _grant(tree.district1, Role.SCHOOL_ADMIN, user.id_number, "某人")
    )

    assert response.context["grant_form"].non_field_errors() == ["学校管理员 不能设在区（县级）上"]


def test_admin_revokes_a_role_in_her_reach_but_not_her_own(client, tree):
    client.force_login(tree.erin)
    alice_role = RoleAssignment.objects.get(user=tree.alice)
    own = RoleAssignment.objects.get(user=tree.erin)

    client.post(reverse("portal:admin_revoke", args=[alice_role.pk]))
    response = client.post(reverse("portal:admin_revoke", args=[own.pk]), follow=True)

    assert RoleAssignment.objects.filter(pk=alice_role.pk).exists() is False
    assert RoleAssignment.objects.filter(pk=own.pk).exists() is True
    assert [str(m) for m in response.context["messages"]] == [
        "已撤销 alice 的A校学校管理员角色。",
        "不能撤销自己的管理角色，请由其他管理员办理",
    ]


def test_a_district_admin_cannot_see_or_revoke_the_city_admin(client, tree):
    client.force_login(tree.carol)
    erin_role = RoleAssignment.objects.get(user=tree.erin)

    response = client.post(reverse("portal:admin_revoke", args=[erin_role.pk]))

    assert response.status_code == 404
