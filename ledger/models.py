"""Filing (备案), the ledger's reports (季度进展, 半年汇总) and the documents made from them."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from core.dates import format_cn_quarter
from core.models import SubmittedDecided
from ledger.constants import (
    FilingStatus,
    ImportKind,
    ImportStatus,
    LedgerScope,
    RenderStatus,
    SummaryStatus,
)


def filing_plan_path(instance: Filing, filename: str) -> str:
    return f"filings/{instance.pilot.code}/v{instance.version}/{filename}"


def report_attachment_path(instance: QuarterlyReport, filename: str) -> str:
    code = instance.pilot.code
    return f"reports/{code}/{instance.year}Q{instance.quarter}/v{instance.version}/{filename}"


class Filing(SubmittedDecided):
    """The filing form (《生态文明领域新增改革试点项目备案表》, R2.2) a lead department submits
    for an approved pilot, with the pilot plan attached. Each submission is a version; the
    office confirms one (the pilot enters the ledger) or returns it with reasons."""

    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.PROTECT, related_name="filings")
    version = models.PositiveSmallIntegerField("版本", default=1)
    status = models.CharField(
        "状态", max_length=16, choices=FilingStatus.choices, default=FilingStatus.SUBMITTED
    )
    approval_authority = models.CharField("批复机关", max_length=100)
    approval_doc_number = models.CharField("批复文号", max_length=50)
    approval_date = models.DateField("批复日期")
    implementing_body = models.CharField("实施主体", max_length=200)
    start_date = models.DateField("开始日期")
    end_date = models.DateField("结束日期")
    goal = models.TextField("试点目标")
    measures = models.TextField("推进措施")
    expected_outcomes = models.TextField("预期成果")
    milestones_text = models.TextField("时间节点", blank=True)
    contact_person = models.CharField("联系人", max_length=50)
    contact_phone = models.CharField("联系电话", max_length=30)
    plan = models.FileField("试点方案", upload_to=filing_plan_path)
    due_date = models.DateField("备案期限")
    filed_on = models.DateField("报送日期")
    days_late = models.PositiveIntegerField("逾期天数", default=0)
    return_reason = models.TextField("退回理由", blank=True)
    # Where the filing states otherwise than the approval on record, as shown when it was
    # filed: [{"field", "label", "approved", "filed"}] (ledger.filing.approval_differences).
    differences = models.JSONField("与批复不一致", default=list, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "备案"
        verbose_name_plural = "备案"
        ordering = ["pilot", "-version"]
        constraints = [
            models.UniqueConstraint(fields=["pilot", "version"], name="filing_unique_version")
        ]

    def __str__(self) -> str:
        return f"{self.pilot.code} 备案 v{self.version}"


class QuarterlyReport(models.Model):
    """A lead department's quarterly progress on one filed pilot (R2.3). A correction after
    submission is a new version; earlier versions stay readable."""

    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="quarterly_reports"
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    version = models.PositiveSmallIntegerField("版本", default=1)
    is_current = models.BooleanField("当前版本", default=True)
    progress = models.TextField("工作进展")
    milestones_reached = models.TextField("节点完成情况", blank=True)
    problems = models.TextField("存在问题", blank=True)
    next_steps = models.TextField("下步打算", blank=True)
    attachment = models.FileField("附件", upload_to=report_attachment_path, blank=True)
    correction_reason = models.CharField("更正说明", max_length=500, blank=True)
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
        verbose_name = "季度进展"
        verbose_name_plural = "季度进展"
        ordering = ["pilot", "-year", "-quarter", "-version"]
        constraints = [
            models.UniqueConstraint(
                fields=["pilot", "year", "quarter", "version"], name="report_unique_version"
            ),
            models.UniqueConstraint(
                fields=["pilot", "year", "quarter"],
                condition=models.Q(is_current=True),
                name="report_one_current",
            ),
            models.CheckConstraint(
                condition=models.Q(quarter__gte=1, quarter__lte=4), name="report_quarter_1_4"
            ),
        ]
        indexes = [
            # The ledger shows each pilot's latest current report; the overdue job checks
            # which (pilot, quarter) pairs have one.
            models.Index(fields=["pilot", "is_current", "year", "quarter"], name="report_current"),
        ]

    def __str__(self) -> str:
        return f"{self.pilot.code} {format_cn_quarter(self.year, self.quarter)} v{self.version}"

    @property
    def period_label(self) -> str:
        return f"{format_cn_quarter(self.year, self.quarter)}"


class HalfYearSummary(models.Model):
    """A lead department's half-year summary of its ledger (R2.3): drafted by the product
    from its quarterly reports, edited and submitted by the department."""

    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="half_year_summaries",
        verbose_name="牵头部门",
    )
    year = models.PositiveSmallIntegerField("年度")
    half = models.PositiveSmallIntegerField("半年", help_text="1 = 上半年，2 = 下半年")
    status = models.CharField(
        "状态", max_length=16, choices=SummaryStatus.choices, default=SummaryStatus.DRAFT
    )
    counts = models.JSONField("试点数量统计", default=dict)
    overview = models.TextField("总体情况")
    progress = models.TextField("主要进展")
    problems = models.TextField("存在问题", blank=True)
    next_steps = models.TextField("下步打算", blank=True)
    due_date = models.DateField("报送期限")
    days_late = models.PositiveIntegerField("逾期天数", default=0)
    prepared_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="起草人"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="报送人",
    )
    submitted_at = models.DateTimeField("报送时间", null=True, blank=True)
    updated_at = models.DateTimeField("更新时间", auto_now=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "半年汇总"
        verbose_name_plural = "半年汇总"
        ordering = ["-year", "-half", "organisation"]
        constraints = [
            models.UniqueConstraint(
                fields=["organisation", "year", "half"], name="summary_unique_period"
            ),
            models.CheckConstraint(condition=models.Q(half__in=[1, 2]), name="summary_half_1_2"),
        ]

    def __str__(self) -> str:
        return f"{self.organisation} {self.period_label}"

    @property
    def period_label(self) -> str:
        return f"{self.year}年{'上' if self.half == 1 else '下'}半年"


def render_path(instance: LedgerRender, filename: str) -> str:
    return f"ledgers/{instance.year}Q{instance.quarter}/{filename}"


class LedgerRender(models.Model):
    """One PDF ledger (台账) for the province or one lead department for a quarter: rendered
    in the background, stored as a private file, downloadable through the gate."""

    scope = models.CharField("范围", max_length=16, choices=LedgerScope.choices)
    department = models.ForeignKey(
        "accounts.Organisation",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="牵头部门",
    )
    year = models.PositiveSmallIntegerField("年度")
    quarter = models.PositiveSmallIntegerField("季度")
    status = models.CharField(
        "状态", max_length=16, choices=RenderStatus.choices, default=RenderStatus.QUEUED
    )
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    rows = models.PositiveIntegerField("试点数", default=0)
    pages = models.PositiveIntegerField("页数", default=0)
    file = models.FileField("文件", upload_to=render_path, blank=True)
    error = models.TextField("错误信息", blank=True)
    requested_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="申请人",
    )
    created_at = models.DateTimeField("申请时间", auto_now_add=True)
    # When the render last entered QUEUED and RUNNING: a render left in either state longer
    # than LEDGER_RENDER_STALE_MINUTES lost its worker and is queued again.
    queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    started_at = models.DateTimeField("开始生成时间", null=True, blank=True)
    finished_at = models.DateTimeField("完成时间", null=True, blank=True)
    # A finished ledger that a newer one of the same quarter replaces is archived: marked,
    # never deleted, its file kept where every history row says it is.
    archived_at = models.DateTimeField("归档时间", null=True, blank=True)
    superseded_by = models.ForeignKey(
        "self",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="被替代为",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "PDF台账"
        verbose_name_plural = "PDF台账"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        who = self.department.short_name if self.department_id else "全省"
        return f"{who} {format_cn_quarter(self.year, self.quarter)}台账"


class ImportBatch(models.Model):
    """An uploaded spreadsheet: validated into a preview with every row's errors; applied
    only when every row is valid, in one transaction."""

    kind = models.CharField("类型", max_length=16, choices=ImportKind.choices)
    status = models.CharField("状态", max_length=16, choices=ImportStatus.choices)
    filename = models.CharField("文件名", max_length=200)
    file = models.FileField("文件", upload_to="imports/")
    rows = models.PositiveIntegerField("行数", default=0)
    errors = models.JSONField("错误", default=list)
    preview = models.JSONField("预览", default=list)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="导入人"
    )
    created_at = models.DateTimeField("上传时间", auto_now_add=True)
    applied_at = models.DateTimeField("导入时间", null=True, blank=True)
    # The preview's rows by action (create, update, unchanged, error), counted once.
    counts = models.JSONField("预览统计", default=dict, blank=True)
    # The background job that writes the batch: when it was queued and started (a job left
    # queued or running longer than JOB_RUN_STALE_MINUTES lost its worker), how far it
    # got, when it ended and why it failed.
    queued_at = models.DateTimeField("排队时间", null=True, blank=True)
    started_at = models.DateTimeField("开始导入时间", null=True, blank=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    progress = models.PositiveSmallIntegerField("进度（%）", default=0)
    rows_done = models.PositiveIntegerField("已处理行数", default=0)
    error = models.TextField("导入错误", blank=True)
    # The preview (one line per row, megabytes for a big file) is not copied into every
    # history row: it is the stored file's reading, which the file keeps.
    history = HistoricalRecords(excluded_fields=["preview"])

    class Meta:
        verbose_name = "导入批次"
        verbose_name_plural = "导入批次"
        ordering = ["-created_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.filename}"


from ledger.models_plan import *  # noqa: E402,F403
