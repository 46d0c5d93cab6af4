"""No SQL in the code keeps state beyond its transaction (PgBouncer in transaction mode: tests/pgbouncer.py)."""

import ast
from pathlib import Path

import pytest

from tests.pgbouncer import SessionStateError, guard, violation

ROOT = Path(__file__).resolve().parents[2]
APPS = ("portal", "courses", "enrollment", "credits")


def _strings(tree: ast.AST):
    """Every string literal, f-strings whole with their fields as {} (so "UPDATE {t} SET x" is one statement)."""
    parts = {id(v) for node in ast.walk(tree) if isinstance(node, ast.JoinedStr) for v in node.values}
    for node in ast.walk(tree):
        if isinstance(node, ast.JoinedStr):
            yield node.lineno, "".join(v.value if isinstance(v, ast.Constant) else "{}" for v in node.values)
        elif isinstance(node, ast.Constant) and isinstance(node.value, str) and id(node) not in parts:
            yield node.lineno, node.value


def test_no_sql_string_in_the_apps_keeps_session_state():
    found = []
    for app in APPS:
        for path in sorted((ROOT / app).rglob("*.py")):
            for lineno, text in _strings(ast.parse(path.read_text(), filename=str(path))):
                if reason := violation(text):
                    found.append(f"{path.relative_to(ROOT)}:{lineno}: {reason}")
    assert found == []


@pytest.mark.parametrize(
    "sql",
    [
        "SET lock_timeout = '3s'",
        "select 1; set statement_timeout = 0",
        "SET search_path TO jijiao",
        "SET SESSION TIME ZONE 'UTC'",
        "SELECT set_config('lock_timeout', '3s', false)",
        "SELECT pg_advisory_lock(42)",
        "SELECT pg_try_advisory_lock(42)",
        "CREATE TEMP TABLE t (id int)",
        "PREPARE q AS SELECT 1",
        "LISTEN jobs",
        'DECLARE "c" NO SCROLL CURSOR WITH HOLD FOR SELECT 1',
    ],
)
def test_session_state_is_recognised(sql):
    assert violation(sql) is not None


@pytest.mark.parametrize(
    "sql",
    [
        "SET LOCAL lock_timeout = '3s'",
        "SET CONSTRAINTS ALL IMMEDIATE",
        "SET TRANSACTION ISOLATION LEVEL REPEATABLE READ",
        "SELECT set_config('lock_timeout', '3s', true)",
        "SELECT pg_advisory_xact_lock(42)",
        "UPDATE enrollment_application SET state = 'expired'",
        "CREATE TEMP TABLE t (id int) ON COMMIT DROP",
        "SELECT 'offset' AS preparer",
        "Set a teacher's first password",
    ],
)
def test_transaction_scoped_sql_passes(sql):
    assert violation(sql) is None


def test_guard_refuses_a_session_level_set_before_it_runs():
    ran = []

    with pytest.raises(SessionStateError, match="session-level SET"):
        guard(lambda *a: ran.append(a), "SET lock_timeout = '1s'", None, False, {})

    assert ran == []
