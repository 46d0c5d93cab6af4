"""The rule engine: a year's requirement is a small JSON tree, never code.

Nodes (each a one-key object)::

    {"all_of": [node, ...]}                                   every child met
    {"any_of": [node, ...]}                                   at least one child met
    {"min_total": {"hours": 90}}                              all hours together
    {"min_hours": {"category": "professional", "hours": 42}}  hours of one category (public/professional/elective)
    {"min_hours": {"kind": "rotation", "hours": 60}}          hours of one kind (credits.CreditKind.code)
    {"requires_topic": {"topic": "ethics", "hours": 1}}       hours on a topic (credits.Topic.code); hours default 1

A leaf may carry ``"label": "..."`` to override the Chinese label shown to
teachers. Guangzhou 2022::

    {"all_of": [{"min_total": {"hours": 90}},
                {"min_hours": {"category": "public", "hours": 30}},
                {"min_hours": {"category": "professional", "hours": 42}},
                {"min_hours": {"category": "elective", "hours": 18}},
                {"requires_topic": {"topic": "ethics", "hours": 1}}]}

``evaluate`` works on pre-aggregated ``Totals`` (no queries but, once per
process, the names of kinds and topics); ``sql_condition`` turns the same tree
into a SQL boolean over per-teacher sum columns so a whole city is judged by
one aggregation query (credits.selectors.compliance_by_unit).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from decimal import Decimal, InvalidOperation
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.utils.translation import gettext as _

ZERO = Decimal(0)
GROUPS = ("all_of", "any_of")
LEAVES = ("min_total", "min_hours", "requires_topic")
MAX_DEPTH = 6


# --------------------------------------------------------------------------- totals


@dataclass
class Totals:
    """A teacher's hours for one year, summed from the ledger."""

    total: Decimal = ZERO
    by_category: dict[str, Decimal] = field(default_factory=dict)
    by_kind: dict[str, Decimal] = field(default_factory=dict)
    by_topic: dict[str, Decimal] = field(default_factory=dict)

    def __add__(self, other: Totals) -> Totals:
        if not isinstance(other, Totals):
            return NotImplemented
        return Totals(
            total=self.total + other.total,
            by_category=_merge(self.by_category, other.by_category),
            by_kind=_merge(self.by_kind, other.by_kind),
            by_topic=_merge(self.by_topic, other.by_topic),
        )

    def add(self, hours: Decimal, category: str, kind: str | None, topics: Iterable[str]) -> None:
        """Add one entry's hours in place."""
        self.total += hours
        self.by_category[category] = self.by_category.get(category, ZERO) + hours
        if kind:
            self.by_kind[kind] = self.by_kind.get(kind, ZERO) + hours
        for topic in topics:
            self.by_topic[topic] = self.by_topic.get(topic, ZERO) + hours


def _merge(a: dict[str, Decimal], b: dict[str, Decimal]) -> dict[str, Decimal]:
    merged = dict(a)
    for key, value in b.items():
        merged[key] = merged.get(key, ZERO) + value
    return merged


# --------------------------------------------------------------------------- names


@dataclass(frozen=True)
class Names:
    """Chinese names of kinds and topics by code, for labels."""

    kinds: dict[str, str]
    topics: dict[str, str]


@lru_cache(maxsize=1)
def _db_names() -> Names:
    from credits.models import CreditKind, Topic

    return Names(
        kinds=dict(CreditKind.objects.values_list("code", "name")),
        topics=dict(Topic.objects.values_list("code", "name")),
    )


def names_cache_clear() -> None:
    """Called when a kind or topic is saved (credits.apps connects it)."""
    _db_names.cache_clear()
    evaluation_of_sums.cache_clear()


@lru_cache(maxsize=4096)
def evaluation_of_sums(tree_json: str, sums: tuple[tuple[Column, Decimal], ...], language: str) -> Evaluation:
    """``evaluate`` of a rule (as canonical JSON) and a row's sums, kept across requests.

    The lists of teachers short of hours show one evaluation per row; rows with the same sums
    (a district has thousands with none yet) share one, and the next page view reuses it. The
    language is part of the key because the evaluation's texts are translated when it is made.
    """
    return evaluate(json.loads(tree_json), totals_from_columns(dict(sums)))


def category_label(code: str) -> str:
    from credits.models import Category

    try:
        return str(Category(code).label)
    except ValueError:
        return code


def fmt_hours(value: Decimal) -> str:
    """42 → "42", 0.50 → "0.5"."""
    value = Decimal(value)
    text = format(value.quantize(Decimal("0.01")).normalize(), "f")
    return text


# --------------------------------------------------------------------------- evaluation


@dataclass
class Requirement:
    """One line of the verdict: a leaf, or an any_of group with its options."""

    label: str
    required: Decimal
    actual: Decimal
    shortfall: Decimal
    met: bool
    node: str = "hours"  # "hours", "topic" or "any_of"
    options: tuple[Requirement, ...] = ()
    missing_text: str = ""

    @property
    def percent(self) -> int:
        """Progress for a bar, 0..100."""
        if self.met or not self.required:
            return 100
        return max(0, min(100, int(self.actual * 100 / self.required)))


@dataclass
class Evaluation:
    met: bool
    requirements: list[Requirement]

    @property
    def shortfalls(self) -> list[Requirement]:
        return [r for r in self.requirements if not r.met]

    @property
    def sentence(self) -> str:
        missing = [r.missing_text for r in self.shortfalls]
        if self.met or not missing:
            return _("已达标")
        return "；".join(missing)


def evaluate(tree: dict, totals: Totals, names: Names | None = None) -> Evaluation:
    """Judge ``totals`` against ``tree``; no database access but the cached names."""
    names = names or _db_names()
    requirements = _evaluate_node(tree, totals, names)
    return Evaluation(met=all(r.met for r in requirements), requirements=requirements)


def _evaluate_node(node: dict, totals: Totals, names: Names) -> list[Requirement]:
    key, arg = _split(node)
    if key == "all_of":
        return [req for child in arg for req in _evaluate_node(child, totals, names)]
    if key == "any_of":
        options = tuple(_option(child, totals, names) for child in arg)
        return [_any_of(options)]
    return [_leaf(key, arg, totals, names)]


def _option(node: dict, totals: Totals, names: Names) -> Requirement:
    """One alternative of an any_of, collapsed into a single line."""
    reqs = _evaluate_node(node, totals, names)
    if len(reqs) == 1:
        return reqs[0]
    met = all(r.met for r in reqs)
    return Requirement(
        label="＋".join(r.label for r in reqs),
        required=sum((r.required for r in reqs), ZERO),
        actual=sum((min(r.actual, r.required) for r in reqs), ZERO),
        shortfall=sum((r.shortfall for r in reqs), ZERO),
        met=met,
        node="all_of",
        options=tuple(reqs),
        missing_text="、".join(r.missing_text for r in reqs if not r.met),
    )


def _any_of(options: tuple[Requirement, ...]) -> Requirement:
    met_options = [o for o in options if o.met]
    # Show the alternative the teacher is closest to: met, else the smallest share still missing.
    best = (
        met_options[0]
        if met_options
        else min(options, key=lambda o: (o.shortfall / o.required) if o.required else ZERO)
    )
    return Requirement(
        label=_("或").join(
            _("%(label)s（%(hours)s 学时）") % {"label": o.label, "hours": fmt_hours(o.required)} for o in options
        ),
        required=best.required,
        actual=best.actual,
        shortfall=ZERO if met_options else best.shortfall,
        met=bool(met_options),
        node="any_of",
        options=options,
        missing_text="" if met_options else _("，或").join(o.missing_text for o in options),
    )


def _leaf_hours(key: str, arg: dict) -> Decimal:
    return Decimal(str(arg.get("hours", 1 if key == "requires_topic" else 0)))


def _leaf_label(key: str, arg: dict, names: Names) -> str:
    """What a teacher reads for a leaf: its own label, else 总学时, the category, the kind or "<topic>专题"."""
    if arg.get("label"):
        return arg["label"]
    if key == "min_total":
        return _("总学时")
    if key == "min_hours" and "category" in arg:
        return category_label(arg["category"])
    if key == "min_hours":
        return names.kinds.get(arg["kind"], arg["kind"])
    return _("%(topic)s专题") % {"topic": names.topics.get(arg["topic"], arg["topic"])}


def _leaf(key: str, arg: dict, totals: Totals, names: Names) -> Requirement:
    required = _leaf_hours(key, arg)
    label = _leaf_label(key, arg, names)
    if key == "min_total":
        actual = totals.total
    elif key == "min_hours" and "category" in arg:
        actual = totals.by_category.get(arg["category"], ZERO)
    elif key == "min_hours":
        actual = totals.by_kind.get(arg["kind"], ZERO)
    else:
        actual = totals.by_topic.get(arg["topic"], ZERO)
    shortfall = max(required - actual, ZERO)
    met = shortfall == ZERO
    if met:
        missing = ""
    elif key == "requires_topic" and actual <= ZERO:
        missing = _("%(label)s尚未完成") % {"label": label}
    else:
        missing = _("%(label)s还差 %(hours)s 学时") % {"label": label, "hours": fmt_hours(shortfall)}
    return Requirement(
        label=label,
        required=required,
        actual=actual,
        shortfall=shortfall,
        met=met,
        node="topic" if key == "requires_topic" else "hours",
        missing_text=missing,
    )


# --------------------------------------------------------------------------- the sentence teachers read


def describe(tree: dict, names: Names | None = None) -> str:
    """The rule as one Chinese sentence, e.g. "以下要求须全部达到：总学时不少于 90 学时；公需科目不少于 30 学时。"

    Shown to teachers beside their verdict and to the city admin while she builds the rule.
    """
    names = names or _db_names()
    key, arg = _split(tree)
    if key not in GROUPS or len(arg) == 1:
        return _("年度学时要求：%(rule)s。") % {"rule": _phrase(tree, names, 1)}
    parts = "；".join(_phrase(child, names, 1) for child in arg)
    if key == "all_of":
        return _("以下要求须全部达到：%(parts)s。") % {"parts": parts}
    return _("以下要求达到其中一项即可：%(parts)s。") % {"parts": parts}


def _phrase(node: dict, names: Names, depth: int) -> str:
    key, arg = _split(node)
    if key not in GROUPS:
        return _("%(label)s不少于 %(hours)s 学时") % {
            "label": _leaf_label(key, arg, names),
            "hours": fmt_hours(_leaf_hours(key, arg)),
        }
    if len(arg) == 1:
        return _phrase(arg[0], names, depth)
    parts = [_phrase(child, names, depth + 1) for child in arg]
    text = (_("，且") if key == "all_of" else _("，或")).join(parts)
    if depth > 1:
        return f"（{text}）"
    return _("%(options)s（满足其一即可）") % {"options": text} if key == "any_of" else text


def _split(node: dict) -> tuple[str, object]:
    ((key, arg),) = node.items()
    return key, arg


# --------------------------------------------------------------------------- validation


def parse_tree(text: str, kind_codes: Iterable[str] | None = None, topic_codes: Iterable[str] | None = None) -> dict:
    """JSON text from the admin form → validated tree (see validate_tree)."""
    try:
        tree = json.loads(text)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            _("规则不是合法的 JSON：第 %(line)d 行第 %(col)d 列附近有错误（%(msg)s）")
            % {"line": exc.lineno, "col": exc.colno, "msg": exc.msg}
        ) from None
    validate_tree(tree, kind_codes, topic_codes)
    return tree


def validate_tree(
    tree: object,
    kind_codes: Iterable[str] | None = None,
    topic_codes: Iterable[str] | None = None,
) -> None:
    """Raise ValidationError (Chinese, naming the place in the tree) if ``tree`` is not a valid rule.

    Kind and topic codes are checked against the database unless given.
    """
    if kind_codes is None or topic_codes is None:
        names = _fresh_names()
        kind_codes = names.kinds.keys() if kind_codes is None else kind_codes
        topic_codes = names.topics.keys() if topic_codes is None else topic_codes
    _validate(tree, "规则", 0, set(kind_codes), set(topic_codes))


def _fresh_names() -> Names:
    names_cache_clear()
    return _db_names()


def _validate(node: object, where: str, depth: int, kinds: set[str], topics: set[str]) -> None:
    from credits.models import Category

    if depth > MAX_DEPTH:
        raise ValidationError(_("%(where)s：嵌套超过 %(max)d 层，请简化规则") % {"where": where, "max": MAX_DEPTH})
    if not isinstance(node, dict) or len(node) != 1:
        raise ValidationError(
            _('%(where)s：每个节点必须是只有一个键的对象，例如 {"min_total": {"hours": 90}}') % {"where": where}
        )
    key, arg = _split(node)
    if key in GROUPS:
        if not isinstance(arg, list) or not arg:
            raise ValidationError(_("%(where)s：%(key)s 后面必须是非空的列表 [...]") % {"where": where, "key": key})
        for i, child in enumerate(arg, start=1):
            _validate(
                child,
                _("%(where)s › %(key)s 第 %(n)d 项") % {"where": where, "key": key, "n": i},
                depth + 1,
                kinds,
                topics,
            )
        return
    if key not in LEAVES:
        raise ValidationError(
            _("%(where)s：未知的规则类型“%(key)s”，可用的有 all_of、any_of、min_total、min_hours、requires_topic")
            % {"where": where, "key": key}
        )
    if not isinstance(arg, dict):
        raise ValidationError(_("%(where)s：%(key)s 后面必须是对象 {...}") % {"where": where, "key": key})
    allowed = {
        "min_total": {"hours", "label"},
        "min_hours": {"hours", "category", "kind", "label"},
        "requires_topic": {"topic", "hours", "label"},
    }[key]
    extra = set(arg) - allowed
    if extra:
        raise ValidationError(
            _("%(where)s：%(key)s 不认识的字段 %(fields)s")
            % {"where": where, "key": key, "fields": "、".join(sorted(extra))}
        )
    if key != "requires_topic" or "hours" in arg:
        _validate_hours(arg.get("hours"), where, key)
    if key == "min_hours":
        if ("category" in arg) == ("kind" in arg):
            raise ValidationError(_("%(where)s：min_hours 必须且只能指定 category 或 kind 之一") % {"where": where})
        if "category" in arg and arg["category"] not in Category.values:
            raise ValidationError(
                _("%(where)s：科目类别“%(value)s”不存在，可用的有 %(choices)s")
                % {"where": where, "value": arg["category"], "choices": "、".join(Category.values)}
            )
        if "kind" in arg and arg["kind"] not in kinds:
            raise ValidationError(
                _("%(where)s：学时类型“%(value)s”不存在，请先在“学时类型”中添加，可用的有 %(choices)s")
                % {"where": where, "value": arg["kind"], "choices": "、".join(sorted(kinds)) or "（无）"}
            )
    if key == "requires_topic" and arg.get("topic") not in topics:
        raise ValidationError(
            _("%(where)s：专题“%(value)s”不存在，请先在“专题”中添加，可用的有 %(choices)s")
            % {"where": where, "value": arg.get("topic"), "choices": "、".join(sorted(topics)) or "（无）"}
        )
    if "label" in arg and (not isinstance(arg["label"], str) or not arg["label"].strip()):
        raise ValidationError(_("%(where)s：label 必须是非空文字") % {"where": where})


def _validate_hours(value: object, where: str, key: str) -> None:
    if isinstance(value, bool) or not isinstance(value, int | float | str):
        raise ValidationError(_("%(where)s：%(key)s 需要 hours（学时数，正数）") % {"where": where, "key": key})
    try:
        hours = Decimal(str(value))
    except InvalidOperation:
        raise ValidationError(_("%(where)s：学时数“%(value)s”不是数字") % {"where": where, "value": value}) from None
    if not hours.is_finite() or hours <= 0 or hours > 10000:
        raise ValidationError(_("%(where)s：学时数必须大于 0（现在是 %(value)s）") % {"where": where, "value": value})


# --------------------------------------------------------------------------- SQL


@dataclass(frozen=True)
class Column:
    """One per-teacher sum the SQL evaluation needs: ("total", ""), ("category", "public"), ..."""

    dimension: str
    code: str

    @property
    def alias(self) -> str:
        return f"h_{self.dimension}_{self.code}" if self.code else "h_total"


def columns_needed(tree: dict) -> list[Column]:
    """The sums ``tree`` reads, in a stable order."""
    found: dict[Column, None] = {}

    def walk(node: dict) -> None:
        key, arg = _split(node)
        if key in GROUPS:
            for child in arg:
                walk(child)
        elif key == "min_total":
            found[Column("total", "")] = None
        elif key == "min_hours":
            found[Column("category", arg["category"]) if "category" in arg else Column("kind", arg["kind"])] = None
        else:
            found[Column("topic", arg["topic"])] = None

    walk(tree)
    found.setdefault(Column("total", ""), None)  # always shown
    return list(found)


def sql_condition(tree: dict, column_sql: Callable[[Column], str]) -> tuple[str, list]:
    """A SQL boolean for "the rule is met", over the sums named by ``column_sql`` (params separate)."""
    key, arg = _split(tree)
    if key in GROUPS:
        parts = [sql_condition(child, column_sql) for child in arg]
        joiner = " AND " if key == "all_of" else " OR "
        return "(" + joiner.join(p[0] for p in parts) + ")", [v for p in parts for v in p[1]]
    if key == "min_total":
        column = Column("total", "")
    elif key == "min_hours":
        column = Column("category", arg["category"]) if "category" in arg else Column("kind", arg["kind"])
    else:
        column = Column("topic", arg["topic"])
    hours = Decimal(str(arg.get("hours", 1 if key == "requires_topic" else 0)))
    # CAST keeps SQLite from comparing a number with the text it binds Decimals as.
    return f"({column_sql(column)} >= CAST(%s AS NUMERIC))", [hours]


def totals_from_columns(values: dict[Column, Decimal]) -> Totals:
    """Rebuild a (partial) Totals from the sums the SQL fetched, for evaluate()."""
    totals = Totals()
    for column, value in values.items():
        value = Decimal(value or 0)
        if column.dimension == "total":
            totals.total = value
        else:
            getattr(totals, f"by_{column.dimension}")[column.code] = value
    return totals
