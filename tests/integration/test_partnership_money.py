"""Fee statements: participants × hours earned × agreed fee, with decimal hours, the cap and who pays."""

from decimal import Decimal

import pytest
from django.urls import reverse

from courses import services
from courses.models import CourseSelection, FeePayer, Payer, SelectionStatus, ledger_reference
from courses.selectors import fee_statement, fee_totals
from credits.models import CreditEntry, Source
from credits.services import credit_entry_reverse
from portal.models import Role
from portal.scoping import scope_for
from tests.factories.courses import CourseFactory, PeriodFactory, ProviderFactory
from tests.factories.partnership import IN_TRAINING, approved_offer, maoming, pdf_upload
from tests.factories.portal import SchoolFactory, TeacherFactory, admin_user

pytestmark = pytest.mark.django_db


def passed(teacher, course, hours, period=None) -> CreditEntry:
    selection = CourseSelection.objects.create(
        teacher=teacher,
        course=course,
        period=period or course.period,
        selected_at=IN_TRAINING,
        status=SelectionStatus.COMPLETED,
    )
    return CreditEntry.objects.create(
        teacher=teacher,
        year=course.period.year,
        category=course.category,
        kind=course.kind,
        hours=Decimal(hours),
        source=Source.IMPORT,
        reference=ledger_reference(selection.pk),
    )


@pytest.fixture
def m(tree, monkeypatch, tmp_path):
    from tests.factories.partnership import private_files_in

    private_files_in(monkeypatch, tmp_path)
    m = maoming(tree)
    m.offer = approved_offer(m, m.p1)
    m.agreement = services.agreement_choose(
        school=tree.school_a, period=m.period, provider=m.p1, actor=tree.alice, now=IN_TRAINING
    )
    services.agreement_upload(m.agreement, file=pdf_upload(), fee=Decimal("3.50"), actor=tree.alice, now=IN_TRAINING)
    return m


def test_the_statement_multiplies_decimal_hours_by_the_agreed_fee(m):
    a, b = m.tree.teacher_a.teacher, TeacherFactory(unit=m.tree.school_a, name="乙")
    first, second = m.offer.courses.order_by("code")[:2]
    passed(a, first, "10.5")
    passed(a, second, "12.5")
    passed(b, first, "7.5")

    statement = fee_statement(m.period, m.tree.school_a, m.p1)

    assert (statement.participants, statement.hours, statement.amount) == (2, Decimal("30.5"), Decimal("106.75"))
    assert [(line.teacher.name, line.hours, line.rate, line.amount) for line in statement.lines] == [
        ("teacher_a", Decimal("23.0"), Decimal("3.50"), Decimal("80.50")),
        ("乙", Decimal("7.5"), Decimal("3.50"), Decimal("26.25")),
    ]
    assert (statement.over_cap, statement.school_due) == (False, Decimal("106.75"))


def test_a_reversed_entry_earns_nothing(m):
    entry = passed(m.tree.teacher_a.teacher, m.offer.courses.first(), "10")
    credit_entry_reverse(entry, m.tree.carol, "误登记")

    assert fee_statement(m.period, m.tree.school_a, m.p1).amount == Decimal(0)


def test_hours_re_recorded_with_their_kind_still_count_once(m):
    """courses migration 0009 reverses a kindless entry and records it again as "kind:<reference>"."""
    entry = passed(m.tree.teacher_a.teacher, m.offer.courses.first(), "10")
    credit_entry_reverse(entry, m.tree.carol, "补记学时类型")
    CreditEntry.objects.create(
        teacher=entry.teacher,
        year=2024,
        category="professional",
        kind=entry.kind,
        hours=Decimal(10),
        source=Source.MANUAL,
        reference=f"kind:{entry.reference}",
    )

    assert fee_statement(m.period, m.tree.school_a, m.p1).hours == Decimal(10)


def test_the_city_sees_totals_per_provider_and_per_county(m):
    other = SchoolFactory(parent=m.tree.district2, name="C2校")
    principal = admin_user(Role.SCHOOL_ADMIN, other)
    services.agreement_choose(school=other, period=m.period, provider=m.p1, actor=principal, now=IN_TRAINING)
    course = m.offer.courses.first()
    passed(m.tree.teacher_a.teacher, course, "10")
    passed(TeacherFactory(unit=other), course, "5.5")

    by_school, by_provider, by_county = fee_totals(m.period, scope_for(m.tree.erin))

    assert [(t.key[0].name, t.participants, t.hours, t.amount) for t in by_school] == [
        ("A校", 1, Decimal(10), Decimal("35.00")),
        ("C2校", 1, Decimal("5.5"), Decimal("19.25")),  # no agreed fee yet: the course's 3.50
    ]
    [provider] = by_provider
    assert (provider.key, provider.participants, provider.hours, len(provider.schools)) == (m.p1, 2, Decimal("15.5"), 2)
    assert [(t.key.name, t.hours) for t in by_county] == [("天河区", Decimal(10)), ("海珠区", Decimal("5.5"))]


def test_the_county_sees_only_its_schools(m):
    passed(m.tree.teacher_a.teacher, m.offer.courses.first(), "10")

    by_school, _p, _c = fee_totals(m.period, scope_for(admin_user(Role.DISTRICT_ADMIN, m.tree.district2)))

    assert by_school == []


def test_guangzhou_shows_who_pays_each_category_on_the_statement(tree):
    period = PeriodFactory(city=tree.city)
    FeePayer.objects.bulk_create(
        [
            FeePayer(period=period, category="public", payer=Payer.PROVINCE),
            FeePayer(period=period, category="professional", payer=Payer.EMPLOYER),
            FeePayer(period=period, category="elective", payer=Payer.EMPLOYER),
        ]
    )
    provider = ProviderFactory()
    public = CourseFactory(period=period, provider=provider, category="public", fee_per_hour=Decimal("2.00"))
    professional = CourseFactory(
        period=period, provider=provider, category="professional", fee_per_hour=Decimal("3.00")
    )
    teacher = tree.teacher_a.teacher
    passed(teacher, public, "6", period)
    passed(teacher, professional, "12", period)

    statement = fee_statement(period, tree.school_a, provider)

    assert [(c.label, c.payer_label, c.hours, c.amount) for c in statement.categories] == [
        ("公需科目", "省级财政", Decimal(6), Decimal("12.00")),
        ("专业科目", "任职单位（学校）", Decimal(12), Decimal("36.00")),
    ]
    assert (statement.amount, statement.school_due) == (Decimal("48.00"), Decimal("36.00"))


def test_the_statement_page_and_its_export(m, client):
    passed(m.tree.teacher_a.teacher, m.offer.courses.first(), "10.5")
    client.force_login(m.tree.alice)
    url = reverse("courses:statement_detail", args=[m.period.pk, m.tree.school_a.pk, m.p1.pk])

    page = client.get(url)
    export = client.get(url, {"export": "xlsx"})

    assert "参训 1 人，共 10.5 学时，金额 36.75 元；其中由学校支付 36.75 元。" in page.content.decode()
    assert export.status_code == 200


def test_another_school_cannot_open_the_statement(m, client):
    client.force_login(m.tree.bob)

    url = reverse("courses:statement_detail", args=[m.period.pk, m.tree.school_a.pk, m.p1.pk])
    assert client.get(url).status_code == 404


@pytest.mark.parametrize("extra", [0, 5])
def test_statements_list_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    course = m.offer.courses.first()
    for _ in range(extra):
        school = SchoolFactory(parent=m.tree.district1)
        services.agreement_choose(
            school=school, period=m.period, provider=m.p1, actor=admin_user(Role.SCHOOL_ADMIN, school), now=IN_TRAINING
        )
        passed(TeacherFactory(unit=school), course, "4.5")
    client.force_login(m.tree.erin)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("courses:statements"), {"period": m.period.pk})

    assert len(response.context["page"]) == 1 + extra


def test_cap_check_flags_a_rate_above_the_cap(tree):
    period = PeriodFactory(city=tree.city, max_fee_per_hour=Decimal("4.00"))
    course = CourseFactory(period=period, fee_per_hour=Decimal("5.00"))
    passed(tree.teacher_a.teacher, course, "2", period)

    assert fee_statement(period, tree.school_a, course.provider).over_cap is True
