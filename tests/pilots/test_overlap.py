"""R1.3 避免重复交叉: the overlap check (pilots.overlap) — near-duplicates, a state pilot
already in the province, a field that already has a pilot in the same (or an enclosing)
region, a single-item pilot a comprehensive pilot covers — and its index."""

from __future__ import annotations

import random

import pytest
from django.core.management import call_command

from accounts.constants import OrgKind
from pilots import overlap
from pilots.constants import Origin, OverlapVerdict, PilotKind, ReformField, Status
from pilots.models import OverlapFlag
from pilots.models_overlap import OverlapBand, OverlapFingerprint, OverlapTerm
from tests.factories import OrganisationFactory, UserFactory

EMISSIONS = {
    "name": "排污权有偿使用和交易改革试点",
    "field": ReformField.MARKET,
    "goal": (
        "建立排污权有偿使用和交易制度，发挥市场机制在环境资源配置中的作用，促进主要污染物"
        "持续减排，到2027年全市重点排污单位全面实行排污权有偿使用。"
    ),
    "measures": (
        "1.核定重点排污单位初始排污权，实行有偿取得并按年度缴纳使用费；2.建设全市统一的"
        "排污权交易平台，规范交易规则和价格形成机制；3.探索开展排污权抵押贷款，引导银行机构"
        "推出绿色信贷产品；4.建立排污权储备和回购制度，对闲置排污权依法收储。"
    ),
    "scope": "杭州市重点排污单位。",
}
FORESTS = {
    "name": "林长制改革试点",
    "field": ReformField.GOVERNANCE,
    "goal": (
        "建立市、县、乡、村四级林长体系，压实各级党委政府保护发展森林资源的责任，到2027年"
        "森林覆盖率稳定在61%以上。"
    ),
    "measures": (
        "1.设立各级林长，划定林长责任区；2.建立林长巡林和问题交办制度；3.将森林覆盖率、林木"
        "蓄积量纳入年度考核；4.建设林长制智慧管理平台。"
    ),
    "scope": "鄞州区全域。",
}
WASTE = {
    "name": "生活垃圾分类和资源化利用试点",
    "field": ReformField.RESOURCE_QUOTA,
    "goal": "推行生活垃圾强制分类，建立分类投放、分类收集、分类运输、分类处理的全链条体系。",
    "measures": (
        "1.在居民小区推行定时定点投放和桶边督导；2.建设再生资源回收站点和分拣中心；3.实行"
        "餐厨垃圾单独收运和资源化处理；4.将垃圾分类纳入文明城市测评。"
    ),
    "scope": "西湖区全域。",
}
DAMAGES_NATIONAL = {
    "name": "生态环境损害赔偿制度改革试点",
    "field": ReformField.GOVERNANCE,
    "goal": (
        "落实国家生态环境损害赔偿制度改革部署，明确赔偿范围、责任主体、索赔主体和损害赔偿"
        "解决途径，形成相应的鉴定评估管理和技术体系。"
    ),
    "measures": (
        "1.开展生态环境损害调查和鉴定评估；2.建立赔偿磋商机制，磋商不成的依法提起诉讼；"
        "3.设立生态环境损害赔偿资金账户，规范修复资金管理；4.组织开展修复效果评估。"
    ),
    "scope": "宁波市全域。",
}
DAMAGES_PROVINCIAL = {
    "name": "生态环境损害赔偿磋商机制创新试点",
    "field": ReformField.GOVERNANCE,
    "goal": (
        "探索生态环境损害赔偿磋商和司法确认衔接机制，提高赔偿案件办理效率，及时修复受损生态环境。"
    ),
    "measures": (
        "1.制定生态环境损害赔偿磋商办法；2.委托第三方开展损害鉴定评估；3.建立赔偿资金管理"
        "和修复监督制度；4.推动磋商协议司法确认。"
    ),
    "scope": "杭州市全域。",
}
COMPREHENSIVE = {
    "name": "宁波市生态文明综合改革试点",
    "field": ReformField.PROPERTY_RIGHTS,
    "kind": PilotKind.COMPREHENSIVE,
    "goal": (
        "系统推进生态文明体制改革，在自然资源资产产权、生态补偿、环境治理和市场体系等方面"
        "先行先试，到2028年基本建成系统完整的生态文明制度体系。"
    ),
    "measures": (
        "1.开展自然资源统一确权登记；2.推行排污权有偿使用和交易，建设排污权交易平台，探索"
        "排污权抵押贷款；3.建立流域横向生态补偿机制；4.全面推行河长制、林长制；5.开展生态产品"
        "价值实现机制试点，建立GEP核算体系；6.推进绿色金融改革，发展绿色信贷和环境污染责任"
        "保险；7.实行领导干部自然资源资产离任审计。"
    ),
    "scope": "宁波市全域。",
}
EMISSIONS_SINGLE = {
    "name": "排污权有偿使用和交易试点",
    "field": ReformField.MARKET,
    "goal": "推行排污权有偿使用和交易，建立排污权交易平台，发挥市场机制作用。",
    "measures": (
        "1.核定初始排污权并实行有偿使用；2.建设排污权交易平台，开展排污权交易；3.探索排污权"
        "抵押贷款。"
    ),
    "scope": "杭州市。",
}


def near_duplicate(text: dict, rate: float = 0.15, seed: int = 7) -> dict:
    """A copy of a pilot's text with `rate` of the characters of each part changed to other
    characters of the same text (what a careless re-submission looks like)."""
    rng = random.Random(seed)
    out = dict(text)
    pool = [ch for key in ("name", "goal", "measures") for ch in text[key] if "\u4e00" <= ch]
    for key in ("name", "goal", "measures", "scope"):
        chars = list(text[key])
        for pos in rng.sample(range(len(chars)), max(1, round(rate * len(chars)))):
            new = chars[pos]
            while new == chars[pos]:
                new = rng.choice(pool)
            chars[pos] = new
        out[key] = "".join(chars)
    return out


@pytest.fixture
def pilot(make_pilot):
    """pilot(text, regions=[...], **fields) → a pilot made by the factory and indexed."""

    def _make(text: dict, *, index: bool = True, **kwargs):
        p = make_pilot(**{**text, **kwargs})
        if index:
            overlap.index_pilot(p)
        return p

    return _make


def ids(candidates) -> list[int]:
    return [c.pilot_id for c in candidates]


def by_id(candidates) -> dict[int, overlap.Candidate]:
    return {c.pilot_id: c for c in candidates}


def terms_reason(candidate) -> str:
    return next(r for r in candidate.reasons if r.startswith(overlap.REASON_TERMS_PREFIX))


# --- near-duplicates -------------------------------------------------------------------------
def test_R1_3_near_duplicate_is_found_first_with_high_score_and_shared_terms(pilot, orgs):
    original = pilot(EMISSIONS, regions=[orgs["hangzhou"]])
    forests = pilot(FORESTS, regions=[orgs["nb_county"]])
    waste = pilot(WASTE, regions=[orgs["county"]])
    proposal = pilot(near_duplicate(EMISSIONS), status=Status.SUBMITTED, regions=[orgs["ningbo"]])

    found = overlap.find_overlaps(proposal)

    assert found and found[0].pilot_id == original.pk
    assert found[0].score >= 0.5
    reason = terms_reason(found[0])
    words = reason.removeprefix(overlap.REASON_TERMS_PREFIX).split("、")
    assert 1 <= len(words) <= 5
    for word in words:  # real words of both texts, not hashes or stop words
        assert len(word) >= 2
        assert word in overlap.normalise(proposal.name + proposal.goal + proposal.measures)
        assert word in overlap.normalise(original.name + original.goal + original.measures)
        assert word not in overlap.STOP_WORDS
    assert forests.pk not in ids(found) and waste.pk not in ids(found)


def test_R1_3_scores_rank_closer_copies_higher(pilot, orgs):
    original = pilot(EMISSIONS, regions=[orgs["hangzhou"]])
    light = pilot(near_duplicate(EMISSIONS, 0.05), status=Status.DRAFT, regions=[orgs["ningbo"]])
    heavy = pilot(near_duplicate(EMISSIONS, 0.25), status=Status.DRAFT, regions=[orgs["ningbo"]])

    light_score = by_id(overlap.find_overlaps(light))[original.pk].score
    heavy_score = by_id(overlap.find_overlaps(heavy))[original.pk].score

    assert 0 < heavy_score < light_score <= 1


def test_R1_3_unrelated_pilot_is_not_flagged(pilot, orgs):
    existing = [
        pilot(FORESTS, regions=[orgs["nb_county"]]),
        pilot(WASTE, regions=[orgs["county"]]),
        pilot(DAMAGES_PROVINCIAL, regions=[orgs["hangzhou"]]),
    ]
    proposal = pilot(EMISSIONS, status=Status.SUBMITTED, regions=[orgs["ningbo"]])

    found = overlap.find_overlaps(proposal)

    assert not set(ids(found)) & {p.pk for p in existing}
    assert found == []


def test_R1_3_unrelated_pilot_in_the_same_region_but_another_field_is_not_flagged(pilot, orgs):
    forests = pilot(FORESTS, regions=[orgs["hangzhou"]])
    proposal = pilot(EMISSIONS, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    assert forests.pk not in ids(overlap.find_overlaps(proposal))


# --- same field, same or overlapping region --------------------------------------------------
def test_R1_3_same_field_and_region_never_create_a_score(pilot, orgs):
    existing = pilot(FORESTS, regions=[orgs["county"]])
    proposal = pilot(
        DAMAGES_PROVINCIAL, status=Status.SUBMITTED, regions=[orgs["county"]]
    )  # both in 环境治理体系, in the same county, and nothing in common in their text

    assert existing.pk not in ids(overlap.find_overlaps(proposal))
    assert overlap.record_overlaps(proposal) == []


def test_R1_3_same_field_and_region_raise_a_textual_score(pilot, orgs):
    text = {**DAMAGES_PROVINCIAL, "name": "生态环境损害赔偿资金管理改革试点"}
    nearby = pilot(text, regions=[orgs["county"]])
    elsewhere = pilot(text, regions=[orgs["ningbo"]])
    proposal = pilot(DAMAGES_PROVINCIAL, status=Status.SUBMITTED, regions=[orgs["county"]])

    found = by_id(overlap.find_overlaps(proposal))

    assert overlap.REASON_FIELD_REGION in found[nearby.pk].reasons
    assert overlap.REASON_FIELD_REGION not in found[elsewhere.pk].reasons
    assert found[nearby.pk].score == pytest.approx(
        min(1.0, found[elsewhere.pk].score * overlap.REGION_BOOST), abs=1e-3
    )


def test_R1_3_a_county_lies_inside_its_prefecture_both_ways(pilot, orgs):
    in_prefecture = pilot(FORESTS, regions=[orgs["hangzhou"]])
    in_county = pilot(
        {**FORESTS, "name": "西湖区林长制试点"}, status=Status.SUBMITTED, regions=[orgs["county"]]
    )

    from_county = by_id(overlap.find_overlaps(in_county))
    from_prefecture = by_id(overlap.find_overlaps(in_prefecture))

    assert overlap.REASON_FIELD_REGION in from_county[in_prefecture.pk].reasons
    assert overlap.REASON_FIELD_REGION in from_prefecture[in_county.pk].reasons


def test_R1_3_sibling_counties_and_other_prefectures_do_not_overlap(pilot, orgs):
    sibling = OrganisationFactory(
        code="hz-xiaoshan",
        name="杭州市生态环境局萧山分局",
        short_name="萧山区",
        kind=OrgKind.COUNTY,
        parent=orgs["hangzhou"],
    )
    in_sibling = pilot(DAMAGES_PROVINCIAL, regions=[sibling])
    in_ningbo = pilot(DAMAGES_PROVINCIAL, regions=[orgs["ningbo"]])
    proposal = pilot(FORESTS, status=Status.SUBMITTED, regions=[orgs["county"]])

    found = by_id(overlap.find_overlaps(proposal))

    assert in_sibling.pk not in found and in_ningbo.pk not in found


def test_R1_3_same_field_region_is_found_even_if_the_other_was_never_indexed(pilot, orgs):
    existing = pilot(FORESTS, regions=[orgs["county"]], index=False)
    proposal = pilot(near_duplicate(FORESTS), status=Status.SUBMITTED, regions=[orgs["county"]])

    found = by_id(overlap.find_overlaps(proposal))

    assert overlap.REASON_FIELD_REGION in found[existing.pk].reasons
    assert terms_reason(found[existing.pk])
    assert found[existing.pk].score > 0.6


# --- pilots the state deployed ---------------------------------------------------------------
def test_R1_3_state_pilot_on_a_similar_topic_is_flagged(pilot, orgs):
    national = pilot(DAMAGES_NATIONAL, origin=Origin.MINISTRY, regions=[orgs["ningbo"]])
    proposal = pilot(
        DAMAGES_PROVINCIAL,
        origin=Origin.DEPARTMENT,
        status=Status.SUBMITTED,
        regions=[orgs["hangzhou"]],
    )

    found = by_id(overlap.find_overlaps(proposal))

    assert national.pk in found
    assert overlap.REASON_NATIONAL in found[national.pk].reasons
    assert overlap.REASON_FIELD_REGION not in found[national.pk].reasons
    assert "生态环境损害赔偿" in terms_reason(found[national.pk])
    assert found[national.pk].score >= overlap.STRUCTURAL_FLOOR


def test_R1_3_central_origin_counts_as_the_state_too(pilot, orgs):
    national = pilot(DAMAGES_NATIONAL, origin=Origin.CENTRAL, regions=[])
    proposal = pilot(DAMAGES_PROVINCIAL, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    assert overlap.REASON_NATIONAL in by_id(overlap.find_overlaps(proposal))[national.pk].reasons


def test_R1_3_state_pilot_on_another_topic_is_not_flagged(pilot, orgs):
    national = pilot(FORESTS, origin=Origin.MINISTRY, regions=[orgs["ningbo"]])
    provincial_twin = pilot(DAMAGES_NATIONAL, origin=Origin.PROVINCIAL, regions=[orgs["ningbo"]])
    proposal = pilot(DAMAGES_PROVINCIAL, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    found = by_id(overlap.find_overlaps(proposal))

    assert national.pk not in found
    # A similar pilot that the province (not the state) runs elsewhere: similar text only.
    assert (
        overlap.REASON_NATIONAL
        not in found.get(provincial_twin.pk, overlap.Candidate(0, 0, [])).reasons
    )


# --- comprehensive pilots --------------------------------------------------------------------
def test_R1_3_single_pilot_covered_by_a_comprehensive_pilot_is_flagged(pilot, orgs):
    comprehensive = pilot(COMPREHENSIVE, origin=Origin.PROVINCIAL, regions=[orgs["ningbo"]])
    proposal = pilot(EMISSIONS_SINGLE, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    found = by_id(overlap.find_overlaps(proposal))

    assert comprehensive.pk in found
    assert overlap.REASON_COVERED in found[comprehensive.pk].reasons
    assert "排污权" in terms_reason(found[comprehensive.pk])
    assert found[comprehensive.pk].score >= overlap.STRUCTURAL_FLOOR
    # Containment, not similarity: the long comprehensive text is far from the short one.
    text = overlap.analyse_pilot(proposal)
    other = overlap.analyse_pilot(comprehensive)
    assert overlap.containment(text, other.ids) >= overlap.COVER_MIN
    assert overlap.containment(text, other.ids) > 1.5 * overlap.dice(text, other.ids)


def test_R1_3_comprehensive_pilot_does_not_cover_what_it_does_not_mention(pilot, orgs):
    comprehensive = pilot(COMPREHENSIVE, origin=Origin.PROVINCIAL, regions=[orgs["ningbo"]])
    proposal = pilot(WASTE, status=Status.SUBMITTED, regions=[orgs["county"]])

    assert comprehensive.pk not in ids(overlap.find_overlaps(proposal))


def test_R1_3_covering_applies_only_to_a_single_item_pilot(pilot, orgs):
    comprehensive = pilot(COMPREHENSIVE, origin=Origin.PROVINCIAL, regions=[orgs["ningbo"]])
    proposal = pilot(
        {**EMISSIONS_SINGLE, "kind": PilotKind.COMPREHENSIVE},
        status=Status.SUBMITTED,
        regions=[orgs["hangzhou"]],
    )

    found = by_id(overlap.find_overlaps(proposal))

    assert (
        overlap.REASON_COVERED
        not in found.get(comprehensive.pk, overlap.Candidate(0, 0, [])).reasons
    )


# --- which pilots can be candidates ----------------------------------------------------------
@pytest.mark.parametrize(
    ("status", "candidate"),
    [
        (Status.DRAFT, False),
        (Status.REJECTED, False),
        (Status.WITHDRAWN, False),
        (Status.PURGED, False),
        (Status.SUBMITTED, True),
        (Status.RETURNED, True),
        (Status.ENDORSED, True),
        (Status.APPROVED, True),
        (Status.ACTIVE, True),
        (Status.EXTENSION_REQUESTED, True),
        (Status.CLOSED, True),
    ],
)
def test_R1_3_only_submitted_or_later_pilots_still_in_play_are_candidates(
    pilot, orgs, status, candidate
):
    other = pilot(
        EMISSIONS, status=status, origin=Origin.MINISTRY, regions=[orgs["hangzhou"]]
    )  # similar text, same field and region, state-deployed: flagged on every count if eligible
    proposal = pilot(EMISSIONS, status=Status.DRAFT, regions=[orgs["hangzhou"]])

    assert (other.pk in ids(overlap.find_overlaps(proposal))) is candidate


def test_R1_3_never_the_pilot_itself(pilot, orgs):
    proposal = pilot(EMISSIONS, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    assert overlap.find_overlaps(proposal) == []


def test_R1_3_an_unsaved_proposal_can_be_checked(pilot, make_pilot, orgs):
    from pilots.models import Pilot

    original = pilot(EMISSIONS, regions=[orgs["hangzhou"]])
    unsaved = Pilot(**near_duplicate(EMISSIONS), kind=PilotKind.SINGLE, origin=Origin.CALL)

    assert ids(overlap.find_overlaps(unsaved)) == [original.pk]


def test_R1_3_limit_and_min_score(pilot, orgs):
    for i in range(4):
        pilot(near_duplicate(FORESTS, 0.1, seed=i), regions=[orgs["county"]])
    proposal = pilot(FORESTS, status=Status.SUBMITTED, regions=[orgs["county"]])

    everything = overlap.find_overlaps(proposal)
    assert len(everything) == 4
    assert [c.score for c in everything] == sorted((c.score for c in everything), reverse=True)
    assert len(overlap.find_overlaps(proposal, limit=2)) == 2
    assert overlap.find_overlaps(proposal, min_score=1.01) == []


# --- recording flags -------------------------------------------------------------------------
def test_R1_3_record_overlaps_upserts_flags_and_keeps_verdicts(pilot, orgs):
    neighbour = pilot(FORESTS, regions=[orgs["county"]])  # same field and region
    national = pilot(DAMAGES_NATIONAL, origin=Origin.MINISTRY, regions=[orgs["ningbo"]])
    proposal = pilot(DAMAGES_PROVINCIAL, status=Status.SUBMITTED, regions=[orgs["county"]])
    screener = UserFactory(username="screener", organisation=orgs["hangzhou"])

    flags = overlap.record_overlaps(proposal)

    assert [f.other_id for f in flags] == ids(overlap.find_overlaps(proposal))
    # The neighbour shares field and region but no text: not flagged.
    assert {f.other_id for f in flags} == {national.pk}
    first = OverlapFlag.objects.get(pilot=proposal, other=national)
    assert first.verdict == OverlapVerdict.PENDING
    assert overlap.REASON_NATIONAL in first.reasons
    first.verdict = OverlapVerdict.DISTINCT
    first.note = "内容不同：本试点聚焦赔偿磋商。"
    first.decided_by = screener
    first.save()

    def rewrite(text: dict) -> list[OverlapFlag]:
        proposal.name, proposal.goal, proposal.measures = (
            text["name"],
            text["goal"],
            text["measures"],
        )
        proposal.save()
        overlap.index_pilot(proposal)
        return overlap.record_overlaps(proposal)

    # The applicant rewrites the plan closer to the national one: score updated, verdict kept.
    rewrite(near_duplicate(DAMAGES_NATIONAL))
    kept = OverlapFlag.objects.get(pilot=proposal, other=national)
    assert (kept.verdict, kept.note, kept.decided_by) == (
        OverlapVerdict.DISTINCT,
        "内容不同：本试点聚焦赔偿磋商。",
        screener,
    )
    assert kept.score == by_id(overlap.find_overlaps(proposal))[national.pk].score > first.score
    # … then close to the neighbour's, nothing about damages.
    again = rewrite(near_duplicate(FORESTS))
    assert [f.other_id for f in again] == [neighbour.pk]
    new = OverlapFlag.objects.get(pilot=proposal, other=neighbour)
    assert new.verdict == OverlapVerdict.PENDING
    assert overlap.REASON_FIELD_REGION in new.reasons
    assert any(r.startswith(overlap.REASON_TERMS_PREFIX) for r in new.reasons)
    # A flag no longer found is left as it was, and nothing is duplicated.
    assert OverlapFlag.objects.filter(pilot=proposal).count() == 2
    assert OverlapFlag.objects.get(pilot=proposal, other=national).verdict == (
        OverlapVerdict.DISTINCT
    )


def test_R1_3_record_overlaps_twice_writes_nothing_new(pilot, orgs):
    pilot(EMISSIONS, regions=[orgs["hangzhou"]])
    proposal = pilot(near_duplicate(EMISSIONS), status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    overlap.record_overlaps(proposal)
    history = OverlapFlag.history.count()
    overlap.record_overlaps(proposal)

    assert OverlapFlag.history.count() == history


# --- the index -------------------------------------------------------------------------------
def index_rows(p) -> tuple:
    fp = OverlapFingerprint.objects.get(pilot=p)
    return (
        fp.version,
        fp.text_hash,
        bytes(fp.terms),
        sorted(OverlapBand.objects.filter(pilot=p).values_list("key", flat=True)),
        sorted(OverlapTerm.objects.filter(pilot=p).values_list("term", flat=True)),
    )


def test_R1_3_index_pilot_is_idempotent(pilot, orgs):
    p = pilot(EMISSIONS, origin=Origin.MINISTRY, regions=[orgs["hangzhou"]])
    before = index_rows(p)
    indexed_at = OverlapFingerprint.objects.get(pilot=p).indexed_at

    overlap.index_pilot(p)
    overlap.index_pilot(p)

    assert index_rows(p) == before
    assert OverlapFingerprint.objects.get(pilot=p).indexed_at == indexed_at  # not rewritten
    assert len(before[3]) == overlap.BANDS
    assert len(before[4]) > 0  # state-deployed: its sampled terms are in the term index


def test_R1_3_index_pilot_replaces_the_rows_of_changed_text(pilot, orgs):
    p = pilot(EMISSIONS, regions=[orgs["hangzhou"]])
    old = index_rows(p)

    p.name, p.goal, p.measures = FORESTS["name"], FORESTS["goal"], FORESTS["measures"]
    p.kind = PilotKind.COMPREHENSIVE
    p.save()
    overlap.index_pilot(p)
    new = index_rows(p)

    assert new[1] != old[1] and new[2] != old[2]
    assert len(new[3]) == overlap.BANDS and not set(new[3]) & set(old[3])
    assert new[4]  # comprehensive now: in the term index
    assert OverlapBand.objects.count() == overlap.BANDS

    p.kind = PilotKind.SINGLE
    p.save()
    overlap.index_pilot(p)
    assert index_rows(p)[4] == []
    assert OverlapTerm.objects.count() == 0


def test_R1_3_rows_of_another_index_version_are_replaced(pilot, orgs):
    p = pilot(EMISSIONS, origin=Origin.MINISTRY, regions=[orgs["hangzhou"]])
    other = pilot(FORESTS, origin=Origin.MINISTRY, regions=[orgs["ningbo"]])
    expected, others = index_rows(p), index_rows(other)
    OverlapFingerprint.objects.filter(pilot=p).update(version=overlap.VERSION - 1)
    OverlapBand.objects.create(key=12345 << 8, pilot=p)  # a row the old version wrote

    # Until it is reindexed the pilot is still compared, from its text.
    proposal = pilot(near_duplicate(EMISSIONS), status=Status.DRAFT, regions=[orgs["hangzhou"]])
    assert p.pk in ids(overlap.find_overlaps(proposal))

    overlap.index_pilot(p)

    assert index_rows(p) == expected
    assert index_rows(other) == others


def test_R1_3_reindex_all_rebuilds_what_index_pilot_writes(pilot, orgs):
    pilots = [
        pilot(EMISSIONS, regions=[orgs["hangzhou"]]),
        pilot(COMPREHENSIVE, regions=[orgs["ningbo"]]),
        pilot(DAMAGES_NATIONAL, origin=Origin.CENTRAL, regions=[orgs["ningbo"]]),
        pilot({**WASTE, "goal": "", "measures": "", "name": "试点", "scope": ""}),  # no terms
    ]
    expected = {p.pk: index_rows(p) for p in pilots}
    OverlapBand.objects.all().delete()
    OverlapFingerprint.objects.filter(pilot=pilots[0]).delete()

    counts = overlap.reindex_all(batch_size=2)

    assert {p.pk: index_rows(p) for p in pilots} == expected
    assert counts["pilots"] == 4
    assert counts["bands"] == 3 * overlap.BANDS
    assert counts["terms"] == OverlapTerm.objects.count() > 0


def test_R1_3_reindex_overlap_command(pilot, orgs, capsys):
    p = pilot(EMISSIONS, regions=[orgs["hangzhou"]], index=False)

    call_command("reindex_overlap", batch_size=10)

    assert OverlapFingerprint.objects.filter(pilot=p).exists()
    assert "1" in capsys.readouterr().out


def test_R1_3_text_analysis_cuts_policy_words_and_keeps_key_terms():
    text = overlap.analyse("推进排污权有偿使用和交易制度改革", "建立生态补偿机制", "", "杭州市全域")

    assert "排污权有偿使用和交易" in text.keys and "生态补偿机制" in text.keys
    assert text.core_names == ["排污权"]  # what the name is about
    assert "生态补偿" in text.concept_names
    assert overlap.term_id("改革") not in text.ids
    assert overlap.term_id("推进") not in text.ids
    assert overlap.term_id("杭州") not in text.ids  # places are compared through regions
    assert overlap.term_id("交易") in text.ids and overlap.term_id("排污权") in text.ids
    assert overlap.similarity("生态环境损害赔偿磋商", "生态环境损害赔偿磋商") == 1.0
    assert overlap.similarity("林长制", "排污权交易") == 0.0
