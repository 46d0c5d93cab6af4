"""Reads that may lag go to a streaming replica, when one is configured (DATABASE_REPLICA_URL).

Only what is named here reads from the replica: the dashboards (decorated ``@replica_reads()``,
innermost, so the login and session checks run before on the primary) and the background
exports (``portal.export_runner``, which first waits for the replica to replay what the primary
had committed when the job started, so an export asked for right after an import or a
finalisation contains it). Everything else, and every write, stays on the primary: a teacher's
plan after her selection, the review queue after a decision, a roster after an edit must show
the change just made, so there is no blanket read router.

Inside ``replica_reads()`` the ORM reads from the replica through ``PrimaryReplicaRouter``, and
code with SQL of its own takes its connection from ``reading_connection()``. A model instance
read from the replica and saved is written to the primary (the router sends every write there).
Without DATABASE_REPLICA_URL all of it reads from the primary, as before.
"""

import logging
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from django.conf import settings
from django.db import DEFAULT_DB_ALIAS, connections, transaction
from django.db.backends.base.base import BaseDatabaseWrapper

REPLICA = "replica"
log = logging.getLogger(__name__)
_reading: ContextVar[str | None] = ContextVar("replica_reading", default=None)


def replica_configured() -> bool:
    return REPLICA in settings.DATABASES


def reading_alias() -> str:
    """The database the current reads go to: the replica inside ``replica_reads()``, else the primary."""
    return _reading.get() or DEFAULT_DB_ALIAS


def reading_connection() -> BaseDatabaseWrapper:
    return connections[reading_alias()]


@contextmanager
def replica_reads(*, caught_up_within: float = 0) -> Iterator[str]:
    """Send the reads inside to the replica (when configured); yields the alias they go to.

    ``caught_up_within`` seconds > 0: first wait until the replica has replayed everything the
    primary had committed on entry; if it has not by then, read from the primary (and log it).
    On the replica the block is one read-only transaction: one consistent snapshot, and
    server-side cursors live inside a transaction (PgBouncer in transaction mode).
    """
    alias = REPLICA if replica_configured() else DEFAULT_DB_ALIAS
    if alias == REPLICA and caught_up_within > 0 and not _caught_up(caught_up_within):
        log.warning("replica has not caught up within %.0f s: reading from the primary", caught_up_within)
        alias = DEFAULT_DB_ALIAS
    token = _reading.set(alias)
    try:
        if alias == REPLICA:
            with transaction.atomic(using=REPLICA):
                yield alias
        else:
            yield alias
    finally:
        _reading.reset(token)


def _caught_up(timeout: float) -> bool:
    """Whether the replica replays the primary's current WAL position within ``timeout`` seconds.

    A database that is not in recovery (no standby: e.g. a second database on the same server)
    counts as caught up.
    """
    with connections[DEFAULT_DB_ALIAS].cursor() as cursor:
        cursor.execute("SELECT pg_current_wal_lsn()")
        (target,) = cursor.fetchone()
    deadline = time.monotonic() + timeout
    with connections[REPLICA].cursor() as cursor:
        while True:
            cursor.execute(
                "SELECT NOT pg_is_in_recovery() OR pg_last_wal_replay_lsn() >= %s::pg_lsn",
                [target],
            )
            if cursor.fetchone()[0]:
                return True
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)


class PrimaryReplicaRouter:
    """Reads inside ``replica_reads()`` from the replica; every write, and all else, to the primary."""

    def db_for_read(self, model, **hints) -> str | None:
        return _reading.get()

    def db_for_write(self, model, **hints) -> str:
        return DEFAULT_DB_ALIAS

    def allow_relation(self, obj1, obj2, **hints) -> bool | None:
        # The replica is a copy of the primary: a row read from either may refer to one from the other.
        both = {obj1._state.db, obj2._state.db}
        return True if both <= {DEFAULT_DB_ALIAS, REPLICA} else None

    def allow_migrate(self, db, app_label, **hints) -> bool:
        return db != REPLICA  # the replica gets its schema by replication
