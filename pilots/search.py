"""Searching pilots by code or name: one definition for the pilot list, the ledger, their
exports, the API's ?search= and the admin's changelist.

Each word of the query (split on white space) must occur in the code or the name, ignoring
case. On PostgreSQL the searched text, `upper(code || chr(10) || name)`, is kept in a narrow
table of its own, `pilot_search`, with a pg_trgm GIN index for words of three characters or
more (LIKE); its distinct character pairs (`pilot_bigrams`) are stored in another,
`pilot_search_pairs`, with a GIN index for two-character words, which trigrams cannot serve
(排污, 水权: most Chinese search words). A trigger keeps both in step (migrations 0018 to
0020). A one-character word is matched by LIKE alone. Each table gives the matching pilots'
ids (`pk IN`): the planner counts them from the pilots' primary key without reading their
wide rows, and pages them by walking the pilots in the list's order and looking each one up
in that table by its id (for a pair, an array comparison). The line break between
code and name keeps a word from matching across the two (a query cannot contain one: the
request edge refuses control characters). Other databases compare the two columns as before.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL

# The longest search a page or the API takes, and the words that say so.
QUERY_MAX_LENGTH = 100
QUERY_TOO_LONG = f"搜索词不能超过{QUERY_MAX_LENGTH}个字"


def words_of(query: str) -> list[str]:
    return query.split()


def search_pilots(qs: QuerySet, query: str) -> QuerySet:
    """Pilots of `qs` whose code or name contains every word of `query`, ignoring case."""
    words = words_of(query)
    if not words:
        return qs
    if connection.vendor == "postgresql":
        pairs = [word for word in words if len(word) == 2]  # each exactly one of the pairs
        others = [word for word in words if len(word) != 2]
        if pairs:
            wanted = ", ".join(["upper(%s)::text"] * len(pairs))
            sql = f"SELECT pilot_id FROM pilot_search_pairs WHERE pairs @> ARRAY[{wanted}]"
            qs = qs.filter(pk__in=RawSQL(sql, pairs))
        if others:
            like = " AND ".join(["text LIKE upper(%s)"] * len(others))
            params = [f"%{connection.ops.prep_for_like_query(word)}%" for word in others]
            qs = qs.filter(pk__in=RawSQL(f"SELECT pilot_id FROM pilot_search WHERE {like}", params))
        return qs
    for word in words:
        qs = qs.filter(Q(code__icontains=word) | Q(name__icontains=word))
    return qs
