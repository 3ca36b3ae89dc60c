"""R1.3 避免重复交叉: find the existing pilots a pilot may duplicate.

The regulation (三、(三) 试点布局) names three overlaps: a provincial pilot that repeats a
pilot the state already runs in the province (内容雷同); a new pilot in a field that already has
one; a single-item pilot whose content a comprehensive pilot already covers. The screener wants
to see the same reform in other words, not only the same wording: two prefectures' pilots of one
reform system, a pilot that delimits a protected zone and one that surveys and marks the same
zone's boundaries (勘界定标), a proposal linking two kinds of environmental assessment and an
existing reform of one of them.

* ``text``  — words (jieba with the field's vocabulary) and reform items (the glossary in
  ``pilots/data/reform_terms.txt``) of a pilot's name, goal, measures and scope;
* ``index`` — what the database keeps about each pilot's text (``manage.py reindex_overlap``);
* ``query`` — candidates and scores (field and region raise a textual score, never create one);
* ``reasons`` — why two pilots look alike, in Chinese;
* ``flags`` — at most settings.OVERLAP_MAX_FLAGS flags recorded per check, and the hooks that
  run the check on every way into the library (submission, direct entry, filing, edits,
  imports).
"""

from __future__ import annotations

from pilots.overlap.flags import (
    check_ids_on_commit,
    check_on_commit,
    check_pilots,
    record_overlaps,
)
from pilots.overlap.index import (
    BANDS,
    NATIONAL_ORIGINS,
    ROWS,
    SIG_BINS,
    VERSION,
    band_keys,
    index_pilot,
    reindex_all,
    sampled_terms,
    signature,
)
from pilots.overlap.query import (
    COVER_MIN,
    DEFAULT_MAX_FLAGS,
    DEFAULT_MIN_SCORE,
    ELIGIBLE_STATES,
    NATIONAL_MIN,
    REGION_BOOST,
    STRUCTURAL_FLOOR,
    Candidate,
    find_overlaps,
    max_flags,
    reform_score,
    region_scope,
    text_score,
)
from pilots.overlap.reasons import (
    REASON_COVERED,
    REASON_FIELD_REGION,
    REASON_NATIONAL,
    REASON_PARTS_PREFIX,
    REASON_REFORM_PREFIX,
    REASON_RELATED_PREFIX,
    REASON_TERMS_PREFIX,
    explain,
)
from pilots.overlap.text import (
    KEY_TERMS,
    PLACE_NAMES,
    STOP_WORDS,
    Analysis,
    analyse,
    analyse_pilot,
    concept_id,
    containment,
    dice,
    glossary,
    normalise,
    similarity,
    term_id,
    text_similarity,
    tokenizer,
)

__all__ = [
    "BANDS",
    "COVER_MIN",
    "DEFAULT_MAX_FLAGS",
    "DEFAULT_MIN_SCORE",
    "ELIGIBLE_STATES",
    "KEY_TERMS",
    "NATIONAL_MIN",
    "NATIONAL_ORIGINS",
    "PLACE_NAMES",
    "REASON_COVERED",
    "REASON_FIELD_REGION",
    "REASON_NATIONAL",
    "REASON_PARTS_PREFIX",
    "REASON_REFORM_PREFIX",
    "REASON_RELATED_PREFIX",
    "REASON_TERMS_PREFIX",
    "REGION_BOOST",
    "ROWS",
    "SIG_BINS",
    "STOP_WORDS",
    "STRUCTURAL_FLOOR",
    "VERSION",
    "Analysis",
    "Candidate",
    "analyse",
    "analyse_pilot",
    "band_keys",
    "check_ids_on_commit",
    "check_on_commit",
    "check_pilots",
    "concept_id",
    "containment",
    "dice",
    "explain",
    "find_overlaps",
    "glossary",
    "index_pilot",
    "max_flags",
    "normalise",
    "record_overlaps",
    "reform_score",
    "region_scope",
    "reindex_all",
    "sampled_terms",
    "signature",
    "similarity",
    "term_id",
    "text_score",
    "text_similarity",
    "tokenizer",
]
