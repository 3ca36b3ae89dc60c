"""R1.3 overlap index (pilots.models_overlap, all derived, rebuilt by
``manage.py reindex_overlap``).

* OverlapFingerprint: the pilot's word ids (32-bit, sorted), the reform items its name, goal and
  measures mention and those it is about (its core) — so that candidates are scored exactly
  without reading or re-analysing their text.
* OverlapBand: LSH over a one-permutation MinHash of the words (K bins, optimal densification,
  Shrivastava 2017) cut into B bands of R bins; one indexed row per band whose key carries the
  band's hash and, in its low byte, the band number. The near-copies of a query are one
  ``key IN (...)`` look-up.
* OverlapConcept: the reform items of every pilot (and, under other keys, its core ones): the
  same reform in other words is one ``concept IN (...)`` look-up.
* OverlapTerm: an inverted index of hash-sampled words, kept only for comprehensive pilots and
  pilots the state deployed, for the *containment* test (does the other text cover this one's
  words?) that a Jaccard-style LSH cannot answer when a short text sits inside a long one.
"""

from __future__ import annotations

import hashlib
import random
import sys
from array import array
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db import connections, router, transaction

from pilots.constants import Origin, PilotKind
from pilots.models import Pilot
from pilots.models_overlap import OverlapBand, OverlapConcept, OverlapFingerprint, OverlapTerm
from pilots.overlap.text import analyse, core_key, glossary_digest

__all__ = [
    "BANDS",
    "NATIONAL_ORIGINS",
    "ROWS",
    "SIG_BINS",
    "VERSION",
    "band_keys",
    "index_pilot",
    "reindex_all",
    "sampled_terms",
    "signature",
]

# Bump VERSION whenever tokenising, the glossary's ids, hashing or banding change: rows of
# another version are then ignored (their pilots are re-analysed from text) until
# reindex_overlap rebuilds them.
VERSION = 3
BANDS = 64  # B: LSH bands (64 × 2: a pair of texts with Jaccard 0.25 shares a band 98% of the time)
ROWS = 2  # R: MinHash bins per band
SIG_BINS = BANDS * ROWS  # K
TERM_SAMPLE_BITS = 0x3  # a term goes into OverlapTerm when (id >> 24) & bits == 0: 1 in 4
NATIONAL_ORIGINS = frozenset({Origin.CENTRAL, Origin.MINISTRY})


def _pack_ids(ids: Iterable[int]) -> bytes:
    arr = array("I", sorted(ids))
    if sys.byteorder == "big":  # pragma: no cover - stored little-endian everywhere
        arr.byteswap()
    return arr.tobytes()


def _unpack_ids(raw) -> array:
    arr = array("I")
    arr.frombytes(bytes(raw or b""))
    if sys.byteorder == "big":  # pragma: no cover
        arr.byteswap()
    return arr


# --- MinHash / LSH ---------------------------------------------------------------------------
assert SIG_BINS & (SIG_BINS - 1) == 0 and BANDS < 256, "K must be a power of two, B < 256"
_BIN_BITS = SIG_BINS.bit_length() - 1
_EMPTY = 1 << 32  # larger than any bin value
_M64 = (1 << 64) - 1
_rng = random.Random(20180628)
# Optimal densification: an empty bin takes the value of the first non-empty bin in its own
# fixed probe order, so that equal term sets get equal signatures.
_PROBES = tuple(
    tuple(_rng.randrange(SIG_BINS) for _ in range(4 * SIG_BINS)) for _ in range(SIG_BINS)
)
# Band hashing: per band a seed and a random odd multiplier per row (xor-multiply), then mixed.
_BAND_MULT = tuple(tuple(_rng.getrandbits(64) | 1 for _ in range(ROWS)) for _ in range(BANDS))
_BAND_SEED = tuple(_rng.getrandbits(64) for _ in range(BANDS))
_MIX = 0xBF58476D1CE4E5B9


def signature(ids: Iterable[int]) -> list[int] | None:
    """One-permutation MinHash of a term-id set (bin: the id's low bits, value: the rest),
    densified; None if the set is empty."""
    bins = [_EMPTY] * SIG_BINS
    mask = SIG_BINS - 1
    for t in ids:
        b, v = t & mask, t >> _BIN_BITS
        if v < bins[b]:
            bins[b] = v
    empty = [i for i, v in enumerate(bins) if v == _EMPTY]
    if len(empty) == SIG_BINS:
        return None
    out = bins[:]
    for i in empty:
        for j in _PROBES[i]:
            if bins[j] != _EMPTY:
                out[i] = bins[j]
                break
        else:  # pragma: no cover - all 4K probes empty: practically never
            out[i] = min(x for x in bins if x != _EMPTY)
    return out


def band_keys(ids: Iterable[int]) -> list[int]:
    """The B indexed keys of a term set: a 55-bit hash of the band's R bins, shifted left by
    8, plus the band number."""
    sig = signature(ids)
    if sig is None:
        return []
    keys = []
    for band in range(BANDS):
        h = _BAND_SEED[band]
        base = band * ROWS
        for r, mult in enumerate(_BAND_MULT[band]):
            h = ((h ^ sig[base + r]) * mult) & _M64
        h = ((h ^ (h >> 31)) * _MIX) & _M64
        h ^= h >> 29
        keys.append(((h >> 9) << 8) | band)
    return keys


def sampled_terms(ids: Iterable[int]) -> list[int]:
    """The terms of a set that go into OverlapTerm, as signed 32-bit values."""
    return sorted(
        t - (1 << 32) if t >= 1 << 31 else t for t in ids if not (t >> 24) & TERM_SAMPLE_BITS
    )


def concept_postings(concepts: Iterable[int], core_names: Iterable[str]) -> list[int]:
    """The OverlapConcept keys of a pilot, as signed 32-bit values: every reform it mentions,
    and under another key each one it is about."""
    keys = set(concepts) | {core_key(name) for name in core_names}
    return sorted(k - (1 << 32) if k >= 1 << 31 else k for k in keys)


def _is_reference(kind: str, origin: str) -> bool:
    """Pilots whose terms go into OverlapTerm: comprehensive ones and those of the state."""
    return kind == PilotKind.COMPREHENSIVE or origin in NATIONAL_ORIGINS


def _text_hash(name, goal, measures, scope, kind, origin) -> str:
    """Of the texts, kind and origin, and of the glossary: after the glossary is edited,
    index_pilot and reindex_overlap rewrite every row."""
    parts = (VERSION, glossary_digest(), name, goal, measures, scope, kind, origin)
    joined = "\x1f".join(str(x or "") for x in parts)
    return hashlib.blake2b(joined.encode(), digest_size=16).hexdigest()


@dataclass(frozen=True)
class _Entry:
    """The index rows of one pilot."""

    pilot_id: int
    text_hash: str
    ids: frozenset[int]
    keys: list[int]
    terms: list[int]
    concepts: frozenset[int]
    core: frozenset[int]
    postings: list[int]  # OverlapConcept keys

    @classmethod
    def build(cls, pk, name, goal, measures, scope, kind, origin) -> _Entry:
        text = analyse(name, goal, measures, scope, comprehensive=kind == PilotKind.COMPREHENSIVE)
        return cls(
            pilot_id=pk,
            text_hash=_text_hash(name, goal, measures, scope, kind, origin),
            ids=text.ids,
            keys=band_keys(text.ids),
            terms=sampled_terms(text.ids) if _is_reference(kind, origin) else [],
            concepts=text.concepts,
            core=text.core,
            postings=concept_postings(text.concepts, text.core_names),
        )

    def fingerprint(self) -> OverlapFingerprint:
        return OverlapFingerprint(
            pilot_id=self.pilot_id,
            version=VERSION,
            text_hash=self.text_hash,
            terms=_pack_ids(self.ids),
            term_count=len(self.ids),
            is_reference=bool(self.terms),
            concepts=_pack_ids(self.concepts),
            core=_pack_ids(self.core),
        )


# --- writing the index -----------------------------------------------------------------------
def index_pilot(pilot) -> None:
    """(Re)compute and store the pilot's overlap index rows from its current text, kind and
    origin. Idempotent: when they are what was indexed, nothing is written."""
    if pilot.pk is None:
        raise ValueError("index_pilot: the pilot must be saved first")
    entry = _Entry.build(
        pilot.pk, pilot.name, pilot.goal, pilot.measures, pilot.scope, pilot.kind, pilot.origin
    )
    with transaction.atomic():
        # Two indexings of one pilot at once would insert the same keys: lock its row.
        list(Pilot.objects.select_for_update().filter(pk=pilot.pk).values_list("pk"))
        old = OverlapFingerprint.objects.filter(pilot_id=pilot.pk).first()
        if old is not None and old.version == VERSION and old.text_hash == entry.text_hash:
            return
        if old is not None and old.version == VERSION:
            # The old band and term rows follow from the stored terms: delete them by primary
            # key. (Concept postings are few; the core's keys are not stored: by pilot.)
            old_ids = _unpack_ids(old.terms)
            OverlapBand.objects.filter(pilot_id=pilot.pk, key__in=band_keys(old_ids)).delete()
            if old.is_reference:
                OverlapTerm.objects.filter(
                    pilot_id=pilot.pk, term__in=sampled_terms(old_ids)
                ).delete()
        elif old is not None:  # indexed by another version: find its rows the slow way (once)
            OverlapBand.objects.filter(pilot_id=pilot.pk).delete()
            OverlapTerm.objects.filter(pilot_id=pilot.pk).delete()
        OverlapConcept.objects.filter(pilot_id=pilot.pk).delete()
        # (No fingerprint, no rows: both are always written together.)
        OverlapBand.objects.bulk_create(OverlapBand(key=k, pilot_id=pilot.pk) for k in entry.keys)
        OverlapTerm.objects.bulk_create(OverlapTerm(term=t, pilot_id=pilot.pk) for t in entry.terms)
        OverlapConcept.objects.bulk_create(
            OverlapConcept(concept=c, pilot_id=pilot.pk) for c in entry.postings
        )
        entry.fingerprint().save(force_insert=old is None, force_update=old is not None)


class _Stage:
    """A temporary table that rows are appended to without any index, then moved into the
    index table in primary-key order: one sorted set-based insert instead of millions of
    random B-tree inserts."""

    def __init__(self, model, columns: tuple[str, str]) -> None:
        self.model = model
        self.connection = connections[router.db_for_write(model)]
        qn = self.connection.ops.quote_name
        self.table = qn(f"overlap_stage_{model._meta.model_name}")
        self.columns = ", ".join(qn(model._meta.get_field(c).column) for c in columns)
        self.count = 0
        with self.connection.cursor() as cursor:
            cursor.execute(f"DROP TABLE IF EXISTS {self.table}")
            cursor.execute(
                f"CREATE TEMPORARY TABLE {self.table} "
                f"({qn(columns[0])} BIGINT NOT NULL, {qn('pilot_id')} BIGINT NOT NULL)"
            )

    def append(self, rows: list[tuple]) -> None:
        if not rows:
            return
        self.count += len(rows)
        with self.connection.cursor() as cursor:
            if self.connection.vendor == "postgresql":
                with cursor.cursor.copy(f"COPY {self.table} FROM STDIN") as copy:
                    for row in rows:
                        copy.write_row(row)
            else:
                cursor.executemany(f"INSERT INTO {self.table} VALUES (%s, %s)", rows)

    def commit(self) -> int:
        target = self.connection.ops.quote_name(self.model._meta.db_table)
        with self.connection.cursor() as cursor:
            cursor.execute(
                f"INSERT INTO {target} ({self.columns}) SELECT * FROM {self.table} ORDER BY 1, 2"
            )
            cursor.execute(f"DROP TABLE {self.table}")
        return self.count


def _clear_index() -> None:
    tables = [
        m._meta.db_table for m in (OverlapBand, OverlapTerm, OverlapConcept, OverlapFingerprint)
    ]
    connection = connections[router.db_for_write(OverlapFingerprint)]
    qn = connection.ops.quote_name
    with connection.cursor() as cursor:
        if connection.vendor == "postgresql":
            # TRUNCATE refuses while deferred foreign-key checks on these tables are pending
            # (an outer transaction wrote to them): run those checks first.
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")
            cursor.execute("TRUNCATE " + ", ".join(qn(t) for t in tables))
            cursor.execute("SET CONSTRAINTS ALL DEFERRED")
        else:
            for table in tables:
                cursor.execute(f"DELETE FROM {qn(table)}")


def _pilot_text_batches(batch_size: int) -> Iterator[list[tuple]]:
    last = 0
    fields = ("pk", "name", "goal", "measures", "scope", "kind", "origin")
    while True:
        batch = list(
            Pilot.objects.filter(pk__gt=last).order_by("pk").values_list(*fields)[:batch_size]
        )
        if not batch:
            return
        yield batch
        last = batch[-1][0]


def reindex_all(batch_size: int = 1000) -> dict[str, int]:
    """Rebuild the whole index in one transaction, set-based, `batch_size` pilots at a time
    (readers keep seeing the old index until it commits). Returns the row counts."""
    with transaction.atomic():
        _clear_index()
        bands, terms = _Stage(OverlapBand, ("key", "pilot")), _Stage(OverlapTerm, ("term", "pilot"))
        concepts = _Stage(OverlapConcept, ("concept", "pilot"))
        pilots = 0
        for batch in _pilot_text_batches(batch_size):
            entries = [_Entry.build(*row) for row in batch]
            OverlapFingerprint.objects.bulk_create(
                [e.fingerprint() for e in entries], batch_size=batch_size
            )
            bands.append([(k, e.pilot_id) for e in entries for k in e.keys])
            terms.append([(t, e.pilot_id) for e in entries for t in e.terms])
            concepts.append([(c, e.pilot_id) for e in entries for c in e.postings])
            pilots += len(entries)
        return {
            "pilots": pilots,
            "bands": bands.commit(),
            "terms": terms.commit(),
            "concepts": concepts.commit(),
        }
