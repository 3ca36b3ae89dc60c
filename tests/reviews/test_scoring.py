"""Evaluations with scorecards (R3.2): weighted constraint and reference indicators scored by
completion or stability, the effort share, veto and deny-excellent items, the star thresholds,
and two consecutive cancellations flagged for removal."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from pilots.constants import EvaluatorType, Status
from reviews import scoring
from reviews.constants import Rating
from reviews.evaluations import define_scorecard, record_evaluation
from reviews.models import Evaluation, Scorecard

D = dt.date


@pytest.fixture
def card(personas):
    """Two constraint indicators (weight 30 and 25), one reference (10, stability); 25%
    effort; 90 / 80 / 70."""
    return define_scorecard(
        actor=personas["office"],
        name="生态文明改革试点评估评分表（2026）",
        indicators=[
            {"title": "环境质量达标率", "kind": "constraint", "method": "completion", "weight": 30},
            {"title": "制度出台数量", "kind": "constraint", "method": "completion", "weight": 25},
            {"title": "长效机制", "kind": "reference", "method": "stability", "weight": 10},
        ],
        criteria=[
            {"kind": "veto", "text": "发生重大生态环境破坏事件"},
            {"kind": "deny_excellent", "text": "约束性指标连续两年未达标"},
        ],
    )


@pytest.fixture
def pilot(make_pilot):
    return make_pilot(ledger_since=D(2026, 1, 10))


def _values(card, *scores):
    return {i.pk: s for i, s in zip(card.indicators.order_by("number"), scores, strict=True)}


MID_YEAR = D(2026, 6, 30)


def _evaluate(actor, pilot, card, scores, effort, *, on=MID_YEAR, hit=(), **extra):
    return record_evaluation(
        actor=actor,
        pilot=pilot,
        scorecard=card,
        stage=extra.pop("stage", "stage"),
        evaluator=extra.pop("evaluator", EvaluatorType.SELF),
        evaluated_on=on,
        values=_values(card, *scores),
        effort=effort,
        criteria_hit=[c.pk for c in card.criteria.all() if c.kind in hit],
        **extra,
    )


@pytest.mark.parametrize(
    ("scores", "effort", "score", "rating"),
    [
        ((100, 100, 100), 100, Decimal("100.0"), Rating.FIVE),
        ((100, 100, 60), 80, Decimal("90.4"), Rating.FIVE),  # 0.75·(3000+2500+600)/65 + 20
        ((90, 80, 60), 80, Decimal("81.2"), Rating.FOUR),
        ((80, 80, 60), 70, Decimal("75.2"), Rating.THREE),
        ((80, 70, 60), 60, Decimal("69.8"), Rating.CANCELLED),
        ((60, 60, 0), 60, Decimal("53.1"), Rating.CANCELLED),
    ],
)
def test_score_and_stars_follow_the_weights_and_thresholds_R3_2(
    card, pilot, personas, scores, effort, score, rating
):
    evaluation = _evaluate(personas["dept"], pilot, card, scores, effort)
    assert (evaluation.score, evaluation.rating) == (score, rating)
    breakdown = evaluation.breakdown
    assert Decimal(breakdown["effort_part"]) == Decimal(effort) * Decimal("0.25")
    assert len(breakdown["indicators"]) == 3
    assert Decimal(breakdown["indicator_part"]) + Decimal(breakdown["effort_part"]) == score


@pytest.mark.parametrize(
    ("score", "rating"),
    [
        (Decimal("90.0"), Rating.FIVE),
        (Decimal("89.9"), Rating.FOUR),
        (Decimal("80.0"), Rating.FOUR),
        (Decimal("79.9"), Rating.THREE),
        (Decimal("70.0"), Rating.THREE),
        (Decimal("69.9"), Rating.CANCELLED),
    ],
)
def test_the_thresholds_are_inclusive_R3_2(score, rating):
    assert scoring.rate(score, scoring.Thresholds()) == rating


def test_a_veto_item_cancels_the_star_whatever_the_score_R3_2(card, pilot, personas):
    evaluation = _evaluate(personas["dept"], pilot, card, (100, 100, 100), 100, hit=("veto",))
    assert evaluation.score == Decimal("100.0")
    assert evaluation.rating == Rating.CANCELLED
    assert "发生重大生态环境破坏事件" in evaluation.breakdown["reasons"][0]


@pytest.mark.parametrize(
    ("scores", "effort", "rating"),
    [
        ((100, 100, 100), 100, Rating.FOUR),  # would be five: capped
        ((90, 80, 60), 80, Rating.FOUR),  # four stays four
        ((80, 80, 60), 70, Rating.THREE),
    ],
)
def test_a_deny_excellent_item_keeps_the_rating_below_five_stars_R3_2(
    card, pilot, personas, scores, effort, rating
):
    evaluation = _evaluate(personas["dept"], pilot, card, scores, effort, hit=("deny_excellent",))
    assert evaluation.rating == rating


def test_two_consecutive_cancellations_flag_the_pilot_for_removal_R3_2(card, pilot, personas, orgs):
    first = _evaluate(personas["dept"], pilot, card, (50, 50, 0), 50, on=D(2026, 6, 30))
    assert first.rating == Rating.CANCELLED and not first.removal_flagged
    better = _evaluate(personas["dept"], pilot, card, (90, 90, 100), 90, on=D(2026, 12, 31))
    assert better.rating == Rating.FIVE
    again = _evaluate(personas["dept"], pilot, card, (50, 50, 0), 50, on=D(2027, 6, 30))
    assert not again.removal_flagged  # not consecutive: a good evaluation came between
    last = _evaluate(personas["dept"], pilot, card, (40, 40, 0), 40, on=D(2027, 12, 31))
    assert last.removal_flagged
    assert Notification.objects.filter(
        organisation=orgs["office"], subject__startswith="连续两次取消评星"
    ).exists()


def test_constraint_indicators_must_weigh_more_than_reference_ones_R3_2(personas):
    with pytest.raises(ValidationError, match="约束性指标的权重须高于参考性指标"):
        define_scorecard(
            actor=personas["office"],
            name="权重错误的评分表",
            indicators=[
                {"title": "甲", "kind": "constraint", "method": "completion", "weight": 10},
                {"title": "乙", "kind": "reference", "method": "stability", "weight": 10},
            ],
        )


def test_stability_is_scored_by_level_and_completion_within_0_to_100_R3_2(card, pilot, personas):
    with pytest.raises(ValidationError) as exc:
        _evaluate(personas["dept"], pilot, card, (120, "abc", 50), 80)
    text = " ".join(exc.value.messages)
    assert "应在0至100之间" in text and "应为数字" in text and "稳定度指标按等级评分" in text
    assert not Evaluation.objects.exists()


def test_a_third_party_evaluation_names_the_third_party_R3_2(card, pilot, personas):
    with pytest.raises(ValidationError, match="请填写第三方评估机构名称"):
        _evaluate(
            personas["dept"], pilot, card, (90, 90, 100), 90, evaluator=EvaluatorType.THIRD_PARTY
        )
    evaluation = _evaluate(
        personas["dept"],
        pilot,
        card,
        (90, 90, 100),
        90,
        evaluator=EvaluatorType.THIRD_PARTY,
        third_party="浙江省环境科学研究院",
        stage="acceptance",
    )
    assert evaluation.third_party == "浙江省环境科学研究院"
    assert evaluation.history.get().history_change_reason == "录入验收评估"


def test_only_the_lead_department_or_the_office_records_an_evaluation_R3_2(card, pilot, personas):
    for who in ("hangzhou", "county", "expert"):
        with pytest.raises(PermissionDenied):
            _evaluate(personas[who], pilot, card, (90, 90, 100), 90)
    with pytest.raises(PermissionDenied):
        define_scorecard(actor=personas["dept"], name="部门评分表", indicators=[])
    assert _evaluate(personas["office"], pilot, card, (90, 90, 100), 90).rating == Rating.FIVE


def test_a_pilot_not_yet_in_the_ledger_cannot_be_evaluated_R3_2(card, make_pilot, personas):
    pilot = make_pilot(status=Status.APPROVED, ledger_since=None)
    with pytest.raises(ValidationError, match="不能录入评估"):
        _evaluate(personas["dept"], pilot, card, (90, 90, 100), 90)


# --- consecutive by evaluation date, unrounded stars, the effort share limit (R3.2) ----------


def test_a_back_dated_cancellation_is_judged_by_evaluation_date_R3_2(card, pilot, personas, orgs):
    # Recorded for 30 June first, then one back-dated to 31 March: consecutive by period.
    june = _evaluate(personas["dept"], pilot, card, (50, 50, 0), 50, on=D(2026, 6, 30))
    march = _evaluate(personas["dept"], pilot, card, (40, 40, 0), 40, on=D(2026, 3, 31))

    june.refresh_from_db()
    assert (march.rating, june.rating) == (Rating.CANCELLED, Rating.CANCELLED)
    assert not march.removal_flagged  # the first of the two
    assert june.removal_flagged  # the second, by evaluation date
    assert "按评估日期" in june.history.order_by("-history_id").first().history_change_reason
    notice = Notification.objects.get(
        organisation=orgs["office"], subject__startswith="连续两次取消评星"
    )
    assert "2026年3月31日和2026年6月30日" in notice.body


def test_a_good_evaluation_back_dated_between_two_cancellations_lifts_the_flag_R3_2(
    card, pilot, personas
):
    _evaluate(personas["dept"], pilot, card, (50, 50, 0), 50, on=D(2026, 3, 31))
    september = _evaluate(personas["dept"], pilot, card, (40, 40, 0), 40, on=D(2026, 9, 30))
    assert september.removal_flagged

    good = _evaluate(personas["dept"], pilot, card, (90, 90, 100), 90, on=D(2026, 6, 30))

    september.refresh_from_db()
    assert good.rating == Rating.FIVE and not good.removal_flagged
    assert not september.removal_flagged


@pytest.fixture
def one_indicator_card(personas):
    return define_scorecard(
        actor=personas["office"],
        name="单指标评分表",
        indicators=[
            {"title": "目标完成度", "kind": "constraint", "method": "completion", "weight": 1}
        ],
    )


def test_stars_come_from_the_unrounded_score_R3_2(one_indicator_card, pilot, personas):
    # 0.75 × 89.95 + 0.25 × 89.95 = 89.95: shown as 90.0, but below the five-star line of 90.
    evaluation = _evaluate(
        personas["dept"], pilot, one_indicator_card, (Decimal("89.95"),), Decimal("89.95")
    )
    assert evaluation.score == Decimal("90.0")
    assert evaluation.rating == Rating.FOUR
    assert Decimal(evaluation.breakdown["exact_score"]) == Decimal("89.95")
    result = scoring.evaluate(
        [
            scoring.IndicatorInput(
                "1", "目标完成度", "constraint", "completion", Decimal(1), Decimal("69.96")
            )
        ],
        effort=Decimal("69.9"),
        effort_share=Decimal(25),
        thresholds=scoring.Thresholds(),
    )
    assert (result.score, result.rating) == (Decimal("69.9"), Rating.CANCELLED)


@pytest.mark.parametrize(("share", "ok"), [(25, True), (Decimal("25.01"), False), (50, False)])
def test_the_effort_share_is_at_most_25_percent_R3_2(personas, share, ok):
    indicators = [{"title": "甲", "kind": "constraint", "method": "completion", "weight": 1}]
    if ok:
        card = define_scorecard(
            actor=personas["office"], name="占比合规", indicators=indicators, effort_share=share
        )
        assert card.effort_share == Decimal(share)
    else:
        with pytest.raises(ValidationError, match="不超过25%"):
            define_scorecard(
                actor=personas["office"], name="占比超限", indicators=indicators, effort_share=share
            )


def test_the_effort_share_limit_is_a_setting_checked_by_the_form_R3_2(client_for, settings):
    settings.REVIEW_EFFORT_SHARE_MAX = 20
    data = {
        "name": "占比超限的评分表",
        "effort_share": "25",
        "five_stars": "90",
        "four_stars": "80",
        "three_stars": "70",
        "ind-TOTAL_FORMS": "1",
        "ind-INITIAL_FORMS": "0",
        "ind-MIN_NUM_FORMS": "0",
        "ind-MAX_NUM_FORMS": "40",
        "ind-0-title": "环境质量达标率",
        "ind-0-kind": "constraint",
        "ind-0-method": "completion",
        "ind-0-weight": "30",
    }
    client = client_for("office")
    form = client.get("/reviews/scorecards/new/").content.decode()
    assert "不超过20%" in form

    response = client.post("/reviews/scorecards/new/", data)

    assert response.status_code == 200
    assert "工作推进、创新与成效占比应在0至20%之间（不超过20%）。" in response.content.decode()
    assert not Scorecard.objects.exists()
    assert (
        client.post("/reviews/scorecards/new/", {**data, "effort_share": "20"}).status_code == 302
    )
