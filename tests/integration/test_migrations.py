import os
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]


def test_models_and_migrations_agree():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "tests.settings"}

    result = subprocess.run(
        [sys.executable, "manage.py", "makemigrations", "--check", "--dry-run"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )

    assert (result.returncode, result.stdout.strip()) == (0, "No changes detected"), result.stdout + result.stderr


@pytest.mark.postgres
@pytest.mark.django_db
def test_a_database_migrated_before_the_totals_edits_ends_like_a_fresh_one():
    """credits 0007 drops the key and index the first 0005 made and reinstalls 0006's trigger."""
    from importlib import import_module

    from django.db import connection

    def teacher_key_and_index() -> tuple[int, int]:
        with connection.cursor() as cursor:
            cursor.execute(
                "SELECT (SELECT COUNT(*) FROM pg_constraint WHERE conrelid = 'credits_teacheryeartotal'::regclass"
                " AND contype = 'f'), (SELECT COUNT(*) FROM pg_indexes WHERE tablename = 'credits_teacheryeartotal'"
                " AND indexdef LIKE '%(teacher_id)')"
            )
            return cursor.fetchone()

    fresh = teacher_key_and_index()
    with connection.cursor() as cursor:
        cursor.execute(
            "ALTER TABLE credits_teacheryeartotal ADD CONSTRAINT old_teacher_fk FOREIGN KEY (teacher_id)"
            " REFERENCES portal_teacher (id) DEFERRABLE INITIALLY DEFERRED"
        )
        cursor.execute("CREATE INDEX old_teacher_idx ON credits_teacheryeartotal (teacher_id)")
    before = teacher_key_and_index()
    migration = import_module("credits.migrations.0007_totals_as_fresh_install")
    with connection.schema_editor() as editor:
        migration.forward(None, editor)

    assert (fresh, before, teacher_key_and_index()) == ((0, 0), (1, 1), (0, 0))
    with connection.cursor() as cursor:
        cursor.execute("SELECT COUNT(*) FROM pg_trigger WHERE tgname = 'credits_entry_totals'")
        assert cursor.fetchone() == (1,)
