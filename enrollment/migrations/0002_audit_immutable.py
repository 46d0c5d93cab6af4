"""On PostgreSQL the database itself refuses to change or delete audit entries
(the model and the admin refuse too; this also stops raw SQL and bulk paths).
TRUNCATE, used only to empty test databases, is not a row operation and still works.
"""

from django.db import migrations

CREATE = """
CREATE OR REPLACE FUNCTION enrollment_audit_immutable() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION 'enrollment_auditentry rows are immutable';
END;
$$ LANGUAGE plpgsql;
CREATE TRIGGER enrollment_audit_immutable
    BEFORE UPDATE OR DELETE ON enrollment_auditentry
    FOR EACH ROW EXECUTE FUNCTION enrollment_audit_immutable();
"""
DROP = """
DROP TRIGGER IF EXISTS enrollment_audit_immutable ON enrollment_auditentry;
DROP FUNCTION IF EXISTS enrollment_audit_immutable();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(CREATE)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(DROP)


class Migration(migrations.Migration):
    dependencies = [("enrollment", "0001_initial")]
    operations = [migrations.RunPython(forwards, backwards)]
