"""The ledger refuses UPDATE and DELETE in the database itself (PostgreSQL).

Row triggers do not fire on TRUNCATE, which the test suite uses to empty tables.
SQLite (the demo) relies on the model and admin guards only.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION credits_entry_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'credits_creditentry is append-only: % refused (use a reversing entry)', TG_OP
        USING ERRCODE = 'restrict_violation';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER credits_entry_immutable
    BEFORE UPDATE OR DELETE ON credits_creditentry
    FOR EACH ROW EXECUTE FUNCTION credits_entry_immutable();
"""
BACKWARD = """
DROP TRIGGER IF EXISTS credits_entry_immutable ON credits_creditentry;
DROP FUNCTION IF EXISTS credits_entry_immutable();
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0002_ledger")]

    operations = [migrations.RunPython(forward, backward)]
