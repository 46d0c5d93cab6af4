"""xlsx downloads of the course lists, through the portal's one exporter (portal.exporting)."""

from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from django.http import HttpResponse

from portal import exporting


def _numbers(rows: Iterable[Sequence[Any]]):
    # Hours and fees are Decimals; Excel should get numbers it can sum.
    for row in rows:
        yield [float(v) if isinstance(v, Decimal) else v for v in row]


def xlsx_response(filename: str, title: str, headers: Sequence[str], rows: Iterable[Sequence[Any]]) -> HttpResponse:
    return exporting.xlsx_response(filename, title=str(title), headers=[str(h) for h in headers], rows=_numbers(rows))
