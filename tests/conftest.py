import pytest
from django.db import connection

from portal.models import Role
from tests import pgbouncer
from tests.factories.portal import DistrictFactory, SchoolFactory, admin_user, teacher_user

# `make test` runs the whole suite on PostgreSQL, then these again on SQLite (`-m sqlite`), the
# demo's database: the unit tests, the paths whose SQL differs by database (each
# `connection.vendor` branch: locks, set-based notices and audit rows, the roster's writes,
# kept totals against summed ledgers, the sweep's claim, school progress) and the demo's pages.
SQLITE_TOO = (
    "tests/unit/",
    "tests/integration/test_locking.py",
    "tests/integration/test_notify.py",
    "tests/integration/test_roster_import.py",
    "tests/integration/test_roster_commands.py",
    "tests/integration/test_credits_totals.py",
    "tests/integration/test_credits_compliance.py",
    "tests/integration/test_credits_ledger.py",
    "tests/integration/test_enrollment_chain.py",
    "tests/integration/test_enrollment_bulk.py",
    "tests/integration/test_courses_selection.py",
    "tests/integration/test_courses_views.py",
    "tests/integration/background/test_background_sweep.py",
    "tests/integration/test_home.py",
    "tests/integration/test_crawl.py",
)


def pytest_collection_modifyitems(config, items):
    from django.conf import settings

    for item in items:
        restore_seed_rows_after(item)
        if item.nodeid.startswith(SQLITE_TOO):
            item.add_marker(pytest.mark.sqlite)
    if settings.DATABASES["default"]["ENGINE"].endswith("postgresql"):
        return
    skip = pytest.mark.skip(reason="needs PostgreSQL (run `make test`)")
    for item in items:
        if "postgres" in item.keywords:
            item.add_marker(skip)


def restore_seed_rows_after(item) -> None:
    """A transactional test ends by emptying every table, data migrations' rows
    (stages, topics, beat schedules) included; restore them for the tests after it."""
    marker = item.get_closest_marker("django_db")
    transactional = (marker is not None and marker.kwargs.get("transaction")) or (
        "transactional_db" in getattr(item, "fixturenames", ()) or "live_server" in getattr(item, "fixturenames", ())
    )
    if transactional:
        kwargs = dict(marker.kwargs) if marker else {}
        kwargs.update(transaction=True, serialized_rollback=True)
        item.add_marker(pytest.mark.django_db(**kwargs), append=False)


@pytest.fixture(autouse=True)
def pgbouncer_safe_sql():
    """Every statement a test sends must be safe behind PgBouncer in transaction mode (tests/pgbouncer.py)."""
    with connection.execute_wrapper(pgbouncer.guard):
        yield


@pytest.fixture(autouse=True)
def figures_counted_anew():
    """No test reads dashboard figures another test counted (the cache outlives a test's rollback)."""
    from portal.figures import figures_forget

    figures_forget()


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


@pytest.fixture(scope="session")
def django_db_setup(django_db_setup):
    """Make the serialized copy of the seed rows visible from every context.

    Django's connections are context-local: once Playwright's event loop runs
    (browser tests), tests get fresh connection objects that lack the copy
    taken at database creation, and serialized rollback silently restores nothing.
    """
    from django.db import connections

    connection = connections["default"]
    contents = getattr(connection, "_test_serialized_contents", None)
    if contents is not None:
        type(connection)._test_serialized_contents = contents
    return django_db_setup
