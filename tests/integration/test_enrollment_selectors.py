"""Reads for approvers and the background helper: queues, reminders, derived states, deadline changes."""

import datetime as dt

from enrollment import selectors, services
from enrollment.models import Application, ApplicationState, ProgrammeLevel
from portal.models import Role, UnitKind
from tests.factories.enrollment import at, bulk_applications, programme_with_chain
from tests.factories.portal import TeacherFactory


def test_reminders_name_each_approver_with_her_pending_count(tree):
    programme = programme_with_chain(tree.city, title="校长任职资格培训")
    bulk_applications(programme, TeacherFactory.create_batch(3, unit=tree.school_a))
    bulk_applications(programme, TeacherFactory.create_batch(1, unit=tree.school_b))

    found = selectors.approver_pending_reminders(at("2022-03-17 09:00"), within=dt.timedelta(days=2))

    assert sorted((r.user_id, r.role, r.count, r.deadline) for r in found) == sorted(
        [
            (tree.alice.pk, Role.SCHOOL_ADMIN, 3, at("2022-03-18 23:59:59")),
            (tree.bob.pk, Role.SCHOOL_ADMIN, 1, at("2022-03-18 23:59:59")),
        ]
    )


def test_reminders_skip_deadlines_further_away_or_passed(tree):
    programme = programme_with_chain(tree.city)
    bulk_applications(programme, TeacherFactory.create_batch(2, unit=tree.school_a))

    assert selectors.approver_pending_reminders(at("2022-03-10 09:00"), within=dt.timedelta(days=2)) == []
    assert selectors.approver_pending_reminders(at("2022-03-19 00:00"), within=dt.timedelta(days=2)) == []


def test_district_reminders_go_to_the_district_admin(tree):
    programme = programme_with_chain(tree.city, quotas={tree.district1: 5})
    bulk_applications(
        programme, TeacherFactory.create_batch(2, unit=tree.school_a), state=ApplicationState.APPROVED, level_order=2
    )

    found = selectors.approver_pending_reminders(at("2022-03-24 09:00"), within=dt.timedelta(days=2))

    assert [(r.user_id, r.role, r.count) for r in found] == [(tree.carol.pk, Role.DISTRICT_ADMIN, 2)]


def test_queue_summary_counts_only_what_can_still_be_decided(tree):
    programme = programme_with_chain(tree.city, title="骨干教师研修")
    bulk_applications(programme, TeacherFactory.create_batch(4, unit=tree.school_a))

    before = selectors.queue_summary(tree.alice, at("2022-03-18 12:00"))
    after = selectors.queue_summary(tree.alice, at("2022-03-19 00:00"))

    assert [(s.programme_title, s.level_label, s.count) for s in before] == [("骨干教师研修", "学校审核", 4)]
    assert after == []


def test_effective_state_filter_finds_expired_without_a_sweep(tree):
    programme = programme_with_chain(tree.city)
    bulk_applications(programme, TeacherFactory.create_batch(2, unit=tree.school_a))
    now = at("2022-03-19 00:00")

    expired = Application.objects.in_effective_state([ApplicationState.EXPIRED], now).count()
    waiting = Application.objects.in_effective_state([ApplicationState.SUBMITTED], now).count()
    annotated = set(Application.objects.with_effective_state(now).values_list("effective_state", flat=True))

    assert (expired, waiting, annotated) == (2, 0, {ApplicationState.EXPIRED})


def test_changing_a_level_deadline_moves_the_waiting_applications(tree):
    programme = programme_with_chain(tree.city)
    bulk_applications(programme, TeacherFactory.create_batch(2, unit=tree.school_a))
    ProgrammeLevel.objects.filter(programme=programme, unit_kind=UnitKind.SCHOOL).update(
        deadline=at("2022-03-20 23:59:59")
    )

    changed = services.programme_deadlines_sync(programme)

    assert changed == 2
    assert set(Application.objects.values_list("deadline", flat=True)) == {at("2022-03-20 23:59:59")}


def test_roster_review_shows_every_teacher_of_the_district(tree):
    programme = programme_with_chain(tree.city)
    services.application_submit(actor=tree.teacher_b, programme=programme, now=at("2022-03-14 09:00"))

    rows = [
        (t.name, t.application_state) for t in selectors.district_roster(tree.carol, programme, at("2022-03-15 09:00"))
    ]

    assert rows == [("teacher_a", None), ("teacher_b", ApplicationState.SUBMITTED)]
