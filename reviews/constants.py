"""Choices of the reviews app: scorecards, evaluations and their ratings (R3.2)."""

from django.db import models


class IndicatorKind(models.TextChoices):
    """约束性 indicators weigh more than 参考性 ones."""

    CONSTRAINT = "constraint", "约束性指标"
    REFERENCE = "reference", "参考性指标"


class ScoringMethod(models.TextChoices):
    """完成度: annual targets met, as a percentage; 稳定度: a mechanism's state, by level."""

    COMPLETION = "completion", "完成度"
    STABILITY = "stability", "稳定度"


class StabilityLevel(models.IntegerChoices):
    """The levels a stability indicator is scored by (the percentage it earns)."""

    RUNNING = 100, "机制健全、稳定运行"
    ESTABLISHED = 60, "机制基本建立"
    ABSENT = 0, "尚未建立"


class CriterionKind(models.TextChoices):
    """否决项 fail the evaluation outright; 否优项 keep it from the top rating."""

    VETO = "veto", "否决项"
    DENY_EXCELLENT = "deny_excellent", "否优项"


class EvaluationStage(models.TextChoices):
    STAGE = "stage", "阶段评估"
    ACCEPTANCE = "acceptance", "验收评估"


class Rating(models.TextChoices):
    FIVE = "5", "五星"
    FOUR = "4", "四星"
    THREE = "3", "三星"
    CANCELLED = "0", "取消评星"


class RecognitionKind(models.TextChoices):
    """R3.4, N3: what the office recognises a pilot's experience as."""

    REPLICABLE = "replicable", "可复制可推广经验"
    DEMONSTRATION = "demonstration", "示范案例"


class ListStatus(models.TextChoices):
    DRAFT = "draft", "草稿"
    PUBLISHED = "published", "已发布"


# The columns a published list may show, besides the pilot's name and kind; the office picks
# them for each edition.
PUBLIC_FIELDS = [
    ("regions", "试点地区"),
    ("lead_department", "牵头部门"),
    ("field", "改革领域"),
    ("term", "试点期限"),
    ("summary", "经验做法"),
    ("document", "形成的制度成果"),
]
