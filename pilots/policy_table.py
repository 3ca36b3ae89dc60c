"""The access policy's table, `RULES`: who (roles) may do what (actions) on a pilot, by the
relation of the user's organisation to it and the pilot's phase, with the clause behind each
row. `pilots.policy` compiles it (into a Q for lists, into a `PilotAccess` for one pilot) and
is the only module that decides; SECURITY.md prints `table_markdown()`."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from django.db.models import Exists, OuterRef, Q

from accounts.constants import Role
from pilots.constants import Decision, Status

NOTHING = Q(pk__in=[])
EVERYTHING = ~NOTHING  # an empty Q() would vanish when OR-ed

# --- phases: the pilot's state, with the distinctions visibility needs ------------------------


class Phase:
    """A pilot's status, except that a rejection says who rejected it and a withdrawal says
    whether the application had ever reached its prefecture."""

    DRAFT = "draft"
    SUBMITTED = "submitted"
    RETURNED = "returned"
    WITHDRAWN_UNSUBMITTED = "withdrawn_unsubmitted"
    WITHDRAWN_SUBMITTED = "withdrawn_submitted"
    REJECTED_BY_PREFECTURE = "rejected_by_prefecture"
    ENDORSED = "endorsed"
    REJECTED_BY_OFFICE = "rejected_by_office"
    APPROVED = "approved"
    FILING_SUBMITTED = "filing_submitted"
    ACTIVE = "active"
    CLOSURE_REPORTED = "closure_reported"
    EXTENSION_REQUESTED = "extension_requested"
    CLOSED = "closed"
    PURGED = "purged"

    LABELS: dict[str, str] = {
        DRAFT: "草稿",
        SUBMITTED: "已提交待把关",
        RETURNED: "退回修改",
        WITHDRAWN_UNSUBMITTED: "未提交即撤回",
        WITHDRAWN_SUBMITTED: "提交后撤回",
        REJECTED_BY_PREFECTURE: "设区市不予推荐",
        ENDORSED: "设区市已推荐",
        REJECTED_BY_OFFICE: "省办不予通过",
        APPROVED: "已批复待备案",
        FILING_SUBMITTED: "备案待确认",
        ACTIVE: "在册实施",
        CLOSURE_REPORTED: "销号待审核",
        EXTENSION_REQUESTED: "延期待审批",
        CLOSED: "已销号",
        PURGED: "已清理出库",
    }


ALL_PHASES = frozenset(Phase.LABELS)
# The applicant's own work before the prefecture has endorsed it (N3): private to the
# applicant, its prefecture once submitted, and the office.
UNENDORSED = frozenset(
    {
        Phase.DRAFT,
        Phase.SUBMITTED,
        Phase.RETURNED,
        Phase.WITHDRAWN_UNSUBMITTED,
        Phase.WITHDRAWN_SUBMITTED,
        Phase.REJECTED_BY_PREFECTURE,
    }
)
# What the prefecture has seen since the applicant submitted it (N3).
SUBMITTED_ONCE = frozenset(
    {Phase.SUBMITTED, Phase.RETURNED, Phase.WITHDRAWN_SUBMITTED, Phase.REJECTED_BY_PREFECTURE}
)
# Endorsed by the prefecture: before the office now, and seen by the lead department (N2).
AFTER_ENDORSEMENT = frozenset({Phase.ENDORSED, Phase.REJECTED_BY_OFFICE})
# Approved or later: the pilot exists as a provincial pilot (R2.2 on).
PROVINCIAL = frozenset(
    {
        Phase.APPROVED,
        Phase.FILING_SUBMITTED,
        Phase.ACTIVE,
        Phase.CLOSURE_REPORTED,
        Phase.EXTENSION_REQUESTED,
        Phase.CLOSED,
        Phase.PURGED,
    }
)
assert UNENDORSED | AFTER_ENDORSEMENT | PROVINCIAL == ALL_PHASES


def _ever_submitted() -> Q:
    from pilots.models import Opinion

    return Q(Exists(Opinion.objects.filter(pilot=OuterRef("pk"), decision=Decision.SUBMIT)))


def phase_q(phases: Iterable[str]) -> Q:
    """The pilots in any of `phases`, as a Q."""
    phases = set(phases)
    plain = [p for p in phases if p in Status.values and p != Status.WITHDRAWN]
    q = Q(status__in=sorted(plain)) if plain else NOTHING
    if Phase.REJECTED_BY_PREFECTURE in phases:
        q |= Q(status=Status.REJECTED, endorsing_prefecture__isnull=True)
    if Phase.REJECTED_BY_OFFICE in phases:
        q |= Q(status=Status.REJECTED, endorsing_prefecture__isnull=False)
    withdrawn = {Phase.WITHDRAWN_SUBMITTED, Phase.WITHDRAWN_UNSUBMITTED} & phases
    if len(withdrawn) == 2:
        q |= Q(status=Status.WITHDRAWN)
    elif Phase.WITHDRAWN_SUBMITTED in withdrawn:
        q |= Q(status=Status.WITHDRAWN) & _ever_submitted()
    elif Phase.WITHDRAWN_UNSUBMITTED in withdrawn:
        q |= Q(status=Status.WITHDRAWN) & ~_ever_submitted()
    return q


def phase_of(pilot) -> str:
    """The phase of one pilot (one query for a withdrawn application, none otherwise)."""
    if pilot.status == Status.REJECTED:
        if pilot.endorsing_prefecture_id:
            return Phase.REJECTED_BY_OFFICE
        return Phase.REJECTED_BY_PREFECTURE
    if pilot.status == Status.WITHDRAWN:
        submitted = pilot.opinions.filter(decision=Decision.SUBMIT).exists()
        return Phase.WITHDRAWN_SUBMITTED if submitted else Phase.WITHDRAWN_UNSUBMITTED
    return pilot.status


# --- relations: what the user's organisation is to the pilot ----------------------------------


class Rel:
    ANY = "any"  # every pilot: the office keeps the register
    APPLICANT = "applicant"  # the unit that applied for it or entered it
    SCREENER = "screener"  # the prefecture of the applicant (its own or a county's)
    LEAD = "lead"  # the lead department, or the department over the leading division
    PARTICIPANT = "participant"  # a participating unit (参加单位)
    REGION = "region"  # the pilot runs in the unit's area (a prefecture's includes its counties)

    LABELS: dict[str, str] = {
        ANY: "全部",
        APPLICANT: "申报/录入单位",
        SCREENER: "申报单位所在设区市",
        LEAD: "牵头联系部门（含上级部门）",
        PARTICIPANT: "参加单位",
        REGION: "试点地区所在单位",
    }


def relation_q(relation: str, role: str, org) -> Q:
    from pilots.models import Pilot

    if relation == Rel.ANY:
        return EVERYTHING
    if org is None:
        return NOTHING
    if relation == Rel.APPLICANT:
        return Q(applicant=org)
    if relation == Rel.SCREENER:
        return Q(applicant=org) | Q(applicant__parent=org, applicant__kind="county")
    if relation == Rel.LEAD:
        return Q(lead_department=org) | Q(lead_department__parent=org)
    if relation == Rel.PARTICIPANT:
        through = Pilot.participating_units.through.objects.filter(
            pilot=OuterRef("pk"), organisation=org
        )
        return Q(Exists(through))
    if relation == Rel.REGION:
        area = Q(organisation=org)
        if role == Role.PREFECTURE:
            area |= Q(organisation__parent=org)
        through = Pilot.regions.through.objects.filter(area, pilot=OuterRef("pk"))
        return Q(Exists(through))
    raise ValueError(f"unknown relation {relation!r}")


def relations_of(role: str, org, pilot, wanted: set[str]) -> set[str]:
    """The relations `org` has to one pilot, among `wanted` (at most two small queries)."""
    found: set[str] = set()
    if Rel.ANY in wanted:
        found.add(Rel.ANY)
    if org is None:
        return found
    if Rel.APPLICANT in wanted and pilot.applicant_id == org.pk:
        found.add(Rel.APPLICANT)
    if Rel.SCREENER in wanted and pilot.applicant.prefecture_id == org.pk:
        found.add(Rel.SCREENER)
    if Rel.LEAD in wanted:
        lead = pilot.lead_department
        if org.pk in (lead.pk, lead.parent_id):
            found.add(Rel.LEAD)
    if Rel.PARTICIPANT in wanted and pilot.participating_units.filter(pk=org.pk).exists():
        found.add(Rel.PARTICIPANT)
    if Rel.REGION in wanted:
        area = Q(pk=org.pk) | (Q(parent=org) if role == Role.PREFECTURE else NOTHING)
        if pilot.regions.filter(area).exists():
            found.add(Rel.REGION)
    return found


# --- actions ------------------------------------------------------------------------------------


class Act:
    VIEW = "view"  # read the pilot and what hangs off it
    CHANGE = "change"  # edit its content
    APPLY = "apply"  # submit or withdraw the application (N3)
    SCREEN = "screen"  # the prefecture's screening: checklist, return, reject, endorse (N3)
    OPINION = "opinion"  # the lead department's opinion in its field (N2)
    DECIDE = "decide"  # the office's decision on an application; overlap verdicts it owns
    FILE = "file"  # filing within a week of approval (R2.2)
    CONFIRM = "confirm"  # the office confirms or returns a filing (R2.2)
    REPORT = (
        "report"  # quarterly progress, closure, extension, acceptance report (R2.3, R2.4, R3.2)
    )
    MANAGE = "manage"  # the office decides closures and extensions, restores, inspects (R2.4, R3.3)

    LABELS: dict[str, str] = {
        VIEW: "查看",
        CHANGE: "修改内容",
        APPLY: "提交或撤回申报",
        SCREEN: "设区市把关",
        OPINION: "牵头部门意见",
        DECIDE: "省办审定",
        FILE: "备案",
        CONFIRM: "确认备案",
        REPORT: "报送进展、销号、延期和验收",
        MANAGE: "审核销号延期、恢复入库、督察",
    }


@dataclass(frozen=True)
class Rule:
    """One row of the policy: `roles` related to the pilot by `relation`, the pilot in one of
    `phases`, may do `actions`; `clause` names the rule of the regulation behind it."""

    roles: frozenset[str]
    relation: str
    phases: frozenset[str]
    actions: frozenset[str]
    clause: str
    why: str


def _rule(roles, relation, phases, actions, clause, why) -> Rule:
    return Rule(frozenset(roles), relation, frozenset(phases), frozenset(actions), clause, why)


OFFICE_ROLES = (Role.OFFICE, Role.ADMIN)
APPLICANT_ROLES = (Role.PREFECTURE, Role.COUNTY)
V = Act.VIEW

RULES: tuple[Rule, ...] = (
    # The office keeps the register and decides.
    _rule(
        OFFICE_ROLES,
        Rel.ANY,
        ALL_PHASES,
        {V, Act.DECIDE, Act.CONFIRM, Act.MANAGE},
        "R2.3",
        "省专项小组办公室建立台账、审定申报、确认备案、审核销号延期",
    ),
    _rule(
        OFFICE_ROLES,
        Rel.ANY,
        {Phase.DRAFT, Phase.RETURNED, Phase.APPROVED},
        {Act.CHANGE},
        "R2.3",
        "省办可修改尚未定稿的内容",
    ),
    # An applicant always sees its own work (N3); edits and submits it while it is its own.
    _rule(APPLICANT_ROLES, Rel.APPLICANT, ALL_PHASES, {V}, "N3", "申报单位查看本单位的申报"),
    _rule(
        APPLICANT_ROLES,
        Rel.APPLICANT,
        {Phase.DRAFT, Phase.RETURNED},
        {Act.CHANGE, Act.APPLY},
        "N3",
        "草稿和退回修改的申报由申报单位修改、提交",
    ),
    _rule(
        APPLICANT_ROLES,
        Rel.APPLICANT,
        {Phase.SUBMITTED},
        {Act.APPLY},
        "N3",
        "已提交待把关的申报可由申报单位撤回",
    ),
    # The prefecture screens what its counties submitted, and no draft of theirs (N3).
    _rule(
        {Role.PREFECTURE},
        Rel.SCREENER,
        SUBMITTED_ONCE | AFTER_ENDORSEMENT,
        {V},
        "N3",
        "设区市局查看所辖县（市、区）已提交的申报",
    ),
    _rule(
        {Role.PREFECTURE},
        Rel.SCREENER,
        {Phase.SUBMITTED},
        {Act.SCREEN},
        "N3",
        "设区市局把关并推荐（每批次一般不超过2项）",
    ),
    # The lead department sees applications in its field once endorsed and gives its opinion
    # (N2); from approval on it files, reports and asks for closure or extension.
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.LEAD,
        AFTER_ENDORSEMENT | PROVINCIAL,
        {V},
        "N2",
        "牵头部门查看本领域已推荐的申报和牵头的试点",
    ),
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.LEAD,
        {Phase.ENDORSED},
        {Act.OPINION},
        "N2",
        "牵头部门按领域对已推荐的申报提出意见",
    ),
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.LEAD,
        {Phase.APPROVED},
        {Act.CHANGE, Act.FILE},
        "R2.2",
        "批复后一周内由牵头部门备案",
    ),
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.LEAD,
        PROVINCIAL - {Phase.APPROVED},
        {Act.REPORT},
        "R2.3",
        "牵头部门按季度报送进展，到期报告销号或申请延期，期满提交总结验收报告",
    ),
    # A department enters state-, ministry- and department-deployed pilots itself (R2.2).
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.APPLICANT,
        ALL_PHASES,
        {V},
        "R2.2",
        "牵头部门查看本部门直接录入的试点",
    ),
    _rule(
        {Role.LEAD_DEPARTMENT},
        Rel.APPLICANT,
        {Phase.APPROVED},
        {Act.CHANGE},
        "R2.2",
        "直接录入的试点在备案前可修改",
    ),
    # Participating units and the regions where a pilot runs see it once it is provincial.
    _rule(
        {Role.LEAD_DEPARTMENT}, Rel.PARTICIPANT, PROVINCIAL, {V}, "R2.3", "参加单位查看其参加的试点"
    ),
    _rule(
        {Role.PREFECTURE, Role.COUNTY},
        Rel.REGION,
        PROVINCIAL,
        {V},
        "R2.1",
        "试点地区的设区市局、县（市、区）局查看本地区的试点",
    ),
    # Experts and third parties see no pilot through this table: an expert reads the
    # applications assigned to it on the review pages (N3); the auditor reads the audit log
    # and nothing else.
)

ACTIONS = frozenset(a for rule in RULES for a in rule.actions)


def table_markdown() -> str:
    """The table as SECURITY.md prints it (a test keeps the two the same)."""
    roles = dict(Role.choices)
    lines = ["| 角色 | 与试点的关系 | 试点所处阶段 | 可以 | 依据 |", "|---|---|---|---|---|"]
    for rule in RULES:
        phases = (
            "全部阶段"
            if rule.phases == ALL_PHASES
            else "、".join(Phase.LABELS[p] for p in Phase.LABELS if p in rule.phases)
        )
        lines.append(
            "| {} | {} | {} | {} | {} {} |".format(
                "、".join(roles[r] for r in sorted(rule.roles)),
                Rel.LABELS[rule.relation],
                phases,
                "、".join(Act.LABELS[a] for a in Act.LABELS if a in rule.actions),
                rule.clause,
                rule.why,
            )
        )
    return "\n".join(lines)


def rules_for(role: str | None, action: str) -> list[Rule]:
    if role is None:
        return []
    return [r for r in RULES if role in r.roles and action in r.actions]
