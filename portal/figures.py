"""Figures that cost a count over every teacher in reach and change slowly: counted at most every few minutes.

Dashboards and the admins' home cards show counts over a whole school, district or city (达标率,
选课进度, 各区选课人次). Each is counted once and kept in Django's cache (Redis) for
``settings.FIGURES_SECONDS``, and the page says when it was counted ("统计于 HH:MM").

A key is made of what the figures depend on — the kind of figure and the parts the caller
passes (the units in the user's reach, the period or year, the hash of the rule) — never of who
asks: a view reaches a key only after its permission check, and two users whose reach is the
same see the same figures. Values hold ids, names and numbers, not rendered text, so the
language is not part of the key; they must stay cheap to unpickle (tuples, not model instances).

The age is checked against ``timezone.now()`` rather than left to the cache's expiry, so that
time-machine moves it in tests; ``figures_forget()`` makes every kept figure be counted anew.
Once figures are older than FIGURES_SECONDS one request counts them again while the others
meanwhile show the last count with its time, so that a city's six-second count is not started
by every admin who opens the page in those seconds.
"""

from __future__ import annotations

import datetime as dt
import hashlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Generic, TypeVar

from django.conf import settings
from django.core.cache import cache
from django.utils import timezone

T = TypeVar("T")

# Part of every key: bump it when the shape of a kept value changes, so a deploy never reads old ones.
LAYOUT = 1
_GENERATION = "figures:generation"
COUNTING_SECONDS = 120  # a recount that takes longer (or died) lets the next request count


@dataclass(frozen=True)
class Counted(Generic[T]):
    """Figures and the moment they were counted."""

    value: T
    at: dt.datetime


def figures_key(kind: str, parts: Iterable[object]) -> str:
    digest = hashlib.sha256(repr(tuple(parts)).encode()).hexdigest()[:32]
    return f"figures:{LAYOUT}:{kind}:{digest}"


def figures_counted(kind: str, parts: Iterable[object], count: Callable[[], T]) -> Counted[T]:
    """The figures kept under (``kind``, ``parts``) if counted less than FIGURES_SECONDS ago, else ``count()``'s.

    While another request counts figures that are too old, their last count is returned as it is.
    Side effects: a fresh count is written to the cache. Two cache round trips on a hit.
    """
    now = timezone.now()
    generation = cache.get(_GENERATION, 0)
    key = f"{figures_key(kind, parts)}:{generation}"
    counting = f"{key}:counting"
    kept = cache.get(key)
    if kept is not None:
        at, value = kept
        if dt.timedelta(0) <= now - at < dt.timedelta(seconds=settings.FIGURES_SECONDS):
            return Counted(value, at)
        if not cache.add(counting, True, COUNTING_SECONDS):
            return Counted(value, at)
    try:
        value = count()
        cache.set(key, (now, value), settings.FIGURES_SECONDS * 2)  # the last count outlives its freshness
    finally:
        if kept is not None:
            cache.delete(counting)
    return Counted(value, now)


def figures_forget() -> None:
    """Every kept figure is counted anew at its next read (a new generation of keys; the old ones expire)."""
    try:
        cache.incr(_GENERATION)
    except ValueError:  # no generation yet
        cache.set(_GENERATION, 1, None)
