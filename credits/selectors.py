"""Reads of the ledger: a teacher's totals, many teachers' totals, compliance roll-ups."""

from __future__ import annotations

from collections.abc import Iterable
from decimal import Decimal

from django.db.models import Sum

from credits.models import CreditEntry
from credits.rules import Totals


def _add_rows(result: dict[int, Totals], rows) -> None:
    for teacher_id, category, kind, topic_codes, hours in rows:
        topics = [c for c in (topic_codes or "").split(",") if c]
        result.setdefault(teacher_id, Totals()).add(Decimal(hours), category, kind, topics)


def totals_for_teachers(teacher_ids: Iterable[int], year: int) -> dict[int, Totals]:
    """Each teacher's Totals for ``year`` (zero Totals for teachers without entries). One query."""
    ids = list(teacher_ids)
    result: dict[int, Totals] = {tid: Totals() for tid in ids}
    if not ids:
        return result
    rows = (
        CreditEntry.objects.filter(teacher_id__in=ids, year=year)
        .values_list("teacher_id", "category", "kind__code", "topic_codes")
        .annotate(hours=Sum("hours"))
        .order_by()
    )
    _add_rows(result, rows)
    return result


def teacher_totals(teacher_id: int, year: int) -> Totals:
    """One teacher's Totals for ``year``. One query."""
    return totals_for_teachers([teacher_id], year)[teacher_id]
