"""Scorecards and evaluations (R3.2): the office defines scorecards — weighted indicators,
veto and deny-excellent items, the effort share and the star thresholds — and a pilot's
stage and acceptance evaluations are scored against one, by its lead unit or a named third
party. Expert review, supervision, promotion and bonus points follow."""

from __future__ import annotations

from decimal import Decimal

from django.conf import settings
from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models
from simple_history.models import HistoricalRecords

from pilots.constants import EvaluatorType
from reviews.constants import (
    CriterionKind,
    EvaluationStage,
    IndicatorKind,
    Rating,
    ScoringMethod,
)

PERCENT = [MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(100))]


class Scorecard(models.Model):
    name = models.CharField("评分表名称", max_length=200, unique=True)
    effort_share = models.DecimalField(
        "工作推进、创新与成效占比（%）",
        max_digits=5,
        decimal_places=2,
        default=Decimal(25),
        validators=[MinValueValidator(Decimal(0)), MaxValueValidator(Decimal(50))],
    )
    five_stars = models.DecimalField("五星分数线", max_digits=5, decimal_places=2, default=90)
    four_stars = models.DecimalField("四星分数线", max_digits=5, decimal_places=2, default=80)
    three_stars = models.DecimalField("三星分数线", max_digits=5, decimal_places=2, default=70)
    is_active = models.BooleanField("启用", default=True)
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="制定人"
    )
    created_at = models.DateTimeField("制定时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "评分表"
        verbose_name_plural = "评分表"
        ordering = ["-created_at", "-pk"]
        constraints = [
            models.CheckConstraint(
                condition=models.Q(five_stars__gt=models.F("four_stars"))
                & models.Q(four_stars__gt=models.F("three_stars")),
                name="scorecard_thresholds_descend",
            )
        ]

    def __str__(self) -> str:
        return self.name


class Indicator(models.Model):
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="indicators")
    number = models.PositiveSmallIntegerField("序号")
    title = models.CharField("指标", max_length=200)
    kind = models.CharField("类别", max_length=16, choices=IndicatorKind.choices)
    method = models.CharField("评分方式", max_length=16, choices=ScoringMethod.choices)
    weight = models.DecimalField("权重", max_digits=6, decimal_places=2)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "评分指标"
        verbose_name_plural = "评分指标"
        ordering = ["scorecard", "number"]
        constraints = [
            models.UniqueConstraint(fields=["scorecard", "number"], name="indicator_unique_number")
        ]

    def __str__(self) -> str:
        return f"{self.number}. {self.title}"


class Criterion(models.Model):
    """A veto (否决项) or deny-excellent (否优项) item of a scorecard."""

    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="criteria")
    kind = models.CharField("类别", max_length=16, choices=CriterionKind.choices)
    text = models.CharField("情形", max_length=300)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "否决项与否优项"
        verbose_name_plural = "否决项与否优项"
        ordering = ["scorecard", "kind", "pk"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()}：{self.text}"


class Evaluation(models.Model):
    """One stage or acceptance evaluation of a pilot against a scorecard (R3.2), with the
    score's breakdown kept as it was computed."""

    pilot = models.ForeignKey("pilots.Pilot", on_delete=models.PROTECT, related_name="evaluations")
    scorecard = models.ForeignKey(Scorecard, on_delete=models.PROTECT, related_name="evaluations")
    stage = models.CharField("评估类型", max_length=16, choices=EvaluationStage.choices)
    evaluator = models.CharField("评估方式", max_length=16, choices=EvaluatorType.choices)
    third_party = models.CharField("第三方评估机构", max_length=200, blank=True)
    evaluated_on = models.DateField("评估日期")
    effort = models.DecimalField(
        "工作推进、创新与成效得分", max_digits=5, decimal_places=2, validators=PERCENT
    )
    score = models.DecimalField("总分", max_digits=5, decimal_places=1)
    rating = models.CharField("评星", max_length=2, choices=Rating.choices)
    breakdown = models.JSONField("得分明细", default=dict)
    removal_flagged = models.BooleanField(
        "连续两次取消评星", default=False, help_text="连续两次取消评星的，按程序摘牌。"
    )
    organisation = models.ForeignKey(
        "accounts.Organisation", on_delete=models.PROTECT, related_name="+", verbose_name="录入单位"
    )
    created_by = models.ForeignKey(
        settings.AUTH_USER_MODEL, on_delete=models.PROTECT, related_name="+", verbose_name="录入人"
    )
    created_at = models.DateTimeField("录入时间", auto_now_add=True)
    history = HistoricalRecords()

    class Meta:
        verbose_name = "评估"
        verbose_name_plural = "评估"
        ordering = ["pilot", "-evaluated_on", "-pk"]

    def __str__(self) -> str:
        return f"{self.pilot} {self.get_stage_display()}（{self.evaluated_on}）"


from reviews.models_promotion import *  # noqa: E402,F403
from reviews.models_supervision import *  # noqa: E402,F403
