"""The scorecard's arithmetic (R3.2), as pure functions of plain values.

A score out of 100 has two parts:

- the indicators' part, (100 − effort share)% of the score: each indicator earns a percentage
  — for a completion indicator the share of its targets met (0–100), for a stability
  indicator the level of its mechanism (StabilityLevel: 100, 60 or 0) — weighted by its
  weight; constraint indicators weigh more than reference ones;
- the effort part, the effort share (default 25%, at most REVIEW_EFFORT_SHARE_MAX): work
  effort, innovation and results, scored 0–100 by the evaluators.

The rating follows the office's thresholds, applied to the unrounded score (89.95 is below
90): five, four or three stars, below three stars the star is cancelled. The score shown and
kept is rounded to one decimal for display only. A veto item (否决项) cancels the star
whatever the score; a deny-excellent item (否优项) keeps the rating below five stars.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from decimal import ROUND_HALF_UP, Decimal

from django.conf import settings

from reviews.constants import IndicatorKind, Rating, ScoringMethod, StabilityLevel

HUNDRED = Decimal(100)
TENTH = Decimal("0.1")


@dataclass(frozen=True)
class IndicatorInput:
    key: str
    title: str
    kind: str
    method: str
    weight: Decimal
    value: Decimal  # 0–100


@dataclass(frozen=True)
class Thresholds:
    five: Decimal = Decimal(90)
    four: Decimal = Decimal(80)
    three: Decimal = Decimal(70)


@dataclass
class Result:
    score: Decimal  # rounded to one decimal, for display
    rating: str
    indicator_part: Decimal
    effort_part: Decimal
    lines: list[dict] = field(default_factory=list)
    reasons: list[str] = field(default_factory=list)
    exact_score: Decimal = Decimal(0)  # unrounded: what the stars are judged on


def _round(value: Decimal) -> Decimal:
    return value.quantize(TENTH, rounding=ROUND_HALF_UP)


def check_weights(indicators: Sequence[IndicatorInput]) -> list[str]:
    """Chinese messages for a scorecard whose weights break the rules, else []."""
    errors = []
    if not indicators:
        errors.append("评分表至少需要一项指标。")
    if any(i.weight <= 0 for i in indicators):
        errors.append("指标权重须大于0。")
    constraint = [i.weight for i in indicators if i.kind == IndicatorKind.CONSTRAINT]
    reference = [i.weight for i in indicators if i.kind == IndicatorKind.REFERENCE]
    if constraint and reference and min(constraint) <= max(reference):
        errors.append("约束性指标的权重须高于参考性指标的权重。")
    return errors


def max_effort_share() -> Decimal:
    """R3.2: the largest share of the score work effort, innovation and results may take
    (REVIEW_EFFORT_SHARE_MAX, 25% in the demonstration-zone rules)."""
    return Decimal(settings.REVIEW_EFFORT_SHARE_MAX)


def check_effort_share(share: Decimal) -> str | None:
    """A Chinese message when `share` is outside 0 to the configured maximum, else None."""
    limit = max_effort_share()
    if not Decimal(0) <= share <= limit:
        return f"工作推进、创新与成效占比应在0至{limit}%之间（不超过{limit}%）。"
    return None


def check_value(method: str, value: Decimal) -> str | None:
    """A Chinese message when `value` is not a valid score for `method`, else None."""
    if method == ScoringMethod.STABILITY:
        if value not in {Decimal(level) for level in StabilityLevel.values}:
            levels = "、".join(f"{label}（{level}）" for level, label in StabilityLevel.choices)
            return f"稳定度指标按等级评分：{levels}。"
    elif not Decimal(0) <= value <= HUNDRED:
        return "完成度指标按目标完成比例评分，应在0至100之间。"
    return None


def rate(score: Decimal, thresholds: Thresholds) -> str:
    if score >= thresholds.five:
        return Rating.FIVE
    if score >= thresholds.four:
        return Rating.FOUR
    if score >= thresholds.three:
        return Rating.THREE
    return Rating.CANCELLED


def evaluate(
    indicators: Sequence[IndicatorInput],
    *,
    effort: Decimal,
    effort_share: Decimal,
    thresholds: Thresholds,
    vetoes: Sequence[str] = (),
    denials: Sequence[str] = (),
) -> Result:
    """R3.2: the score, its breakdown and the rating of one evaluation."""
    total_weight = sum((i.weight for i in indicators), Decimal(0))
    indicator_share = (HUNDRED - effort_share) / HUNDRED
    lines = []
    earned = Decimal(0)
    for i in indicators:
        points = i.weight * i.value / total_weight * indicator_share
        earned += points
        lines.append(
            {
                "key": i.key,
                "title": i.title,
                "kind": i.kind,
                "method": i.method,
                "weight": str(i.weight),
                "value": str(i.value),
                "points": str(_round(points)),
            }
        )
    effort_part = effort * effort_share / HUNDRED
    exact = earned + effort_part
    score = _round(exact)
    # Stars from the unrounded score: rounding 89.95 up to 90.0 must not earn a fifth star.
    rating = rate(exact, thresholds)
    reasons = []
    if vetoes:
        rating = Rating.CANCELLED
        reasons.append("触及否决项：" + "；".join(vetoes) + "，取消评星。")
    elif denials and rating == Rating.FIVE:
        rating = Rating.FOUR
        reasons.append("触及否优项：" + "；".join(denials) + "，不评为五星。")
    return Result(
        score=score,
        rating=rating,
        indicator_part=_round(earned),
        effort_part=_round(effort_part),
        lines=lines,
        reasons=reasons,
        exact_score=exact,
    )
