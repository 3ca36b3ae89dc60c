"""The searched text of every pilot in a narrow table of its own, on PostgreSQL only.

A two-character word (排污) matches thousands of pilots at 100,000: found in the pairs index
of 0018 within a millisecond, they then had to be read from the wide pilots table (a
kilobyte a row, about 6,000 blocks for 排污) to be counted. `pilot_search` holds the
searched text alone (some 1,200 blocks for 100,000 pilots), is kept in step by a trigger on
every insert and on every change of a code or a name, and carries the two indexes; the
pilots are then counted from their primary key's index. No foreign key: a pilot is never
deleted, and a table the ORM does not know must not stop a truncation of the pilots in
tests (a stale row matches no pilot; a reused id overwrites it)."""

from django.db import migrations

TEXT = "upper(NEW.code || chr(10) || NEW.name)"

FORWARD = [
    """
    CREATE TABLE pilot_search (
        pilot_id integer PRIMARY KEY,
        text text NOT NULL
    )
    """,
    "INSERT INTO pilot_search SELECT id, upper(code || chr(10) || name) FROM pilots_pilot",
    f"""
    CREATE OR REPLACE FUNCTION pilot_search_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pilot_search (pilot_id, text) VALUES (NEW.id, {TEXT})
        ON CONFLICT (pilot_id) DO UPDATE SET text = EXCLUDED.text;
        RETURN NULL;
    END
    $$
    """,
    """
    CREATE TRIGGER pilot_search_sync AFTER INSERT OR UPDATE OF code, name ON pilots_pilot
    FOR EACH ROW EXECUTE FUNCTION pilot_search_sync()
    """,
    "CREATE INDEX pilot_search_text_trgm ON pilot_search USING gin (text gin_trgm_ops)",
    "CREATE INDEX pilot_search_text_pairs ON pilot_search USING gin (pilot_bigrams(text))",
    "DROP INDEX IF EXISTS pilot_search_trgm",
    "DROP INDEX IF EXISTS pilot_search_pairs",
    "ANALYZE pilot_search",
]

BACKWARD = [
    "DROP TRIGGER IF EXISTS pilot_search_sync ON pilots_pilot",
    "DROP FUNCTION IF EXISTS pilot_search_sync()",
    "DROP TABLE IF EXISTS pilot_search",
    "CREATE INDEX pilot_search_trgm ON pilots_pilot "
    "USING gin ((upper(code || chr(10) || name)) gin_trgm_ops)",
    "CREATE INDEX pilot_search_pairs ON pilots_pilot "
    "USING gin (pilot_bigrams(upper(code || chr(10) || name)))",
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
        ("pilots", "0018_pilot_search_indexes"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
