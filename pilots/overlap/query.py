"""R1.3 query: the existing pilots a pilot may duplicate, scored, ranked and explained.

Candidates come from four indexed look-ups — shared LSH bands (near-copies), shared reform
items (the same reform in other words), the same field in an overlapping region, and
comprehensive and state pilots sharing the most sampled words — and are then scored exactly on
their stored word and reform sets, never on their text:

* w, the word score: the mean of Dice and the overlap coefficient of the two word sets;
* r, the reform score: 0.5 + 0.5·(shared core reforms / all core reforms of both) when the two
  are about a same reform; 0.25 + … when one's core reform is only mentioned by the other; a
  little when both only mention the same reforms;
* t, the text score: max(w, 0.6·r + 0.4·w). Only t creates a flag.
* Field and region may raise t, never create a score: t × 1.25 for the same field in an
  overlapping region (同一改革领域且试点地区相同/重叠), so a pilot whose text shares nothing
  is never flagged, whatever its field and place. A state pilot is raised to 0.5 + 0.5·x when
  x = max(t, containment) ≥ 0.3 (国家已在我省部署同类试点); a comprehensive pilot that
  contains a single-item one (containment ≥ 0.5, in an overlapping area or word for word) to
  0.5 + 0.5·containment (综合性试点已包含相关改革内容).
* flagged when the score ≥ min_score (0.35); at most settings.OVERLAP_MAX_FLAGS (5), best first,
  each with its reasons in Chinese: the shared reform items with the wordings and parts of
  each side, the shared key words, which parts are alike, and the structural reasons.

Nothing is held in memory between queries except bounded caches of word ids and words.
"""

from __future__ import annotations

from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass

from django.conf import settings
from django.db import connections, router

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots.constants import PilotKind, Status
from pilots.models import Pilot
from pilots.models_overlap import OverlapBand, OverlapConcept, OverlapFingerprint, OverlapTerm
from pilots.overlap.index import (
    NATIONAL_ORIGINS,
    VERSION,
    _unpack_ids,
    band_keys,
    sampled_terms,
)
from pilots.overlap.reasons import (
    REASON_COVERED,
    REASON_FIELD_REGION,
    REASON_NATIONAL,
    explain,
)
from pilots.overlap.text import (
    Analysis,
    analyse,
    analyse_pilot,
    concept_id,
    containment,
    core_key,
    text_similarity,
)

__all__ = [
    "COVER_MIN",
    "DEFAULT_MAX_FLAGS",
    "DEFAULT_MIN_SCORE",
    "ELIGIBLE_STATES",
    "NATIONAL_MIN",
    "REASON_COVERED",
    "REASON_FIELD_REGION",
    "REASON_NATIONAL",
    "REGION_BOOST",
    "STRUCTURAL_FLOOR",
    "Candidate",
    "explain",
    "find_overlaps",
    "max_flags",
    "reform_score",
    "region_scope",
    "text_score",
]

DEFAULT_MIN_SCORE = 0.35
DEFAULT_MAX_FLAGS = 5  # settings.OVERLAP_MAX_FLAGS: flags recorded per check
REFORM_WEIGHT = 0.6  # share of the reform score in the text score
REGION_BOOST = 1.25  # same field + overlapping region multiplies the text score by this
NATIONAL_MIN = 0.3  # text score or containment that makes a state pilot "同类"
COVER_MIN = 0.5  # containment that makes a comprehensive pilot "已包含"
STRUCTURAL_FLOOR = 0.5  # national / covering candidates score at least this

LSH_CAP = 400  # candidates read from the band index, most shared bands first
CONCEPT_CAP = 400  # … from the reform index, most shared reforms first
POSTING_CAP = 200  # … from the term index, most shared terms first
REGION_CAP = 500  # … from the same-field-and-region look-up
FALLBACK_CAP = 200  # candidates not (or not currently) indexed, analysed from their text

ELIGIBLE_STATES = frozenset(Status) - {
    Status.DRAFT,
    Status.REJECTED,
    Status.WITHDRAWN,
    Status.PURGED,
}


def max_flags() -> int:
    return max(1, int(getattr(settings, "OVERLAP_MAX_FLAGS", DEFAULT_MAX_FLAGS)))


@dataclass
class Candidate:
    """An existing pilot that may overlap the one being checked."""

    pilot_id: int
    score: float  # 0..1
    reasons: list[str]  # in Chinese, for the screener


@dataclass
class _Prospect:
    pilot_id: int
    in_area: bool = False  # a region overlaps the checked pilot's
    has_regions: bool = True
    field: str = ""
    kind: str = ""
    origin: str = ""
    ids: Collection[int] = ()  # distinct word ids: the stored array, or a set
    concepts: Collection[int] = ()
    core: Collection[int] = ()


def region_scope(pilot) -> set[int]:
    """Regions that overlap the pilot's: its own, the prefectures of its counties, and the
    counties of its prefectures."""
    if pilot.pk is None:
        return set()
    own = list(pilot.regions.values_list("pk", "parent_id", "kind"))
    scope = {pk for pk, _, _ in own}
    scope |= {parent for _, parent, kind in own if kind == OrgKind.COUNTY and parent}
    prefectures = [pk for pk, _, kind in own if kind == OrgKind.PREFECTURE]
    if prefectures:
        scope |= set(
            Organisation.objects.filter(parent_id__in=prefectures, kind=OrgKind.COUNTY).values_list(
                "pk", flat=True
            )
        )
    return scope


def _chunks(items: list, size: int = 500) -> Iterator[list]:
    for i in range(0, len(items), size):
        yield items[i : i + size]


def _fetch(model, sql: str, params: list) -> list[tuple]:
    connection = connections[router.db_for_read(model)]
    with connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def _sql(model) -> tuple:
    """(quote_name, is PostgreSQL) for plain SQL on the model's database."""
    connection = connections[router.db_for_read(model)]
    return connection.ops.quote_name, connection.vendor == "postgresql"


def _in(column: str, values: list, postgres: bool) -> tuple[str, list]:
    """`column IN (...)`: one array parameter on PostgreSQL, one parameter a value elsewhere."""
    if postgres:
        return f"{column} = ANY(%s)", [list(values)]
    return f"{column} IN ({', '.join(['%s'] * len(values))})", list(values)


def _most_shared(
    model, column: str, values: list[int], own: int | None, cap: int
) -> list[tuple[int, int]]:
    """(pilot, rows) for the pilots with the most index rows among `values`, best first;
    plain SQL on one table (its primary key (column, pilot) makes it an index range scan per
    value)."""
    if not values:
        return []
    qn, postgres = _sql(model)
    where, params = _in(qn(column), values, postgres)
    if own is not None:
        where += f" AND {qn('pilot_id')} <> %s"
        params.append(own)
    sql = (
        f"SELECT {qn('pilot_id')}, COUNT(*) AS n FROM {qn(model._meta.db_table)} "
        f"WHERE {where} GROUP BY {qn('pilot_id')} ORDER BY n DESC, {qn('pilot_id')} LIMIT %s"
    )
    return _fetch(model, sql, [*params, cap])


def _same_field_in_region(field: str, scope: set[int], own: int | None) -> list[int]:
    """Pilots still in play of the field with a region in `scope` and not indexed (by this
    version), newest first (at most REGION_CAP): field and region never create a score, so
    an indexed neighbour is a candidate only through its text; one not yet indexed is read
    here and compared from its text. A region has far fewer pilots than a field, so the
    region table leads: on SQLite through a CROSS JOIN (which keeps the join order), on
    PostgreSQL through an IN subquery (a join with ORDER BY … LIMIT lures its planner into
    scanning the whole table)."""
    if not scope or not field:
        return []
    qn, postgres = _sql(Pilot)
    through = Pilot.regions.through
    r_pilot = "r." + qn(through._meta.get_field("pilot").column)
    in_scope, params = _in(
        "r." + qn(through._meta.get_field("organisation").column), sorted(scope), postgres
    )
    in_play, states = _in(f"p.{qn('status')}", sorted(ELIGIBLE_STATES), postgres)
    not_own = f" AND p.{qn('id')} <> %s" if own is not None else ""
    regions, pilots = qn(through._meta.db_table), qn(Pilot._meta.db_table)
    fp = qn(OverlapFingerprint._meta.db_table)
    not_own += (
        f" AND NOT EXISTS (SELECT 1 FROM {fp} f WHERE f.{qn('pilot_id')} = p.{qn('id')} "
        f"AND f.{qn('version')} = {int(VERSION)})"
    )
    if postgres:
        sql = (
            f"SELECT p.{qn('id')} FROM {pilots} p WHERE p.{qn('id')} IN "
            f"(SELECT {r_pilot} FROM {regions} r WHERE {in_scope}) "
            f"AND p.{qn('field')} = %s AND {in_play}{not_own}"
        )
        params = [*params, field, *states, *([own] if own is not None else [])]
        return sorted((row[0] for row in _fetch(Pilot, sql, params)), reverse=True)[:REGION_CAP]
    sql = (
        f"SELECT DISTINCT {r_pilot} FROM {regions} r CROSS JOIN {pilots} p "
        f"WHERE p.{qn('id')} = {r_pilot} AND {in_scope} "
        f"AND p.{qn('field')} = %s AND {in_play}{not_own} ORDER BY {r_pilot} DESC LIMIT %s"
    )
    params = [*params, field, *states, *([own] if own is not None else []), REGION_CAP]
    return [row[0] for row in _fetch(Pilot, sql, params)]


def _signed(ids: Iterable[int]) -> list[int]:
    return sorted({i - (1 << 32) if i >= 1 << 31 else i for i in ids})


def _pilots_with_terms(ids: list[int]) -> Iterator[tuple]:
    """(pk, status, field, kind, origin, words, reforms, core, index version) of the pilots."""
    qn, postgres = _sql(Pilot)
    pilot, fp = qn(Pilot._meta.db_table), qn(OverlapFingerprint._meta.db_table)
    for chunk in _chunks(ids, 2000):
        where, params = _in(f"p.{qn('id')}", chunk, postgres)
        sql = (
            f"SELECT p.{qn('id')}, p.{qn('status')}, p.{qn('field')}, p.{qn('kind')}, "
            f"p.{qn('origin')}, f.{qn('terms')}, f.{qn('concepts')}, f.{qn('core')}, "
            f"f.{qn('version')} FROM {pilot} p "
            f"LEFT JOIN {fp} f ON f.{qn('pilot_id')} = p.{qn('id')} WHERE {where}"
        )
        yield from _fetch(Pilot, sql, params)


def _regions_of(ids: list[int], scope: set[int]) -> tuple[set[int], set[int]]:
    """(pilots among `ids` with a region in `scope`, pilots among `ids` with any region)."""
    qn, postgres = _sql(Pilot)
    through = Pilot.regions.through
    table = qn(through._meta.db_table)
    pilot_col = qn(through._meta.get_field("pilot").column)
    org_col = qn(through._meta.get_field("organisation").column)
    in_area: set[int] = set()
    with_regions: set[int] = set()
    for chunk in _chunks(ids, 2000):
        where, params = _in(pilot_col, chunk, postgres)
        sql = f"SELECT {pilot_col}, {org_col} FROM {table} WHERE {where}"
        for pk, org in _fetch(Pilot, sql, params):
            with_regions.add(pk)
            if org in scope:
                in_area.add(pk)
    return in_area, with_regions


def _prospects(pilot, text: Analysis, scope: set[int]) -> dict[int, _Prospect]:
    """Candidate pilots from the four indexed look-ups, with what is needed to score them.

    The index look-ups read only the index tables (no join): status, field, kind and origin
    are checked on the few pilots read back."""
    own = pilot.pk
    found: set[int] = set()
    # 1. Near-copies: pilots sharing LSH bands, most shared bands first.
    bands = band_keys(text.ids)
    found.update(pk for pk, _ in _most_shared(OverlapBand, "key", bands, own, LSH_CAP))
    # 2. The same reform in other words: pilots mentioning what this one is about, and pilots
    #    about what this one mentions.
    keys = _signed(
        [concept_id(r) for r in text.core_names] + [core_key(r) for r in text.concept_names]
    )
    found.update(pk for pk, _ in _most_shared(OverlapConcept, "concept", keys, own, CONCEPT_CAP))
    # 3. Same field, overlapping regions (found even before they are indexed).
    found.update(_same_field_in_region(pilot.field, scope, own))
    # 4. Comprehensive and state pilots whose text has many of this one's topic words.
    terms = sampled_terms(text.topic)
    found.update(pk for pk, _ in _most_shared(OverlapTerm, "term", terms, own, POSTING_CAP))

    unindexed: list[int] = []
    read: dict[int, _Prospect] = {}  # (index rows of a deleted pilot are left out too)
    for row in _pilots_with_terms(sorted(found)):
        pk, status, field_, kind, origin, raw, concepts, core, version = row
        if status not in ELIGIBLE_STATES:
            continue
        p = read[pk] = _Prospect(pk, field=field_, kind=kind, origin=origin)
        if version == VERSION:
            p.ids, p.concepts, p.core = (
                _unpack_ids(raw),
                frozenset(_unpack_ids(concepts)),
                frozenset(_unpack_ids(core)),
            )
        else:
            unindexed.append(pk)
    for pk in unindexed[FALLBACK_CAP:]:
        del read[pk]
    for pk, kind, *texts in Pilot.objects.filter(pk__in=unindexed[:FALLBACK_CAP]).values_list(
        "pk", "kind", "name", "goal", "measures", "scope"
    ):
        other = analyse(*texts, comprehensive=kind == PilotKind.COMPREHENSIVE)
        read[pk].ids, read[pk].concepts, read[pk].core = other.ids, other.concepts, other.core
    in_area, with_regions = _regions_of(list(read), scope)
    for pk, p in read.items():
        p.in_area, p.has_regions = pk in in_area, pk in with_regions
    return read


def reform_score(a: Analysis, concepts: Collection[int], core: Collection[int]) -> float:
    """How far two pilots are about the same reform items (see the module docstring)."""
    ka, kb = a.core, frozenset(core)
    shared = ka & kb
    if shared:
        return 0.5 + 0.5 * len(shared) / len(ka | kb)
    cross = ka.intersection(concepts) | a.concepts.intersection(kb)
    if cross:
        return 0.25 + 0.25 * len(cross) / len(ka | kb)
    mentioned = a.concepts.intersection(concepts)
    if mentioned:
        return 0.25 * len(mentioned) / min(len(a.concepts), len(concepts))
    return 0.0


def text_score(a: Analysis, ids: Collection[int], concepts=(), core=()) -> float:
    """t: the word score, raised by the reform score (see the module docstring)."""
    words = text_similarity(a, ids)
    reforms = reform_score(a, concepts, core)
    return max(words, REFORM_WEIGHT * reforms + (1 - REFORM_WEIGHT) * words)


def _cover(a: Analysis, p: _Prospect) -> tuple[float, float]:
    """(containment of a's topic in p, of its words alone): words weighted as in
    `containment`, averaged with the share of a's core reforms that p mentions."""
    words = containment(a, p.ids)
    if not a.core:
        return words, words
    reforms = len(a.core.intersection(p.concepts)) / len(a.core)
    return max(words, (words + reforms) / 2), words


def _score(pilot, text: Analysis, p: _Prospect) -> tuple[float, list[str]]:
    """Score (0..1) and the structural reasons of one prospect."""
    t = text_score(text, p.ids, p.concepts, p.core)
    if t <= 0:
        return 0.0, []  # field, region and origin never create a score
    score = t
    reasons: list[str] = []
    if p.in_area and p.field == pilot.field:
        score = min(1.0, t * REGION_BOOST)
        reasons.append(REASON_FIELD_REGION)
    national = p.origin in NATIONAL_ORIGINS
    covering = pilot.kind == PilotKind.SINGLE and p.kind == PilotKind.COMPREHENSIVE
    if national or covering:
        cover, words = _cover(text, p)
        if national and max(t, cover) >= NATIONAL_MIN:
            score = max(score, STRUCTURAL_FLOOR + (1 - STRUCTURAL_FLOOR) * max(t, cover))
            reasons.append(REASON_NATIONAL)
        # A comprehensive pilot covers a single one where both are run (or province-wide),
        # or elsewhere when it repeats its very words.
        nearby = p.in_area or not p.has_regions
        if covering and cover >= COVER_MIN and (nearby or words >= COVER_MIN):
            score = max(score, STRUCTURAL_FLOOR + (1 - STRUCTURAL_FLOOR) * cover)
            reasons.append(REASON_COVERED)
    return min(score, 1.0), reasons


def find_overlaps(
    pilot, *, limit: int | None = None, min_score: float = DEFAULT_MIN_SCORE
) -> list[Candidate]:
    """Existing pilots that may overlap `pilot`, best first, at most `limit` (default
    settings.OVERLAP_MAX_FLAGS): submitted or later, not rejected, withdrawn or purged, never
    drafts, never the pilot itself.

    The pilot's text, field and kind are read from the object (it need not be indexed or even
    saved); its regions from the database."""
    limit = max_flags() if limit is None else limit
    text = analyse_pilot(pilot)
    prospects = _prospects(pilot, text, region_scope(pilot))
    scored = []
    for p in prospects.values():
        score, reasons = _score(pilot, text, p)
        if score > 0 and score >= min_score:
            scored.append((-score, p.pilot_id, reasons))
    scored.sort()
    best = scored[:limit]
    # The flagged pilots' texts, for the reasons.
    texts = {
        pk: {"name": name, "goal": goal, "measures": measures}
        for pk, name, goal, measures in Pilot.objects.filter(
            pk__in=[pk for _, pk, _ in best]
        ).values_list("pk", "name", "goal", "measures")
    }
    out = []
    for neg_score, pk, reasons in best:
        p = prospects[pk]
        if pk in texts:
            why = explain(text, texts[pk], p.ids, comprehensive=p.kind == PilotKind.COMPREHENSIVE)
            reasons = [*why, *reasons]
        out.append(Candidate(pilot_id=pk, score=round(-neg_score, 4), reasons=reasons))
    return out
