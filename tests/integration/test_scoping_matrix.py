"""Each role against a teacher inside and outside its subtree: list, detail, edit.

Outsiders get 404 (they must not learn the teacher exists); roles that have
no business on admin pages (teachers, provider staff) get 403.
"""

import pytest
from django.urls import reverse

from courses.models import Provider, ProviderStaff
from tests.factories.portal import UserFactory

ROLES = ["alice", "bob", "carol", "dave", "erin", "teacher", "provider"]


@pytest.fixture
def people(tree):
    provider = Provider.objects.create(code="P1", name="广州开放大学")
    staff = UserFactory(name="paul")
    ProviderStaff.objects.create(provider=provider, user=staff)
    return {
        "alice": tree.alice,
        "bob": tree.bob,
        "carol": tree.carol,
        "dave": tree.dave,
        "erin": tree.erin,
        "teacher": tree.teacher_a,
        "provider": staff,
    }


def _teacher(tree, which):
    return {"a": tree.teacher_a, "c": tree.teacher_c}[which].teacher


# (role, teacher "a" in school A of district 1 / "c" in school C of district 2) -> expected
# fmt: off
LIST_CONTAINS = {
    ("alice", "a"): True, ("alice", "c"): False,
    ("bob", "a"): False, ("bob", "c"): False,
    ("carol", "a"): True, ("carol", "c"): False,
    ("dave", "a"): False, ("dave", "c"): True,
    ("erin", "a"): True, ("erin", "c"): True,
}
DETAIL = {
    ("alice", "a"): 200, ("alice", "c"): 404,
    ("bob", "a"): 404, ("bob", "c"): 404,
    ("carol", "a"): 200, ("carol", "c"): 404,
    ("dave", "a"): 404, ("dave", "c"): 200,
    ("erin", "a"): 200, ("erin", "c"): 200,
    ("teacher", "a"): 200, ("teacher", "c"): 404,  # teacher_a sees her own record only
    ("provider", "a"): 403, ("provider", "c"): 403,
}
EDIT = {
    ("alice", "a"): 302, ("alice", "c"): 404,
    ("bob", "a"): 404, ("bob", "c"): 404,
    ("carol", "a"): 302, ("carol", "c"): 404,
    ("dave", "a"): 404, ("dave", "c"): 302,
    ("erin", "a"): 302, ("erin", "c"): 302,
    ("teacher", "a"): 403, ("teacher", "c"): 403,
    ("provider", "a"): 403, ("provider", "c"): 403,
}
# fmt: on


@pytest.mark.parametrize(("role", "which"), sorted(LIST_CONTAINS))
def test_roster_list_shows_only_own_subtree(client, tree, people, role, which):
    client.force_login(people[role])
    teacher = _teacher(tree, which)

    response = client.get(reverse("portal:roster"))

    assert response.status_code == 200
    shown = {t.pk for t in response.context["page"]}
    assert (teacher.pk in shown) is LIST_CONTAINS[(role, which)]


@pytest.mark.parametrize("role", ["teacher", "provider"])
def test_roster_list_forbidden_for_non_admins(client, people, role):
    client.force_login(people[role])

    response = client.get(reverse("portal:roster"))

    assert response.status_code == 403


@pytest.mark.parametrize(("role", "which"), sorted(DETAIL))
def test_teacher_detail_by_role(client, tree, people, role, which):
    client.force_login(people[role])

    response = client.get(reverse("portal:teacher_detail", args=[_teacher(tree, which).pk]))

    assert response.status_code == DETAIL[(role, which)]


@pytest.mark.parametrize(("role", "which"), sorted(EDIT))
def test_teacher_edit_post_by_role(client, tree, people, role, which):
    teacher = _teacher(tree, which)
    client.force_login(people[role])
    data = {
        "name": "改过的名字",
        "id_number": teacher.id_number,
        "stage": teacher.stage_id,
        "subject": "物理",
        "mobile": "13912345678",
        "position": teacher.position,
    }

    response = client.post(reverse("portal:teacher_edit", args=[teacher.pk]), data)

    assert response.status_code == EDIT[(role, which)]
    teacher.refresh_from_db()
    assert (teacher.subject == "物理") is (EDIT[(role, which)] == 302)


@pytest.mark.parametrize(("role", "which"), sorted(EDIT))
def test_teacher_password_page_by_role(client, tree, people, role, which):
    client.force_login(people[role])

    response = client.get(reverse("portal:teacher_password", args=[_teacher(tree, which).pk]))

    assert response.status_code == {302: 200}.get(EDIT[(role, which)], EDIT[(role, which)])


def test_anonymous_user_is_sent_to_login(client, tree):
    response = client.get(reverse("portal:teacher_detail", args=[tree.teacher_a.teacher.pk]))

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


ADMIN_PAGES = ["portal:roster_import", "portal:roster_template", "portal:roster_export"]


@pytest.mark.parametrize("url_name", ADMIN_PAGES)
@pytest.mark.parametrize("role", ["teacher", "provider"])
def test_excel_pages_forbidden_for_non_admins(client, people, role, url_name):
    client.force_login(people[role])

    assert client.get(reverse(url_name)).status_code == 403


@pytest.mark.parametrize(
    ("role", "status"), [("alice", 403), ("carol", 200), ("erin", 200), ("teacher", 403), ("provider", 403)]
)
def test_unit_tree_by_role(client, people, role, status):
    client.force_login(people[role])

    assert client.get(reverse("portal:unit_tree")).status_code == status


def test_unit_tree_shows_only_own_district(client, tree, people):
    client.force_login(people["carol"])

    response = client.get(reverse("portal:unit_tree"))

    units = [root.unit for root in response.context["roots"]]
    units += [child.unit for root in response.context["roots"] for child in root.children]
    assert units == [tree.district1, tree.school_a, tree.school_b]


@pytest.mark.parametrize("small_reach", [1000, 1])
@pytest.mark.parametrize("name", ["alice", "bob", "carol", "dave", "erin"])
def test_unit_ids_q_finds_the_rows_unit_q_finds_as_ids_or_as_a_path_test(tree, monkeypatch, name, small_reach):
    """A reach of at most SMALL_REACH units becomes a list of ids, a bigger one stays a path test: same rows."""
    from portal import scoping
    from portal.models import Teacher, UnitKind

    monkeypatch.setattr(scoping, "SMALL_REACH", small_reach)
    scope = scoping.scope_for(getattr(tree, name))
    by_path = set(Teacher.objects.filter(scope.unit_q("unit")).values_list("pk", flat=True))
    by_ids = set(Teacher.objects.filter(scope.unit_ids_q("unit")).values_list("pk", flat=True))
    assert by_ids == by_path
    schools = scope.unit_ids_q("unit", kinds=(UnitKind.SCHOOL,))
    in_schools = set(
        Teacher.objects.filter(scope.unit_q("unit"), unit__kind=UnitKind.SCHOOL).values_list("pk", flat=True)
    )
    assert set(Teacher.objects.filter(schools).values_list("pk", flat=True)) == in_schools
    assert by_path and in_schools  # every admin of the tree reaches a teacher
    reach = scoping.Unit.objects.filter(scope.unit_q("")).count()
    city_wide = any(u.kind == UnitKind.CITY for units in scope.units.values() for u in units)
    assert ("IdIn(F(unit_id)" in str(schools)) == (reach <= small_reach and not city_wide)


@pytest.mark.parametrize("name", ["alice", "carol", "erin"])
def test_unit_filter_offers_the_same_units_from_a_small_reach_as_from_its_query(tree, monkeypatch, name):
    """A small reach's units are known to the scope: the filter offers them without a query, exactly what the
    query finds (for each unit chosen, and none)."""
    from portal import scoping
    from portal.selectors import unit_filter_units

    def offered(small_reach, selected):
        monkeypatch.setattr(scoping, "SMALL_REACH", small_reach)
        user = getattr(tree, name)
        user._portal_scope = None  # a fresh scope for each reach size
        units = unit_filter_units(user, selected)
        return [(u.pk, u.name, u.path, u.kind) for u in units]

    for selected in (None, tree.city, tree.district1, tree.school_a, tree.school_c):
        from_memory, from_query = offered(1000, selected), offered(0, selected)
        assert from_memory == from_query
        assert from_memory  # each of these admins is offered her own units at least


@pytest.mark.sqlite  # the demo's database too: its converters (dates) come from the backend
def test_scope_reads_the_roles_and_teacher_record_the_orm_reads_in_one_query(tree, django_assert_num_queries):
    """The scope's hand-written query gives what the two querysets it replaces give: the role assignments in
    active units (not one in a closed school), the teacher record with its dates, unit and stage (none)."""
    import datetime as dt

    from portal.models import Role, RoleAssignment, Stage, Teacher, Unit
    from portal.scoping import _roles_and_teacher
    from tests.factories.portal import SchoolFactory

    closed = SchoolFactory(name="D校", parent=tree.district1, is_active=False)
    both = tree.teacher_b  # a teacher who is also her school's admin, and a district's, and a closed school's
    RoleAssignment.objects.create(user=both, role=Role.SCHOOL_ADMIN, unit=tree.school_b)
    RoleAssignment.objects.create(user=both, role=Role.DISTRICT_ADMIN, unit=tree.district2)
    RoleAssignment.objects.create(user=both, role=Role.SCHOOL_ADMIN, unit=closed)
    Teacher.objects.filter(user=tree.teacher_c).update(stage=None)
    stage = Stage.objects.order_by("pk").last()
    assert stage is not None
    Teacher.objects.filter(user=both).update(stage=stage)

    def fields(instance):
        return instance and [getattr(instance, f.attname) for f in instance._meta.concrete_fields]

    for user in (tree.alice, tree.erin, tree.teacher_a, both, tree.teacher_c, UserFactory(name="nobody")):
        assigned = RoleAssignment.objects.filter(user=user, unit__is_active=True).select_related("unit")
        expected_roles = [(a.role, fields(a.unit)) for a in assigned.order_by("pk")]
        expected = Teacher.objects.filter(user=user).select_related("unit", "stage").first()
        with django_assert_num_queries(1):
            roles, teacher = _roles_and_teacher(user.pk)
            assert fields(teacher) == fields(expected)
            if expected:  # unit and stage came with it
                assert fields(teacher.unit) == fields(expected.unit)
                assert fields(teacher.stage) == fields(expected.stage)
        assert [(role, fields(unit)) for role, unit in roles] == expected_roles
        assert all(isinstance(unit, Unit) for _, unit in roles)
    assert len(_roles_and_teacher(both.pk)[0]) == 2
    assert _roles_and_teacher(tree.teacher_c.pk)[1].stage is None
    assert isinstance(_roles_and_teacher(both.pk)[1].birth_date, dt.date)
    assert _roles_and_teacher(both.pk)[1].stage == stage
    assert _roles_and_teacher(10**9) == ([], None)  # no such user
