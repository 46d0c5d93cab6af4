"""The rule builder's rows ↔ the stored tree, and the sentence teachers read."""

from decimal import Decimal as D

import pytest

from credits.demo import GUANGZHOU_TREE, MAOMING_TREE
from credits.rule_builder import ALL_OF, ANY_OF, NotBuildable, Row, rows_from_tree, tree_from_rows
from credits.rule_engine import Names, describe

NAMES = Names(
    kinds={"ordinary": "普通远程培训课程", "rotation": "全员轮训网络研修"},
    topics={"ethics": "师德师风", "shuangjian": "双减"},
)
SHENZHEN_ROWS = [
    Row("total", D(72)),
    Row("category:public", D(24)),
    Row("category:professional", D(36)),
    Row("category:elective", D(12)),
    Row("topic:ethics", D(1)),
]


def test_guangzhou_rule_round_trips_through_the_builder():
    built = rows_from_tree(GUANGZHOU_TREE)

    assert tree_from_rows(built.combine, built.rows, built.group_modes) == GUANGZHOU_TREE
    assert [(r.measure, r.hours, r.group) for r in built.rows] == [
        ("total", D(90), ""),
        ("category:public", D(30), ""),
        ("category:professional", D(42), ""),
        ("category:elective", D(18), ""),
        ("topic:ethics", D(1), ""),
    ]


def test_maoming_rule_round_trips_with_its_any_of_group():
    built = rows_from_tree(MAOMING_TREE)

    assert built.group_modes == {"A": ANY_OF}
    assert [(r.measure, r.group) for r in built.rows] == [
        ("kind:ordinary", "A"),
        ("kind:rotation", "A"),
        ("topic:ethics", ""),
    ]
    assert tree_from_rows(built.combine, built.rows, built.group_modes) == MAOMING_TREE


def test_a_group_of_one_row_is_that_row_and_half_hours_stay():
    tree = tree_from_rows(ALL_OF, [Row("total", D("72.5"), "B"), Row("kind:rotation", D(60), "", "轮训")], {})

    assert tree == {
        "all_of": [{"min_total": {"hours": 72.5}}, {"min_hours": {"kind": "rotation", "hours": 60, "label": "轮训"}}]
    }


def test_a_group_inside_a_group_is_not_buildable():
    tree = {"all_of": [{"any_of": [{"all_of": [{"min_total": {"hours": 1}}]}]}]}

    with pytest.raises(NotBuildable):
        rows_from_tree(tree)


def test_shenzhen_sentence_reads_like_the_notice():
    tree = tree_from_rows(ALL_OF, SHENZHEN_ROWS, {})

    assert describe(tree, NAMES) == (
        "以下要求须全部达到：总学时不少于 72 学时；公需科目不少于 24 学时；专业科目不少于 36 学时；"
        "选修科目不少于 12 学时；师德师风专题不少于 1 学时。"
    )


def test_maoming_sentence_says_either_kind_completes_the_task():
    assert describe(MAOMING_TREE, NAMES) == (
        "以下要求须全部达到：普通远程培训课程不少于 42 学时，或全员轮训网络研修不少于 60 学时（满足其一即可）；"
        "师德师风专题不少于 1 学时。"
    )


def test_any_of_at_the_top_and_a_single_leaf():
    any_of = {"any_of": [{"min_hours": {"kind": "ordinary", "hours": 42}}, {"min_total": {"hours": 60}}]}

    assert describe(any_of, NAMES) == "以下要求达到其中一项即可：普通远程培训课程不少于 42 学时；总学时不少于 60 学时。"
    assert describe({"min_total": {"hours": 90}}, NAMES) == "年度学时要求：总学时不少于 90 学时。"
