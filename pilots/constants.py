"""Choices of the pilot's life: fields, kinds, origins, tiers and states."""

from django.db import models


class ReformField(models.TextChoices):
    """The eight institutional areas of the ecological-civilisation reform."""

    PROPERTY_RIGHTS = "property_rights", "自然资源资产产权制度"
    SPATIAL_PROTECTION = "spatial_protection", "国土空间开发保护制度"
    SPATIAL_PLANNING = "spatial_planning", "空间规划体系"
    RESOURCE_QUOTA = "resource_quota", "资源总量管理和全面节约制度"
    COMPENSATION = "compensation", "资源有偿使用和生态补偿制度"
    GOVERNANCE = "governance", "环境治理体系"
    MARKET = "market", "环境治理和生态保护市场体系"
    ACCOUNTABILITY = "accountability", "生态文明绩效评价考核和责任追究制度"


class PilotKind(models.TextChoices):
    SINGLE = "single", "单项试点"
    COMPREHENSIVE = "comprehensive", "综合性试点"


class Origin(models.TextChoices):
    """Who deployed or approved the pilot (R2.1)."""

    CENTRAL = "central", "党中央、国务院部署"
    PROVINCIAL = "provincial", "省委、省政府批准"
    MINISTRY = "ministry", "国家有关部委部署或批准"
    DEPARTMENT = "department", "省直有关部门开展"
    CALL = "call", "申报批次（省直部门开展）"


class Tier(models.TextChoices):
    """Who manages the pilot (R2.1)."""

    REFORM_OFFICE = "reform_office", "省委改革办统筹"
    SPECIAL_GROUP = "special_group", "省生态文明体制改革专项小组统筹"


TIER_SHORT = {Tier.REFORM_OFFICE: "省委改革办", Tier.SPECIAL_GROUP: "专项小组"}


class Status(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已提交待把关"
    RETURNED = "returned", "退回修改"
    ENDORSED = "endorsed", "设区市已推荐"
    REJECTED = "rejected", "未通过"
    WITHDRAWN = "withdrawn", "已撤回"
    APPROVED = "approved", "已批复待备案"
    FILING_SUBMITTED = "filing_submitted", "备案待确认"
    ACTIVE = "active", "在册实施"
    CLOSURE_REPORTED = "closure_reported", "销号待审核"
    EXTENSION_REQUESTED = "extension_requested", "延期待审批"
    CLOSED = "closed", "已销号"
    PURGED = "purged", "已清理出库"


# Application states: a pilot before the office's decision.
APPLICATION_STATES = frozenset(
    {Status.DRAFT, Status.SUBMITTED, Status.RETURNED, Status.ENDORSED, Status.REJECTED}
)
# States a county's own unsubmitted work can be in: nobody outside the county sees it.
PRIVATE_DRAFT_STATES = frozenset({Status.DRAFT})
# In the ledger (台账): filed and confirmed, still in the library (R2.3).
LEDGER_STATES = frozenset({Status.ACTIVE, Status.CLOSURE_REPORTED, Status.EXTENSION_REQUESTED})
# Approved or later: the pilot exists as a provincial pilot (visible to its regions).
APPROVED_OR_LATER = frozenset(
    {
        Status.APPROVED,
        Status.FILING_SUBMITTED,
        Status.ACTIVE,
        Status.CLOSURE_REPORTED,
        Status.EXTENSION_REQUESTED,
        Status.CLOSED,
        Status.PURGED,
    }
)
# States in which the record's content may still be edited by its owner.
EDITABLE_STATES = frozenset({Status.DRAFT, Status.RETURNED, Status.APPROVED})

# Status → badge colour class used by the templates.
STATUS_TONE: dict[str, str] = {
    Status.DRAFT: "muted",
    Status.SUBMITTED: "info",
    Status.RETURNED: "warn",
    Status.ENDORSED: "info",
    Status.REJECTED: "muted",
    Status.WITHDRAWN: "muted",
    Status.APPROVED: "warn",
    Status.FILING_SUBMITTED: "info",
    Status.ACTIVE: "ok",
    Status.CLOSURE_REPORTED: "info",
    Status.EXTENSION_REQUESTED: "warn",
    Status.CLOSED: "done",
    Status.PURGED: "danger",
}


class Stage(models.TextChoices):
    """Who is acting on an application."""

    PREFECTURE = "prefecture", "设区市把关"
    DEPARTMENT = "department", "牵头部门把关"
    OFFICE = "office", "省办审定"


class Decision(models.TextChoices):
    SUBMIT = "submit", "提交"
    ENDORSE = "endorse", "同意推荐"
    RETURN = "return", "退回修改"
    REJECT = "reject", "不予推荐/不予通过"
    AGREE = "agree", "同意"
    DISAGREE = "disagree", "不同意"
    APPROVE = "approve", "批复同意"
    WITHDRAW = "withdraw", "撤回"


class OverlapVerdict(models.TextChoices):
    PENDING = "pending", "待判定"
    DISTINCT = "distinct", "不重复"
    MERGE = "merge", "内容重复，建议合并"
    REJECT = "reject", "内容重复，不予准入"


# The entry-screening criteria of R1.1: (key, label).
SCREENING_CRITERIA: list[tuple[str, str]] = [
    ("elements", "目标、范围、期限、责任主体、推进措施、预期成果六要素齐全且明确"),
    ("institutional", "聚焦生态文明领域体制机制问题，不是部门常规创新工作或安排资金类工作"),
    ("replicable", "预期成果可复制可推广，能为解决面上共性问题提供借鉴"),
]


# --- the end of a term (R2.4, R3.2) and the scheduled jobs ---------------------------------


class TermRequestStatus(models.TextChoices):
    """A closure report or an extension request, as the office decides it (R2.4)."""

    SUBMITTED = "submitted", "待审核"
    ACCEPTED = "accepted", "已通过"
    RETURNED = "returned", "已退回"


class EvaluatorType(models.TextChoices):
    """Who evaluated the pilot for its acceptance report (R3.2)."""

    SELF = "self", "牵头单位自行评估"
    THIRD_PARTY = "third_party", "委托第三方评估"


class DeadlineKind(models.TextChoices):
    """The deadlines the regulation sets, with the clause that sets each."""

    FILING = "filing", "备案"
    QUARTERLY = "quarterly", "季度进展"
    HALF_YEAR = "half_year", "半年汇总"
    TERM_END = "term_end", "到期销号或延期"
    ACCEPTANCE = "acceptance", "总结验收报告"
    RECTIFICATION = "rectification", "督察整改"
    EXPERT_REVIEW = "expert_review", "专家评审"


DEADLINE_CLAUSE: dict[str, str] = {
    DeadlineKind.FILING: "R2.2",
    DeadlineKind.QUARTERLY: "R2.3",
    DeadlineKind.HALF_YEAR: "R2.3",
    DeadlineKind.TERM_END: "R2.4",
    DeadlineKind.ACCEPTANCE: "R3.2",
    DeadlineKind.RECTIFICATION: "R3.3",
    DeadlineKind.EXPERT_REVIEW: "N3",
}


class JobName(models.TextChoices):
    FLAG_OVERDUE = "flag_overdue", "逾期标记"
    PURGE_EXPIRED = "purge_expired", "到期清理出库"
    SEND_REMINDERS = "send_reminders", "到期提醒"
