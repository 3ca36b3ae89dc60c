"""Indexes for searching pilots by code or name (pilots/search.py), on PostgreSQL only.

Both are built on the searched text, upper(code || chr(10) || name): a pg_trgm GIN index for
words of three characters or more (LIKE), and a GIN index over the text's character pairs
(`pilot_bigrams`) for two-character words. Migration 0019 moves them to a narrow table of
their own. Other databases search the columns without them."""

from django.db import migrations

SEARCHED = "upper(code || chr(10) || name)"

FORWARD = [
    "CREATE EXTENSION IF NOT EXISTS pg_trgm",
    # Every pair of consecutive characters of a text, once each.
    """
    CREATE OR REPLACE FUNCTION pilot_bigrams(t text) RETURNS text[]
    LANGUAGE sql IMMUTABLE STRICT PARALLEL SAFE AS $$
        SELECT coalesce(array_agg(DISTINCT substr(t, i, 2)), '{}'::text[])
        FROM generate_series(1, char_length(t) - 1) AS i
    $$
    """,
    f"CREATE INDEX pilot_search_trgm ON pilots_pilot USING gin (({SEARCHED}) gin_trgm_ops)",
    f"CREATE INDEX pilot_search_pairs ON pilots_pilot USING gin (pilot_bigrams({SEARCHED}))",
]

BACKWARD = [
    "DROP INDEX IF EXISTS pilot_search_pairs",
    "DROP INDEX IF EXISTS pilot_search_trgm",
    "DROP FUNCTION IF EXISTS pilot_bigrams(text)",
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
        ("pilots", "0017_end_after_start_message"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
