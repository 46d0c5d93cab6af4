"""Databases migrated with the first versions of 0005 and 0006 get what a fresh install has.

Those two migrations were edited after they had landed: the derived totals table lost its
foreign key and index on ``teacher_id`` (0005), and the totals trigger inserts in sorted
order so concurrent imports do not deadlock (0006). A fresh database already has both;
on one migrated before the edits this drops the key and index if they are there and
installs 0006's functions and trigger again. Nothing is done on SQLite (no trigger there).
"""

from importlib import import_module

from django.db import migrations

TABLE = "credits_teacheryeartotal"

DROP_TEACHER_KEY_AND_INDEX = f"""
DO $$
DECLARE
    name text;
BEGIN
    FOR name IN
        SELECT c.conname FROM pg_constraint c
        JOIN pg_attribute a ON a.attrelid = c.conrelid AND a.attnum = ANY(c.conkey)
        WHERE c.conrelid = '{TABLE}'::regclass AND c.contype = 'f' AND a.attname = 'teacher_id'
    LOOP
        EXECUTE format('ALTER TABLE {TABLE} DROP CONSTRAINT %I', name);
    END LOOP;
    FOR name IN
        SELECT i.relname FROM pg_index x
        JOIN pg_class i ON i.oid = x.indexrelid
        JOIN pg_attribute a ON a.attrelid = x.indrelid AND a.attnum = x.indkey[0]
        WHERE x.indrelid = '{TABLE}'::regclass AND x.indnatts = 1 AND NOT x.indisunique AND a.attname = 'teacher_id'
    LOOP
        EXECUTE format('DROP INDEX %I', name);
    END LOOP;
END $$;
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    trigger = import_module("credits.migrations.0006_teacher_year_total_trigger")
    schema_editor.execute(DROP_TEACHER_KEY_AND_INDEX, params=None)
    schema_editor.execute("DROP TRIGGER IF EXISTS credits_entry_totals ON credits_creditentry", params=None)
    schema_editor.execute(trigger.FORWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0006_teacher_year_total_trigger")]

    operations = [migrations.RunPython(forward, migrations.RunPython.noop)]
