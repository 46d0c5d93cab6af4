"""The rule engine on the preloaded rules, with teachers just meeting and just missing each requirement."""

from decimal import Decimal as D

import pytest
from django.core.exceptions import ValidationError

from credits.demo import GUANGZHOU_TREE, MAOMING_TREE
from credits.rule_engine import Names, Totals, columns_needed, evaluate, parse_tree, sql_condition, validate_tree

NAMES = Names(
    kinds={"ordinary": "普通远程培训课程", "rotation": "全员轮训网络研修"},
    topics={"ethics": "师德师风", "shuangjian": "双减"},
)
GUANGZHOU, MAOMING = GUANGZHOU_TREE, MAOMING_TREE


def gz(public, professional, elective, ethics=D(2)) -> Totals:
    t = Totals()
    t.add(D(public), "public", None, ["ethics"] if ethics else [])
    t.add(D(professional), "professional", None, [])
    t.add(D(elective), "elective", None, [])
    if ethics and ethics != D(2):
        t.by_topic["ethics"] = D(ethics)
    return t


def mm(ordinary, rotation, ethics=True) -> Totals:
    t = Totals()
    if ordinary:
        t.add(D(ordinary), "professional", "ordinary", ["ethics"] if ethics else [])
    if rotation:
        t.add(D(rotation), "professional", "rotation", [] if ordinary or not ethics else ["ethics"])
    return t


def test_guangzhou_just_meeting_passes():
    result = evaluate(GUANGZHOU, gz(30, 42, 18), NAMES)
    assert result.met is True
    assert result.sentence == "已达标"
    assert [r.met for r in result.requirements] == [True] * 5


def test_guangzhou_89_5_total_fails_on_total_only():
    result = evaluate(
        GUANGZHOU,
        Totals(
            total=D("89.5"),
            by_category={"public": D(30), "professional": D(42), "elective": D(18)},
            by_topic={"ethics": D(1)},
        ),
        NAMES,
    )
    assert result.met is False
    assert result.sentence == "总学时还差 0.5 学时"
    assert [r.shortfall for r in result.requirements] == [D("0.5"), 0, 0, 0, 0]


def test_guangzhou_29_public_fails():
    result = evaluate(GUANGZHOU, gz(29, 43, 18), NAMES)
    assert result.met is False
    assert result.sentence == "公需科目还差 1 学时"


def test_guangzhou_missing_professional_and_ethics_sentence():
    result = evaluate(GUANGZHOU, gz(30, 36, 24, ethics=None), NAMES)
    assert result.sentence == "专业科目还差 6 学时；师德师风专题尚未完成"


def test_maoming_41_ordinary_and_59_rotation_fails():
    result = evaluate(MAOMING, mm(41, 59), NAMES)
    assert result.met is False
    assert result.sentence == "普通远程培训课程还差 1 学时，或全员轮训网络研修还差 1 学时"
    assert len(result.requirements) == 2


def test_maoming_60_rotation_and_0_ordinary_passes():
    result = evaluate(MAOMING, mm(0, 60), NAMES)
    assert result.met is True
    assert result.requirements[0].actual == D(60)


def test_maoming_42_ordinary_passes():
    assert evaluate(MAOMING, mm(42, 0), NAMES).met is True


def test_maoming_without_ethics_fails():
    result = evaluate(MAOMING, mm(0, 60, ethics=False), NAMES)
    assert result.met is False
    assert result.sentence == "师德师风专题尚未完成"


def test_third_rule_defined_only_as_data():
    tree = parse_tree(
        '{"any_of": [{"min_total": {"hours": 72}}, '
        '{"all_of": [{"min_hours": {"category": "public", "hours": 20}},'
        ' {"requires_topic": {"topic": "shuangjian", "hours": 4, "label": "双减专题学习"}}]}]}',
        kind_codes=NAMES.kinds,
        topic_codes=NAMES.topics,
    )
    short = Totals(total=D(30), by_category={"public": D(20)}, by_topic={"shuangjian": D(3)})
    result = evaluate(tree, short, NAMES)
    assert result.met is False
    assert result.sentence == "总学时还差 42 学时，或双减专题学习还差 1 学时"
    ok = short + Totals(total=D(1), by_topic={"shuangjian": D(1)})
    assert evaluate(tree, ok, NAMES).met is True


def test_totals_add_combines_earned_and_planned():
    earned = Totals(total=D(10), by_category={"public": D(10)}, by_kind={}, by_topic={"ethics": D(2)})
    planned = Totals(total=D(5), by_category={"public": D(3), "elective": D(2)}, by_kind={"x": D(1)})
    both = earned + planned
    assert both == Totals(
        total=D(15), by_category={"public": D(13), "elective": D(2)}, by_kind={"x": D(1)}, by_topic={"ethics": D(2)}
    )


@pytest.mark.parametrize(
    ("tree", "message"),
    [
        ({"all_of": []}, "规则：all_of 后面必须是非空的列表 [...]"),
        ({"min_total": {"hours": -1}}, "规则：学时数必须大于 0（现在是 -1）"),
        ({"min_hours": {"hours": 4}}, "规则：min_hours 必须且只能指定 category 或 kind 之一"),
        (
            {"all_of": [{"min_hours": {"kind": "nope", "hours": 4}}]},
            "规则 › all_of 第 1 项：学时类型“nope”不存在，请先在“学时类型”中添加，可用的有 ordinary、rotation",
        ),
        (
            {"some_of": []},
            "规则：未知的规则类型“some_of”，可用的有 all_of、any_of、min_total、min_hours、requires_topic",
        ),
        ({"requires_topic": {"topic": "x"}}, "规则：专题“x”不存在，请先在“专题”中添加，可用的有 ethics、shuangjian"),
    ],
)
def test_validate_tree_rejects_with_chinese_message(tree, message):
    with pytest.raises(ValidationError) as exc:
        validate_tree(tree, kind_codes=NAMES.kinds, topic_codes=NAMES.topics)
    assert exc.value.messages == [message]


def test_parse_tree_reports_json_position():
    with pytest.raises(ValidationError) as exc:
        parse_tree('{"min_total": {"hours": 90}')
    assert exc.value.messages[0].startswith("规则不是合法的 JSON：第 1 行")


def test_sql_condition_matches_tree():
    sql, params = sql_condition(MAOMING, lambda c: c.alias)
    assert sql == (
        "(((h_kind_ordinary >= CAST(%s AS NUMERIC)) OR (h_kind_rotation >= CAST(%s AS NUMERIC)))"
        " AND (h_topic_ethics >= CAST(%s AS NUMERIC)))"
    )
    assert params == [D(42), D(60), D(1)]
    assert [c.alias for c in columns_needed(MAOMING)] == [
        "h_kind_ordinary",
        "h_kind_rotation",
        "h_topic_ethics",
        "h_total",
    ]


def test_an_evaluation_kept_across_requests_is_in_the_language_it_is_asked_in(db):
    import json

    from django.utils import translation

    from credits.rule_engine import Column, evaluation_of_sums

    tree = json.dumps(GUANGZHOU, sort_keys=True)
    sums = ((Column("total", ""), D(84)),)

    chinese = evaluation_of_sums(tree, sums, "zh-hans").sentence
    with translation.override("en"):
        english = evaluation_of_sums(tree, sums, "en").sentence

    assert chinese.startswith("总学时还差 6 学时")
    assert english.startswith("Total credit hours: 6 credit hours short")
