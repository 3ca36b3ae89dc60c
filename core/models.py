"""The shared machinery's tables: tasks kept while the broker was down, and the scheduled
jobs' run log and locks. They know no domain: an app registers its jobs' names and the
labels of their counts in `core.jobs`. And the abstract `SubmittedDecided`: who submitted
a record and who decided it, when."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from core.jobnames import count_label, job_choices

__all__ = ["JobLock", "JobRun", "JobStatus", "PendingTask", "SubmittedDecided"]


class PendingTask(models.Model):
    """A background task that could not be handed to the message broker (Redis down): kept
    in the database and sent when the broker is back, so that no requested work is lost."""

    task = models.CharField("任务", max_length=200)
    args = models.JSONField("参数", default=list)
    kwargs = models.JSONField("命名参数", default=dict)
    created_at = models.DateTimeField("登记时间", auto_now_add=True)
    attempts = models.PositiveIntegerField("补发次数", default=0)
    last_error = models.CharField("最近错误", max_length=300, blank=True)
    sent_at = models.DateTimeField("补发时间", null=True, blank=True, db_index=True)

    class Meta:
        verbose_name = "待补发任务"
        verbose_name_plural = "待补发任务"
        ordering = ["created_at", "pk"]

    def __str__(self) -> str:
        return f"{self.task} {self.created_at:%Y-%m-%d %H:%M}"


class JobStatus(models.TextChoices):
    RUNNING = "running", "运行中"
    DONE = "done", "完成"
    FAILED = "failed", "失败"


class JobRun(models.Model):
    """One run of a scheduled job: when, for which day, what it changed."""

    job = models.CharField("任务", max_length=32, choices=job_choices, db_index=True)
    today = models.DateField("业务日期")
    status = models.CharField(
        "状态", max_length=16, choices=JobStatus.choices, default=JobStatus.RUNNING
    )
    started_at = models.DateTimeField("开始时间", auto_now_add=True)
    finished_at = models.DateTimeField("结束时间", null=True, blank=True)
    counts = models.JSONField("结果", default=dict)
    queries = models.PositiveIntegerField("数据库查询数", null=True, blank=True)
    error = models.TextField("错误", blank=True)
    triggered_by = models.CharField("触发方式", max_length=50, blank=True)

    class Meta:
        verbose_name = "定时任务记录"
        verbose_name_plural = "定时任务记录"
        ordering = ["-started_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.get_job_display()} {self.today}"

    @property
    def counts_display(self) -> list[tuple[str, int]]:
        """The run's counts with Chinese labels: 新增逾期·备案 3, 解除 1 …"""
        return [(count_label(key), value) for key, value in self.counts.items()]

    @property
    def seconds(self) -> float | None:
        if self.finished_at is None:
            return None
        return round((self.finished_at - self.started_at).total_seconds(), 2)


class JobLock(models.Model):
    """One row per job, locked while the job runs so that two runs never overlap."""

    name = models.CharField(max_length=32, primary_key=True)

    class Meta:
        verbose_name = "任务锁"
        verbose_name_plural = "任务锁"

    def __str__(self) -> str:
        return self.name


class SubmittedDecided(models.Model):
    """A record one party submits and another decides on (accepts, confirms or returns): who
    submitted it and when, who decided and when. The users have no reverse accessor."""

    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="报送人"
    )
    submitted_at = models.DateTimeField("报送时间", auto_now_add=True)
    decided_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="审核人",
    )
    decided_at = models.DateTimeField("审核时间", null=True, blank=True)

    class Meta:
        abstract = True
