"""An imported reform implementation plan (改革实施方案): a local government's plan that lists,
for each of the eight institutional areas, its reform items (改革事项) and, for each item, the
main tasks (主要任务) with the unit that leads each task and the units that take part.

Plans arrive as spreadsheets (ledger.imports.preview_plan_import) and are read, not edited:
each import makes a new plan with its items and tasks, all with history.

This module is imported at the end of ledger/models.py; it must not import ledger.models.
"""

from __future__ import annotations

from django.conf import settings
from django.db import models
from simple_history.models import HistoricalRecords

from pilots.constants import ReformField

__all__ = ["ReformPlan", "PlanItem", "PlanTask"]


class ReformPlan(models.Model):
    """One reform implementation plan as issued: its title, the region it covers, who issued
    it and in which year, and who imported it."""

    name = models.CharField("方案名称", max_length=200)
    region = models.CharField("地区", max_length=100, blank=True)
    issued_by = models.CharField("印发单位", max_length=200, blank=True)
    year = models.PositiveSmallIntegerField("年度", null=True, blank=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="导入人"
    )
    created_at = models.DateTimeField("导入时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "改革实施方案"
        verbose_name_plural = "改革实施方案"
        ordering = ["-year", "-created_at", "-pk"]

    def __str__(self) -> str:
        return self.name


class PlanItem(models.Model):
    """A reform item (改革事项) of a plan — "1.建立统一的确权登记系统" — in one of the eight
    institutional areas, with the plan's description of what it asks."""

    plan = models.ForeignKey(ReformPlan, on_delete=models.PROTECT, related_name="items")
    area = models.CharField("改革领域", max_length=32, choices=ReformField.choices)
    number = models.PositiveSmallIntegerField("序号")
    title = models.CharField("改革事项", max_length=200)
    description = models.TextField("事项内容", blank=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "改革事项"
        verbose_name_plural = "改革事项"
        ordering = ["plan", "number"]
        constraints = [
            models.UniqueConstraint(fields=["plan", "number"], name="plan_item_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.number}.{self.title}"


class PlanTask(models.Model):
    """A main task (主要任务) of a reform item: what is to be done, the unit that leads it, the
    units that lead it jointly when the plan names more than one (the first named is the lead
    unit), and the units that take part. Collective mentions that name no unit ("各乡镇（办）",
    "各相关单位") are kept as text."""

    item = models.ForeignKey(PlanItem, on_delete=models.PROTECT, related_name="tasks")
    number = models.PositiveSmallIntegerField("序号")
    text = models.TextField("主要任务")
    lead_unit = models.ForeignKey(
        "accounts.Organisation",
        on_delete=models.PROTECT,
        related_name="plan_tasks_led",
        verbose_name="牵头单位",
    )
    co_lead_units = models.ManyToManyField(
        "accounts.Organisation",
        related_name="plan_tasks_co_led",
        blank=True,
        verbose_name="共同牵头单位",
    )
    participating_units = models.ManyToManyField(
        "accounts.Organisation",
        related_name="plan_tasks_participated",
        blank=True,
        verbose_name="参加单位",
    )
    other_participants = models.CharField(
        "其他参加单位",
        max_length=200,
        blank=True,
        help_text="方案中不指向具体单位的泛称，如“各乡镇（办）”“各相关单位”。",
    )
    history = HistoricalRecords(m2m_fields=[co_lead_units, participating_units])

    class Meta:
        verbose_name = "主要任务"
        verbose_name_plural = "主要任务"
        ordering = ["item", "number"]
        constraints = [
            models.UniqueConstraint(fields=["item", "number"], name="plan_task_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.item.number}({self.number}) {self.text[:30]}"
