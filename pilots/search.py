"""Searching pilots by code or name: one definition for the pilot list, the ledger, their
exports, the API's ?search= and the admin's changelist.

Each word of the query (split on white space) must occur in the code or the name, ignoring
case. On PostgreSQL the searched text, `upper(code || chr(10) || name)`, is kept in a narrow
table of its own, `pilot_search` (migrations 0018 and 0019, a trigger keeps it in step), with
two indexes: a pg_trgm GIN index for words of three characters or more (LIKE), and a GIN index
over the text's character pairs (`pilot_bigrams`) for two-character words, which trigrams
cannot serve (排污, 水权: most Chinese search words). A one-character word is matched by LIKE
alone. The matching pilots are then counted and paged from the pilots' own indexes, without
reading their wide rows. The line break between code and name keeps a word from matching
across the two (a query cannot contain one: the request edge refuses control characters).
Other databases compare the two columns as before.
"""

from __future__ import annotations

from django.db import connection
from django.db.models import Q, QuerySet
from django.db.models.expressions import RawSQL


def words_of(query: str) -> list[str]:
    return query.split()


def _condition(word: str) -> tuple[str, str]:
    """SQL on pilot_search's `text` true when it contains `word`, and its parameter."""
    if len(word) == 2:  # exactly one of the text's pairs
        return "pilot_bigrams(text) @> ARRAY[upper(%s)::text]", word
    return "text LIKE upper(%s)", f"%{connection.ops.prep_for_like_query(word)}%"


def search_pilots(qs: QuerySet, query: str) -> QuerySet:
    """Pilots of `qs` whose code or name contains every word of `query`, ignoring case."""
    words = words_of(query)
    if not words:
        return qs
    if connection.vendor == "postgresql":
        conditions, params = zip(*(_condition(word) for word in words), strict=True)
        sql = f"SELECT pilot_id FROM pilot_search WHERE {' AND '.join(conditions)}"
        return qs.filter(pk__in=RawSQL(sql, params))
    for word in words:
        qs = qs.filter(Q(code__icontains=word) | Q(name__icontains=word))
    return qs
