"""The rule builder: rows in, the stored tree, the sentence teachers read and last year's pass count
before saving; a rule set that a closed period used is copied, never changed."""

import datetime as dt
import json
from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError
from django.urls import reverse

from credits import services
from credits.models import RuleSet
from credits.selectors import PassCount, rule_pass_count
from portal.models import TeacherStatus
from tests.factories.courses import PeriodFactory
from tests.factories.credits import GUANGZHOU_TREE, RuleSetFactory, entries, preloaded
from tests.factories.enrollment import at
from tests.factories.portal import TeacherFactory

pytestmark = pytest.mark.django_db

SHENZHEN = {
    "all_of": [
        {"min_total": {"hours": 72}},
        {"min_hours": {"category": "public", "hours": 24}},
        {"min_hours": {"category": "professional", "hours": 36}},
        {"min_hours": {"category": "elective", "hours": 12}},
        {"requires_topic": {"topic": "ethics", "hours": 1}},
    ]
}
SENTENCE = (
    "以下要求须全部达到：总学时不少于 72 学时；公需科目不少于 24 学时；专业科目不少于 36 学时；"
    "选修科目不少于 12 学时；师德师风专题不少于 1 学时。"
)


@pytest.fixture
def ledger_2025(tree):
    """Last year's ledger of the city: one teacher passes 72 = 24 + 36 + 12 with 师德师风, one misses 公需 by 1,
    one retired teacher would pass (retired teachers do not count), teacher_a/b/c have nothing."""
    preloaded()
    ok = TeacherFactory(unit=tree.school_a, name="达标")
    entries(ok, 2025, ("public", 24, None, ["ethics"]), ("professional", 36), ("elective", 12))
    short = TeacherFactory(unit=tree.school_c, name="公需差1")
    entries(short, 2025, ("public", 23, None, ["ethics"]), ("professional", 40), ("elective", 12))
    retired = TeacherFactory(unit=tree.school_b, name="退休", status=TeacherStatus.RETIRED)
    entries(retired, 2025, ("public", 30, None, ["ethics"]), ("professional", 42), ("elective", 18))
    return tree


def _rows(*rows, combine="all_of", year="2026", name="2026 年度学时要求", **extra) -> dict:
    data = {
        "year": year,
        "name": name,
        "description": "",
        "combine": combine,
        "modes-group_A": "any_of",
        "modes-group_B": "any_of",
        "modes-group_C": "any_of",
        "rows-TOTAL_FORMS": str(len(rows)),
        "rows-INITIAL_FORMS": "0",
        "rows-MIN_NUM_FORMS": "0",
        "rows-MAX_NUM_FORMS": "30",
    }
    for i, (measure, hours, *group) in enumerate(rows):
        data |= {
            f"rows-{i}-measure": measure,
            f"rows-{i}-hours": hours,
            f"rows-{i}-group": group[0] if group else "",
            f"rows-{i}-label": "",
        }
    return data | extra


SHENZHEN_ROWS = (
    ("total", "72"),
    ("category:public", "24"),
    ("category:professional", "36"),
    ("category:elective", "12"),
    ("topic:ethics", "1"),
)


def test_rule_pass_count_on_last_years_ledger_is_exact(ledger_2025):
    assert rule_pass_count(ledger_2025.city, 2025, SHENZHEN) == PassCount(year=2025, teachers=5, passed=1)


def test_builder_saves_the_tree_its_rows_make(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(*SHENZHEN_ROWS, save="1"))

    assert response.status_code == 302
    rule_set = RuleSet.objects.get(city=ledger_2025.city, year=2026)
    assert (rule_set.name, rule_set.tree) == ("2026 年度学时要求", SHENZHEN)


def test_live_preview_shows_the_sentence_and_last_years_pass_count(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_preview_new"), _rows(*SHENZHEN_ROWS), HTTP_HX_REQUEST="true")

    body = response.content.decode()
    assert SENTENCE in body
    assert "按 2025 年度的学时记录：全市 5 名在职教师中 <strong>1</strong> 人达标（20.0%）。" in body
    assert "<html" not in body  # the fragment only
    assert RuleSet.objects.count() == 0


def test_preview_button_without_js_renders_the_page_and_saves_nothing(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(*SHENZHEN_ROWS[:1], preview="1"))

    assert response.status_code == 200
    assert "年度学时要求：总学时不少于 72 学时。" in response.content.decode()
    assert response.context["b"].count == PassCount(year=2025, teachers=5, passed=2)  # the retired one not
    assert RuleSet.objects.count() == 0


def test_maoming_rule_built_with_a_group(client, ledger_2025):
    client.force_login(ledger_2025.erin)
    data = _rows(("kind:ordinary", "42", "A"), ("kind:rotation", "60", "A"), ("topic:ethics", "1"), save="1")

    client.post(reverse("credits:rule_create"), data)

    assert RuleSet.objects.get().tree == {
        "all_of": [
            {
                "any_of": [
                    {"min_hours": {"kind": "ordinary", "hours": 42}},
                    {"min_hours": {"kind": "rotation", "hours": 60}},
                ]
            },
            {"requires_topic": {"topic": "ethics", "hours": 1}},
        ]
    }


def test_add_row_gives_one_more_row_without_js(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(("total", "72"), add_row="1"))

    assert len(response.context["b"].rows.forms) == 2
    assert RuleSet.objects.count() == 0


def test_a_row_without_hours_is_refused_with_a_message(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(("total", ""), save="1"))

    assert response.context["b"].rows.forms[0].errors == {"hours": ["请填写学时数"]}
    assert RuleSet.objects.count() == 0


def test_no_rows_at_all_is_refused(client, ledger_2025):
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(("", ""), save="1"))

    assert response.context["b"].errors == ["请至少填写一行要求"]


def test_a_second_rule_set_for_the_year_names_the_first(client, ledger_2025):
    RuleSetFactory(city=ledger_2025.city, year=2026, name="已有的2026规则")
    client.force_login(ledger_2025.erin)

    response = client.post(reverse("credits:rule_create"), _rows(*SHENZHEN_ROWS, save="1"))

    assert response.context["b"].form.errors["year"] == ["本市 2026 年度已有学时规则“已有的2026规则”"]


def test_edit_page_shows_the_stored_rule_as_rows(client, tree):
    preloaded()
    rule_set = RuleSetFactory(city=tree.city, year=2026, tree=GUANGZHOU_TREE)
    client.force_login(tree.erin)

    response = client.get(reverse("credits:rule_edit", args=[rule_set.pk]))

    initial = [f.initial for f in response.context["b"].rows.forms]
    assert [(i.get("measure"), i.get("hours")) for i in initial] == [
        ("total", D(90)),
        ("category:public", D(30)),
        ("category:professional", D(42)),
        ("category:elective", D(18)),
        ("topic:ethics", D(1)),
        (None, None),
        (None, None),
    ]


@pytest.fixture
def closed(tree):
    """The 2022 rule set, used by the 2201 period whose training ended on 2022-06-20."""
    preloaded()
    period = PeriodFactory(city=tree.city, name="2201期全员培训", rule_set__name="广州市2022年度要求")
    return period.rule_set


def test_rule_set_of_a_closed_period_cannot_be_changed_by_the_service(tree, closed):
    closed.tree = SHENZHEN

    with pytest.raises(ValidationError) as refused:
        services.rule_set_save(closed, actor=tree.erin, now=at("2022-06-21 00:00"))

    assert refused.value.messages == [
        "“广州市2022年度要求”已用于已结束的培训周期“2201期全员培训”，不能再修改；请复制为新年度的规则后修改。"
    ]
    assert RuleSet.objects.get(pk=closed.pk).tree == GUANGZHOU_TREE


def test_rule_set_of_a_running_period_may_still_change(tree, closed):
    closed.tree = SHENZHEN

    services.rule_set_save(closed, actor=tree.erin, now=at("2022-06-20 23:59"))

    assert RuleSet.objects.get(pk=closed.pk).tree == SHENZHEN


def test_builder_page_refuses_to_save_a_closed_rule_and_offers_a_copy(client, tree, closed):
    client.force_login(tree.erin)

    page = client.get(reverse("credits:rule_edit", args=[closed.pk]))
    response = client.post(reverse("credits:rule_edit", args=[closed.pk]), _rows(*SHENZHEN_ROWS, year="2022", save="1"))

    assert page.context["closed"] == ["2201期全员培训"]
    assert "复制为新规则" in page.content.decode()
    assert response.context["b"].form.non_field_errors() == [
        "“广州市2022年度要求”已用于已结束的培训周期“2201期全员培训”，不能再修改；请复制为新年度的规则后修改。"
    ]
    assert RuleSet.objects.get(pk=closed.pk).tree == GUANGZHOU_TREE


def test_copy_of_a_closed_rule_set_is_a_new_editable_rule(client, tree, closed):
    client.force_login(tree.erin)

    response = client.post(reverse("credits:rule_copy", args=[closed.pk]), {"year": "2023", "name": "2023 年度要求"})

    copy = RuleSet.objects.get(year=2023)
    assert response["Location"] == reverse("credits:rule_edit", args=[copy.pk])
    assert (copy.city, copy.tree) == (tree.city, GUANGZHOU_TREE)
    assert services.rule_set_closed_periods(copy, dt.date(2026, 1, 1)) == []


def test_django_admin_cannot_change_a_closed_rule_set_either(client, tree, closed):
    tree.erin.is_staff = True
    tree.erin.save(update_fields=["is_staff"])
    client.force_login(tree.erin)
    data = {"city": tree.city.pk, "year": 2022, "name": closed.name, "tree": json.dumps(SHENZHEN), "description": ""}

    response = client.post(reverse("admin:credits_ruleset_change", args=[closed.pk]), data)

    assert response.status_code == 200
    assert RuleSet.objects.get(pk=closed.pk).tree == GUANGZHOU_TREE


def test_only_city_admins_build_rules(client, tree):
    client.force_login(tree.carol)

    assert client.get(reverse("credits:rule_create")).status_code == 403


def test_rule_list_query_count_is_flat(client, tree, django_assert_max_num_queries):
    preloaded()
    PeriodFactory(city=tree.city, year=2022)
    client.force_login(tree.erin)
    client.get(reverse("credits:rule_list"))
    with django_assert_max_num_queries(12) as one:
        client.get(reverse("credits:rule_list"))
    for year in range(2010, 2020):
        PeriodFactory(city=tree.city, year=year)

    with django_assert_max_num_queries(len(one.captured_queries)):
        response = client.get(reverse("credits:rule_list"))

    assert len(response.context["rows"]) == 11
