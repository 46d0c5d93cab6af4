"""The deadline sweep through a real Celery worker on Redis: the right applications at Guangzhou's
2022 dates, nothing more on a rerun or in two workers at once, one correct state after `kill -9`.
And without any worker, deadlines still hold at request time."""

import time

import pytest
from django.db import connection

from enrollment.models import Application, ApplicationState, AuditAction, AuditEntry
from enrollment.services import ActionRefused, application_approve
from enrollment.tasks import applications_expire_overdue
from portal import idcard
from portal.models import Notification, Teacher
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory, id_number
from tests.integration.background.conftest import wait_for


def _states(programme) -> dict[str, int]:
    rows = Application.objects.filter(programme=programme).values_list("state", flat=True)
    counts: dict[str, int] = {}
    for state in rows:
        counts[state] = counts.get(state, 0) + 1
    return counts


def _sweep_and_wait(now: str, programme, expected_expired: int, **kwargs) -> None:
    applications_expire_overdue.delay(at(now).isoformat(), **kwargs)
    wait_for(lambda: _states(programme).get(ApplicationState.EXPIRED, 0) >= expected_expired, timeout=60)


@pytest.mark.celery
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweep_expires_exactly_the_school_level_at_0319_and_the_district_level_at_0326(tree, celery_workers):
    programme = programme_with_chain(tree.city)
    at_school = [TeacherFactory(unit=tree.school_a) for _ in range(3)]
    at_district = [TeacherFactory(unit=tree.school_b) for _ in range(2)]
    bulk_applications(programme, at_school)
    bulk_applications(programme, at_district, state=ApplicationState.APPROVED, level_order=2)
    celery_workers()

    applications_expire_overdue.delay(at("2022-03-18 23:59").isoformat())  # still in time for schools
    time.sleep(3)
    before = _states(programme)
    _sweep_and_wait("2022-03-19 00:00", programme, 3)
    after_school = _states(programme)
    _sweep_and_wait("2022-03-26 00:00", programme, 5)

    assert before == {"submitted": 3, "approved": 2}
    assert after_school == {"expired": 3, "approved": 2}
    assert _states(programme) == {"expired": 5}
    expired_at_school = Application.objects.filter(teacher__in=at_school).values_list("level__order", flat=True)
    assert list(expired_at_school) == [1, 1, 1]


@pytest.mark.celery
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweep_rerun_and_two_workers_at_once_change_nothing_more_and_notify_once(tree, celery_workers):
    programme = programme_with_chain(tree.city)
    teachers = [Teacher.objects.get(user=u) for u in (tree.teacher_a, tree.teacher_b, tree.teacher_c)]
    teachers += [TeacherFactory(unit=tree.school_a) for _ in range(200)]
    bulk_applications(programme, teachers)
    celery_workers()
    celery_workers()
    now = at("2022-03-19 00:00").isoformat()

    for _ in range(6):  # six runs spread over two workers (two processes each), small batches interleave
        applications_expire_overdue.delay(now, batch_size=25)
    wait_for(lambda: _states(programme) == {"expired": 203}, timeout=60)
    time.sleep(3)  # let the remaining runs finish

    assert _states(programme) == {"expired": 203}
    audits = AuditEntry.objects.filter(action=AuditAction.EXPIRE)
    assert audits.count() == 203
    assert audits.values("application_id").distinct().count() == 203
    assert set(audits.values_list("from_state", "to_state", "actor_role")) == {("submitted", "expired", "system")}
    notes = Notification.objects.filter(kind="enrollment.expired")
    assert sorted(notes.values_list("user__name", flat=True)) == ["teacher_a", "teacher_b", "teacher_c"]


def _bulk_teachers(unit, n: int) -> list[Teacher]:
    teachers = []
    for i in range(n):
        teacher = Teacher(name=f"批量{i}", id_number=id_number(), unit=unit, subject="数学", mobile="13800138000")
        teacher.derive_from_id_number()
        teachers.append(teacher)
    assert all(idcard.check(t.id_number) for t in teachers)
    return Teacher.objects.bulk_create(teachers)


def _expired() -> int:
    return Application.objects.filter(state=ApplicationState.EXPIRED).count()


def _worker_waits_for_lock() -> bool:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT COUNT(*) FROM pg_stat_activity WHERE datname = current_database() AND wait_event_type = 'Lock'"
        )
        return cursor.fetchone()[0] > 0


@pytest.mark.celery
@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_sweep_worker_killed_mid_way_and_restarted_leaves_one_correct_state(tree, celery_workers):
    programme = programme_with_chain(tree.city)
    total = 4000
    bulk_applications(programme, _bulk_teachers(tree.school_a, total))
    first = celery_workers()

    applications_expire_overdue.delay(at("2022-03-19 00:00").isoformat(), batch_size=10)
    wait_for(lambda: _expired() > 0, timeout=60, interval=0.005)  # some batches committed
    # Hold the audit table so the next batch stops inside its transaction (rows updated, not committed),
    # then kill the worker right there: the kill lands mid-sweep, whatever the machine's speed.
    blocker = connection.copy()
    blocker.ensure_connection()
    with blocker.cursor() as cursor:
        cursor.execute("BEGIN")
        cursor.execute("LOCK TABLE enrollment_auditentry IN SHARE MODE")
    wait_for(_worker_waits_for_lock, timeout=30, interval=0.05)
    killed_at = _expired()
    first.kill()
    with blocker.cursor() as cursor:
        cursor.execute("ROLLBACK")
    blocker.close()
    celery_workers()  # redelivery: late ack + the short visibility timeout of the test broker

    wait_for(lambda: _states(programme) == {"expired": total}, timeout=180)

    assert 0 < killed_at < total, killed_at
    audits = AuditEntry.objects.filter(action=AuditAction.EXPIRE)
    assert audits.count() == total
    assert audits.values("application_id").distinct().count() == total
    assert set(audits.values_list("from_state", "to_state")) == {("submitted", "expired")}


@pytest.mark.postgres
@pytest.mark.django_db
def test_deadline_holds_without_any_worker(tree):
    programme = programme_with_chain(tree.city)
    [application] = bulk_applications(programme, [Teacher.objects.get(user=tree.teacher_a)])

    with pytest.raises(ActionRefused):
        application_approve(actor=tree.alice, application=application, now=at("2022-03-19 00:00"))

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED  # nobody swept
    assert application.effective_state(at("2022-03-19 00:00")) == ApplicationState.EXPIRED
