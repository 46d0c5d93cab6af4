"""Counts over every teacher in reach, kept for FIGURES_SECONDS (portal.figures).

Each reach sees its own figures (two districts; a school admin and the city), a change shows
once the figures are older than FIGURES_SECONDS or forgotten, and the pages say when they
were counted.
"""

import datetime as dt

import pytest
import time_machine
from django.urls import reverse

from courses import selectors
from courses.models import CourseSelection
from portal import idcard
from portal.figures import figures_counted, figures_forget
from portal.models import Role
from portal.roster_import import roster_import
from portal.scoping import scope_for
from portal.selectors import organisation_counts
from tests.factories.courses import CourseFactory, PeriodFactory, shanghai
from tests.factories.credits import entries
from tests.factories.portal import admin_user
from tests.integration import test_credits_views
from tests.integration.test_roster_import import row, xlsx

pytestmark = pytest.mark.django_db

AT = shanghai(2022, 3, 20, 10)
DASHBOARD = reverse("credits:dashboard") + "?year=2022"
gz = test_credits_views.gz  # the fixture: teacher_a has 84 hours of 90, professional 36 of 42


@pytest.fixture
def period(tree):
    return PeriodFactory(city=tree.city)


def _select(teacher, period):
    course = CourseFactory(period=period, capacity=40)
    CourseSelection.objects.create(teacher=teacher, course=course, period=period, selected_at=AT)


def test_figures_counted_counts_again_only_when_older_than_figures_seconds(settings, db):
    settings.FIGURES_SECONDS = 300
    counts = iter(range(1, 10))
    with time_machine.travel(AT, tick=False) as traveller:
        first = figures_counted("test", ("a",), lambda: next(counts))
        traveller.shift(dt.timedelta(seconds=299))
        kept = figures_counted("test", ("a",), lambda: next(counts))
        other = figures_counted("test", ("b",), lambda: next(counts))
        traveller.shift(dt.timedelta(seconds=1))
        recounted = figures_counted("test", ("a",), lambda: next(counts))

    assert [(c.value, c.at) for c in (first, kept, other, recounted)] == [
        (1, AT),
        (1, AT),
        (2, AT + dt.timedelta(seconds=299)),
        (3, AT + dt.timedelta(seconds=300)),
    ]


def test_while_one_request_counts_again_the_others_show_the_last_count(settings, db):
    settings.FIGURES_SECONDS = 300
    with time_machine.travel(AT, tick=False) as traveller:
        figures_counted("test", ("a",), lambda: 1)
        traveller.shift(dt.timedelta(seconds=300))
        seen_meanwhile = []

        def recount():
            seen_meanwhile.append(figures_counted("test", ("a",), lambda: 3))  # another admin, same reach
            return 2

        recounted = figures_counted("test", ("a",), recount)
        after = figures_counted("test", ("a",), lambda: 4)

    assert [(c.value, c.at) for c in (*seen_meanwhile, recounted, after)] == [
        (1, AT),
        (2, AT + dt.timedelta(seconds=300)),
        (2, AT + dt.timedelta(seconds=300)),
    ]


@time_machine.travel(AT, tick=False)
def test_compliance_dashboard_school_admin_and_city_each_see_their_own_figures(gz, client):
    client.force_login(gz.alice)
    school = client.get(DASHBOARD)
    client.force_login(gz.erin)
    city = client.get(DASHBOARD)
    client.force_login(gz.alice)
    school_again = client.get(DASHBOARD)

    totals = [(r.context["overview"].total.teachers, r.context["overview"].total.compliant) for r in (school, city)]
    assert totals == [(1, 0), (3, 0)]
    assert school_again.context["overview"].total.teachers == 1
    assert [r.name for r in school_again.context["page"].object_list] == ["teacher_a"]
    assert "统计于 10:00" in city.content.decode()


def test_compliance_dashboard_shows_new_hours_once_its_figures_are_old(gz, client, settings):
    settings.FIGURES_SECONDS = 300
    client.force_login(gz.erin)
    with time_machine.travel(AT, tick=False) as traveller:
        client.get(DASHBOARD)
        entries(gz.teacher_a.teacher, 2022, ("professional", 6))  # now 90 hours, 42 professional: met
        traveller.shift(dt.timedelta(seconds=299))
        kept = client.get(DASHBOARD).context["overview"]
        traveller.shift(dt.timedelta(seconds=1))
        counted = client.get(DASHBOARD).context["overview"]

    assert (kept.total.compliant, kept.counted_at) == (0, AT)
    assert (counted.total.compliant, counted.counted_at) == (1, AT + dt.timedelta(seconds=300))


@time_machine.travel(AT, tick=False)
def test_compliance_dashboard_shows_new_hours_at_once_when_figures_are_forgotten(gz, client):
    client.force_login(gz.erin)
    client.get(DASHBOARD)
    entries(gz.teacher_a.teacher, 2022, ("professional", 6))

    figures_forget()

    assert client.get(DASHBOARD).context["overview"].total.compliant == 1


@time_machine.travel(AT, tick=False)
def test_school_progress_two_districts_each_see_their_own_figures(client, tree, period):
    other_district = admin_user(Role.DISTRICT_ADMIN, tree.district2, name="frank")
    _select(tree.teacher_c.teacher, period)
    url = reverse("courses:school_progress") + f"?period={period.pk}"

    rows = {}
    for user in (tree.carol, other_district, tree.carol):
        client.force_login(user)
        response = client.get(url)
        rows[user.name] = [(r.unit.name, r.teachers, r.selected) for r in response.context["page"]]

    assert rows == {"carol": [("A校", 1, 0), ("B校", 1, 0)], "frank": [("C校", 1, 1)]}
    assert "统计于 10:00" in response.content.decode()


def test_school_progress_shows_a_selection_once_its_figures_are_old(client, tree, period, settings):
    settings.FIGURES_SECONDS = 300
    client.force_login(tree.carol)
    url = reverse("courses:school_progress") + f"?period={period.pk}"
    with time_machine.travel(AT, tick=False) as traveller:
        client.get(url)
        _select(tree.teacher_a.teacher, period)
        traveller.shift(dt.timedelta(seconds=299))
        kept = [r.selected for r in client.get(url).context["page"]]
        traveller.shift(dt.timedelta(seconds=1))
        counted = [r.selected for r in client.get(url).context["page"]]

    assert (kept, counted) == ([0, 0], [1, 0])


@time_machine.travel(AT, tick=False)
def test_selections_by_district_city_and_district_each_see_their_own_figures(tree, period):
    _select(tree.teacher_c.teacher, period)

    district = selectors.selections_by_district(period, scope_for(tree.carol))
    city = selectors.selections_by_district(period, scope_for(tree.erin))

    assert [(d.unit.name, d.total, d.counted_at) for d in district] == [("天河区", 0, AT)]
    assert sorted((d.unit.name, d.total) for d in city) == [("天河区", 0), ("海珠区", 1)]


@time_machine.travel(AT, tick=False)
def test_fill_rates_say_when_the_district_figures_were_counted(client, tree, period):
    client.force_login(tree.erin)

    response = client.get(reverse("courses:fill_rates"), {"period": period.pk})

    assert "统计于 10:00" in response.content.decode()


@time_machine.travel(AT, tick=False)
def test_selection_progress_school_and_city_each_see_their_own_figures(tree, period):
    _select(tree.teacher_c.teacher, period)

    figures = [selectors.selection_progress(unit, period).value for unit in (tree.school_a, tree.city, tree.school_a)]

    assert figures == [(1, 0), (3, 1), (1, 0)]


@time_machine.travel(AT, tick=False)
def test_admin_home_cards_each_reach_its_own_counts_with_their_time(client, tree, period):
    texts = {}
    for user in (tree.carol, tree.erin):
        client.force_login(user)
        sections = dict(client.get(reverse("home")).context["sections"])
        texts[user.name] = sorted(c.text for cards in sections.values() for c in cards if "统计于" in c.text)

    assert texts == {
        "carol": ["天河区在职教师 2 人，已选课 0 人（0%），统计于 10:00", "天河区：在职教师 2 人（统计于 10:00）。"],
        "erin": [
            "区（县）2 个，学校 3 所，在职教师 3 人（统计于 10:00）。",
            f"{tree.city.name}在职教师 3 人，已选课 0 人（0%），统计于 10:00",
        ],
    }


def test_organisation_counts_two_reaches_each_their_own(tree):
    counts = [organisation_counts(user).value["teachers"] for user in (tree.carol, tree.erin, tree.alice)]

    assert counts == [2, 3, 1]


def test_organisation_counts_show_a_roster_import_at_once(tree, django_capture_on_commit_callbacks):
    before = organisation_counts(tree.carol).value["teachers"]

    with django_capture_on_commit_callbacks(execute=True):
        roster_import(xlsx([row("张三", idcard.make("440106", dt.date(1985, 6, 15), 123))]), unit=tree.school_a)

    assert (before, organisation_counts(tree.carol).value["teachers"]) == (2, 3)
