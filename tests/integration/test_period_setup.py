"""Training periods set up in the portal, previewed as the timeline teachers see."""

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.urls import reverse

from courses import services
from courses.models import FeePayer, TrainingPeriod
from tests.factories.courses import PeriodFactory, RuleSetFactory
from tests.factories.enrollment import at
from tests.factories.setup import other_city

pytestmark = pytest.mark.django_db


def _period(**extra) -> dict:
    """Guangzhou 2201 as the notice has it: selection 03-15..03-29, 补选 03-26..03-29 without dropping."""
    return {
        "year": "2022",
        "code": "2201",
        "name": "2201期全员培训",
        "selection_opens_at": "2022-03-15T00:00",
        "selection_closes_at": "2022-03-30T00:00",
        "late_opens_at": "2022-03-26T00:00",
        "late_closes_at": "2022-03-30T00:00",
        "training_starts_on": "2022-04-20",
        "training_ends_on": "2022-06-20",
        "max_fee_per_hour": "",
        "school_providers": "none",  # the select's first choice, as the page sends it
    } | extra


@time_machine.travel(at("2022-03-01 09:00"), tick=False)
def test_preview_shows_the_teachers_timeline_and_saves_nothing(client, tree):
    rule_set = RuleSetFactory(city=tree.city, year=2022)
    client.force_login(tree.erin)

    response = client.post(reverse("courses:period_create"), _period(rule_set=rule_set.pk, preview="1"))

    assert [(m.at.isoformat(), m.label) for m in response.context["milestones"]] == [
        ("2022-03-15T00:00:00+08:00", "选课开始"),
        ("2022-03-26T00:00:00+08:00", "补选开始"),
        ("2022-03-30T00:00:00+08:00", "选课与补选截止"),
        ("2022-04-20T00:00:00+08:00", "培训开始"),
        ("2022-06-21T00:00:00+08:00", "培训结束"),
    ]
    body = response.content.decode()
    assert "学时不足的教师增选课程；补选期间只能增选，不能退课" in body
    assert "学时要求：</span>以下要求须全部达到：总学时不少于 90 学时" in body
    assert TrainingPeriod.objects.count() == 0


def test_save_creates_the_period_in_the_admins_city(client, tree):
    client.force_login(tree.erin)

    response = client.post(reverse("courses:period_create"), _period(max_fee_per_hour="4", save="1"))

    period = TrainingPeriod.objects.get(code="2201")
    assert response["Location"] == reverse("courses:period_edit", args=[period.pk])
    assert (period.city, str(period.max_fee_per_hour), period.drop_allowed_in_late) == (tree.city, "4.00", False)


def test_windows_in_the_wrong_order_are_answered_by_field(client, tree):
    client.force_login(tree.erin)

    response = client.post(
        reverse("courses:period_create"), _period(selection_closes_at="2022-03-10T00:00", late_closes_at="", save="1")
    )

    assert response.context["form"].errors == {
        "selection_closes_at": ["选课截止时间必须晚于开始时间"],
        "late_closes_at": ["补选开始和截止时间要么都填，要么都不填"],
    }


def test_separate_late_phase_gets_its_own_end(client, tree):
    client.force_login(tree.erin)

    response = client.post(
        reverse("courses:period_create"),
        _period(
            late_opens_at="2022-04-01T00:00", late_closes_at="2022-04-05T00:00", drop_allowed_in_late="on", preview="1"
        ),
    )

    labels = [m.label for m in response.context["milestones"]]
    assert labels == ["选课开始", "选课截止", "补选开始", "补选截止", "培训开始", "培训结束"]
    assert "补选期间可以退课" in response.content.decode()


def test_only_city_admins_set_up_periods(client, tree):
    client.force_login(tree.carol)

    assert client.get(reverse("courses:period_create")).status_code == 403


def test_period_list_query_count_is_flat(client, tree, django_assert_max_num_queries):
    PeriodFactory(city=tree.city, year=2000)
    client.force_login(tree.erin)
    client.get(reverse("courses:period_list"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("courses:period_list"))
    for year in range(2001, 2016):
        PeriodFactory(city=tree.city, year=year)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("courses:period_list"))

    assert len(response.context["rows"]) == 16


@time_machine.travel(at("2022-03-27 10:00"), tick=False)
def test_teacher_sees_the_same_timeline_with_the_passed_dates_marked(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.teacher_a)

    response = client.get(reverse("courses:period_timeline"))
    home = client.get(reverse("home"))

    assert response.context["period"] == period
    assert response.content.decode().count("timeline-item timeline-passed") == 2
    cards = [c for _role, cards in home.context["sections"] for c in cards if c.title == "本年度安排"]
    assert [c.text for c in cards] == ["下一项：选课与补选截止（2022年3月30日 00:00）"]


def test_fee_payers_are_set_changed_and_shown_on_the_preview(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)
    url = reverse("courses:period_fee_payers", args=[period.pk])
    initial = {name: field.initial for name, field in client.get(url).context["form"].fields.items()}

    created = client.post(url, {"public": "province", "professional": "employer", "elective": "employer"})
    client.post(url, {"public": "province", "professional": "county", "elective": "teacher"})
    body = client.get(reverse("courses:period_edit", args=[period.pk])).content.decode()

    assert initial == {"public": "employer", "professional": "employer", "elective": "employer"}
    assert created["Location"] == reverse("courses:period_edit", args=[period.pk])
    assert dict(FeePayer.objects.filter(period=period).values_list("category", "payer")) == {
        "public": "province",
        "professional": "county",
        "elective": "teacher",
    }
    assert "公需科目由省级财政承担；专业科目由县级财政承担；选修科目由教师个人承担。" in body


def test_fee_payers_of_another_citys_period_are_404(client, tree):
    other = other_city(at("2022-03-01 09:00"))
    client.force_login(tree.erin)
    url = reverse("courses:period_fee_payers", args=[other.period.pk])

    statuses = [client.get(url).status_code, client.post(url, {"public": "teacher"}).status_code]

    assert statuses == [404, 404]
    assert FeePayer.objects.count() == 0


def test_fee_payer_bad_input_is_answered_in_chinese_by_category(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.erin)

    response = client.post(
        reverse("courses:period_fee_payers", args=[period.pk]), {"public": "nobody", "professional": "employer"}
    )

    assert response.status_code == 200
    assert response.context["form"].errors == {
        "public": ["请为公需科目从列表中选择费用承担方"],
        "elective": ["请为选修科目选择费用承担方"],
    }
    assert FeePayer.objects.count() == 0


def test_fee_payers_are_for_the_city_admin(client, tree):
    period = PeriodFactory(city=tree.city)
    client.force_login(tree.carol)

    assert client.get(reverse("courses:period_fee_payers", args=[period.pk])).status_code == 403


def test_fee_payers_set_refuses_an_unknown_payer_and_another_citys_admin(tree):
    period = PeriodFactory(city=tree.city)
    other = other_city(at("2022-03-01 09:00"))

    with pytest.raises(ValidationError) as unknown:
        services.fee_payers_set(period, {"public": "nobody", "elective": "teacher"}, actor=tree.erin)
    with pytest.raises(PermissionDenied):
        services.fee_payers_set(period, {"public": "teacher"}, actor=other.admin)

    assert unknown.value.message_dict == {"public": ["请为公需科目选择费用承担方"]}
    assert FeePayer.objects.count() == 0
