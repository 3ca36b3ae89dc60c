"""The pilot (改革试点) and what belongs to it directly."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.validators import MaxLengthValidator
from django.db import models
from django.db.models import Exists, OuterRef, Q
from simple_history.models import HistoricalRecords

from pilots import rules
from pilots.constants import (
    APPLICATION_STATES,
    LEDGER_STATES,
    SCREENING_CRITERIA,
    STATUS_TONE,
    TIER_SHORT,
    Decision,
    Origin,
    OverlapVerdict,
    PilotKind,
    ReformField,
    Stage,
    Status,
    Tier,
)
from pilots.validators import validate_doc_number, validate_phone

# The longest text (in characters, 字) each free-text field of a pilot takes: the goal and the
# measures a plan states at length (3,000), the scope and the outcomes more briefly.
TEXT_LIMITS = {
    "goal": 3000,
    "scope": 1000,
    "measures": 3000,
    "expected_outcomes": 2000,
    "work_foundation": 2000,
}


TOO_LONG = "不能超过%(limit_value)d字（现有%(show_value)d字）。"


def _limit(name: str) -> list:
    return [MaxLengthValidator(TEXT_LIMITS[name], message=TOO_LONG)]


def pilot_plan_path(instance: Pilot, filename: str) -> str:
    return f"pilots/{instance.code or 'new'}/plan/{filename}"


class PilotQuerySet(models.QuerySet):
    def restrict(self, user, action: str = "view") -> PilotQuerySet:
        """The one gate: pilots this user may see (action="view") or change."""
        from pilots.policy import pilot_filter

        return self.filter(pilot_filter(user, action))

    def in_ledger(self) -> PilotQuerySet:
        """R2.3: only filed and confirmed pilots still in the library are in the ledger."""
        return self.filter(status__in=LEDGER_STATES)

    def in_region(self, org_ids) -> PilotQuerySet:
        return self.filter(
            Exists(
                Pilot.regions.through.objects.filter(pilot=OuterRef("pk"), organisation__in=org_ids)
            )
        )


class Pilot(models.Model):
    """A reform pilot through its whole life: from draft application to closure or purge.

    An application is a pilot in its early states, not a copy of one."""

    code = models.CharField("试点编号", max_length=20, unique=True, editable=False)
    name = models.CharField("试点名称", max_length=200)
    field = models.CharField("改革领域", max_length=32, choices=ReformField.choices, db_index=True)
    kind = models.CharField("试点类型", max_length=16, choices=PilotKind.choices)
    origin = models.CharField("试点来源", max_length=16, choices=Origin.choices)
    status = models.CharField(
        "状态", max_length=24, choices=Status.choices, default=Status.DRAFT, db_index=True
    )

    regions = models.ManyToManyField(
        "accounts.Organisation",
        verbose_name="试点地区",
        related_name="pilots_in_region",
        blank=True,
    )
    implementing_body = models.CharField("实施主体", max_length=200)
    lead_department = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="省级牵头联系部门",
        on_delete=models.PROTECT,
        related_name="pilots_led",
        null=True,
    )
    participating_units = models.ManyToManyField(
        "accounts.Organisation",
        verbose_name="参加单位",
        related_name="pilots_participated",
        blank=True,
    )
    applicant = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="申报/录入单位",
        on_delete=models.PROTECT,
        related_name="pilots_applied",
    )
    call = models.ForeignKey(
        "pilots.Call",
        verbose_name="申报批次",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="applications",
    )
    endorsing_prefecture = models.ForeignKey(
        "accounts.Organisation",
        verbose_name="推荐设区市",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="pilots_endorsed",
        help_text="推荐本申报、占用其名额的设区市局（第三条，N3）。",
    )
    endorsed_at = models.DateTimeField("推荐时间", null=True, blank=True)
    ledger_since = models.DateField(
        "列入台账日期",
        null=True,
        blank=True,
        help_text="省办确认备案、列入台账的日期（第二条第（三）项）；季度进展自该季度起报送。",
    )
    # R2.4: purged from the library (清理出库) — a state, never a deletion; restorable.
    purged_on = models.DateField("清理出库日期", null=True, blank=True)
    purge_reason = models.TextField("清理出库原因", blank=True)
    status_before_purge = models.CharField(
        "清理前状态", max_length=24, choices=Status.choices, blank=True
    )
    restored_on = models.DateField(
        "恢复入库日期",
        null=True,
        blank=True,
        help_text="省办恢复入库之日；自该日起再给一个宽限期报告销号或申请延期。",
    )

    # The six entry elements (R1.1): goal, scope, term, responsible body, measures, outcomes.
    # Text limits (字): enough for a page of the printed form, short enough to read in a list.
    # A draft application may leave any of them empty (null dates); R1.1 is checked on
    # submission.
    goal = models.TextField("试点目标", max_length=TEXT_LIMITS["goal"], validators=_limit("goal"))
    scope = models.TextField(
        "试点范围", max_length=TEXT_LIMITS["scope"], validators=_limit("scope")
    )
    start_date = models.DateField("开始日期", null=True)
    end_date = models.DateField("结束日期", db_index=True, null=True)
    responsible_body = models.CharField("责任主体", max_length=200)
    measures = models.TextField(
        "推进措施", max_length=TEXT_LIMITS["measures"], validators=_limit("measures")
    )
    expected_outcomes = models.TextField(
        "预期成果",
        max_length=TEXT_LIMITS["expected_outcomes"],
        validators=_limit("expected_outcomes"),
    )

    work_foundation = models.TextField(
        "工作基础",
        blank=True,
        max_length=TEXT_LIMITS["work_foundation"],
        validators=_limit("work_foundation"),
    )
    contact_person = models.CharField("联系人", max_length=50, blank=True)
    contact_phone = models.CharField(
        "联系电话", max_length=30, blank=True, validators=[validate_phone]
    )

    approval_authority = models.CharField("批复机关", max_length=100, blank=True)
    approval_doc_number = models.CharField(
        "批复文号", max_length=50, blank=True, validators=[validate_doc_number]
    )
    approval_date = models.DateField("批复日期", null=True, blank=True, db_index=True)
    plan_attachment = models.FileField("试点方案", upload_to=pilot_plan_path, blank=True)

    created_at = models.DateTimeField("创建时间", auto_now_add=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)

    history = HistoricalRecords(m2m_fields=[regions, participating_units])
    objects = PilotQuerySet.as_manager()

    class Meta:
        verbose_name = "改革试点"
        verbose_name_plural = "改革试点"
        ordering = ["-code"]
        indexes = [
            # The overdue and purge jobs select ledger pilots by end date.
            models.Index(fields=["status", "end_date"], name="pilot_status_end"),
            # The filing-overdue job selects approved pilots by approval date.
            models.Index(fields=["status", "approval_date"], name="pilot_status_approval"),
        ]
        constraints = [
            models.CheckConstraint(
                condition=Q(end_date__gt=models.F("start_date")),
                name="pilot_end_after_start",
                violation_error_message="试点结束日期必须晚于开始日期。",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.code} {self.name}"

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("pilots:detail", args=[self.code])

    # --- derived facts -------------------------------------------------------------------
    @property
    def tier(self) -> str:
        return rules.managing_tier(self.origin)

    def get_tier_display(self) -> str:
        return Tier(self.tier).label

    @property
    def tier_short(self) -> str:
        return TIER_SHORT[self.tier]

    @property
    def status_tone(self) -> str:
        return STATUS_TONE.get(self.status, "muted")

    @property
    def is_application(self) -> bool:
        return self.status in APPLICATION_STATES

    @property
    def in_ledger(self) -> bool:
        return self.status in LEDGER_STATES

    @property
    def term_years(self) -> float | None:
        if self.start_date is None or self.end_date is None:
            return None  # a draft application not yet dated
        return round((self.end_date - self.start_date).days / 365.25, 1)

    @property
    def filing_due(self) -> dt.date | None:
        return rules.filing_due(self.approval_date) if self.approval_date else None

    @property
    def purge_date(self) -> dt.date | None:
        return rules.purge_date(self.end_date) if self.end_date else None

    @property
    def acceptance_report_due(self) -> dt.date | None:
        return rules.acceptance_report_due(self.end_date) if self.end_date else None

    def is_expired(self, today: dt.date | None = None) -> bool:
        from django.utils import timezone

        if self.end_date is None:
            return False
        return rules.is_expired(self.end_date, today or timezone.localdate())


class Milestone(models.Model):
    """A dated stage goal of a pilot (时间节点); required for comprehensive pilots (R1.2)."""

    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="milestones")
    due_date = models.DateField("节点日期")
    title = models.CharField("阶段目标", max_length=200)
    reached_on = models.DateField("完成日期", null=True, blank=True)
    is_removed = models.BooleanField("已删除", default=False)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "时间节点"
        verbose_name_plural = "时间节点"
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return f"{rules.format_cn_date(self.due_date)} {self.title}"


class CodeSequence(models.Model):
    """The last serial number handed out for pilot codes of one year (ST-2026-0001)."""

    year = models.PositiveIntegerField(primary_key=True)
    last = models.PositiveIntegerField(default=0)

    class Meta:
        verbose_name = "编号序列"
        verbose_name_plural = "编号序列"

    def __str__(self) -> str:
        return f"{self.year}: {self.last}"


class Call(models.Model):
    """A call for proposals (申报批次, N3): counties propose, prefectures screen and submit at
    most `prefecture_quota` applications each before the deadline."""

    title = models.CharField("批次名称", max_length=200)
    fields = models.JSONField("申报领域", default=list, blank=True, help_text="留空表示全部领域。")
    description = models.TextField("申报说明", blank=True)
    deadline = models.DateTimeField("报送截止时间", db_index=True)
    prefecture_quota = models.PositiveSmallIntegerField("每个设区市推荐名额", default=2)
    opened_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="发布人", on_delete=models.PROTECT, related_name="+"
    )
    is_cancelled = models.BooleanField("已撤销", default=False)
    created_at = models.DateTimeField("发布时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "申报批次"
        verbose_name_plural = "申报批次"
        ordering = ["-deadline", "-pk"]

    def __str__(self) -> str:
        return self.title

    def get_absolute_url(self) -> str:
        from django.urls import reverse

        return reverse("pilots:call_detail", args=[self.pk])

    def is_open(self, now: dt.datetime | None = None) -> bool:
        from django.utils import timezone

        return not self.is_cancelled and (now or timezone.now()) <= self.deadline

    def field_labels(self) -> list[str]:
        return [ReformField(f).label for f in self.fields] or ["全部领域"]


class Opinion(models.Model):
    """One party's step on an application: the prefecture's screening, the lead department's
    field opinion (N2), the office's decision; with who, for which organisation, and why."""

    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="opinions")
    stage = models.CharField("环节", max_length=16, choices=Stage.choices)
    decision = models.CharField("意见", max_length=16, choices=Decision.choices)
    text = models.TextField("意见内容", blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", verbose_name="单位", on_delete=models.PROTECT, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="经办人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "审核意见"
        verbose_name_plural = "审核意见"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.get_stage_display()} {self.get_decision_display()}"


class ScreeningChecklist(models.Model):
    """The entry screening of R1.1, filled per criterion (yes/no with a note) by the screener
    before a decision can be recorded."""

    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="checklists")
    stage = models.CharField("环节", max_length=16, choices=Stage.choices)
    answers = models.JSONField("准入审查", help_text="{criterion: {ok: bool, note: str}}")
    organisation = models.ForeignKey(
        "accounts.Organisation", verbose_name="单位", on_delete=models.PROTECT, related_name="+"
    )
    author = models.ForeignKey(
        settings.AUTH_USER_MODEL, verbose_name="审查人", on_delete=models.PROTECT, related_name="+"
    )
    created_at = models.DateTimeField("时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "准入审查表"
        verbose_name_plural = "准入审查表"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.pilot_id} {self.get_stage_display()}"

    @property
    def all_met(self) -> bool:
        return all(a.get("ok") for a in self.answers.values())

    def rows(self) -> list[tuple[str, bool, str]]:
        return [
            (
                label,
                bool(self.answers.get(key, {}).get("ok")),
                self.answers.get(key, {}).get("note", ""),
            )
            for key, label in SCREENING_CRITERIA
        ]


class OverlapFlag(models.Model):
    """R1.3: an existing pilot that a new application may duplicate, with its similarity score,
    why it was flagged, and the screener's verdict."""

    pilot = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="overlap_flags")
    other = models.ForeignKey(Pilot, on_delete=models.PROTECT, related_name="+")
    score = models.FloatField("相似度")
    reasons = models.JSONField("提示原因", default=list)
    verdict = models.CharField(
        "判定", max_length=16, choices=OverlapVerdict.choices, default=OverlapVerdict.PENDING
    )
    note = models.CharField("判定说明", max_length=500, blank=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    decided_at = models.DateTimeField("判定时间", null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "重复交叉提示"
        verbose_name_plural = "重复交叉提示"
        ordering = ["-score", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pilot", "other"], name="overlap_flag_unique_pair")
        ]

    def __str__(self) -> str:
        return f"{self.pilot_id} ~ {self.other_id} ({self.score:.2f})"


from pilots.models_overlap import *  # noqa: E402, F403
from pilots.models_term import *  # noqa: E402, F403
