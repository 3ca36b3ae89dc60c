"""The end of a pilot's term (R2.4, R3.2) and what the scheduled jobs record: closure reports,
extension requests, acceptance reports, overdue events and reminders (the jobs' own run log
is core's JobRun)."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.models import SubmittedDecided
from pilots.constants import (
    DEADLINE_CLAUSE,
    DeadlineKind,
    EvaluatorType,
    TermRequestStatus,
)

__all__ = [
    "ClosureReport",
    "ExtensionRequest",
    "AcceptanceReport",
    "OverdueEvent",
    "Reminder",
]


def term_attachment_path(instance, filename: str) -> str:
    folder = instance._meta.model_name
    return f"term/{instance.pilot.code}/{folder}/{filename}"


class _TermRecord(SubmittedDecided):
    """What a lead department submits at the end of a term, and how the office decided it."""

    status = models.CharField(
        "状态",
        max_length=16,
        choices=TermRequestStatus.choices,
        default=TermRequestStatus.SUBMITTED,
        db_index=True,
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="报送单位"
    )
    decision_note = models.TextField("审核意见", blank=True)

    class Meta:
        abstract = True
        ordering = ["-submitted_at", "-pk"]

    @property
    def status_tone(self) -> str:
        return {
            TermRequestStatus.SUBMITTED: "info",
            TermRequestStatus.ACCEPTED: "ok",
            TermRequestStatus.RETURNED: "warn",
        }.get(self.status, "muted")


class ClosureReport(_TermRecord):
    """销号报告 (R2.4): results against the expected outcomes, milestones reached, replicable
    experience. Accepted, the pilot is closed; returned, it is back in the ledger."""

    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="closure_reports"
    )
    results = models.TextField("完成情况（对照预期成果）")
    milestones_reached = models.TextField("时间节点完成情况", blank=True)
    experience = models.TextField("可复制推广的经验")
    attachment = models.FileField("附件", upload_to=term_attachment_path, blank=True)
    history = HistoricalRecords()

    class Meta(_TermRecord.Meta):
        verbose_name = "销号报告"
        verbose_name_plural = "销号报告"

    def __str__(self) -> str:
        return f"{self.pilot} 销号报告"


class ExtensionRequest(_TermRecord):
    """延期申请 (R2.4): reason, new end date, stage targets and dated milestones. The new term
    keeps to R1.2 counted from the original start date."""

    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="extension_requests"
    )
    reason = models.TextField("延期理由")
    previous_end_date = models.DateField("原结束日期")
    new_end_date = models.DateField("申请延至")
    stage_targets = models.TextField("阶段性目标")
    # [{"due_date": "2027-06-30", "title": "…"}]: the milestones the pilot has once approved.
    milestones = models.JSONField("时间节点", default=list)
    history = HistoricalRecords()

    class Meta(_TermRecord.Meta):
        verbose_name = "延期申请"
        verbose_name_plural = "延期申请"

    def __str__(self) -> str:
        return f"{self.pilot} 延期申请"


class AcceptanceReport(models.Model):
    """总结验收报告 (R3.2): after the term, the lead unit's summary report, evaluated by itself
    or by a named third party; due PILOT_ACCEPTANCE_REPORT_MONTHS after the end date. A
    correction is a new version; the earlier ones stay."""

    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="acceptance_reports"
    )
    version = models.PositiveSmallIntegerField("版本", default=1)
    is_current = models.BooleanField("当前版本", default=True)
    summary = models.TextField("总结报告")
    evaluator = models.CharField("评估方式", max_length=16, choices=EvaluatorType.choices)
    third_party = models.CharField("第三方评估机构", max_length=200, blank=True)
    attachment = models.FileField("附件", upload_to=term_attachment_path, blank=True)
    due_date = models.DateField("报送期限")
    days_late = models.PositiveIntegerField("逾期天数", default=0)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="报送单位"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="报送人"
    )
    submitted_at = models.DateTimeField("报送时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "总结验收报告"
        verbose_name_plural = "总结验收报告"
        ordering = ["pilot", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["pilot", "version"], name="acceptance_report_unique_version"
            ),
            models.UniqueConstraint(
                fields=["pilot"],
                condition=models.Q(is_current=True),
                name="acceptance_report_one_current",
            ),
        ]

    def __str__(self) -> str:
        return f"{self.pilot} 总结验收报告 v{self.version}"


class OverdueEvent(models.Model):
    """One missed deadline of one item (R2.2, R2.3, R2.4, R3.2), recorded once by
    `flag_overdue`, with the organisation responsible. Resolved (never deleted) once the item
    is done or no longer due."""

    key = models.CharField(max_length=120, unique=True, editable=False)
    kind = models.CharField("事项", max_length=16, choices=DeadlineKind.choices, db_index=True)
    pilot = models.ForeignKey(
        "pilots.Pilot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="overdue_events",
        verbose_name="试点",
    )
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="overdue_events",
        verbose_name="责任单位",
    )
    label = models.CharField("内容", max_length=200)
    due_date = models.DateField("期限")
    flagged_on = models.DateField("标记日期")
    notified_at = models.DateTimeField("通知时间", null=True, blank=True)
    resolved_on = models.DateField("解除日期", null=True, blank=True, db_index=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "逾期事项"
        verbose_name_plural = "逾期事项"
        ordering = ["due_date", "pk"]
        indexes = [models.Index(fields=["organisation", "resolved_on"], name="overdue_org_open")]

    def __str__(self) -> str:
        return f"{self.label}（{self.get_kind_display()}，{self.due_date}）"

    @property
    def clause(self) -> str:
        return DEADLINE_CLAUSE[self.kind]


class Reminder(models.Model):
    """A reminder sent before a deadline, once per deadline and per reminder day."""

    key = models.CharField(max_length=140, unique=True, editable=False)
    kind = models.CharField("事项", max_length=16, choices=DeadlineKind.choices)
    pilot = models.ForeignKey(
        "pilots.Pilot", null=True, blank=True, on_delete=models.PROTECT, related_name="+"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="责任单位"
    )
    label = models.CharField("内容", max_length=200)
    due_date = models.DateField("期限")
    days_before = models.PositiveSmallIntegerField("提前天数")
    sent_on = models.DateField("提醒日期")

    class Meta:
        verbose_name = "到期提醒"
        verbose_name_plural = "到期提醒"
        ordering = ["-sent_on", "due_date", "pk"]

    def __str__(self) -> str:
        return f"{self.label} 提前{self.days_before}日提醒"
