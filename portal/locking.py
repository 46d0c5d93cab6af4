"""The one way to lock rows: in a sorted order, inside the caller's transaction, with one timeout.

Scarce things (a course's seats, a district's quota, the roster) are counted and changed
under a row lock taken in the same transaction. Several rows are locked in primary-key
order, so two transactions locking overlapping sets never deadlock. A lock that cannot be
had within ``settings.DB_LOCK_TIMEOUT_MS`` raises ``LockBusy``: the user is asked to retry,
instead of waiting for a crowd (or a hung request). The timeout is set with ``SET LOCAL``,
so it ends with the transaction and never outlives it on a pooled connection.

On SQLite (the demo) writers are serialised by the database file itself; a writer that waits
too long gets SQLITE_BUSY, which is recognised the same way.
"""

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any, TypeVar

from django.conf import settings
from django.db import DatabaseError, connection
from django.db.models import Model, QuerySet
from django.utils.translation import gettext as _

M = TypeVar("M", bound=Model)
Row = TypeVar("Row")  # a model instance, or a dict or tuple of a values() queryset

LOCK_NOT_AVAILABLE = "55P03"  # PostgreSQL's SQLSTATE for lock_timeout and NOWAIT
SQLITE_BUSY = ("SQLITE_BUSY", "SQLITE_LOCKED")


class LockBusy(Exception):
    """The rows are held by someone else for longer than the lock timeout; try again shortly."""

    def __init__(self, message: str | None = None):
        super().__init__(message or _("当前办理的人较多，请稍后重试。"))


def is_busy(exc: BaseException) -> bool:
    """Whether a database error means "a lock could not be had in time", by its code, never its text."""
    cause = exc.__cause__ if isinstance(exc, DatabaseError) else exc
    return getattr(cause, "pgcode", None) == LOCK_NOT_AVAILABLE or getattr(cause, "sqlite_errorname", "") in SQLITE_BUSY


@contextmanager
def busy_as_retry() -> Iterator[None]:
    """Turn a lock timeout raised inside into ``LockBusy``."""
    try:
        yield
    except DatabaseError as exc:
        if is_busy(exc):
            raise LockBusy from exc
        raise


def _prepare() -> None:
    if not connection.in_atomic_block:
        raise RuntimeError("row locks are taken inside the caller's transaction (transaction.atomic)")
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL lock_timeout = %s", [f"{settings.DB_LOCK_TIMEOUT_MS}ms"])


def lock_rows(queryset: QuerySet[Any, Row], *, of: tuple[str, ...] = ("self",)) -> list[Row]:
    """The rows of ``queryset``, locked (FOR UPDATE OF ``of``) in primary-key order until the transaction ends.

    Only the rows of the queryset's own table are locked unless ``of`` names joined ones.
    Raises LockBusy when they cannot be had within the timeout.
    """
    _prepare()
    with busy_as_retry():
        return list(queryset.select_for_update(of=of).order_by("pk"))


def lock_row(queryset: QuerySet[M, M], pk: Any) -> M:
    """One row of ``queryset``, locked; DoesNotExist when there is none. Raises LockBusy as ``lock_rows``."""
    rows = lock_rows(queryset.filter(pk=pk))
    if not rows:
        raise queryset.model.DoesNotExist
    return rows[0]


def lock_key(key: int) -> None:
    """A transaction-scoped lock on an arbitrary key (one roster import at a time), with the same timeout.

    PostgreSQL advisory lock, released at commit or rollback (safe behind PgBouncer in
    transaction mode); nothing on SQLite, whose writers are serialised anyway.
    """
    _prepare()
    if connection.vendor != "postgresql":
        return
    with busy_as_retry(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(%s)", [key])
