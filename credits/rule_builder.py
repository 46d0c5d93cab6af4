"""The rule builder's rows ↔ the rule tree stored in RuleSet.tree (credits.rule_engine's JSON).

The builder shows a rule as requirement rows ("专业科目 至少 42 学时"), each either directly under
the rule or in a group (A, B, C); the rule combines its rows and groups with "all of" or "any
of", and each group combines its rows the same way. That covers every rule of the notices
(Guangzhou: five rows, all of them; Maoming: a group of two kinds, any of them, and 师德师风).
Deeper trees are refused with a message; JSON stays the storage and never the interface.
"""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from credits.models import Category

ALL_OF, ANY_OF = "all_of", "any_of"
GROUPS = ("A", "B", "C")
TOTAL = "total"


class NotBuildable(ValueError):
    """The tree is deeper than the builder shows (a group inside a group)."""


@dataclass(frozen=True)
class Row:
    measure: str  # "total", "category:public", "kind:<code>", "topic:<code>"
    hours: Decimal
    group: str = ""  # "" (directly under the rule) or one of GROUPS
    label: str = ""


@dataclass(frozen=True)
class Built:
    combine: str
    rows: list[Row]
    group_modes: dict[str, str]


def measure_choices(kinds: list[tuple[str, str]], topics: list[tuple[str, str]]) -> list:
    """(value, label) choices, grouped: the total, the three categories, the kinds, the topics."""
    from django.utils.translation import gettext as _

    return [
        (TOTAL, _("总学时")),
        (_("科目类别"), [(f"category:{c.value}", c.label) for c in Category]),
        (_("学时类型"), [(f"kind:{code}", name) for code, name in kinds]),
        (_("专题"), [(f"topic:{code}", _("%(topic)s专题") % {"topic": name}) for code, name in topics]),
    ]


def _leaf(row: Row) -> dict:
    hours = int(row.hours) if row.hours == row.hours.to_integral_value() else float(row.hours)
    dimension, _sep, code = row.measure.partition(":")
    if dimension == TOTAL:
        key, arg = "min_total", {"hours": hours}
    elif dimension in ("category", "kind"):
        key, arg = "min_hours", {dimension: code, "hours": hours}
    elif dimension == "topic":
        key, arg = "requires_topic", {"topic": code, "hours": hours}
    else:
        raise ValueError(f"unknown measure {row.measure!r}")
    if row.label:
        arg["label"] = row.label
    return {key: arg}


def tree_from_rows(combine: str, rows: list[Row], group_modes: dict[str, str]) -> dict:
    """The rule tree: the rows in order; a group's rows at the place of its first row, as one node."""
    children: list[dict] = []
    groups: dict[str, list[dict]] = {}
    for row in rows:
        if not row.group:
            children.append(_leaf(row))
            continue
        if row.group not in groups:
            groups[row.group] = []
            children.append({group_modes.get(row.group, ANY_OF): groups[row.group]})
        groups[row.group].append(_leaf(row))
    # A group of one row is that row.
    children = [_single(child) for child in children]
    return {combine: children}


def _single(node: dict) -> dict:
    ((_key, arg),) = node.items()
    return arg[0] if isinstance(arg, list) and len(arg) == 1 else node


def _row(node: dict, group: str = "") -> Row:
    ((key, arg),) = node.items()
    if key == "min_total":
        measure = TOTAL
    elif key == "min_hours":
        measure = f"category:{arg['category']}" if "category" in arg else f"kind:{arg['kind']}"
    elif key == "requires_topic":
        measure = f"topic:{arg['topic']}"
    else:
        raise NotBuildable(key)
    default = 1 if key == "requires_topic" else 0
    return Row(measure, Decimal(str(arg.get("hours", default))), group, arg.get("label", ""))


def rows_from_tree(tree: dict) -> Built:
    """The builder's view of a stored tree; NotBuildable for a group inside a group, or more than three groups."""
    ((key, arg),) = tree.items()
    if key not in (ALL_OF, ANY_OF):
        return Built(ALL_OF, [_row(tree)], {})
    rows: list[Row] = []
    modes: dict[str, str] = {}
    for child in arg:
        ((child_key, child_arg),) = child.items()
        if child_key not in (ALL_OF, ANY_OF):
            rows.append(_row(child))
            continue
        if len(modes) == len(GROUPS):
            raise NotBuildable("too many groups")
        group = GROUPS[len(modes)]
        modes[group] = child_key
        for grandchild in child_arg:
            if next(iter(grandchild)) in (ALL_OF, ANY_OF):
                raise NotBuildable("a group inside a group")
            rows.append(_row(grandchild, group))
    return Built(key, rows, modes)
