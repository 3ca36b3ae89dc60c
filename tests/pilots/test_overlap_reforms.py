"""R1.3: the same reform in other words — the cases the screeners named: two prefectures'
pilots of one reform system, a pilot that delimits a protected zone and one that surveys and
marks the same zone's boundaries (勘界定标), a proposal linking plan and project environmental
assessment and an existing reform of one of them — and the reasons a flag carries."""

from __future__ import annotations

import pytest

from pilots import overlap
from pilots.constants import Origin, ReformField, Status

EMISSIONS_JIAXING = {
    "name": "嘉兴市排污权指标市场化配置改革试点",
    "field": ReformField.MARKET,
    "goal": "深化排污权有偿使用和交易，探索排污权跨区域交易、租赁和与排污许可衔接，提高环境"
    "资源配置效率。",
    "measures": "1.以排污许可证载明的许可排放量核定初始排污权；2.开展县（市、区）间排污权交易和"
    "排污权租赁；3.建立排污权交易价格指数；4.推动排污权抵押贷款扩面。",
}
EMISSIONS_HUZHOU = {
    "name": "湖州市主要污染物排放指标有偿取得与市场流转改革",
    "field": ReformField.MARKET,
    "goal": "企业新增的化学需氧量、氨氮等排放指标一律有偿获得，富余指标可以在全市范围内挂牌"
    "转让，用价格信号倒逼企业减排。",
    "measures": "1.以许可证核定的排放量为基数确定企业初始指标；2.搭建市级指标交易系统，定期公布"
    "成交价格；3.允许企业以排放指标向银行申请融资。",
}
RED_LINE_MARKING = {
    "name": "温岭市东部新区生态保护红线勘界定标改革试点",
    "field": ReformField.SPATIAL_PROTECTION,
    "goal": "对生态保护红线开展勘界定标，设立界桩和标识牌，将红线落到地块，解决红线边界不清、"
    "监管依据不足的问题。",
    "measures": "1.开展红线边界实地勘测和矢量数据核准；2.在关键拐点设立界桩、标识牌；3.建立红线"
    "勘界成果数据库；4.将红线纳入生态环境监管“一张图”。",
}
RED_LINE_DELIMITING = {
    "name": "台州市东部新区生态红线划定与落地管控试点",
    "field": ReformField.SPATIAL_PROTECTION,
    "goal": "在东部新区划定生态红线并把红线落到具体地块，让红线范围看得见、管得住。",
    "measures": "1.核准红线范围；2.埋设界桩和警示牌；3.红线成果纳入执法监管平台。",
}
REGIONAL_EIA = {
    "name": "钱塘区省级开发区“区域环评+环境标准”改革深化试点",
    "field": ReformField.GOVERNANCE,
    "goal": "以规划环评和区域环境标准为基础，简化区内建设项目环评，实现“规划环评管区域、项目"
    "环评简审批”。",
    "measures": "1.完成区域环评并制定环境准入负面清单；2.对负面清单外项目实行环评告知承诺或降低"
    "评价等级；3.强化项目事中事后监管；4.建立区域环评定期回顾评价制度。",
}
LINKED_EIA = {
    "name": "嘉兴市规划环评与项目环评联动改革试点",
    "field": ReformField.GOVERNANCE,
    "goal": "在省级以上开发区以规划环境影响评价的结论指导入园项目，落地项目的评价内容相应"
    "简化，减少重复论证。",
    "measures": "1.开发区规划环评明确准入要求；2.符合规划环评结论的项目降低评价等级或简化内容；"
    "3.建立规划环评跟踪评价。",
}
FORESTS = {
    "name": "林长制改革试点",
    "field": ReformField.SPATIAL_PROTECTION,
    "goal": "建立市、县、乡、村四级林长体系，压实保护发展森林资源的责任。",
    "measures": "1.设立各级林长，划定林长责任区；2.建立林长巡林和问题交办制度。",
}


@pytest.fixture
def pilot(make_pilot):
    def _make(text: dict, **kwargs):
        p = make_pilot(**{**text, "scope": "全域。", **kwargs})
        overlap.index_pilot(p)
        return p

    return _make


def flag_of(proposal, other) -> overlap.Candidate | None:
    return next((c for c in overlap.find_overlaps(proposal) if c.pilot_id == other.pk), None)


@pytest.mark.parametrize(
    ("existing", "proposal", "reform"),
    [
        (EMISSIONS_JIAXING, EMISSIONS_HUZHOU, "排污权"),
        (RED_LINE_MARKING, RED_LINE_DELIMITING, "生态保护红线"),
        (REGIONAL_EIA, LINKED_EIA, "规划环评"),
    ],
    ids=["one reform system in two prefectures", "勘界定标 vs 划定", "规划环评与项目环评联动"],
)
def test_R1_3_the_same_reform_in_other_words_is_flagged_with_its_wordings(
    pilot, orgs, existing, proposal, reform
):
    other = pilot(existing, origin=Origin.DEPARTMENT, regions=[orgs["ningbo"]])
    new = pilot(proposal, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    flag = flag_of(new, other)

    assert flag is not None and flag.score >= overlap.DEFAULT_MIN_SCORE
    same = [r for r in flag.reasons if r.startswith(overlap.REASON_REFORM_PREFIX + reform)]
    assert same, flag.reasons
    assert "本试点名称" in same[0] and "该试点名称" in same[0]  # which parts, on both sides
    assert overlap.REASON_FIELD_REGION not in flag.reasons  # found on text alone


def test_R1_3_a_proposal_on_another_reform_is_not_flagged(pilot, orgs):
    others = [
        pilot(text, regions=[orgs["hangzhou"]])
        for text in (EMISSIONS_JIAXING, RED_LINE_MARKING, REGIONAL_EIA)
    ]
    new = pilot(FORESTS, status=Status.SUBMITTED, regions=[orgs["hangzhou"]])

    assert {c.pilot_id for c in overlap.find_overlaps(new)}.isdisjoint(p.pk for p in others)


def test_R1_3_reasons_name_shared_words_and_alike_parts(pilot, orgs):
    other = pilot(EMISSIONS_JIAXING, regions=[orgs["ningbo"]])
    copy = pilot(
        {**EMISSIONS_JIAXING, "name": "湖州市排污权市场化配置试点"},
        status=Status.SUBMITTED,
        regions=[orgs["hangzhou"]],
    )

    flag = flag_of(copy, other)

    terms = next(r for r in flag.reasons if r.startswith(overlap.REASON_TERMS_PREFIX))
    assert "排污权" in terms
    parts = next(r for r in flag.reasons if r.startswith(overlap.REASON_PARTS_PREFIX))
    assert "目标—目标" in parts and "措施—措施" in parts
