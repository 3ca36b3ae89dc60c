"""New pilots' searched text and character pairs written once per INSERT statement instead of
once per row, on PostgreSQL only.

The trigger of 0019/0020 ran for each inserted row, two single-row inserts each: an import of
10,000 pilots (one bulk insert) ran them 20,000 times. Inserts are now served by a statement
trigger that reads the statement's new rows (a transition table) and writes both tables in two
set-based inserts. A change of a code or a name keeps the row trigger: PostgreSQL gives no
transition table to a trigger on some columns only, and such a change is one pilot at a time.
The old text and pairs of a stale row (a reused id) are overwritten, as before."""

from django.db import migrations

TEXT = "upper(code || chr(10) || name)"

SYNC_INSERTED = f"""
    CREATE OR REPLACE FUNCTION pilot_search_sync_inserted() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pilot_search (pilot_id, text)
        SELECT id, {TEXT} FROM inserted_pilots
        ON CONFLICT (pilot_id) DO UPDATE SET text = EXCLUDED.text;
        INSERT INTO pilot_search_pairs (pilot_id, pairs)
        SELECT id, pilot_bigrams({TEXT}) FROM inserted_pilots
        ON CONFLICT (pilot_id) DO UPDATE SET pairs = EXCLUDED.pairs;
        RETURN NULL;
    END
    $$
"""

FORWARD = [
    SYNC_INSERTED,
    "DROP TRIGGER IF EXISTS pilot_search_sync ON pilots_pilot",
    """
    CREATE TRIGGER pilot_search_sync AFTER UPDATE OF code, name ON pilots_pilot
    FOR EACH ROW EXECUTE FUNCTION pilot_search_sync()
    """,
    """
    CREATE TRIGGER pilot_search_sync_inserted AFTER INSERT ON pilots_pilot
    REFERENCING NEW TABLE AS inserted_pilots
    FOR EACH STATEMENT EXECUTE FUNCTION pilot_search_sync_inserted()
    """,
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS pilot_search_sync_inserted ON pilots_pilot",
    "DROP FUNCTION IF EXISTS pilot_search_sync_inserted()",
    "DROP TRIGGER IF EXISTS pilot_search_sync ON pilots_pilot",
    """
    CREATE TRIGGER pilot_search_sync AFTER INSERT OR UPDATE OF code, name ON pilots_pilot
    FOR EACH ROW EXECUTE FUNCTION pilot_search_sync()
    """,
]


def _run(statements):
    def run(apps, schema_editor):
        if schema_editor.connection.vendor != "postgresql":
            return
        for sql in statements:
            schema_editor.execute(sql)

    return run


class Migration(migrations.Migration):
    dependencies = [
        ("pilots", "0020_pilot_search_pairs"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
