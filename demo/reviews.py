"""The demo's reviews: one scorecard shaped like the province's demonstration-zone scoring,
and evaluations of some ledger pilots at five, four and three stars, and one pilot whose star
was cancelled twice in a row (flagged for removal) (R3.2); two recognised pilots in a
published list edition, and a draft edition (R3.4); an inspection with one rectification
closed and one overdue (R3.3); an application scored by two experts and one whose review
is overdue (N3). Recorded through the reviews app's domain functions, and safe to run again."""

from __future__ import annotations

import datetime as dt

from accounts.models import User
from demo.people import lead_account
from demo.pilots import demo_pilots
from pilots.constants import EvaluatorType, Status
from reviews.evaluations import define_scorecard, record_evaluation
from reviews.models import Evaluation, Scorecard

SCORECARD = "生态文明领域改革试点评估评分表（演示）"
INDICATORS = [
    ("环境质量改善目标完成情况", "constraint", "completion", 25),
    ("改革任务（制度文件）完成情况", "constraint", "completion", 20),
    ("试点时间节点完成情况", "constraint", "completion", 15),
    ("部门协同与长效机制", "reference", "stability", 10),
    ("公众参与与信息公开机制", "reference", "stability", 8),
]
CRITERIA = [
    ("veto", "试点地区发生重大及以上突发环境事件"),
    ("veto", "弄虚作假、虚报改革成效"),
    ("deny_excellent", "约束性指标连续两年未达标"),
]
# (indicator scores, effort, stage, evaluator) per evaluation; one pilot gets the last two.
EVALUATIONS = [
    ((100, 100, 100, 100, 100), 95, "acceptance", EvaluatorType.THIRD_PARTY),  # five stars
    ((90, 85, 80, 60, 100), 80, "stage", EvaluatorType.SELF),  # four stars
    ((80, 75, 70, 60, 60), 65, "stage", EvaluatorType.SELF),  # three stars
]
CANCELLED_TWICE = [((60, 50, 40, 0, 60), 50), ((55, 45, 40, 0, 0), 40)]


def load_reviews_demo(*, users: dict[str, User], today: dt.date) -> int:
    """Returns how many evaluations were recorded (0 when the demo already has them)."""
    office = users["office"]
    card = Scorecard.objects.filter(name=SCORECARD).first() or define_scorecard(
        actor=office,
        name=SCORECARD,
        indicators=[{"title": t, "kind": k, "method": m, "weight": w} for t, k, m, w in INDICATORS],
        criteria=[{"kind": k, "text": t} for k, t in CRITERIA],
    )
    ledger = [
        p for _, p in demo_pilots() if p.status in (Status.ACTIVE, Status.CLOSED) and p.ledger_since
    ]
    _load_promotion_demo(office=office, pilots=ledger)
    _load_supervision_demo(office=office, pilots=ledger, today=today)
    _load_expert_demo(users=users, today=today)
    if Evaluation.objects.filter(scorecard=card).exists():
        return 0
    indicators = list(card.indicators.order_by("number"))
    recorded = 0

    def evaluate(pilot, scores, effort, stage, evaluator, on):
        nonlocal recorded
        actor = lead_account(pilot, users) or office
        record_evaluation(
            actor=actor,
            pilot=pilot,
            scorecard=card,
            stage=stage,
            evaluator=evaluator,
            third_party="浙江省环境科学研究院" if evaluator == EvaluatorType.THIRD_PARTY else "",
            evaluated_on=on,
            values={i.pk: s for i, s in zip(indicators, scores, strict=True)},
            effort=effort,
        )
        recorded += 1

    for pilot, (scores, effort, stage, evaluator) in zip(ledger, EVALUATIONS, strict=False):
        evaluate(pilot, scores, effort, stage, evaluator, today - dt.timedelta(days=30))
    if len(ledger) > len(EVALUATIONS):
        pilot = ledger[len(EVALUATIONS)]
        for n, (scores, effort) in enumerate(CANCELLED_TWICE):
            day = today - dt.timedelta(days=200 - 150 * n)
            evaluate(pilot, scores, effort, "stage", EvaluatorType.SELF, day)
    return recorded


def _load_promotion_demo(*, office: User, pilots: list) -> None:
    """Two recognitions and a published list edition (R3.4, N3); a draft edition beside it."""
    from reviews import promotion
    from reviews.constants import RecognitionKind
    from reviews.models import PublishedList

    if PublishedList.objects.exists() or len(pilots) < 2:
        return
    shown = [
        promotion.recognise(
            actor=office,
            pilot=pilots[0],
            kind=RecognitionKind.DEMONSTRATION,
            summary=f"{pilots[0].name}形成了可操作的制度安排和工作流程，已在全省推广。",
            document="省级规范性文件（演示）",
        ),
        promotion.recognise(
            actor=office,
            pilot=pilots[1],
            kind=RecognitionKind.REPLICABLE,
            summary=f"{pilots[1].name}的做法已在多个设区市复制。",
        ),
    ]
    edition = promotion.draft_list(
        actor=office,
        title="生态文明领域改革试点可复制推广经验和示范案例清单（第一批）",
        fields=["regions", "lead_department", "summary", "document"],
        recognitions=shown,
    )
    promotion.publish_list(actor=office, edition=edition)
    promotion.draft_list(
        actor=office,
        title="第二批清单（草稿，未发布）",
        fields=["summary"],
        recognitions=shown[1:],
    )


def _load_supervision_demo(*, office: User, pilots: list, today: dt.date) -> None:
    """An inspection with one demand rectified and closed and one past its deadline (R3.3)."""
    from reviews import supervision
    from reviews.models import Inspection

    if Inspection.objects.exists() or len(pilots) < 3:
        return
    pilot = pilots[2]
    inspection = supervision.record_inspection(
        actor=office,
        pilot=pilot,
        inspected_on=today - dt.timedelta(days=60),
        inspectors="省生态文明体制改革专项小组办公室督察组",
        findings="部分改革任务推进滞后，季度进展报送不及时，配套制度尚未出台。",
        demands=[
            supervision.Demand("按季度及时报送试点进展", today - dt.timedelta(days=40)),
            supervision.Demand("出台配套制度并报省办备案", today - dt.timedelta(days=20)),
        ],
    )
    first = inspection.rectifications.order_by("due_date").first()
    supervision.close_rectification(
        actor=office, rectification=first, note="已按期报送。", today=today - dt.timedelta(days=35)
    )


def _load_expert_demo(*, users: dict[str, User], today: dt.date) -> None:
    """A scored application (N3): two experts of different units reviewed an endorsed
    application of the demo's call."""
    from reviews import expert
    from reviews.models import ExpertReview

    experts = [users[name] for name in ("expert", "expert2") if name in users]
    if ExpertReview.objects.exists() or len(experts) < 2:
        return
    endorsed = [p for _, p in demo_pilots() if p.status == Status.ENDORSED]
    if not endorsed:
        return
    reviews = expert.assign_experts(
        actor=users["office"],
        pilot=endorsed[0],
        experts=experts,
        due_date=today + dt.timedelta(days=10),
        today=today,
    )
    for review, scores, opinion in zip(
        reviews,
        [(26, 25, 16, 17), (22, 24, 18, 15)],
        ["改革方向明确，制度创新点突出，建议立项。", "措施较具体，建议细化时间节点后立项。"],
        strict=False,
    ):
        expert.submit_review(actor=review.expert, review=review, scores=scores, opinion=opinion)
    if len(endorsed) > 1:  # assigned three weeks ago, due five days ago, not yet reviewed
        expert.assign_experts(
            actor=users["office"],
            pilot=endorsed[1],
            experts=experts[:1],
            due_date=today - dt.timedelta(days=5),
            today=today - dt.timedelta(days=21),
        )
