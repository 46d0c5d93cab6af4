"""What breaks behind PgBouncer in transaction mode, recognised in the SQL we send.

Behind a transaction-mode pooler each transaction may run on a different server connection, so
nothing may outlive a transaction: no session-level SET (``SET LOCAL`` and ``SET CONSTRAINTS``
end with the transaction), no session advisory locks (``pg_advisory_xact_lock`` is the one we
use), no temporary table that survives its transaction (``ON COMMIT DROP``), no prepared
statements, LISTEN or holdable cursors. (Server-side cursors outside a transaction are the other
trap: Django declares them WITH HOLD, and Django's own form widgets iterate that way, so the
primary's connection behind PgBouncer runs with DB_DISABLE_SERVER_SIDE_CURSORS=1; the replica's
reads all run inside replica_reads()' transaction and keep theirs: tests/integration/test_replica.py.)

``violation(sql)`` says what is wrong with one statement; ``guard`` is an execute wrapper that
raises on it (tests/conftest.py installs it for every test); tests/unit/test_pgbouncer_safe.py
also reads every SQL string in the code, so a path no test runs is checked too.
"""

import re

_RULES = [
    (
        re.compile(
            r"(?:^|;)\s*SET\s+(?:SESSION\s+)?(?:TIME\s+ZONE\b|ROLE\b|SESSION\s+AUTHORIZATION\b"
            r"|(?!LOCAL\b|CONSTRAINTS\b|TRANSACTION\b)[\w.\"]+\s*(?:=|\bTO\b))",
            re.I,
        ),
        "a session-level SET (use SET LOCAL inside the transaction)",
    ),
    (re.compile(r"\bset_config\s*\([^)]*,\s*false\s*\)", re.I), "set_config(..., false) is session-level"),
    (
        re.compile(r"\bpg_(?:try_)?advisory_(?:un)?lock(?:_shared)?\s*\(", re.I),
        "a session advisory lock (use pg_advisory_xact_lock through portal.locking.lock_key)",
    ),
    (
        re.compile(r"\bCREATE\s+(?:TEMP|TEMPORARY)\s+TABLE\b(?![^;]*\bON\s+COMMIT\s+DROP\b)", re.I),
        "a temporary table that outlives its transaction (add ON COMMIT DROP)",
    ),
    (re.compile(r"(?:^|;)\s*(?:PREPARE|LISTEN|DISCARD)\b", re.I), "session state (PREPARE, LISTEN, DISCARD)"),
    (re.compile(r"\bWITH\s+HOLD\b", re.I), "a holdable cursor"),
]


class SessionStateError(AssertionError):
    pass


def violation(sql: str) -> str | None:
    for pattern, reason in _RULES:
        if pattern.search(sql):
            return reason
    return None


def guard(execute, sql, params, many, context):
    reason = violation(sql)
    if reason:
        raise SessionStateError(f"not safe behind PgBouncer in transaction mode: {reason}: {sql[:200]}")
    return execute(sql, params, many, context)
