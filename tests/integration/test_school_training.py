"""School-based training (校本研修): an activity's hours land for all its attendees in one set-based insert."""

import datetime as dt
import io
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import Workbook

from credits import school_training_services as training
from credits.declaration_services import DeclarationRefused
from credits.models import CreditEntry, SchoolActivity, Source
from portal.models import Teacher, User
from tests.factories.enrollment import at
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db

ACTIVITY = training.ActivityInput(
    title="同课异构", date=dt.date(2022, 5, 12), hours=Decimal("3"), category="professional"
)


def _record(tree, ids, data=ACTIVITY):
    return training.school_activity_record(
        actor=tree.alice, school=tree.school_a, data=data, teacher_ids=ids, now=at("2022-05-12 18:00")
    )


def test_every_attendee_gets_the_activitys_hours(tree):
    ids = [tree.teacher_a.teacher.pk, TeacherFactory(unit=tree.school_a).pk]

    activity = _record(tree, ids)

    entries = CreditEntry.objects.filter(source=Source.SCHOOL_TRAINING).order_by("teacher_id")
    assert [(e.teacher_id, e.hours, e.reference) for e in entries] == [
        (pk, Decimal("3.00"), f"school-activity:{activity.pk}:{pk}") for pk in sorted(ids)
    ]
    assert activity.attendee_count == 2


@pytest.mark.postgres  # SQLite splits a 500-row insert into several for its limit on parameters
def test_an_activity_for_500_attendees_takes_the_queries_of_one(tree):
    TeacherFactory.create_batch(500, unit=tree.school_a)
    ids = list(Teacher.objects.filter(unit=tree.school_a).values_list("pk", flat=True))
    counts = []
    for attendees in (ids[:1], ids[:500]):
        alice = User.objects.get(pk=tree.alice.pk)  # a fresh scope, as in a request
        with CaptureQueriesContext(connection) as queries:
            training.school_activity_record(
                actor=alice,
                school=tree.school_a,
                data=training.ActivityInput(f"活动{len(attendees)}", dt.date(2022, 5, 1), Decimal("1"), "professional"),
                teacher_ids=attendees,
                now=at("2022-05-12 18:00"),
            )
        counts.append(len(queries))

    assert counts[0] == counts[1] <= 14
    assert CreditEntry.objects.filter(source=Source.SCHOOL_TRAINING).count() == 501


def test_a_teacher_of_another_school_is_refused_and_nothing_is_written(tree):
    with pytest.raises(DeclarationRefused):
        _record(tree, [tree.teacher_a.teacher.pk, tree.teacher_b.teacher.pk])

    assert not SchoolActivity.objects.exists()
    assert not CreditEntry.objects.exists()


def test_another_schools_admin_cannot_record(tree):
    with pytest.raises(PermissionDenied):
        training.school_activity_record(
            actor=tree.bob,
            school=tree.school_a,
            data=ACTIVITY,
            teacher_ids=[tree.teacher_a.teacher.pk],
            now=at("2022-05-12 18:00"),
        )


def test_the_districts_cap_refuses_an_activity_that_would_exceed_it_naming_the_teacher(tree):
    training.school_training_cap_set(
        actor=tree.carol, district=tree.district1, year=2022, hours=Decimal("5"), now=at("2022-03-01 09:00")
    )
    ids = [tree.teacher_a.teacher.pk]
    _record(tree, ids)

    with pytest.raises(DeclarationRefused) as exc:
        _record(tree, ids)

    assert "teacher_a（3）" in str(exc.value)
    assert CreditEntry.objects.count() == 1


def test_only_the_districts_admin_sets_its_cap(tree):
    with pytest.raises(PermissionDenied):
        training.school_training_cap_set(
            actor=tree.alice, district=tree.district1, year=2022, hours=Decimal("5"), now=at("2022-03-01 09:00")
        )


def _sheet(rows) -> SimpleUploadedFile:
    book = Workbook()
    sheet = book.active
    sheet.append(["身份证号", "姓名"])
    for row in rows:
        sheet.append(row)
    out = io.BytesIO()
    book.save(out)
    return SimpleUploadedFile("名单.xlsx", out.getvalue())


def test_attendees_from_a_sheet_with_row_errors(tree):
    a = tree.teacher_a.teacher
    sheet = _sheet([[a.id_number, a.name], [tree.teacher_b.teacher.id_number, "teacher_b"], [a.id_number, "错名"]])

    result = training.school_attendees_read(sheet, school=tree.school_a)

    assert result.error_lines() == [
        "第 2 行 身份证号：与第 4 行重复，同一教师只能出现一次",
        "第 3 行 身份证号：不是本校在职教师，请核对或先在名册中登记",
        "第 4 行 身份证号：与第 2 行重复，同一教师只能出现一次",
    ]
    assert result.teacher_ids is None


def test_school_admin_records_an_activity_from_a_sheet_through_the_page(client, tree):
    a = tree.teacher_a.teacher
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-05-12 18:00"), tick=False):
        response = client.post(
            reverse("credits:school_activity_new"),
            {
                "title": "师德师风学习会",
                "date": "2022-05-12",
                "hours": "2",
                "category": "professional",
                "attendees_file": _sheet([[a.id_number, a.name]]),
            },
        )

    assert response.status_code == 302
    assert list(CreditEntry.objects.values_list("teacher_id", "hours")) == [(a.pk, Decimal("2.00"))]


def test_school_admin_ticks_the_roster_through_the_page(client, tree):
    client.force_login(tree.alice)

    with time_machine.travel(at("2022-05-12 18:00"), tick=False):
        client.post(
            reverse("credits:school_activity_new"),
            {
                "title": "教研",
                "date": "2022-05-12",
                "hours": "1.5",
                "category": "elective",
                "teachers": [tree.teacher_a.teacher.pk],
            },
        )

    assert list(CreditEntry.objects.values_list("category", "hours")) == [("elective", Decimal("1.50"))]


@pytest.mark.parametrize("n", [1, 25])
def test_school_training_pages_keep_a_fixed_query_count(client, tree, n, django_assert_max_num_queries):
    ids = [tree.teacher_a.teacher.pk]
    for i in range(n):
        _record(tree, ids, training.ActivityInput(f"活动{i}", dt.date(2022, 5, 1), Decimal("1"), "professional"))
    activity = SchoolActivity.objects.first()
    for user, url in [
        (tree.alice, reverse("credits:school_training") + "?year=2022"),
        (tree.carol, reverse("credits:school_training") + "?year=2022"),
        (tree.erin, reverse("credits:school_training") + "?year=2022"),
        (tree.alice, reverse("credits:school_activity_detail", args=[activity.pk])),
    ]:
        client.force_login(user)
        with django_assert_max_num_queries(12):
            assert client.get(url).status_code == 200


def test_district_sees_its_schools_hours_and_another_schools_admin_gets_404(client, tree):
    activity = _record(tree, [tree.teacher_a.teacher.pk])
    client.force_login(tree.carol)

    response = client.get(reverse("credits:school_training") + "?year=2022")

    assert [(r.unit.name, r.activities, r.hours) for r in response.context["by_school"]] == [("A校", 1, Decimal("3"))]
    client.force_login(tree.bob)
    assert client.get(reverse("credits:school_activity_detail", args=[activity.pk])).status_code == 404
