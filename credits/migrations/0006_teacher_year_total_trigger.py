"""The ledger keeps credits_teacheryeartotal up to date in the database itself (PostgreSQL).

A statement-level AFTER INSERT trigger reads the statement's new rows (a
transition table), sums them per teacher and year, and upserts the deltas, so a
bulk import of thousands of entries costs one aggregation, not one upsert per
row. The ledger is append-only (migration 0003), so INSERT is the only write to
follow. ``credits_totals_rebuild()`` recomputes the whole table from the ledger
(used below for existing entries and by ``manage.py rebuild_credit_totals``).
SQLite (the demo) does not keep the table; its selectors sum the ledger.
"""

from django.db import migrations

# {source}: the rows to sum (the transition table or the whole ledger).
AGGREGATE = """
SELECT d.teacher_id, d.year, d.total, d.public, d.professional, d.elective,
       COALESCE(k.kinds, '{{}}'::jsonb), COALESCE(tp.topics, '{{}}'::jsonb)
FROM (
    SELECT teacher_id, year, SUM(hours) AS total,
           COALESCE(SUM(hours) FILTER (WHERE category = 'public'), 0) AS public,
           COALESCE(SUM(hours) FILTER (WHERE category = 'professional'), 0) AS professional,
           COALESCE(SUM(hours) FILTER (WHERE category = 'elective'), 0) AS elective
    FROM {source} GROUP BY teacher_id, year
) d
LEFT JOIN (
    SELECT teacher_id, year, jsonb_object_agg(kind_id::text, hours) AS kinds
    FROM (SELECT teacher_id, year, kind_id, SUM(hours) AS hours FROM {source}
          WHERE kind_id IS NOT NULL GROUP BY teacher_id, year, kind_id) x
    GROUP BY teacher_id, year
) k ON k.teacher_id = d.teacher_id AND k.year = d.year
LEFT JOIN (
    SELECT teacher_id, year, jsonb_object_agg(code, hours) AS topics
    FROM (SELECT s.teacher_id, s.year, c.code, SUM(s.hours) AS hours
          FROM {source} s CROSS JOIN LATERAL unnest(string_to_array(s.topic_codes, ',')) AS c(code)
          WHERE s.topic_codes <> '' AND c.code <> '' GROUP BY s.teacher_id, s.year, c.code) x
    GROUP BY teacher_id, year
) tp ON tp.teacher_id = d.teacher_id AND tp.year = d.year
"""
COLUMNS = "teacher_id, year, total, public, professional, elective, kinds, topics"

FORWARD = f"""
CREATE OR REPLACE FUNCTION credits_jsonb_add(a jsonb, b jsonb) RETURNS jsonb AS $$
    SELECT COALESCE(jsonb_object_agg(key, value), '{{}}'::jsonb)
    FROM (SELECT key, SUM(value::numeric) AS value
          FROM (SELECT * FROM jsonb_each_text(a) UNION ALL SELECT * FROM jsonb_each_text(b)) pairs
          GROUP BY key) sums;
$$ LANGUAGE sql IMMUTABLE;

CREATE OR REPLACE FUNCTION credits_totals_add() RETURNS trigger AS $$
BEGIN
    INSERT INTO credits_teacheryeartotal AS t ({COLUMNS})
    {AGGREGATE.format(source="new_rows")}
    ORDER BY 1, 2  -- rows locked in one order: concurrent imports do not deadlock
    ON CONFLICT (teacher_id, year) DO UPDATE SET
        total = t.total + EXCLUDED.total,
        public = t.public + EXCLUDED.public,
        professional = t.professional + EXCLUDED.professional,
        elective = t.elective + EXCLUDED.elective,
        kinds = credits_jsonb_add(t.kinds, EXCLUDED.kinds),
        topics = credits_jsonb_add(t.topics, EXCLUDED.topics);
    RETURN NULL;
END;
$$ LANGUAGE plpgsql;

CREATE TRIGGER credits_entry_totals
    AFTER INSERT ON credits_creditentry
    REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION credits_totals_add();

CREATE OR REPLACE FUNCTION credits_totals_rebuild() RETURNS bigint AS $$
DECLARE
    n bigint;
BEGIN
    -- EXCLUSIVE: readers go on reading the old totals; ledger inserts (their trigger) wait.
    LOCK TABLE credits_teacheryeartotal IN EXCLUSIVE MODE;
    DELETE FROM credits_teacheryeartotal;
    INSERT INTO credits_teacheryeartotal ({COLUMNS})
    {AGGREGATE.format(source="credits_creditentry")};
    GET DIAGNOSTICS n = ROW_COUNT;
    RETURN n;
END;
$$ LANGUAGE plpgsql;
"""
BACKWARD = """
DROP TRIGGER IF EXISTS credits_entry_totals ON credits_creditentry;
DROP FUNCTION IF EXISTS credits_totals_add();
DROP FUNCTION IF EXISTS credits_totals_rebuild();
DROP FUNCTION IF EXISTS credits_jsonb_add(jsonb, jsonb);
"""


def forward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FORWARD, params=None)
        schema_editor.execute("SELECT credits_totals_rebuild()", params=None)


def backward(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(BACKWARD, params=None)


class Migration(migrations.Migration):
    dependencies = [("credits", "0005_teacher_year_total")]

    operations = [migrations.RunPython(forward, backward)]
