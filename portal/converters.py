"""Numbers that come from a request: ids and years, read one way everywhere.

An id in a URL is ``<id:pk>`` (registered from PortalConfig.ready): one to nineteen digits
that fit a 64-bit primary key, or the URL does not match and the answer is 404. Ids and
years in a query string or a posted list go through :func:`parse_id`, :func:`parse_ids`
and :func:`parse_year`, which give None (or drop the value) for anything else, so that a
20-digit id or ``?year=-1`` is "not found" or "not chosen", never an overflow in the
database. Form fields: ``forms.IntegerField(min_value=..., max_value=...)`` with both bounds,
``ModelChoiceField`` as is (Django answers an out-of-range pk with a form error).
"""

from __future__ import annotations

from collections.abc import Iterable

from django.http import HttpRequest
from django.urls import register_converter
from django.utils.http import url_has_allowed_host_and_scheme

MAX_ID = 2**63 - 1  # BigAutoField
YEAR_MIN, YEAR_MAX = 2000, 2100  # the years a rule, a period or a certificate can belong to


class IdConverter:
    regex = "[0-9]{1,19}"

    def to_python(self, value: str) -> int:
        number = int(value)
        if not 0 < number <= MAX_ID:
            raise ValueError(value)  # the pattern does not match: 404
        return number

    def to_url(self, value: int | str) -> str:
        return str(value)


def register() -> None:
    register_converter(IdConverter, "id")


def parse_id(raw: object) -> int | None:
    """``raw`` (a query-string or form value) as a primary key, or None."""
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) <= 19):
        return None
    number = int(text)
    return number if 0 < number <= MAX_ID else None


def parse_ids(values: Iterable[object]) -> list[int]:
    """The valid primary keys among ``values`` (e.g. ``request.POST.getlist("ids")``), in order, once each."""
    return list(dict.fromkeys(n for n in map(parse_id, values) if n is not None))


def parse_year(raw: object) -> int | None:
    """``raw`` as a year between YEAR_MIN and YEAR_MAX, or None."""
    text = str(raw).strip() if raw is not None else ""
    if not (text.isascii() and text.isdigit() and len(text) == 4):
        return None
    year = int(text)
    return year if YEAR_MIN <= year <= YEAR_MAX else None


def next_url(request: HttpRequest, default: str) -> str:
    """The ``next`` path posted (or in the query string) when it is a path of this site, else ``default``.

    Only a path ("/..."): anything else, "999" included, would make ``redirect`` try it as a view name.
    """
    target = request.POST.get("next") or request.GET.get("next") or ""
    if target.startswith("/") and url_has_allowed_host_and_scheme(
        target, allowed_hosts={request.get_host()}, require_https=request.is_secure()
    ):
        return target
    return default
