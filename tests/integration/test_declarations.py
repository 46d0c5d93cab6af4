"""Declarations of outside hours (学时申报) and their certification by the school (学时认定)."""

import datetime as dt
from decimal import Decimal

import pytest
import time_machine
from django.core.exceptions import PermissionDenied
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from courses.models import CourseSelection, SelectionStatus
from credits import declaration_services as declarations
from credits.models import CreditEntry, Declaration, DeclarationState, HoursAuditEntry, Source
from credits.reminders import declaration_reminders_send
from portal.models import Notification, User
from tests.factories.courses import CourseFactory, PeriodFactory
from tests.factories.enrollment import at
from tests.factories.outside import data, declare, evidence, settings_for
from tests.factories.portal import teacher_user

pytestmark = pytest.mark.django_db


@pytest.fixture
def gz(tree):
    settings_for(tree.city)
    return tree


def test_certify_records_one_ledger_entry_linked_to_the_declaration(gz):
    declaration = declare(gz.teacher_a)

    declarations.declaration_certify(actor=gz.alice, declaration=declaration, now=at("2022-06-02 09:00"))

    entry = CreditEntry.objects.get(source=Source.DECLARATION)
    assert (entry.reference, entry.hours, entry.category, entry.teacher_id, entry.year) == (
        f"declaration:{declaration.pk}",
        Decimal("16.00"),
        "professional",
        gz.teacher_a.teacher.pk,
        2022,
    )
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.CERTIFIED
    assert list(
        HoursAuditEntry.objects.filter(subject="declaration", subject_id=declaration.pk).values_list(
            "action", flat=True
        )
    ) == ["declare", "certify"]
    assert Notification.objects.filter(user=gz.teacher_a, kind=declarations.KIND_DECLARATION_DECIDED).count() == 1


def test_revoke_writes_a_reversal_and_edits_nothing(gz):
    declaration = declare(gz.teacher_a)
    declarations.declaration_certify(actor=gz.alice, declaration=declaration, now=at("2022-06-02 09:00"))
    original = CreditEntry.objects.get(source=Source.DECLARATION)
    before = (original.hours, original.reference, original.recorded_at)

    declarations.declaration_revoke(
        actor=gz.alice,
        declaration=Declaration.objects.get(pk=declaration.pk),
        reason="证书系伪造",
        now=at("2022-07-01 09:00"),
    )

    original.refresh_from_db()
    assert (original.hours, original.reference, original.recorded_at) == before
    reversal = CreditEntry.objects.get(source=Source.REVERSAL)
    assert (reversal.hours, reversal.reverses_id) == (Decimal("-16.00"), original.pk)
    assert sum(CreditEntry.objects.filter(teacher=gz.teacher_a.teacher).values_list("hours", flat=True)) == 0
    assert Declaration.objects.get(pk=declaration.pk).state == DeclarationState.REVOKED


def test_district_revokes_only_what_its_spot_check_drew(gz):
    declaration = declare(gz.teacher_a)
    declarations.declaration_certify(actor=gz.alice, declaration=declaration, now=at("2022-06-02 09:00"))
    declaration.refresh_from_db()
    with pytest.raises(PermissionDenied):
        declarations.declaration_revoke(
            actor=gz.carol, declaration=declaration, reason="抽查", now=at("2022-07-01 10:00")
        )

    drawn = declarations.spot_check_draw(
        actor=gz.carol, district=gz.district1, year=2022, count=5, now=at("2022-07-01 09:00")
    )
    declaration.refresh_from_db()
    declarations.declaration_revoke(
        actor=gz.carol, declaration=declaration, reason="抽查无原件", now=at("2022-07-02 10:00")
    )

    assert drawn == 1
    assert CreditEntry.objects.filter(source=Source.REVERSAL).count() == 1
    notice = Notification.objects.get(kind=declarations.KIND_SPOT_CHECK)
    assert (notice.user, notice.title) == (gz.alice, "区级抽查：本校 1 份已认定的学时申报")


def test_return_with_reason_then_resubmit(gz):
    declaration = declare(gz.teacher_a)
    declarations.declaration_return(
        actor=gz.alice, declaration=declaration, reason="证书未盖章", now=at("2022-06-02 10:00")
    )
    declaration.refresh_from_db()

    again = declarations.declaration_submit(
        actor=gz.teacher_a,
        data=data(),
        files=[evidence("盖章证书.pdf")],
        now=at("2022-06-03 10:00"),
        declaration=declaration,
    )

    assert (again.pk, again.state, again.return_reason) == (declaration.pk, DeclarationState.SUBMITTED, "")
    assert again.evidence.count() == 2
    assert not CreditEntry.objects.exists()


def test_return_without_a_reason_is_refused(gz):
    declaration = declare(gz.teacher_a)

    with pytest.raises(declarations.DeclarationRefused):
        declarations.declaration_return(actor=gz.alice, declaration=declaration, reason=" ", now=at("2022-06-02 10:00"))


def test_same_organiser_and_overlapping_dates_is_a_duplicate(gz):
    declare(gz.teacher_a, starts_on=dt.date(2022, 5, 10), ends_on=dt.date(2022, 5, 11))

    with pytest.raises(declarations.DeclarationRefused) as exc:
        declare(
            gz.teacher_a,
            title="另一个名字",
            organiser=" 广东省 教育研究院 ",
            starts_on=dt.date(2022, 5, 11),
            ends_on=dt.date(2022, 5, 11),
            full_days=1,
            hours=Decimal("8"),
        )

    assert "重复" in str(exc.value)


def test_other_organiser_or_separate_dates_is_no_duplicate(gz):
    declare(gz.teacher_a, starts_on=dt.date(2022, 5, 10), ends_on=dt.date(2022, 5, 11))

    declare(gz.teacher_a, organiser="华南师范大学")
    declare(gz.teacher_a, starts_on=dt.date(2022, 5, 12), ends_on=dt.date(2022, 5, 13))

    assert Declaration.objects.count() == 3


def test_hours_already_recorded_from_the_portals_own_course_are_a_duplicate(gz):
    period = PeriodFactory(city=gz.city)
    course = CourseFactory(period=period, title="省级学科教研会")
    CourseSelection.objects.create(
        teacher=gz.teacher_a.teacher,
        course=course,
        period=period,
        selected_at=at("2022-03-16 10:00"),
        status=SelectionStatus.COMPLETED,
    )

    with pytest.raises(declarations.DeclarationRefused) as exc:
        declare(gz.teacher_a, organiser="某协会")

    assert "与平台课程《省级学科教研会》" in str(exc.value)


def test_a_declaration_above_the_converted_figure_is_refused(gz):
    with pytest.raises(declarations.DeclarationRefused) as exc:
        declare(gz.teacher_a, full_days=0, minutes=134, ends_on=dt.date(2022, 5, 10), hours=Decimal("3"))

    assert "最多可申报 2 学时" in str(exc.value)


def test_a_category_the_city_does_not_accept_is_refused(tree):
    settings_for(tree.city, categories=["professional"])

    with pytest.raises(declarations.DeclarationRefused) as exc:
        declare(tree.teacher_a, category="elective")

    assert "可申报的科目类别：专业科目" in str(exc.value)


@pytest.mark.parametrize(("when", "ok"), [("2022-12-31 23:59", True), ("2023-01-01 00:00", False)])
def test_declaration_deadline_at_the_boundary_minute(gz, when, ok):
    if ok:
        assert declare(gz.teacher_a, now=at(when)).pk
    else:
        with pytest.raises(declarations.DeclarationRefused) as exc:
            declare(gz.teacher_a, now=at(when))
        assert str(exc.value) == "本市 2022 年度的学时申报已于 2022-12-31 截止。"


@pytest.mark.parametrize(("when", "ok"), [("2023-01-15 23:59", True), ("2023-01-16 00:00", False)])
def test_certification_deadline_at_the_boundary_minute(gz, when, ok):
    declaration = declare(gz.teacher_a)

    if ok:
        declarations.declaration_certify(actor=gz.alice, declaration=declaration, now=at(when))
        assert CreditEntry.objects.count() == 1
    else:
        with pytest.raises(declarations.DeclarationRefused) as exc:
            declarations.declaration_certify(actor=gz.alice, declaration=declaration, now=at(when))
        assert "认定已截止" in str(exc.value)
        assert CreditEntry.objects.count() == 0


def test_another_schools_admin_cannot_certify(gz):
    declaration = declare(gz.teacher_a)

    with pytest.raises(PermissionDenied):
        declarations.declaration_certify(actor=gz.bob, declaration=declaration, now=at("2022-06-02 10:00"))


def test_evidence_is_checked_by_content(gz):
    exe = SimpleUploadedFile("证书.pdf", b"MZ\x90\x00" + b"\x00" * 500)

    with pytest.raises(declarations.DeclarationRefused) as exc:
        declarations.declaration_submit(actor=gz.teacher_a, data=data(), files=[exe], now=at("2022-06-01 10:00"))

    assert "文件内容不是" in str(exc.value)
    assert not Declaration.objects.exists()


def test_a_declaration_without_evidence_is_refused(gz):
    with pytest.raises(declarations.DeclarationRefused):
        declarations.declaration_submit(actor=gz.teacher_a, data=data(), files=[], now=at("2022-06-01 10:00"))


# --- pages ----------------------------------------------------------------------------------------------------------


def test_teacher_declares_through_the_page(client, gz):
    client.force_login(gz.teacher_a)
    with time_machine.travel(at("2022-06-01 10:00"), tick=False):
        response = client.post(
            reverse("credits:declaration_new"),
            {
                "title": "区域教研活动",
                "organiser": "区教师发展中心",
                "starts_on": "2022-05-10",
                "ends_on": "2022-05-10",
                "category": "professional",
                "full_days": "0",
                "minutes": "135",
                "hours": "3",
                "evidence": [evidence(), SimpleUploadedFile("签到表.png", b"\x89PNG\r\n\x1a\n" + b"\x00" * 64)],
            },
        )

    declaration = Declaration.objects.get()
    assert response.status_code == 302
    assert (declaration.hours, declaration.minutes, declaration.evidence.count()) == (Decimal("3.0"), 135, 2)


def test_the_form_shows_the_citys_rule(client, gz):
    client.force_login(gz.teacher_a)

    response = client.get(reverse("credits:declaration_new"))

    assert "整天按 8 学时计，不足一天每 45 分钟计 1 学时" in response.content.decode()


def test_school_admin_sees_her_schools_declaration_and_evidence_others_get_404(client, gz):
    declaration = declare(gz.teacher_a)
    file = declaration.evidence.get()
    detail = reverse("credits:declaration_detail", args=[declaration.pk])
    download = reverse("credits:declaration_evidence", args=[declaration.pk, file.pk])

    statuses = {}
    for name in ("alice", "bob", "carol", "dave", "erin", "teacher_a", "teacher_b"):
        client.force_login(getattr(gz, name))
        statuses[name] = (client.get(detail).status_code, client.get(download).status_code)

    assert statuses == {
        "alice": (200, 200),
        "bob": (404, 404),
        "carol": (200, 200),
        "dave": (404, 404),
        "erin": (200, 200),
        "teacher_a": (200, 200),
        "teacher_b": (404, 404),
    }


def test_evidence_is_served_as_it_was_uploaded_and_never_cached(client, gz):
    declaration = declare(gz.teacher_a)
    file = declaration.evidence.get()
    client.force_login(gz.alice)

    response = client.get(reverse("credits:declaration_evidence", args=[declaration.pk, file.pk]))

    with file.file.open("rb") as stored:
        assert b"".join(response.streaming_content) == stored.read()
    assert (response["Content-Type"], response["Cache-Control"]) == ("application/pdf", "private, no-store")


def test_the_review_queue_shows_only_her_schools_declarations(client, gz):
    declare(gz.teacher_a, title="甲校的培训")
    declare(gz.teacher_b, title="乙校的培训")
    client.force_login(gz.alice)

    page = client.get(reverse("credits:declaration_review")).content.decode()

    assert ("甲校的培训" in page, "乙校的培训" in page) == (True, False)


def test_bulk_certify_through_the_page_skips_what_is_not_hers(client, gz):
    mine = declare(gz.teacher_a)
    theirs = declare(gz.teacher_b)
    client.force_login(gz.alice)

    with time_machine.travel(at("2022-06-05 10:00"), tick=False):
        client.post(reverse("credits:declaration_review_bulk"), {"ids": [mine.pk, theirs.pk], "action": "certify"})

    assert dict(Declaration.objects.values_list("pk", "state")) == {
        mine.pk: DeclarationState.CERTIFIED,
        theirs.pk: DeclarationState.SUBMITTED,
    }


def _many(gz, n: int) -> list[int]:
    ids = []
    for i in range(n):
        user = gz.teacher_a if i == 0 else teacher_user(unit=gz.school_a)
        ids.append(declare(user, organiser=f"主办{i}").pk)
    return ids


def test_bulk_certify_takes_the_queries_of_one(gz):
    ids = _many(gz, 31)
    counts = []
    for chosen in (ids[:1], ids[1:]):
        alice = User.objects.get(pk=gz.alice.pk)  # a fresh scope, as in a request
        with CaptureQueriesContext(connection) as queries:
            result = declarations.declaration_certify_bulk(actor=alice, ids=chosen, now=at("2022-06-05 10:00"))
        counts.append((len(queries), result.done))

    assert counts[0][0] == counts[1][0] <= 14
    assert [done for _n, done in counts] == [1, 30]
    assert CreditEntry.objects.filter(source=Source.DECLARATION).count() == 31


@pytest.mark.parametrize("n", [1, 30])
def test_declaration_pages_keep_a_fixed_query_count(client, gz, n, django_assert_max_num_queries):
    ids = _many(gz, n)
    declarations.declaration_certify_bulk(actor=gz.alice, ids=ids[: n // 2 + 1], now=at("2022-06-05 10:00"))
    declarations.spot_check_draw(actor=gz.carol, district=gz.district1, year=2022, count=n, now=at("2022-06-06 10:00"))
    pages = [
        (gz.teacher_a, reverse("credits:declarations")),
        (gz.alice, reverse("credits:declaration_review") + "?state=all"),
        (gz.carol, reverse("credits:declaration_overview") + "?year=2022"),
        (gz.erin, reverse("credits:declaration_overview") + "?year=2022"),
    ]
    for user, url in pages:
        client.force_login(user)
        with django_assert_max_num_queries(14):
            assert client.get(url).status_code == 200


def test_district_sees_each_schools_pending_count_and_age(client, gz):
    declare(gz.teacher_a, now=at("2022-06-01 10:00"))
    declare(gz.teacher_b, now=at("2022-06-08 10:00"))
    client.force_login(gz.carol)

    with time_machine.travel(at("2022-06-11 10:00"), tick=False):
        response = client.get(reverse("credits:declaration_overview") + "?year=2022")

    rows = {r.unit.name: (r.pending, r.age_days) for r in response.context["schools"]}
    assert rows == {"A校": (1, 10), "B校": (1, 3)}


def test_reminders_go_to_school_admins_before_the_certification_deadline_once(gz):
    declare(gz.teacher_a)

    assert declaration_reminders_send(at("2023-01-11 08:00")) == 0
    assert declaration_reminders_send(at("2023-01-12 08:00")) == 1
    assert declaration_reminders_send(at("2023-01-13 08:00")) == 0
    assert Notification.objects.filter(user=gz.alice, kind=declarations.KIND_DECLARATION_REMINDER).count() == 1
    assert not Notification.objects.filter(user=gz.bob, kind=declarations.KIND_DECLARATION_REMINDER).exists()
