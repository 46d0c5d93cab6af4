"""Bulk decisions are set-based; the quota holds under parallel clicks; the audit log is immutable."""

import threading

import pytest
from django.db import DatabaseError, connection, transaction
from django.test.utils import CaptureQueriesContext

from enrollment import services
from enrollment.models import Application, ApplicationState, AuditAction, AuditEntry
from portal.models import Notification, Role, Teacher, User
from portal.scoping import scope_for
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory, admin_user


def _teachers(school, n: int) -> list[Teacher]:
    """``n`` teachers with logins, inserted in bulk."""
    built = TeacherFactory.build_batch(n, unit=school)
    users = User.objects.bulk_create([User(id_number=t.id_number, name=t.name) for t in built])
    for teacher, user in zip(built, users, strict=True):
        teacher.derive_from_id_number()
        teacher.user = user
    return Teacher.objects.bulk_create(built)


def _count_queries(fn) -> int:
    with CaptureQueriesContext(connection) as ctx:
        fn()
    return len(ctx.captured_queries)


# SQLite splits a bulk INSERT by its limit on query variables: a few more batches there.
SQLITE_BATCHES = 0 if connection.vendor == "postgresql" else 6


def test_bulk_school_approval_of_500_takes_a_fixed_number_of_queries(tree, django_assert_max_num_queries):
    programme = programme_with_chain(tree.city)
    ids = [a.pk for a in bulk_applications(programme, _teachers(tree.school_a, 500))]

    with django_assert_max_num_queries(20 + SQLITE_BATCHES):
        result = services.application_approve_bulk(actor=tree.alice, ids=ids, now=at("2022-03-16 10:00"))

    assert result.done == 500
    assert Application.objects.filter(programme=programme, state=ApplicationState.APPROVED).count() == 500
    assert AuditEntry.objects.filter(programme=programme, action=AuditAction.APPROVE).count() == 500


def test_bulk_district_approval_of_500_within_quota_takes_a_fixed_number_of_queries(
    tree, django_assert_max_num_queries
):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 500})
    teachers = _teachers(tree.school_a, 500)
    ids = [a.pk for a in bulk_applications(programme, teachers, state=ApplicationState.APPROVED, level_order=2)]

    with django_assert_max_num_queries(22 + SQLITE_BATCHES):
        result = services.application_approve_bulk(actor=tree.carol, ids=ids, now=at("2022-03-20 10:00"))

    assert result.done == 500
    assert Application.objects.filter(level__unit_kind="city").count() == 500


def test_bulk_query_count_does_not_grow_with_rows_on_postgresql(tree, is_postgres):
    if not is_postgres:
        pytest.skip("SQLite splits bulk inserts into batches of ~80 rows")
    small = programme_with_chain(tree.city)
    large = programme_with_chain(tree.city)
    teachers = _teachers(tree.school_a, 500)
    few = [a.pk for a in bulk_applications(small, teachers[:5])]
    many = [a.pk for a in bulk_applications(large, teachers)]
    now = at("2022-03-16 10:00")
    scope_for(tree.alice)  # the scope is read once per request; keep it out of both counts

    few_queries = _count_queries(
        lambda: services.application_reject_bulk(actor=tree.alice, ids=few, now=now, reason="名额有限")
    )
    many_queries = _count_queries(
        lambda: services.application_reject_bulk(actor=tree.alice, ids=many, now=now, reason="名额有限")
    )

    assert few_queries == many_queries


def test_bulk_reject_needs_one_reason(tree):
    programme = programme_with_chain(tree.city)
    ids = [a.pk for a in bulk_applications(programme, _teachers(tree.school_a, 3))]

    with pytest.raises(services.ActionRefused):
        services.application_reject_bulk(actor=tree.alice, ids=ids, now=at("2022-03-16 10:00"), reason="")

    assert Application.objects.filter(state=ApplicationState.SUBMITTED).count() == 3


def test_bulk_approval_skips_applications_outside_the_reach(tree):
    programme = programme_with_chain(tree.city)
    own = bulk_applications(programme, _teachers(tree.school_a, 2))
    other = bulk_applications(programme, _teachers(tree.school_b, 1))

    result = services.application_approve_bulk(
        actor=tree.alice, ids=[a.pk for a in own + other], now=at("2022-03-16 10:00")
    )

    assert (result.done, result.skipped) == (2, 1)
    assert Application.objects.get(pk=other[0].pk).state == ApplicationState.SUBMITTED


def test_bulk_district_approval_beyond_quota_changes_nothing(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 2})
    ids = [
        a.pk
        for a in bulk_applications(
            programme, _teachers(tree.school_a, 3), state=ApplicationState.APPROVED, level_order=2
        )
    ]

    with pytest.raises(services.ActionRefused, match="已通过 0 / 名额 2，本次选择 3 份"):
        services.application_approve_bulk(actor=tree.carol, ids=ids, now=at("2022-03-20 10:00"))

    assert Application.objects.filter(level__unit_kind="district").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_district_approvals_never_overshoot_the_quota(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 3})
    second_admin = admin_user(Role.DISTRICT_ADMIN, tree.district1, name="carol2")
    applications = bulk_applications(
        programme, _teachers(tree.school_a, 8), state=ApplicationState.APPROVED, level_order=2
    )
    barrier = threading.Barrier(len(applications))
    outcomes: list[str] = []

    def approve(application, actor):
        try:
            barrier.wait(timeout=10)
            services.application_approve(actor=actor, application=application, now=at("2022-03-20 10:00"))
            outcomes.append("ok")
        except services.ActionRefused:
            outcomes.append("refused")
        finally:
            connection.close()

    threads = [
        threading.Thread(target=approve, args=(a, tree.carol if i % 2 else second_admin))
        for i, a in enumerate(applications)
    ]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sorted(outcomes) == ["ok"] * 3 + ["refused"] * 5
    assert Application.objects.filter(programme=programme, level__unit_kind="city").count() == 3


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_parallel_expiry_sweeps_claim_each_application_once(tree):
    programme = programme_with_chain(tree.city)
    bulk_applications(programme, _teachers(tree.school_a, 40))
    barrier = threading.Barrier(2)
    counts: list[int] = []

    def sweep():
        try:
            barrier.wait(timeout=10)
            counts.append(services.application_expire_overdue(at("2022-03-19 00:00"), batch=7))
        finally:
            connection.close()

    threads = [threading.Thread(target=sweep) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)

    assert sum(counts) == 40
    assert AuditEntry.objects.filter(action=AuditAction.EXPIRE).count() == 40
    assert AuditEntry.objects.filter(action=AuditAction.EXPIRE).values("application_id").distinct().count() == 40
    assert Notification.objects.filter(kind="enrollment.expired").count() == 40
    assert Application.objects.filter(programme=programme, state=ApplicationState.EXPIRED).count() == 40


def _expiry_audit(programme) -> list[tuple]:
    return sorted(
        AuditEntry.objects.filter(programme=programme, action=AuditAction.EXPIRE).values_list(
            "application_id",
            "district_id",
            "level_id",
            "from_state",
            "to_state",
            "actor_id",
            "actor_role",
            "created_at",
        )
    )


def test_expiry_sweep_audits_each_application_once_with_its_state_and_level_and_notifies_its_teacher(tree):
    programme = programme_with_chain(tree.city)
    at_school = bulk_applications(programme, _teachers(tree.school_a, 5))
    at_district = bulk_applications(
        programme, _teachers(tree.school_b, 3), state=ApplicationState.APPROVED, level_order=2
    )
    now = at("2022-03-26 00:00")

    expired = services.application_expire_overdue(now, batch=3)  # three batches, the last one short
    again = services.application_expire_overdue(now, batch=3)

    applications = sorted(at_school + at_district, key=lambda a: a.pk)
    assert (expired, again) == (8, 0)
    assert set(Application.objects.filter(programme=programme).values_list("state", flat=True)) == {"expired"}
    assert _expiry_audit(programme) == [
        (a.pk, a.district_id, a.level_id, a.state, "expired", None, "system", now) for a in applications
    ]
    notices = Notification.objects.filter(kind="enrollment.expired").order_by("user_id")
    assert list(notices.values_list("user_id", "title", "dedup_key")) == sorted(
        (a.teacher.user_id, f"报名已逾期：{programme.title}", f"enrollment.expired.{programme.pk}.{a.level_id}")
        for a in applications
    )


@pytest.mark.postgres
@pytest.mark.django_db(transaction=True, serialized_rollback=True)
def test_expiry_sweep_skips_an_application_another_transaction_holds_and_a_later_run_expires_it_once(tree):
    programme = programme_with_chain(tree.city)
    applications = bulk_applications(programme, _teachers(tree.school_a, 12))
    held = applications[5]
    holder = connection.copy()
    holder.ensure_connection()
    try:
        with holder.cursor() as cursor:
            cursor.execute("BEGIN")
            cursor.execute("SELECT id FROM enrollment_application WHERE id = %s FOR UPDATE", [held.pk])
        during = services.application_expire_overdue(at("2022-03-19 00:00"), batch=4)
        held.refresh_from_db()
        state_while_held = held.state
    finally:
        with holder.cursor() as cursor:
            cursor.execute("ROLLBACK")
        holder.close()
    after = services.application_expire_overdue(at("2022-03-19 00:05"), batch=4)

    assert (during, after, state_while_held) == (11, 1, ApplicationState.SUBMITTED)
    assert Application.objects.filter(programme=programme, state=ApplicationState.EXPIRED).count() == 12
    audits = AuditEntry.objects.filter(action=AuditAction.EXPIRE)
    assert sorted(audits.values_list("application_id", flat=True)) == sorted(a.pk for a in applications)
    assert Notification.objects.filter(kind="enrollment.expired").count() == 12


def _entry(tree):
    programme = programme_with_chain(tree.city)
    application = services.application_submit(actor=tree.teacher_a, programme=programme, now=at("2022-03-14 09:00"))
    return AuditEntry.objects.get(application=application)


def test_audit_entry_cannot_be_saved_again(tree):
    entry = _entry(tree)
    entry.comment = "改过"

    with pytest.raises(PermissionError):
        entry.save()


def test_audit_entry_cannot_be_deleted(tree):
    entry = _entry(tree)

    with pytest.raises(PermissionError):
        entry.delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.all().delete()
    with pytest.raises(PermissionError):
        AuditEntry.objects.filter(pk=entry.pk).update(comment="改过")

    assert AuditEntry.objects.get(pk=entry.pk).comment == ""


@pytest.mark.postgres
def test_audit_entry_is_refused_by_the_database_too(tree):
    entry = _entry(tree)

    with pytest.raises(DatabaseError), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("UPDATE enrollment_auditentry SET comment = 'x' WHERE id = %s", [entry.pk])


def test_expiry_sweep_emails_only_opted_in_teachers_with_an_address(tree, settings, django_capture_on_commit_callbacks):
    from django.core import mail

    from portal.models import NotificationPreference

    settings.CELERY_TASK_ALWAYS_EAGER = True
    programme = programme_with_chain(tree.city)
    for user in (tree.teacher_a, tree.teacher_b, tree.teacher_c):
        services.application_submit(actor=user, programme=programme, now=at("2022-03-14 09:00"))
    User.objects.filter(pk=tree.teacher_a.pk).update(email="a@example.com")
    User.objects.filter(pk=tree.teacher_b.pk).update(email="b@example.com")  # has an address, did not opt in
    NotificationPreference.objects.create(user=tree.teacher_a, kind="enrollment.expired", email=True)
    NotificationPreference.objects.create(user=tree.teacher_c, kind="enrollment.expired", email=True)  # no address
    mail.outbox.clear()

    with django_capture_on_commit_callbacks(execute=True):
        expired = services.application_expire_overdue(at("2022-03-19 00:00"), batch=2)
    with django_capture_on_commit_callbacks(execute=True):
        again = services.application_expire_overdue(at("2022-03-19 00:05"), batch=2)

    assert (expired, again) == (3, 0)
    assert Notification.objects.filter(kind="enrollment.expired").count() == 3
    assert [m.to for m in mail.outbox] == [["a@example.com"]]
