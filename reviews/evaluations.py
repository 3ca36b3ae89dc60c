"""Scorecards and evaluations (R3.2): the office defines a scorecard; a pilot's stage or
acceptance evaluation is recorded against one by its lead department (evaluated by itself or
by a named third party) or by the office, scored by reviews.scoring, and kept with its
breakdown. Two consecutive evaluations with the star cancelled flag the pilot for removal
(摘牌) and tell the office.

Each step is one keyword-only function taking the acting user; views, API, admin and jobs
call these and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping, Sequence
from decimal import Decimal, InvalidOperation

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction

from accounts.models import office_organisation
from core.dates import format_cn_date
from core.history import save_with_history
from pilots import policy
from pilots.calls import _lock, _notify
from pilots.constants import EvaluatorType, Status
from pilots.models import Pilot
from reviews import scoring
from reviews.constants import CriterionKind, EvaluationStage, Rating
from reviews.models import Criterion, Evaluation, Indicator, Scorecard

# Pilots that can be evaluated: in the ledger, or after their term.
EVALUATED_STATES = (
    Status.ACTIVE,
    Status.CLOSURE_REPORTED,
    Status.EXTENSION_REQUESTED,
    Status.CLOSED,
)


def _decimal(value, label: str) -> Decimal:
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError) as exc:
        raise ValidationError(f"{label}应为数字。") from exc
    if not number.is_finite():
        raise ValidationError(f"{label}应为数字。")
    return number


@transaction.atomic
def define_scorecard(
    *,
    actor,
    name: str,
    indicators: Sequence[Mapping],
    criteria: Sequence[Mapping] = (),
    effort_share=Decimal(25),
    thresholds: scoring.Thresholds | None = None,
) -> Scorecard:
    """The office defines a scorecard. `indicators`: dicts with title, kind, method, weight;
    `criteria`: dicts with kind (veto / deny_excellent) and text."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以制定评分表。")
    thresholds = thresholds or scoring.Thresholds()
    share = _decimal(effort_share, "工作推进、创新与成效占比")
    rows = [
        scoring.IndicatorInput(
            key=str(n),
            title=str(row.get("title", "")).strip(),
            kind=row.get("kind", ""),
            method=row.get("method", ""),
            weight=_decimal(row.get("weight"), f"第{n}项指标的权重"),
            value=Decimal(0),
        )
        for n, row in enumerate(indicators, start=1)
    ]
    errors = scoring.check_weights(rows)
    if not name.strip():
        errors.append("请填写评分表名称。")
    elif Scorecard.objects.filter(name=name.strip()).exists():
        errors.append("已有同名评分表。")
    share_problem = scoring.check_effort_share(share)
    if share_problem:
        errors.append(share_problem)
    if not thresholds.five > thresholds.four > thresholds.three > 0:
        errors.append("分数线应为五星 > 四星 > 三星 > 0。")
    for n, row in enumerate(rows, start=1):
        if not row.title:
            errors.append(f"第{n}项指标：请填写指标名称。")
        if row.kind not in ("constraint", "reference") or row.method not in (
            "completion",
            "stability",
        ):
            errors.append(f"第{n}项指标：请选择指标类别和评分方式。")
    for item in criteria:
        if item.get("kind") not in CriterionKind.values or not str(item.get("text", "")).strip():
            errors.append("否决项、否优项须写明类别和情形。")
    if errors:
        raise ValidationError(errors)
    card = Scorecard(
        name=name.strip(),
        effort_share=share,
        five_stars=thresholds.five,
        four_stars=thresholds.four,
        three_stars=thresholds.three,
        created_by=actor,
    )
    save_with_history(card, actor=actor, reason="制定评分表")
    for n, row in enumerate(rows, start=1):
        save_with_history(
            Indicator(
                scorecard=card,
                number=n,
                title=row.title,
                kind=row.kind,
                method=row.method,
                weight=row.weight,
            ),
            actor=actor,
            reason="制定评分表",
        )
    for item in criteria:
        save_with_history(
            Criterion(scorecard=card, kind=item["kind"], text=str(item["text"]).strip()),
            actor=actor,
            reason="制定评分表",
        )
    return card


def may_evaluate(user, pilot: Pilot) -> bool:
    """R3.2: the lead unit records its pilot's evaluations; the office records any."""
    return policy.is_office(user) or policy.is_lead_department_of(user, pilot)


@transaction.atomic
def record_evaluation(
    *,
    actor,
    pilot: Pilot,
    scorecard: Scorecard,
    stage: str,
    evaluator: str,
    evaluated_on: dt.date,
    values: Mapping[int, object],
    effort,
    third_party: str = "",
    criteria_hit: Sequence[int] = (),
) -> Evaluation:
    """R3.2: a stage or acceptance evaluation of `pilot` scored against `scorecard`.

    `values` maps each indicator's id to its score (completion 0–100; stability by level);
    `effort` scores work effort, innovation and results (0–100); `criteria_hit` lists the
    ids of the veto and deny-excellent items found. Raises ValidationError (Chinese) for a
    missing or invalid value; nothing is saved then."""
    pilot = _lock(pilot)
    if not may_evaluate(actor, pilot):
        raise PermissionDenied("只有该试点的牵头联系部门或省办可以录入评估。")
    errors: list[str] = []
    if pilot.status not in EVALUATED_STATES:
        errors.append(f"试点当前状态为“{pilot.get_status_display()}”，不能录入评估。")
    if not isinstance(evaluated_on, dt.date):
        errors.append("请填写评估日期。")
    if stage not in EvaluationStage.values:
        errors.append("请选择评估类型（阶段评估或验收评估）。")
    if evaluator not in EvaluatorType.values:
        errors.append("请选择评估方式（牵头单位自行评估或委托第三方评估）。")
    elif evaluator == EvaluatorType.THIRD_PARTY and not third_party.strip():
        errors.append("委托第三方评估的，请填写第三方评估机构名称。")
    if not scorecard.is_active:
        errors.append("该评分表已停用。")
    indicators = list(scorecard.indicators.all())
    inputs = []
    for indicator in indicators:
        if indicator.pk not in values or values[indicator.pk] in (None, ""):
            errors.append(f"请为指标“{indicator.title}”评分。")
            continue
        try:
            value = _decimal(values[indicator.pk], f"指标“{indicator.title}”的得分")
        except ValidationError as exc:
            errors.extend(exc.messages)
            continue
        problem = scoring.check_value(indicator.method, value)
        if problem:
            errors.append(f"指标“{indicator.title}”：{problem}")
            continue
        inputs.append(
            scoring.IndicatorInput(
                key=str(indicator.pk),
                title=indicator.title,
                kind=indicator.kind,
                method=indicator.method,
                weight=indicator.weight,
                value=value,
            )
        )
    try:
        effort_value = _decimal(effort, "工作推进、创新与成效得分")
        if not Decimal(0) <= effort_value <= Decimal(100):
            errors.append("工作推进、创新与成效得分应在0至100之间。")
    except ValidationError as exc:
        errors.extend(exc.messages)
    criteria = {c.pk: c for c in scorecard.criteria.all()}
    unknown = [pk for pk in criteria_hit if pk not in criteria]
    if unknown:
        errors.append("所选否决项或否优项不属于该评分表。")
    if errors:
        raise ValidationError(errors)
    hits = [criteria[pk] for pk in criteria_hit]
    result = scoring.evaluate(
        inputs,
        effort=effort_value,
        effort_share=scorecard.effort_share,
        thresholds=scoring.Thresholds(
            scorecard.five_stars, scorecard.four_stars, scorecard.three_stars
        ),
        vetoes=[c.text for c in hits if c.kind == CriterionKind.VETO],
        denials=[c.text for c in hits if c.kind == CriterionKind.DENY_EXCELLENT],
    )
    # Consecutive by evaluation date, not by the order of entry: the new evaluation comes
    # after those of its date already recorded and before any of a later date.
    earlier = Evaluation.objects.filter(pilot=pilot, evaluated_on__lte=evaluated_on)
    previous = earlier.order_by("-evaluated_on", "-pk").first()
    following = (
        Evaluation.objects.filter(pilot=pilot, evaluated_on__gt=evaluated_on)
        .order_by("evaluated_on", "pk")
        .first()
    )
    cancelled = result.rating == Rating.CANCELLED
    flagged = cancelled and previous is not None and previous.rating == Rating.CANCELLED
    evaluation = Evaluation(
        pilot=pilot,
        scorecard=scorecard,
        stage=stage,
        evaluator=evaluator,
        third_party=third_party.strip() if evaluator == EvaluatorType.THIRD_PARTY else "",
        evaluated_on=evaluated_on,
        effort=effort_value,
        score=result.score,
        rating=result.rating,
        breakdown={
            "indicators": result.lines,
            "indicator_part": str(result.indicator_part),
            "effort_part": str(result.effort_part),
            "effort_share": str(scorecard.effort_share),
            "exact_score": str(result.exact_score),
            "criteria": [{"kind": c.kind, "text": c.text} for c in hits],
            "reasons": result.reasons,
        },
        removal_flagged=flagged,
        organisation=actor.organisation or office_organisation(),
        created_by=actor,
    )
    save_with_history(evaluation, actor=actor, reason=f"录入{EvaluationStage(stage).label}")
    if flagged:
        _tell_removal(pilot, previous, evaluation)
    if following is not None:
        # A back-dated evaluation becomes the predecessor of the one after it.
        follows_cancelled = cancelled and following.rating == Rating.CANCELLED
        if following.removal_flagged != follows_cancelled:
            following.removal_flagged = follows_cancelled
            save_with_history(
                following,
                actor=actor,
                reason=(
                    f"按评估日期，与{format_cn_date(evaluated_on)}的评估连续两次取消评星"
                    if follows_cancelled
                    else f"按评估日期，前一次评估（{format_cn_date(evaluated_on)}）未取消评星"
                ),
            )
            if follows_cancelled:
                _tell_removal(pilot, evaluation, following)
    return evaluation


def _tell_removal(pilot: Pilot, first: Evaluation, second: Evaluation) -> None:
    """R3.2: tell the office that two evaluations in a row (by evaluation date) cancelled
    the star."""
    _notify(
        office_organisation(),
        pilot,
        f"连续两次取消评星：{pilot.name}",
        f"该试点{format_cn_date(first.evaluated_on)}和{format_cn_date(second.evaluated_on)}两次评估"
        "（按评估日期先后）连续取消评星，请按程序摘牌（第三条第（二）项）。",
    )
