import pytest
import time_machine
from django.db import connection
from django.test import Client
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from portal import demo
from portal.figures import figures_forget
from portal.models import Role, RoleAssignment, Teacher, TeacherStatus
from tests.factories.portal import SchoolFactory, TeacherFactory


@pytest.fixture
def demo_data(db):
    return demo.load()


def _demo_logins():
    """(role, id_number) for every demo login, as the README lists them."""
    from courses.models import ProviderStaff

    logins = [(a.role, a.user.id_number) for a in RoleAssignment.objects.select_related("user")]
    # The demo's teacher who must change her password lands on the change form (test_accounts).
    teachers = Teacher.objects.filter(user__isnull=False, user__must_change_password=False)
    logins += [(Role.TEACHER, t.id_number) for t in teachers]
    logins += [(Role.PROVIDER, s.user.id_number) for s in ProviderStaff.objects.select_related("user")]
    return logins


def test_each_demo_login_lands_on_its_home_section(demo_data):
    logins = _demo_logins()
    assert {role for role, _ in logins} >= {Role.TEACHER, Role.SCHOOL_ADMIN, Role.DISTRICT_ADMIN, Role.CITY_ADMIN}
    for role, id_number in logins:
        client = Client()

        response = client.post(reverse("login"), {"username": id_number, "password": demo.DEMO_PASSWORD}, follow=True)

        assert response.redirect_chain[-1] == (reverse("home"), 302), (role, id_number)
        assert f'data-role="{role}"' in response.content.decode(), (role, id_number)


def test_school_admin_home_counts_roster_problems(client, tree):
    TeacherFactory(unit=tree.school_a, mobile="")
    TeacherFactory(unit=tree.school_a, stage=None)
    TeacherFactory(unit=tree.school_a, mobile="", status=TeacherStatus.RETIRED)  # retired: not a problem
    TeacherFactory(unit=tree.school_b, mobile="")  # another school
    client.force_login(tree.alice)

    response = client.get(reverse("home"))

    (section,) = [cards for role, cards in response.context["sections"] if role == Role.SCHOOL_ADMIN]
    counts = {card.title: card.count for card in section}
    assert counts["名册信息待完善"] == 2
    assert counts["未开通账号的教师"] == 2  # the two active ones created here; teacher_a has a login
    assert counts["在职教师"] == 3


def test_district_admin_home_counts_schools(client, tree):
    client.force_login(tree.carol)

    response = client.get(reverse("home"))

    (section,) = [cards for role, cards in response.context["sections"] if role == Role.DISTRICT_ADMIN]
    counts = {c.title: c.count for c in section}  # other apps add their own cards
    assert (counts["辖区学校"], counts["名册为空的学校"]) == (2, 0)


@time_machine.travel("2022-06-01 10:00 +0800", tick=False)
def test_city_admin_home_counts_city(client, tree):
    client.force_login(tree.erin)

    response = client.get(reverse("home"))

    (section,) = [cards for role, cards in response.context["sections"] if role == Role.CITY_ADMIN]
    overview = next(c for c in section if c.title == "全市概况")
    assert overview.text == "区（县）2 个，学校 3 所，在职教师 3 人（统计于 10:00）。"


def test_teacher_home_shows_her_record(client, tree):
    client.force_login(tree.teacher_a)

    response = client.get(reverse("home"))

    (section,) = [cards for role, cards in response.context["sections"] if role == Role.TEACHER]
    mine = next(c for c in section if c.title == "我的档案")
    assert mine.url == reverse("portal:teacher_detail", args=[tree.teacher_a.teacher.pk])
    assert mine.text == "A校 · 初中 数学 · 状态：在职"


def test_home_query_count_is_fixed(client, tree, django_assert_max_num_queries):
    client.force_login(tree.carol)
    client.get(reverse("home"))
    figures_forget()  # counted anew: the most queries the page makes
    with CaptureQueriesContext(connection) as few:
        client.get(reverse("home"))
    TeacherFactory.create_batch(30, unit=tree.school_a, mobile="")
    SchoolFactory.create_batch(5, parent=tree.district1)
    figures_forget()

    with django_assert_max_num_queries(len(few.captured_queries)):
        response = client.get(reverse("home"))

    assert response.status_code == 200


def _card(response, role, title):
    (section,) = [cards for r, cards in response.context["sections"] if r == role]
    return next(card for card in section if card.title == title)


def test_teacher_home_card_shows_the_hours_behind_the_verdict(client, tree):
    import time_machine

    from tests.factories.credits import RuleSetFactory, entries, preloaded

    preloaded()
    RuleSetFactory(city=tree.city, year=2022)
    entries(Teacher.objects.get(user=tree.teacher_a), 2022, ("public", 30), ("professional", 42), ("elective", 10))
    client.force_login(tree.teacher_a)

    with time_machine.travel("2022-06-01 10:00 +0800"):
        response = client.get(reverse("home"))

    assert _card(response, Role.TEACHER, "2022 年度学时").text == (
        "总学时还差 8 学时；选修科目还差 8 学时；师德师风专题尚未完成："
        "总学时 82 / 90 学时，公需科目 30 / 30 学时，专业科目 42 / 42 学时，选修科目 10 / 18 学时"
    )


def test_admin_home_rate_says_it_is_the_morning_snapshot(client, tree):
    import datetime as dt

    import time_machine

    from credits.models import ComplianceSnapshot

    ComplianceSnapshot.objects.create(unit=tree.city, year=2022, date=dt.date(2022, 6, 1), teachers=4, compliant=1)
    client.force_login(tree.erin)

    with time_machine.travel("2022-06-01 10:00 +0800"):
        response = client.get(reverse("home"))

    assert _card(response, Role.CITY_ADMIN, "学时达标率").text == (
        "截至 2022-06-01 01:30 的快照：1 / 4 名教师达标（25.0%）；达标率页每 5 分钟统计一次"
    )
