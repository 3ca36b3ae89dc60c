"""R1.3 reasons: why two pilots look alike, in Chinese, for the screener: the same or a
related reform item, shared key words, alike parts of the texts, and the structural reasons
(same field and region, a state pilot already here, a comprehensive pilot covering it)."""

from __future__ import annotations

from collections.abc import Collection, Iterable

from pilots.overlap.text import (
    KEY_TERMS,
    PARTS,
    Analysis,
    glossary,
    normalise,
    part_reforms,
    term_id,
)

REASON_TERMS_PREFIX = "共同关键词："
REASON_REFORM_PREFIX = "同一改革事项："
REASON_RELATED_PREFIX = "相关改革事项："
REASON_PARTS_PREFIX = "相近部分（本试点—该试点）："
REASON_FIELD_REGION = "同一改革领域且试点地区相同/重叠"
REASON_NATIONAL = "国家已在我省部署同类试点"
REASON_COVERED = "综合性试点已包含相关改革内容"


def _wordings(reforms: dict[str, tuple], reform: str) -> tuple[list[str], list[str]]:
    """(parts, wordings) where a text mentions the reform."""
    parts, wordings = [], []
    for part, label in PARTS.items():
        found = [w for r, w in reforms.get(part, ()) if r == reform]
        if found:
            parts.append(label)
            wordings.extend(found)
    return parts, list(dict.fromkeys(wordings))


def _names(reforms: dict[str, tuple], parts: Iterable[str]) -> list[str]:
    return list(dict.fromkeys(r for part in parts for r, _ in reforms.get(part, ())))


def _reform_reasons(a: Analysis, b_reforms: dict[str, tuple], b_comprehensive: bool) -> list[str]:
    """One line per shared reform item (the most specific of a family), at most three:
    about the same reform first, then reforms one is about and the other mentions."""
    gl = glossary()
    a_core = set(a.core_names)
    b_core = set(_names(b_reforms, ["name"]))
    if not b_core and not b_comprehensive:
        b_core = set(_names(b_reforms, ["goal"]))
    b_all = set(_names(b_reforms, PARTS))
    same = [r for r in a.concept_names if r in a_core and r in b_core]
    related = [
        r for r in a.concept_names if r not in same and r in b_all and (r in a_core or r in b_core)
    ]
    if not same and not related:
        related = [r for r in a.concept_names if r in b_all]
    out = []
    for prefix, reforms in ((REASON_REFORM_PREFIX, same), (REASON_RELATED_PREFIX, related)):
        broader = {up for r in reforms for up in gl.with_ancestors(r)[1:]}
        for reform in reforms:
            if reform in broader or len(out) >= 3:
                continue
            a_parts, a_words = _wordings(a.reforms, reform)
            b_parts, b_words = _wordings(b_reforms, reform)
            out.append(
                f"{prefix}{reform}（本试点{'、'.join(a_parts)}：{'、'.join(a_words[:3])}；"
                f"该试点{'、'.join(b_parts)}：{'、'.join(b_words[:3])}）"
            )
    return out


def _shared_words(a: Analysis, b_ids: Collection[int], limit: int = 5) -> list[str]:
    """Words of a's name, goal and measures that the other pilot's text has too (by the
    stored word ids): key terms first, then the longest; a word inside a chosen one is not
    repeated."""
    keyset = KEY_TERMS | set(glossary().wordings)
    shared = list(
        dict.fromkeys(w for part in PARTS for w in a.words.get(part, ()) if term_id(w) in b_ids)
    )
    shared.sort(key=lambda w: (w not in keyset, -len(w)))
    chosen: list[str] = []
    for word in shared:
        if not any(word in c for c in chosen):
            chosen.append(word)
        if len(chosen) >= limit:
            break
    return chosen


def _alike_parts(a: Analysis, b_texts: dict[str, str], b_reforms: dict[str, tuple]) -> list[str]:
    """Pairs of parts (this pilot's — the other's) that share a reform item, or where the
    other part has at least two of this part's words and a fifth of them."""
    pairs = []
    for pa, la in PARTS.items():
        wa, ra = set(a.words.get(pa, ())), {r for r, _ in a.reforms.get(pa, ())}
        for pb, lb in PARTS.items():
            text, rb = b_texts.get(pb, ""), {r for r, _ in b_reforms.get(pb, ())}
            shared = sum(w in text for w in wa)
            if ra & rb or (shared >= 2 and shared >= 0.2 * len(wa)):
                pairs.append(f"{la}—{lb}")
    return pairs


def explain(
    a: Analysis, b_texts: dict[str, str], b_ids: Collection[int], *, comprehensive: bool = False
) -> list[str]:
    """The screener's reasons for a flag of another pilot (its name, goal and measures, and
    its stored word ids) on a, in Chinese. The other text is only searched, never cut into
    words again: the reasons of five flags cost a few regular-expression scans."""
    b_texts = {part: normalise(b_texts.get(part, "")) for part in PARTS}
    b_reforms = {part: tuple(part_reforms(text)) for part, text in b_texts.items()}
    reasons = _reform_reasons(a, b_reforms, comprehensive)
    words = _shared_words(a, b_ids)
    if words:
        reasons.append(REASON_TERMS_PREFIX + "、".join(words))
    parts = _alike_parts(a, b_texts, b_reforms)
    if parts:
        reasons.append(REASON_PARTS_PREFIX + "、".join(parts))
    return reasons
