"""Set-based compliance: SQL verdicts agree with the rule engine; query count is fixed."""

from decimal import Decimal as D

import pytest

from credits.rule_engine import evaluate
from credits.selectors import compliance_overview, short_count, teacher_rows, teacher_totals, with_evaluations
from portal.models import TeacherStatus
from tests.factories.credits import GUANGZHOU_TREE, MAOMING_TREE, RuleSetFactory, entries, preloaded
from tests.factories.portal import SchoolFactory, TeacherFactory

pytestmark = pytest.mark.django_db


def _gz_teachers(tree):
    preloaded()
    RuleSetFactory(city=tree.city, year=2022, tree=GUANGZHOU_TREE)
    ok = TeacherFactory(unit=tree.school_a, name="达标")
    entries(ok, 2022, ("public", 30, None, ["ethics"]), ("professional", 42), ("elective", 18))
    short_total = TeacherFactory(unit=tree.school_a, name="差半学时")
    entries(
        short_total,
        2022,
        ("public", D("29.5"), None, ["ethics"]),
        ("public", 1),
        ("professional", 42),
        ("elective", 17),
    )
    short_public = TeacherFactory(unit=tree.school_b, name="公需29")
    entries(short_public, 2022, ("public", 29, None, ["ethics"]), ("professional", 43), ("elective", 18))
    no_entries = TeacherFactory(unit=tree.school_c, name="无记录")
    retired = TeacherFactory(unit=tree.school_c, name="退休", status=TeacherStatus.RETIRED)
    return ok, short_total, short_public, no_entries, retired


def test_compliance_overview_city_rolls_up_districts(tree):
    _gz_teachers(tree)
    overview = compliance_overview(tree.city, 2022)
    # tree fixture adds teacher_a/b/c without entries
    assert (overview.total.teachers, overview.total.compliant) == (7, 1)
    assert [(r.unit.name, r.teachers, r.compliant) for r in overview.children] == [("天河区", 5, 1), ("海珠区", 2, 0)]


def test_sql_verdict_matches_rule_engine(tree):
    made = _gz_teachers(tree)
    rows = list(teacher_rows(tree.city, 2022, GUANGZHOU_TREE))
    for row in rows:
        assert row.met == evaluate(GUANGZHOU_TREE, teacher_totals(row.teacher_id, 2022)).met
    assert {r.name for r in rows if r.met} == {made[0].name}
    assert "退休" not in {r.name for r in rows}


def test_short_list_has_shortfall_sentence(tree):
    _gz_teachers(tree)
    rows = with_evaluations(list(teacher_rows(tree.school_a, 2022, GUANGZHOU_TREE, only_short=True)), GUANGZHOU_TREE)
    assert [(r.name, r.evaluation.sentence) for r in rows] == [
        (
            "teacher_a",
            "总学时还差 90 学时；公需科目还差 30 学时；专业科目还差 42 学时；选修科目还差 18 学时；"
            "师德师风专题尚未完成",
        ),
        ("差半学时", "总学时还差 0.5 学时；选修科目还差 1 学时"),
    ]
    assert short_count(tree.school_a, 2022, GUANGZHOU_TREE) == 2


def test_maoming_rule_in_sql(tree):
    preloaded()
    RuleSetFactory(city=tree.city, year=2024, tree=MAOMING_TREE)
    rotation60 = TeacherFactory(unit=tree.school_a)
    entries(rotation60, 2024, ("professional", 60, "rotation", ["ethics"]))
    both_short = TeacherFactory(unit=tree.school_a)
    entries(both_short, 2024, ("professional", 41, "ordinary", ["ethics"]), ("professional", 59, "rotation"))
    overview = compliance_overview(tree.school_a, 2024)
    assert (overview.total.teachers, overview.total.compliant) == (3, 1)


@pytest.mark.parametrize("extra_schools", [0, 6])
def test_compliance_overview_query_count_fixed(tree, django_assert_num_queries, extra_schools):
    _gz_teachers(tree)
    for _ in range(extra_schools):
        school = SchoolFactory(parent=tree.district2)
        for t in TeacherFactory.create_batch(4, unit=school):
            entries(t, 2022, ("public", 30))
    with django_assert_num_queries(3):  # rule set, aggregation, child units (no kind in this rule)
        overview = compliance_overview(tree.city, 2022)
    assert overview.total.teachers == 7 + 4 * extra_schools


def test_compliance_snapshot_take_idempotent_per_day(tree):
    import datetime as dt

    from credits.models import ComplianceSnapshot
    from credits.services import compliance_snapshot_take

    _gz_teachers(tree)
    written = compliance_snapshot_take(2022, dt.date(2022, 6, 1))
    again = compliance_snapshot_take(2022, dt.date(2022, 6, 1))
    city = ComplianceSnapshot.objects.get(unit=tree.city)
    assert (written, again) == (6, 0)  # city, 2 districts, 3 schools
    assert (city.teachers, city.compliant) == (7, 1)
