import pytest
from django.db import connection

from portal.models import Role
from tests.factories.portal import DistrictFactory, SchoolFactory, admin_user, teacher_user


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run `make test`)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


@pytest.fixture
def tree(db):
    """Two districts of one city, two schools in the first, one in the second.

    Names follow the healthchecks habit: alice (school A), bob (school B, same
    district), carol (district 1), dave (district 2's school), erin (city).
    """
    district1 = DistrictFactory(name="天河区")
    city = district1.parent
    district2 = DistrictFactory(name="海珠区", parent=city)
    school_a = SchoolFactory(name="A校", parent=district1)
    school_b = SchoolFactory(name="B校", parent=district1)
    school_c = SchoolFactory(name="C校", parent=district2)

    class Tree:
        pass

    t = Tree()
    t.city, t.district1, t.district2 = city, district1, district2
    t.school_a, t.school_b, t.school_c = school_a, school_b, school_c
    t.alice = admin_user(Role.SCHOOL_ADMIN, school_a, name="alice")
    t.bob = admin_user(Role.SCHOOL_ADMIN, school_b, name="bob")
    t.carol = admin_user(Role.DISTRICT_ADMIN, district1, name="carol")
    t.dave = admin_user(Role.SCHOOL_ADMIN, school_c, name="dave")
    t.erin = admin_user(Role.CITY_ADMIN, city, name="erin")
    t.teacher_a = teacher_user(unit=school_a, name="teacher_a")
    t.teacher_b = teacher_user(unit=school_b, name="teacher_b")
    t.teacher_c = teacher_user(unit=school_c, name="teacher_c")
    return t


@pytest.fixture
def is_postgres():
    return connection.vendor == "postgresql"
