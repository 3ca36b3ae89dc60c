"""Supervision (督察, R3.3): inspections of pilots (and of the practices promoted from them),
with their findings and rectification demands, each with a deadline and a follow-up until the
office closes it. An open demand past its deadline is flagged by the overdue job."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords


class Inspection(models.Model):
    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.PROTECT, related_name="inspections")
    inspected_on = models.DateField("督察日期")
    inspectors = models.CharField("督察人员", max_length=300)
    subject = models.CharField(
        "督察对象",
        max_length=200,
        blank=True,
        help_text="督察的是推广的做法时，写明做法和地区；空白即试点本身。",
    )
    findings = models.TextField("发现的问题")
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "督察记录"
        verbose_name_plural = "督察记录"
        ordering = ["-inspected_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.pilot} 督察（{self.inspected_on}）"


class Rectification(models.Model):
    inspection = models.ForeignKey(
        Inspection, on_delete=models.PROTECT, related_name="rectifications"
    )
    demand = models.TextField("整改要求")
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="rectifications",
        verbose_name="整改责任单位",
    )
    due_date = models.DateField("整改期限")
    follow_up = models.TextField("整改情况", blank=True)
    closed_on = models.DateField("销号日期", null=True, blank=True, db_index=True)
    closed_by = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="+",
        verbose_name="确认人",
    )
    history = HistoricalRecords()

    class Meta:
        verbose_name = "整改要求"
        verbose_name_plural = "整改要求"
        ordering = ["due_date", "pk"]

    def __str__(self) -> str:
        return self.demand[:40]


class BonusPoint(models.Model):
    """R4.1: points a pilot earns its organisation in the year's reform assessment, with the
    reason. Corrections are new rows with negative points, never edits."""

    year = models.PositiveSmallIntegerField("考核年度", db_index=True)
    organisation = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="bonus_points",
        verbose_name="单位",
    )
    pilot = models.ForeignKey(
        "pilots.Pilot",
        null=True,
        blank=True,
        on_delete=models.PROTECT,
        related_name="bonus_points",
        verbose_name="试点",
    )
    points = models.DecimalField("加分", max_digits=5, decimal_places=2)
    reason = models.CharField("理由", max_length=300)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "考核加分"
        verbose_name_plural = "考核加分"
        ordering = ["-year", "organisation", "-created_at"]

    def __str__(self) -> str:
        return f"{self.year} {self.organisation} {self.points}"


class ExpertReview(models.Model):
    """One expert's online review of one application (N3): the office's criteria as they were
    when assigned, the expert's scores and opinion. An expert sees the others' scores only once
    they have submitted their own; the office sees them side by side."""

    PENDING = "pending"
    SUBMITTED = "submitted"
    STATUS = [(PENDING, "待评审"), (SUBMITTED, "已提交")]

    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="expert_reviews"
    )
    expert = models.ForeignKey(
        settings.AUTH_USER_MODEL,
        on_delete=models.PROTECT,
        related_name="expert_reviews",
        verbose_name="专家",
    )
    criteria = models.JSONField("评审标准", default=list)  # [{"title": …, "max": 30}, …]
    scores = models.JSONField("评分", default=list)
    total = models.DecimalField("总分", max_digits=6, decimal_places=2, null=True, blank=True)
    opinion = models.TextField("评审意见", blank=True)
    status = models.CharField("状态", max_length=16, choices=STATUS, default=PENDING)
    due_date = models.DateField("评审期限")
    assigned_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="分配人"
    )
    assigned_at = models.DateTimeField("分配时间", auto_now_add=True)
    submitted_at = models.DateTimeField("提交时间", null=True, blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "专家评审"
        verbose_name_plural = "专家评审"
        ordering = ["pilot", "assigned_at", "pk"]
        constraints = [
            models.UniqueConstraint(fields=["pilot", "expert"], name="expert_review_once")
        ]

    def __str__(self) -> str:
        return f"{self.pilot} · {self.expert}"
