"""Demo data for credits: the preloaded rule sets and a realistic spread of ledger entries.

Runs before the courses demo, so entries here come from provider imports, manual
adjustments and transfers; course completions are recorded by courses.demo.
Leaves ``ctx.rule_sets[(city_code, year)]`` for the later loaders.
"""

from __future__ import annotations

import datetime as dt
import random
from decimal import Decimal

from credits.models import Category, CreditEntry, CreditKind, RuleSet, Source

GUANGZHOU_TREE = {
    "all_of": [
        {"min_total": {"hours": 90}},
        {"min_hours": {"category": "public", "hours": 30}},
        {"min_hours": {"category": "professional", "hours": 42}},
        {"min_hours": {"category": "elective", "hours": 18}},
        {"requires_topic": {"topic": "ethics", "hours": 1}},
    ]
}
MAOMING_TREE = {
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
RULE_SETS = [
    (
        "440100",
        2022,
        "广州市2022年度中小学教师继续教育学时要求",
        GUANGZHOU_TREE,
        "全年不少于 90 学时：公需科目不少于 30 学时、专业科目不少于 42 学时、个人选修不少于 18 学时；"
        "师德师风为必修专题。",
    ),
    ("440100", 2026, "广州市2026年度中小学教师继续教育学时要求", GUANGZHOU_TREE, "沿用 2022 年度要求。"),
    (
        "440900",
        2024,
        "茂名市2024年度专业科目远程培训任务",
        MAOMING_TREE,
        "普通远程培训课程满 42 学时，或全员轮训网络研修满 60 学时，即完成专业科目任务；师德师风每年必修。",
    ),
    ("440900", 2026, "茂名市2026年度专业科目远程培训任务", MAOMING_TREE, "沿用 2024 年度要求。"),
]
CITY_YEARS = {"440100": (2022, 2026), "440900": (2024, 2026)}


def load(ctx) -> None:
    """Rule sets, then ledger entries for every demo teacher and year (bulk_create)."""
    ctx.rule_sets = {}
    for city_code, year, name, tree, description in RULE_SETS:
        ctx.rule_sets[(city_code, year)] = RuleSet.objects.create(
            city=ctx.cities[city_code], year=year, name=name, tree=tree, description=description
        )
    kinds = {k.code: k for k in CreditKind.objects.all()}
    rows: list[CreditEntry] = []
    for city_code, years in CITY_YEARS.items():
        for teacher in ctx.teachers[city_code]:
            for year in years:
                make = _guangzhou_entries if city_code == "440100" else _maoming_entries
                rows += make(ctx.rng, teacher, year, kinds, ctx.now)
    CreditEntry.objects.bulk_create(rows, batch_size=2000)
    _snapshots(ctx)


def _profile(rng: random.Random) -> float:
    """How far a teacher got: 1.0 = all done; most finished, some nearly, a few far behind."""
    roll = rng.random()
    if roll < 0.62:
        return 1.0 + rng.random() * 0.2
    if roll < 0.85:
        return 0.8 + rng.random() * 0.19
    return rng.random() * 0.6


def _half(value: Decimal) -> Decimal:
    """Rounded to the nearest half hour, as providers record."""
    return (value * 2).to_integral_value() / 2


def _when(rng: random.Random, year: int, now: dt.datetime) -> dt.datetime:
    start = dt.datetime(year, 4, 20, 9, tzinfo=dt.UTC)
    end = min(dt.datetime(year, 12, 20, 18, tzinfo=dt.UTC), now)
    if end <= start:
        return start
    return start + dt.timedelta(seconds=rng.randrange(int((end - start).total_seconds())))


def _entry(teacher, year, category, hours, source, ref, when, kind=None, topics=(), reason="") -> CreditEntry:
    return CreditEntry(
        teacher=teacher,
        year=year,
        category=category,
        kind=kind,
        topic_codes=CreditEntry.join_topics(topics),
        hours=Decimal(str(hours)),
        source=source,
        reference=ref,
        recorded_at=when,
        reason=reason,
    )


def _guangzhou_entries(rng, teacher, year, kinds, now) -> list[CreditEntry]:
    share = _profile(rng)
    out = []
    n = 0
    targets = [
        (Category.PUBLIC, 30, ["ethics", "red", "shuangjian"]),
        (Category.PROFESSIONAL, 42, ["it20", "curriculum"]),
        (Category.ELECTIVE, 18, ["mental"]),
    ]
    for category, need, topics in targets:
        goal = Decimal(need) * Decimal(str(round(share, 2)))
        got = Decimal(0)
        while got < goal:
            hours = (
                Decimal(rng.choice((3, 6, 6, 10, 12)))
                if category != Category.ELECTIVE
                else Decimal(rng.choice((2, 3, 4, 6)))
            )
            if share < 1 and got + hours > goal:
                hours = max(Decimal("0.5"), _half(goal - got))
            chosen = [topics[0]] if n == 0 and share > 0.3 else rng.sample(topics, k=rng.choice((0, 1)))
            n += 1
            source = Source.IMPORT if rng.random() < 0.9 else Source.TRANSFER
            reason = "" if source == Source.IMPORT else "外市调入，学时经原单位证明转入"
            out.append(
                _entry(
                    teacher,
                    year,
                    category,
                    hours,
                    source,
                    f"demo:{teacher.id_number}:{year}:{n}",
                    _when(rng, year, now),
                    topics=chosen,
                    reason=reason,
                )
            )
            got += hours
    return out


def _maoming_entries(rng, teacher, year, kinds, now) -> list[CreditEntry]:
    share = _profile(rng)
    rotation = rng.random() < 0.5
    kind = kinds["rotation" if rotation else "ordinary"]
    need = Decimal(60 if rotation else 42)
    goal = need * Decimal(str(round(share, 2)))
    topics = ["ethics", "mental", "nurture", "digital", "curriculum", "school-research"]
    out, got, n = [], Decimal(0), 0
    while got < goal:
        hours = Decimal(rng.choice((6, 10, 12))) if rotation else Decimal(rng.choice((6, 8, 14)))
        if share < 1 and got + hours > goal:
            hours = max(Decimal("0.5"), _half(goal - got))
        chosen = ["ethics"] if n == 0 and share > 0.3 else rng.sample(topics[1:], k=1)
        n += 1
        out.append(
            _entry(
                teacher,
                year,
                Category.PROFESSIONAL,
                hours,
                Source.IMPORT,
                f"demo:{teacher.id_number}:{year}:{n}",
                _when(rng, year, now),
                kind=kind,
                topics=chosen,
            )
        )
        got += hours
    return out


def _snapshots(ctx) -> None:
    """A back-dated monthly trend for the dashboards' chart."""
    from credits.services import compliance_snapshot_take

    for year in sorted({y for ys in CITY_YEARS.values() for y in ys}):
        for month in range(5, 13):
            day = dt.date(year, month, 1)
            moment = dt.datetime(year, month, 1, tzinfo=dt.UTC)
            if moment > ctx.now:
                break
            compliance_snapshot_take(year, day, as_of=moment)
        end = min(ctx.now, dt.datetime(year, 12, 31, tzinfo=dt.UTC))
        compliance_snapshot_take(year, end.date(), as_of=end)
