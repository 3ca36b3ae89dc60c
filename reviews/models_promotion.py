"""Promotion (R3.4, N3): the lead departments' reports of how a pilot's experience is being
replicated; the office's recognition of pilots as replicable experience or demonstration
cases, with the law or normative document an experience became; and the periodic published
list (清单), each edition kept as published."""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from reviews.constants import ListStatus, RecognitionKind


class PromotionReport(models.Model):
    pilot = models.ForeignKey(
        "pilots.Pilot", on_delete=models.PROTECT, related_name="promotion_reports"
    )
    text = models.TextField("复制推广情况")
    adopted_by = models.CharField("已推广到的地区或单位", max_length=500, blank=True)
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="报送单位"
    )
    submitted_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="报送人"
    )
    submitted_at = models.DateTimeField("报送时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "推广情况报告"
        verbose_name_plural = "推广情况报告"
        ordering = ["-submitted_at", "-pk"]

    def __str__(self) -> str:
        return f"{self.pilot} 推广情况"


class Recognition(models.Model):
    """The office's recognition of a pilot (R3.4): replicable experience or a demonstration
    case, with the public summary of what worked and the institutional result it became."""

    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.PROTECT, related_name="recognitions")
    kind = models.CharField("认定类别", max_length=16, choices=RecognitionKind.choices)
    summary = models.TextField("经验做法（可公开）")
    document = models.CharField(
        "形成的制度成果",
        max_length=300,
        blank=True,
        help_text="上升为法规或规范性文件的，填写其名称和文号。",
    )
    is_withdrawn = models.BooleanField("已撤销", default=False)
    marked_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="认定人"
    )
    marked_on = models.DateField("认定日期")
    history = HistoricalRecords()

    class Meta:
        verbose_name = "推广认定"
        verbose_name_plural = "推广认定"
        ordering = ["-marked_on", "-pk"]
        constraints = [
            models.UniqueConstraint(fields=["pilot", "kind"], name="recognition_unique_kind")
        ]

    def __str__(self) -> str:
        return f"{self.pilot} {self.get_kind_display()}"


class PublishedList(models.Model):
    """One edition of the list of replicable pilots and demonstration cases. Its entries are
    copied when it is drafted and frozen when it is published: a later change of a pilot or a
    recognition does not rewrite a published edition."""

    title = models.CharField("清单名称", max_length=200)
    fields = models.JSONField("公开字段", default=list)
    status = models.CharField(
        "状态", max_length=16, choices=ListStatus.choices, default=ListStatus.DRAFT
    )
    published_on = models.DateField("发布日期", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="编制人"
    )
    created_at = models.DateTimeField("编制时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "推广清单"
        verbose_name_plural = "推广清单"
        ordering = ["-published_on", "-created_at", "-pk"]

    def __str__(self) -> str:
        return self.title


class ListEntry(models.Model):
    """A pilot on a list, as it was when the list was drafted (only public fields)."""

    published_list = models.ForeignKey(
        PublishedList, on_delete=models.PROTECT, related_name="entries"
    )
    number = models.PositiveIntegerField("序号")
    kind = models.CharField("认定类别", max_length=16, choices=RecognitionKind.choices)
    code = models.CharField("试点编号", max_length=20)
    name = models.CharField("试点名称", max_length=200)
    values = models.JSONField("公开内容", default=dict)

    class Meta:
        verbose_name = "清单条目"
        verbose_name_plural = "清单条目"
        ordering = ["published_list", "number"]

    def __str__(self) -> str:
        return f"{self.number}. {self.name}"
