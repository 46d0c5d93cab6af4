"""Dashboards and background exports read from the replica; writes and everything else use the primary.

The replica here is a second database on the same PostgreSQL server, made by the test as a copy
of the test database (CREATE DATABASE ... TEMPLATE) and then set read-only; the primary is then
changed, so the two disagree the way a lagging replica does. What this proves: which reads the
portal sends to DATABASE_REPLICA_URL's connection and which it keeps on the primary, that a row
read from the replica and saved is written to the primary, and that nothing writes to the
replica (it refuses writes). What it does not prove: streaming replication itself, replay lag
behaviour of a real standby (the wait for the replica to catch up is exercised only through its
"not a standby" branch), or failover; those belong to the database's own operation
(docs/scaling.md).
"""

import openpyxl
import psycopg2
import pytest
import time_machine
from django.conf import settings
from django.db import connections
from django.db.utils import load_backend
from django.urls import reverse

from courses.models import Course, CourseSelection
from credits.selectors import compliance_overview
from portal.export_runner import export_job_run
from portal.models import ExportJob, ExportStatus, Teacher
from portal.replica import REPLICA, reading_alias, replica_reads
from tests.factories.courses import CourseFactory, PeriodFactory, shanghai
from tests.factories.credits import entries, preloaded

pytestmark = [pytest.mark.postgres, pytest.mark.django_db(transaction=True)]

MET = (("public", 30, None, ["ethics"]), ("professional", 42), ("elective", 18))
IN_WINDOW = shanghai(2022, 3, 20, 10)


def _server_admin():
    params = connections["default"].get_connection_params()
    conn = psycopg2.connect(**{**params, "dbname": "postgres"})
    conn.autocommit = True
    return conn


@pytest.fixture
def city(tree):
    """On the primary, before the copy: the tree's city with period 2201 under Guangzhou's rule,
    teacher_a compliant in 2022 and selected into one course."""
    preloaded()
    tree.period = PeriodFactory(city=tree.city)
    entries(tree.teacher_a.teacher, 2022, *MET)
    tree.course = CourseFactory(period=tree.period, category="elective")
    _select(tree.teacher_a.teacher, tree.course)
    return tree


def _select(teacher, course):
    CourseSelection.objects.create(teacher=teacher, course=course, period=course.period, selected_at=IN_WINDOW)
    Course.objects.filter(pk=course.pk).update(enrolled_count=course.selections.count())


@pytest.fixture
def replica(city):
    """A read-only copy of the test database as it is now, configured as the replica; dropped after."""
    primary = connections["default"].settings_dict
    name = f"{primary['NAME']}_replica"
    connections.close_all()  # a template must have no other connections ...
    admin = _server_admin()
    with admin.cursor() as cur:
        # ... nor idle ones left by earlier tests' threads and processes (live servers, workers).
        cur.execute(
            "SELECT pg_terminate_backend(pid) FROM pg_stat_activity WHERE datname = %s AND pid <> pg_backend_pid()",
            [primary["NAME"]],
        )
        cur.execute(f'DROP DATABASE IF EXISTS "{name}"')
        cur.execute(f'CREATE DATABASE "{name}" TEMPLATE "{primary["NAME"]}"')
        cur.execute(f'ALTER DATABASE "{name}" SET default_transaction_read_only = on')
    # Connected before the alias is configured: Django's test case lets a test open connections
    # only to the databases it declared at its start, and this one did not exist then.
    replica_settings = {**primary, "NAME": name, "TEST": {}}
    wrapper = load_backend(primary["ENGINE"]).DatabaseWrapper(replica_settings, REPLICA)
    wrapper.ensure_connection()
    connections[REPLICA] = wrapper
    settings.DATABASES[REPLICA] = replica_settings
    try:
        yield name
    finally:
        wrapper.close()
        del connections[REPLICA]
        del settings.DATABASES[REPLICA]
        with admin.cursor() as cur:
            cur.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        admin.close()


def test_dashboard_reads_the_replica(city, replica, client):
    # After the copy teacher_b meets the rule too, on the primary only: the replica lags.
    entries(city.teacher_b.teacher, 2022, *MET)
    client.force_login(city.erin)

    response = client.get(reverse("credits:dashboard") + "?year=2022")

    overview = response.context["overview"]
    assert (overview.total.teachers, overview.total.compliant) == (3, 1)
    primary = compliance_overview(city.city, 2022)
    assert (primary.total.teachers, primary.total.compliant) == (3, 2)


@time_machine.travel(IN_WINDOW)
def test_fill_rates_and_school_progress_read_the_replica(city, replica, client):
    _select(city.teacher_b.teacher, city.course)  # on the primary only
    client.force_login(city.erin)

    fill = client.get(reverse("courses:fill_rates"), {"period": city.period.pk})
    progress = client.get(reverse("courses:school_progress"), {"period": city.period.pk})

    assert [c.enrolled_count for c in fill.context["page"]] == [1]
    assert {r.unit.name: r.selected for r in progress.context["page"]} == {"A校": 1, "B校": 0, "C校": 0}
    assert Course.objects.get(pk=city.course.pk).enrolled_count == 2


def test_reads_inside_replica_reads_are_routed_when_run(city, replica):
    with replica_reads():
        queryset = Teacher.objects.filter(unit=city.school_a)
        assert (reading_alias(), queryset.db) == (REPLICA, REPLICA)
    assert queryset.db == "default"


def test_background_export_reads_the_replica_and_reports_on_the_primary(city, replica, tmp_path, settings):
    settings.MEDIA_ROOT = tmp_path
    Teacher.objects.filter(pk=city.teacher_c.teacher.pk).update(name="只在主库改过")
    job = ExportJob.objects.create(user=city.erin, kind="roster", params={})

    status = export_job_run(job.pk)

    job.refresh_from_db()
    assert (status, job.status, job.progress) == ("done", ExportStatus.DONE, 100)
    rows = list(openpyxl.load_workbook(job.file.path, read_only=True).active.iter_rows(values_only=True))
    # The replica's names: the primary's rename is not there (this replica is no standby, so the
    # runner's wait for it to catch up returns at once).
    assert sorted(row[4] for row in rows[2:]) == ["teacher_a", "teacher_b", "teacher_c"]
    # The job itself exists only on the primary: the replica was never written to.
    assert not ExportJob.objects.using(REPLICA).filter(pk=job.pk).exists()


def test_replica_streams_inside_a_transaction(city, replica, client):
    """Server-side cursors on the replica never run in autocommit (safe behind PgBouncer's transaction mode)."""
    seen = []

    def record(execute, sql, params, many, context):
        seen.append((bool(getattr(context["cursor"].cursor, "name", None)), context["connection"].get_autocommit()))
        return execute(sql, params, many, context)

    client.force_login(city.erin)
    with connections[REPLICA].execute_wrapper(record):
        response = client.get(reverse("credits:dashboard_export") + "?year=2022&show=all")
        content = b"".join(response.streaming_content) if response.streaming else response.content

    assert (response.status_code, content[:2]) == (200, b"PK")
    assert (True, False) in seen  # the export's rows came through a server-side cursor ...
    assert (True, True) not in seen  # ... and never outside a transaction


def test_a_row_read_from_the_replica_is_saved_to_the_primary(city, replica):
    teacher = Teacher.objects.using(REPLICA).get(pk=city.teacher_a.teacher.pk)
    teacher.subject = "物理"

    teacher.save(update_fields=["subject"])

    assert Teacher.objects.get(pk=teacher.pk).subject == "物理"
    assert Teacher.objects.using(REPLICA).get(pk=teacher.pk).subject != "物理"


def test_own_writes_are_read_from_the_primary_outside_the_dashboards(city, replica, client):
    entries(city.teacher_b.teacher, 2022, *MET)
    client.force_login(city.teacher_b)

    response = client.get(reverse("credits:teacher", args=[city.teacher_b.teacher.pk]) + "?year=2022")

    assert response.status_code == 200
    assert response.context["evaluation"].met is True


def test_replica_refuses_writes(city, replica):
    from django.db import InternalError, transaction

    with pytest.raises(InternalError), transaction.atomic(using=REPLICA):
        Teacher.objects.using(REPLICA).filter(pk=city.teacher_a.teacher.pk).update(subject="x")


def test_without_a_replica_everything_reads_the_primary(db):
    assert REPLICA not in settings.DATABASES
    with replica_reads() as alias:
        assert (alias, reading_alias(), Teacher.objects.all().db) == ("default", "default", "default")


def test_replica_url_and_pooled_primary_settings(monkeypatch):
    import importlib

    import portal.settings as portal_settings

    monkeypatch.setenv("DATABASE_REPLICA_URL", "postgres://reader@replica.internal:5432/jijiao")
    try:
        reloaded = importlib.reload(portal_settings)
        replica = reloaded.DATABASES[REPLICA]
        assert (replica["HOST"], replica["USER"], replica["TEST"]) == (
            "replica.internal",
            "reader",
            {"MIRROR": "default"},
        )
        assert reloaded.DATABASE_ROUTERS == ["portal.replica.PrimaryReplicaRouter"]
    finally:
        monkeypatch.delenv("DATABASE_REPLICA_URL")
        importlib.reload(portal_settings)
