"""Choices of the ledger: filing states, render states."""

from django.db import models


class FilingStatus(models.TextChoices):
    SUBMITTED = "submitted", "待确认"
    CONFIRMED = "confirmed", "已确认"
    RETURNED = "returned", "已退回"


class SummaryStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    SUBMITTED = "submitted", "已报送"


class RenderStatus(models.TextChoices):
    QUEUED = "queued", "排队中"
    RUNNING = "running", "生成中"
    DONE = "done", "已完成"
    FAILED = "failed", "失败"


class LedgerScope(models.TextChoices):
    PROVINCE = "province", "全省"
    DEPARTMENT = "department", "牵头部门"


class ImportKind(models.TextChoices):
    PILOTS = "pilots", "试点台账"
    REFORM_PLAN = "reform_plan", "改革实施方案"


class ImportStatus(models.TextChoices):
    PREVIEWED = "previewed", "待确认"
    FAILED = "failed", "校验未通过"
    # Confirmed: the background job that writes the batch is queued or running.
    QUEUED = "queued", "排队导入中"
    RUNNING = "running", "导入中"
    # The job stopped (an error, or its worker died) and wrote nothing: it may be retried.
    APPLY_FAILED = "apply_failed", "导入失败"
    APPLIED = "applied", "已导入"


class LedgerJob(models.TextChoices):
    """The ledger's scheduled jobs (run and logged by core.jobs)."""

    RENDER_LEDGERS = "render_ledgers", "季度PDF台账"
    ARCHIVE_RENDERS = "archive_renders", "归档被替代的PDF台账"
