"""The character pairs of every pilot's searched text stored in a table of their own,
`pilot_search_pairs`, on PostgreSQL only.

Two-character words were found through a GIN index on the expression `pilot_bigrams(text)`
of `pilot_search` (0019): the index found the matching pilots at once, but a page of 50 in
code order walks the pilots and checks each one, and each check ran the SQL function again
(碳汇 at 100,000 pilots: about 1,800 calls, some 40 ms). The pairs are now stored, filled by
the trigger of 0019 along with the text (and here for the pilots already there), with a GIN
index on them: a check is an array comparison, and the planner has the column's statistics.

They have a table of their own because they are five times the size of the text (about 300
bytes a pilot against 60): beside the text they made `pilot_search` four times larger (4,921
blocks against 1,178 at 100,000 pilots), which every search by a longer word reads, and once
the planner then chose a parallel plan for such a word's page (排污权: 35 ms against 8 on a
busy machine). Apart, the text's table and its trigram index stay as they were. No foreign
key, for the reasons given in 0019."""

from django.db import migrations

TEXT = "upper(NEW.code || chr(10) || NEW.name)"

SYNC_WITH_PAIRS = f"""
    CREATE OR REPLACE FUNCTION pilot_search_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pilot_search (pilot_id, text) VALUES (NEW.id, {TEXT})
        ON CONFLICT (pilot_id) DO UPDATE SET text = EXCLUDED.text;
        INSERT INTO pilot_search_pairs (pilot_id, pairs) VALUES (NEW.id, pilot_bigrams({TEXT}))
        ON CONFLICT (pilot_id) DO UPDATE SET pairs = EXCLUDED.pairs;
        RETURN NULL;
    END
    $$
"""

# The trigger function as 0019 created it.
SYNC_TEXT_ONLY = f"""
    CREATE OR REPLACE FUNCTION pilot_search_sync() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        INSERT INTO pilot_search (pilot_id, text) VALUES (NEW.id, {TEXT})
        ON CONFLICT (pilot_id) DO UPDATE SET text = EXCLUDED.text;
        RETURN NULL;
    END
    $$
"""

FORWARD = [
    """
    CREATE TABLE pilot_search_pairs (
        pilot_id integer PRIMARY KEY,
        pairs text[] NOT NULL
    )
    """,
    "INSERT INTO pilot_search_pairs SELECT pilot_id, pilot_bigrams(text) FROM pilot_search",
    SYNC_WITH_PAIRS,
    "CREATE INDEX pilot_search_pairs_gin ON pilot_search_pairs USING gin (pairs)",
    "DROP INDEX IF EXISTS pilot_search_text_pairs",
    "ANALYZE pilot_search_pairs",
]

BACKWARD = [
    "CREATE INDEX pilot_search_text_pairs ON pilot_search USING gin (pilot_bigrams(text))",
    SYNC_TEXT_ONLY,
    "DROP TABLE IF EXISTS pilot_search_pairs",
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
        ("pilots", "0019_pilot_search_table"),
    ]

    operations = [
        migrations.RunPython(_run(FORWARD), _run(BACKWARD), elidable=False),
    ]
