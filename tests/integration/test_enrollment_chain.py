"""The approval chain of special programmes at the real dates of the Guangzhou 2022 notice."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.utils import timezone

from enrollment import services
from enrollment.models import Application, ApplicationState, AuditAction, AuditEntry
from portal.models import Notification, Position, Role, Stage, UnitKind
from tests.factories.enrollment import COUNTY_ENDING, at, programme_with_chain
from tests.factories.portal import SchoolFactory, admin_user, teacher_user


def _submit(user, programme, when="2022-03-14 09:00"):
    return services.application_submit(actor=user, programme=programme, now=at(when))


def test_guangzhou_chain_runs_school_district_city_at_the_2022_dates(tree, django_capture_on_commit_callbacks):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 15, tree.district2: 10})

    with django_capture_on_commit_callbacks(execute=True):
        with time_machine.travel(at("2022-03-14 08:00"), tick=False):
            application = services.application_submit(actor=tree.teacher_a, programme=programme, now=timezone.now())
        with time_machine.travel(at("2022-03-18 23:59"), tick=False):
            services.application_approve(actor=tree.alice, application=application, now=timezone.now())
        with time_machine.travel(at("2022-03-25 23:59"), tick=False):
            services.application_approve(actor=tree.carol, application=application, now=timezone.now())
        with time_machine.travel(at("2022-03-30 23:59"), tick=False):
            result = services.application_finalize(actor=tree.erin, programme=programme, now=timezone.now())

    application.refresh_from_db()
    assert result.done == 1
    assert application.state == ApplicationState.FINALIZED
    trail = list(AuditEntry.objects.filter(application=application).values_list("action", "actor_role", "to_state"))
    assert trail == [
        (AuditAction.SUBMIT, Role.TEACHER, ApplicationState.SUBMITTED),
        (AuditAction.APPROVE, Role.SCHOOL_ADMIN, ApplicationState.APPROVED),
        (AuditAction.APPROVE, Role.DISTRICT_ADMIN, ApplicationState.APPROVED),
        (AuditAction.FINALIZE, Role.CITY_ADMIN, ApplicationState.FINALIZED),
    ]
    assert Notification.objects.filter(user=tree.teacher_a).count() == 4


def test_school_approval_at_2359_on_0318_is_accepted(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with time_machine.travel(at("2022-03-18 23:59"), tick=False):
        services.application_approve(actor=tree.alice, application=application, now=timezone.now())

    application.refresh_from_db()
    assert (application.state, application.level.unit_kind) == (ApplicationState.APPROVED, "district")
    assert application.deadline == at("2022-03-25 23:59:59")


def test_school_approval_at_0000_on_0319_is_refused_and_shows_expired(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with time_machine.travel(at("2022-03-19 00:00"), tick=False):
        now = timezone.now()
        with pytest.raises(services.ActionRefused):
            services.application_approve(actor=tree.alice, application=application, now=now)

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED
    assert application.effective_state(at("2022-03-19 00:00")) == ApplicationState.EXPIRED
    assert Application.objects.effectively_expired(at("2022-03-19 00:00")).count() == 1


def test_district_cannot_act_after_its_deadline(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5})
    application = _submit(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-18 12:00"))

    with pytest.raises(services.ActionRefused):
        services.application_approve(actor=tree.carol, application=application, now=at("2022-03-26 00:00"))


def test_rejection_needs_a_reason(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with pytest.raises(services.ActionRefused):
        services.application_reject(actor=tree.alice, application=application, now=at("2022-03-15 10:00"), reason=" ")

    application.refresh_from_db()
    assert application.state == ApplicationState.SUBMITTED


def test_rejection_stores_the_reason_for_the_teacher(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    services.application_reject(
        actor=tree.alice, application=application, now=at("2022-03-15 10:00"), reason="本学期教学任务重"
    )

    application.refresh_from_db()
    entry = AuditEntry.objects.get(application=application, action=AuditAction.REJECT)
    assert (application.state, application.reject_reason) == (ApplicationState.REJECTED, "本学期教学任务重")
    assert (entry.actor, entry.comment, entry.level.unit_kind) == (tree.alice, "本学期教学任务重", "school")


def test_withdraw_while_pending_at_school(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    services.application_withdraw(actor=tree.teacher_a, application=application, now=at("2022-03-16 10:00"))

    application.refresh_from_db()
    assert application.state == ApplicationState.WITHDRAWN


def test_withdraw_after_school_approval_is_refused(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-16 10:00"))
    application.refresh_from_db()

    with pytest.raises(services.ActionRefused):
        services.application_withdraw(actor=tree.teacher_a, application=application, now=at("2022-03-16 11:00"))


def test_withdraw_after_school_deadline_is_refused(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with pytest.raises(services.ActionRefused):
        services.application_withdraw(actor=tree.teacher_a, application=application, now=at("2022-03-19 00:00"))


def test_withdraw_of_someone_elses_application_is_denied(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with pytest.raises(PermissionDenied):
        services.application_withdraw(actor=tree.teacher_b, application=application, now=at("2022-03-16 10:00"))


def test_withdrawn_application_can_be_submitted_again(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)
    services.application_withdraw(actor=tree.teacher_a, application=application, now=at("2022-03-15 10:00"))

    again = _submit(tree.teacher_a, programme, "2022-03-16 10:00")

    assert (again.pk, again.state) == (application.pk, ApplicationState.SUBMITTED)
    assert Application.objects.count() == 1


def test_second_application_to_the_same_programme_is_refused(tree):
    programme = programme_with_chain(tree.city)
    _submit(tree.teacher_a, programme)

    with pytest.raises(services.ActionRefused):
        _submit(tree.teacher_a, programme, "2022-03-15 10:00")


@pytest.mark.parametrize("when", ["2022-03-13 23:59", "2022-03-19 00:00"])
def test_submit_outside_registration_window_is_refused(tree, when):
    programme = programme_with_chain(tree.city)

    with pytest.raises(services.ActionRefused):
        _submit(tree.teacher_a, programme, when)

    assert Application.objects.count() == 0


def test_submit_by_ineligible_position_is_refused(tree):
    programme = programme_with_chain(tree.city, eligible_positions=[Position.PRINCIPAL, Position.VICE_PRINCIPAL])

    with pytest.raises(services.ActionRefused, match="校长"):
        _submit(tree.teacher_a, programme)


def test_submit_by_ineligible_stage_is_refused(tree):
    programme = programme_with_chain(tree.city)
    programme.eligible_stages.set([Stage.objects.get(code="senior")])

    with pytest.raises(services.ActionRefused, match="高中"):
        _submit(tree.teacher_a, programme)


def test_submit_from_a_district_without_seats_is_refused(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 3})

    with pytest.raises(services.ActionRefused, match=tree.district2.name):
        _submit(tree.teacher_c, programme)


def test_district_approval_beyond_quota_is_refused(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 1})
    first = _submit(tree.teacher_a, programme)
    second = _submit(tree.teacher_b, programme)
    services.application_approve(actor=tree.alice, application=first, now=at("2022-03-16 10:00"))
    services.application_approve(actor=tree.bob, application=second, now=at("2022-03-16 10:00"))
    services.application_approve(actor=tree.carol, application=first, now=at("2022-03-20 10:00"))

    with pytest.raises(services.ActionRefused, match="已通过 1 / 名额 1"):
        services.application_approve(actor=tree.carol, application=second, now=at("2022-03-20 10:00"))

    second.refresh_from_db()
    assert second.level.unit_kind == "district"


def test_county_ending_chain_finalizes_at_district_within_quota(tree):
    programme = programme_with_chain(tree.city, chain=COUNTY_ENDING, quotas={tree.district1: 1})
    first = _submit(tree.teacher_a, programme)
    second = _submit(tree.teacher_b, programme)
    services.application_approve_bulk(actor=tree.alice, ids=[first.pk], now=at("2022-03-16 10:00"))
    services.application_approve_bulk(actor=tree.bob, ids=[second.pk], now=at("2022-03-16 10:00"))

    services.application_approve(actor=tree.carol, application=first, now=at("2022-03-20 10:00"))
    with pytest.raises(services.ActionRefused):
        services.application_approve(actor=tree.carol, application=second, now=at("2022-03-20 10:00"))

    first.refresh_from_db()
    assert first.state == ApplicationState.FINALIZED
    assert AuditEntry.objects.get(application=first, actor=tree.carol).action == AuditAction.FINALIZE


def test_school_admin_cannot_act_for_another_school(tree):
    programme = programme_with_chain(tree.city)
    application = _submit(tree.teacher_a, programme)

    with pytest.raises(PermissionDenied):
        services.application_approve(actor=tree.bob, application=application, now=at("2022-03-16 10:00"))


def test_school_admin_cannot_act_at_district_level(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5})
    application = _submit(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-16 10:00"))

    with pytest.raises(PermissionDenied):
        services.application_approve(actor=tree.alice, application=application, now=at("2022-03-20 10:00"))


def test_district_admin_cannot_act_on_another_district(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 5})
    application = _submit(tree.teacher_c, programme)
    services.application_approve(actor=tree.dave, application=application, now=at("2022-03-16 10:00"))

    with pytest.raises(PermissionDenied):
        services.application_approve(actor=tree.carol, application=application, now=at("2022-03-20 10:00"))

    application.refresh_from_db()
    assert application.level.unit_kind == "district"


def test_expire_overdue_marks_once_and_a_rerun_changes_nothing(tree):
    programme = programme_with_chain(tree.city)
    waiting = _submit(tree.teacher_a, programme)
    approved = _submit(tree.teacher_b, programme)
    services.application_approve(actor=tree.bob, application=approved, now=at("2022-03-16 10:00"))

    first = services.application_expire_overdue(at("2022-03-19 00:00"))
    second = services.application_expire_overdue(at("2022-03-19 00:05"))

    waiting.refresh_from_db()
    approved.refresh_from_db()
    assert (first, second) == (1, 0)
    assert (waiting.state, approved.state) == (ApplicationState.EXPIRED, ApplicationState.APPROVED)
    assert AuditEntry.objects.filter(action=AuditAction.EXPIRE).count() == 1


def test_reopened_district_gets_its_expired_applications_back(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5})
    application = _submit(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-16 10:00"))
    services.application_expire_overdue(at("2022-03-26 00:00"))

    revived = services.quota_reopen(
        actor=tree.erin,
        programme=programme,
        district=tree.district1,
        until=at("2022-03-28 23:59"),
        now=at("2022-03-26 09:00"),
    )
    services.application_approve(actor=tree.carol, application=application, now=at("2022-03-27 10:00"))

    application.refresh_from_db()
    assert revived == 1
    assert (application.state, application.level.unit_kind) == (ApplicationState.APPROVED, "city")


def test_city_moves_unused_seats_between_districts(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 2})

    services.quota_move(
        actor=tree.erin,
        programme=programme,
        from_district=tree.district1,
        to_district=tree.district2,
        seats=3,
        now=at("2022-03-20 10:00"),
        comment="海珠区报名多",
    )

    seats = dict(programme.quotas.values_list("district__name", "seats"))
    assert seats == {"天河区": 2, "海珠区": 5}
    assert AuditEntry.objects.get(action=AuditAction.QUOTA_MOVE).data == {"from": "天河区", "to": "海珠区", "seats": 3}


def test_city_cannot_move_seats_already_used(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 1, tree.district2: 2})
    application = _submit(tree.teacher_a, programme)
    services.application_approve(actor=tree.alice, application=application, now=at("2022-03-16 10:00"))
    services.application_approve(actor=tree.carol, application=application, now=at("2022-03-20 10:00"))

    with pytest.raises(services.ActionRefused, match="只剩 0 个"):
        services.quota_move(
            actor=tree.erin,
            programme=programme,
            from_district=tree.district1,
            to_district=tree.district2,
            seats=1,
            now=at("2022-03-20 11:00"),
        )


def test_quota_changes_are_for_the_city_admin_only(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 2})

    with pytest.raises(PermissionDenied):
        services.quota_move(
            actor=tree.carol,
            programme=programme,
            from_district=tree.district2,
            to_district=tree.district1,
            seats=1,
            now=at("2022-03-20 11:00"),
        )


def test_finalize_per_district_leaves_other_districts_waiting(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5, tree.district2: 5})
    carl = admin_user(Role.DISTRICT_ADMIN, tree.district2, name="carl")
    a = _submit(tree.teacher_a, programme)
    c = _submit(tree.teacher_c, programme)
    services.application_approve(actor=tree.alice, application=a, now=at("2022-03-16 10:00"))
    services.application_approve(actor=tree.dave, application=c, now=at("2022-03-16 10:00"))
    services.application_approve(actor=tree.carol, application=a, now=at("2022-03-20 10:00"))
    services.application_approve(actor=carl, application=c, now=at("2022-03-20 10:00"))

    result = services.application_finalize(
        actor=tree.erin, programme=programme, district=tree.district1, now=at("2022-03-30 10:00")
    )

    states = dict(Application.objects.values_list("teacher__name", "state"))
    assert result.done == 1
    assert states == {"teacher_a": ApplicationState.FINALIZED, "teacher_c": ApplicationState.APPROVED}


def test_reopen_cannot_shorten_the_district_deadline(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5})

    with pytest.raises(services.ActionRefused, match="原定的截止时间"):
        services.quota_reopen(
            actor=tree.erin,
            programme=programme,
            district=tree.district1,
            until=at("2022-03-24 23:59"),
            now=at("2022-03-20 09:00"),
        )


def test_units_directly_under_the_city_are_decided_by_the_city_at_district_level(tree):
    center = SchoolFactory(name="市教师发展中心", kind=UnitKind.CENTER, parent=tree.city)
    head = admin_user(Role.SCHOOL_ADMIN, center, name="center_head")
    staff = teacher_user(unit=center, name="staff")
    programme = programme_with_chain(tree.city, quotas={tree.city: 2})
    application = _submit(staff, programme)
    services.application_approve(actor=head, application=application, now=at("2022-03-16 10:00"))

    with pytest.raises(PermissionDenied):
        services.application_approve(actor=tree.carol, application=application, now=at("2022-03-20 10:00"))
    services.application_approve(actor=tree.erin, application=application, now=at("2022-03-20 10:00"))

    application.refresh_from_db()
    assert (application.district, application.level.unit_kind) == (tree.city, "city")
