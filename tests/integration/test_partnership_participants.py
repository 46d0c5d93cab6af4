"""The participant information form (学员信息采集表) and what a provider may see: only its own schools."""

import io

import pytest
from django.urls import reverse
from openpyxl import load_workbook

from courses import services
from courses.models import ParticipantFormSend
from courses.selectors import PARTICIPANT_FORM_HEADERS, participants_of
from portal.models import PersonalDataAccess
from tests.factories.credits import entries
from tests.factories.partnership import IN_TRAINING, maoming
from tests.factories.portal import SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


@pytest.fixture
def m(tree):
    m = maoming(tree)
    m.agreement = services.agreement_choose(
        school=tree.school_a, period=m.period, provider=m.p1, actor=tree.alice, now=IN_TRAINING
    )
    return m


def sheet(response) -> list[list]:
    book = load_workbook(io.BytesIO(response.content))
    return [list(row) for row in book.active.iter_rows(values_only=True)]


def test_participants_are_the_teachers_who_must_train(m):
    done = TeacherFactory(unit=m.tree.school_a, name="已完成")
    entries(done, 2024, ("professional", 42, "ordinary", ["ethics"]))
    short = TeacherFactory(unit=m.tree.school_a, name="差一点")
    entries(short, 2024, ("professional", "41.5", "ordinary", ["ethics"]))

    assert [t.name for t in participants_of(m.agreement)] == sorted(["teacher_a", "差一点"])


def test_the_form_has_the_notices_columns_and_one_row_per_participant(m, client):
    TeacherFactory.create_batch(2, unit=m.tree.school_a)
    teacher = m.tree.teacher_a.teacher
    client.force_login(m.tree.alice)

    rows = sheet(client.get(reverse("courses:participants_export", args=[m.agreement.pk])))

    assert rows[1] == ["序号", "姓名", "性别", "身份证号", "学段", "任教学科", "手机号码", "学校", "所属区县"]
    assert list(PARTICIPANT_FORM_HEADERS) == rows[1]
    assert len(rows) == 2 + 3
    mine = next(r for r in rows[2:] if r[1] == "teacher_a")
    assert mine[2:] == [
        teacher.get_gender_display(),
        teacher.id_number,  # whole: the provider registers hours on the provincial platform with it
        "初中",
        "数学",
        "13800138000",
        "A校",
        "天河区",
    ]


def test_each_export_is_recorded(m, client):
    client.force_login(m.tree.alice)

    client.get(reverse("courses:participants_export", args=[m.agreement.pk]))
    client.get(reverse("courses:participants_export", args=[m.agreement.pk]))

    assert list(PersonalDataAccess.objects.values_list("user_name", "purpose", "count")) == [
        ("alice", "学员信息采集表", 1),
        ("alice", "学员信息采集表", 1),
    ]


def test_the_provider_sees_the_list_the_school_last_sent_with_its_date(m, client):
    services.participant_form_send(m.agreement, m.tree.alice, IN_TRAINING)
    TeacherFactory(unit=m.tree.school_a, name="后来的")  # not sent yet
    client.force_login(m.staff1)

    page = client.get(reverse("courses:agreement_detail", args=[m.agreement.pk]))
    rows = sheet(client.get(reverse("courses:participants_export", args=[m.agreement.pk])))

    assert [t.name for t in page.context["teachers"]] == ["teacher_a"]
    assert page.context["sent"].sent_at == IN_TRAINING
    assert [r[1] for r in rows[2:]] == ["teacher_a"]
    assert page.context["teachers"][0].shown_id_number.count("*") == 8  # masked on the page


def test_the_county_sees_which_schools_keep_their_provider_informed(m, client):
    services.participant_form_send(m.agreement, m.tree.alice, IN_TRAINING)
    client.force_login(m.tree.carol)

    before = client.get(reverse("courses:agreements_overview"), {"period": m.period.pk}).context["page"]
    TeacherFactory(unit=m.tree.school_a)
    after = client.get(reverse("courses:agreements_overview"), {"period": m.period.pk}).context["page"]

    assert [(r.school.name, r.form_stale) for r in before] == [("A校", False), ("B校", True)]
    assert [(r.school.name, r.form_stale) for r in after] == [("A校", True), ("B校", True)]


def test_a_provider_sees_nothing_of_schools_that_did_not_choose_it(m, client):
    other = services.agreement_choose(
        school=m.tree.school_b, period=m.period, provider=m.p2, actor=m.tree.bob, now=IN_TRAINING
    )
    services.participant_form_send(other, m.tree.bob, IN_TRAINING)
    client.force_login(m.staff1)

    assert client.get(reverse("courses:agreement_detail", args=[other.pk])).status_code == 404
    assert client.get(reverse("courses:participants_export", args=[other.pk])).status_code == 404
    statement = reverse("courses:statement_detail", args=[m.period.pk, m.tree.school_b.pk, m.p2.pk])
    assert client.get(statement).status_code == 404
    mine = reverse("courses:statement_detail", args=[m.period.pk, m.tree.school_b.pk, m.p1.pk])
    assert client.get(mine).status_code == 404
    listed = client.get(reverse("courses:provider_schools"), {"period": m.period.pk}).context["page"]
    assert [a.school.name for a in listed] == ["A校"]


def test_another_school_cannot_send_or_export_the_form(m, client):
    client.force_login(m.tree.bob)

    assert client.post(reverse("courses:participants_send", args=[m.agreement.pk])).status_code == 404
    assert client.get(reverse("courses:participants_export", args=[m.agreement.pk])).status_code == 404
    assert ParticipantFormSend.objects.count() == 0


@pytest.mark.parametrize("extra", [0, 6])
def test_provider_schools_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    from portal.models import Role
    from tests.factories.portal import admin_user

    for _ in range(extra):
        school = SchoolFactory(parent=m.tree.district1)
        agreement = services.agreement_choose(
            school=school, period=m.period, provider=m.p1, actor=admin_user(Role.SCHOOL_ADMIN, school), now=IN_TRAINING
        )
        ParticipantFormSend.objects.create(
            period=m.period,
            school=school,
            provider=m.p1,
            count=0,
            sent_by=m.tree.alice,
            sent_by_name="x",
            sent_at=IN_TRAINING,
        )
        assert agreement
    client.force_login(m.staff1)

    with django_assert_max_num_queries(12):
        response = client.get(reverse("courses:provider_schools"), {"period": m.period.pk})

    assert len(response.context["page"]) == 1 + extra


@pytest.mark.parametrize("extra", [0, 6])
def test_agreements_overview_query_count_is_flat(m, client, django_assert_max_num_queries, extra):
    for _ in range(extra):
        TeacherFactory(unit=SchoolFactory(parent=m.tree.district1))
    client.force_login(m.tree.carol)

    with django_assert_max_num_queries(14):
        response = client.get(reverse("courses:agreements_overview"), {"period": m.period.pk})

    assert len(response.context["page"]) == 2 + extra


def test_a_provider_without_such_periods_gets_a_page_saying_so(tree, client):
    from tests.factories.courses import ProviderFactory
    from tests.factories.partnership import staff_of

    client.force_login(staff_of(ProviderFactory()))

    response = client.get(reverse("courses:provider_schools"))

    assert (response.status_code, response.templates[0].name) == (200, "courses/no_period.html")
