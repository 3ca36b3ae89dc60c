"""Online expert review of applications (N3): the office assigns experts from different units
to an application the prefecture has endorsed; each expert scores the office's criteria and
writes an opinion, blind to the others' scores until submitting; the office reads the mean,
the spread and the opinions side by side when it decides. Unfinished reviews are reminded
and flagged by the scheduled jobs (pilots.deadlines).

Each step is one keyword-only function taking the acting user; views, API and jobs call these
and nothing else.
"""

from __future__ import annotations

import datetime as dt
import statistics
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from decimal import Decimal, InvalidOperation

from django.core.exceptions import NON_FIELD_ERRORS, PermissionDenied, ValidationError
from django.db import transaction
from django.http import Http404
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Role
from accounts.models import User, office_organisation
from accounts.notify import notify
from core.dates import format_cn_date
from core.history import save_with_history
from pilots import policy
from pilots.calls import _lock, _notify
from pilots.constants import DeadlineKind, Status
from pilots.deadlines import resolve_met
from pilots.models import Pilot
from reviews.models import ExpertReview

# The office's default criteria for reviewing an application, with their maximum points.
DEFAULT_CRITERIA = [
    {"title": "改革意义与制度创新", "max": 30},
    {"title": "目标、措施和预期成果的清晰度与可行性", "max": 30},
    {"title": "工作基础与保障", "max": 20},
    {"title": "可复制可推广价值", "max": 20},
]
# The longest opinion an expert may write: a page of text, enough for reasons on each criterion.
OPINION_MAX_LENGTH = 2000
# Applications the office may send to experts: endorsed by the prefecture, not yet decided.
REVIEWABLE_STATES = (Status.ENDORSED,)


@transaction.atomic
def assign_experts(
    *,
    actor,
    pilot: Pilot,
    experts: Sequence[User],
    due_date: dt.date | None,
    criteria: Sequence[Mapping] | None = None,
    today: dt.date | None = None,
) -> list[ExpertReview]:
    """N3: the office assigns experts, from different units, to an endorsed application."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以分配评审专家。")
    pilot = _lock(pilot)
    errors = []
    if pilot.status not in REVIEWABLE_STATES:
        errors.append(f"申报当前状态为“{pilot.get_status_display()}”，设区市推荐后方可专家评审。")
    if not experts:
        errors.append("请至少选择一位评审专家。")
    if any(policy.role_of(e) != Role.EXPERT for e in experts):
        errors.append("只能分配评审专家账号。")
    units = [e.organisation_id for e in experts]
    if len(set(units)) != len(units):
        errors.append("评审专家须来自不同单位。")
    already = set(
        ExpertReview.objects.filter(pilot=pilot, expert__in=experts).values_list(
            "expert__username", flat=True
        )
    )
    if already:
        errors.append("已分配过的专家：" + "、".join(sorted(already)) + "。")
    if due_date is None or due_date <= (today or timezone.localdate()):
        errors.append("请填写今天以后的评审期限。")
    criteria = list(criteria or DEFAULT_CRITERIA)
    if errors:
        raise ValidationError(errors)
    reviews = []
    for expert in experts:
        review = ExpertReview(
            pilot=pilot, expert=expert, criteria=criteria, due_date=due_date, assigned_by=actor
        )
        save_with_history(review, actor=actor, reason="分配评审专家")
        notify(
            organisation=expert.organisation,
            recipient=expert,
            subject=f"评审任务：{pilot.name}",
            body=f"请于{format_cn_date(due_date)}前完成在线评审。",
            url=reverse("reviews:expert_review", args=[review.pk]),
        )
        reviews.append(review)
    return reviews


def review_for(user, pk: int) -> ExpertReview:
    """The review `pk` if it is assigned to `user`, else 404: an expert never sees an
    application that is not assigned to them."""
    review = (
        ExpertReview.objects.select_related("pilot", "pilot__lead_department", "pilot__applicant")
        .filter(pk=pk, expert=user)
        .first()
    )
    if review is None:
        raise Http404("未找到该评审任务。")
    return review


def _score(value, maximum: Decimal, title: str) -> tuple[Decimal | None, str]:
    """(the score, "") or (None, the Chinese message why it is not one)."""
    if value is None or not str(value).strip():
        return None, "请填写本项得分。"
    try:
        number = Decimal(str(value))
    except (InvalidOperation, ValueError):
        number = None
    if number is None or not number.is_finite() or not 0 <= number <= maximum:
        return None, f"“{title}”的得分应在0至{maximum}之间。"
    return number, ""


def check_review(review: ExpertReview, scores: Sequence, opinion: str) -> tuple[list, str]:
    """N3: a score for every criterion within its range and an opinion within its limit; all
    errors at once, each under its field's name (score_0, score_1, …, opinion): the page shows
    it beside the field, the API and other callers read the messages. Returns the scores as
    numbers and the opinion stripped."""
    errors: dict[str, str] = {}
    if len(scores) != len(review.criteria):
        errors[NON_FIELD_ERRORS] = "请为每一项评审标准打分。"
    values = []
    for index, (value, criterion) in enumerate(zip(scores, review.criteria, strict=False)):
        number, problem = _score(value, Decimal(str(criterion["max"])), criterion["title"])
        values.append(number)
        if problem:
            errors[f"score_{index}"] = problem
    opinion = (opinion or "").strip()
    if not opinion:
        errors["opinion"] = "请填写评审意见。"
    elif len(opinion) > OPINION_MAX_LENGTH:
        errors["opinion"] = f"评审意见不超过{OPINION_MAX_LENGTH}字（现有{len(opinion)}字）。"
    if errors:
        raise ValidationError(errors)
    return values, opinion


@transaction.atomic
def submit_review(*, actor, review: ExpertReview, scores: Sequence, opinion: str) -> ExpertReview:
    """N3: the expert submits scores for every criterion and an opinion; once submitted, the
    review is final."""
    review = ExpertReview.objects.select_for_update().select_related("pilot").get(pk=review.pk)
    if review.expert_id != getattr(actor, "pk", None):
        raise PermissionDenied("只有被分配的专家可以提交评审。")
    if review.status == ExpertReview.SUBMITTED:
        raise ValidationError("该评审已提交，不能修改。")
    values, opinion = check_review(review, scores, opinion)
    review.scores = [str(v) for v in values]
    review.total = sum(values, Decimal(0))
    review.opinion = opinion
    review.status = ExpertReview.SUBMITTED
    review.submitted_at = timezone.now()
    save_with_history(review, actor=actor, reason="提交专家评审")
    # The expert's unit has met the deadline: its overdue item is resolved now.
    resolve_met(
        kind=DeadlineKind.EXPERT_REVIEW,
        pilot_id=review.pilot_id,
        organisation_id=actor.organisation_id,
        actor=actor,
        reason="已提交专家评审",
    )
    pending = ExpertReview.objects.filter(pilot=review.pilot, status=ExpertReview.PENDING)
    if not pending.exists():
        _notify(
            office_organisation(),
            review.pilot,
            f"专家评审已全部完成：{review.pilot.name}",
            "请查看各位专家的评分和意见后审定。",
        )
    return review


@dataclass
class Summary:
    reviews: list[ExpertReview]
    submitted: int
    mean: Decimal | None
    spread: Decimal | None  # highest − lowest total
    stdev: Decimal | None


def summary(pilot: Pilot) -> Summary:
    """The office's view: every review, and the mean and spread of the submitted totals."""
    reviews = list(pilot.expert_reviews.select_related("expert", "expert__organisation"))
    totals = [r.total for r in reviews if r.status == ExpertReview.SUBMITTED]
    two = Decimal("0.01")
    return Summary(
        reviews=reviews,
        submitted=len(totals),
        mean=(sum(totals) / len(totals)).quantize(two) if totals else None,
        spread=(max(totals) - min(totals)) if totals else None,
        stdev=Decimal(str(statistics.pstdev(totals))).quantize(two) if len(totals) > 1 else None,
    )


def others_visible(review: ExpertReview) -> list[ExpertReview]:
    """What an expert may see of the other experts: nothing before submitting; then the other
    submitted reviews."""
    if review.status != ExpertReview.SUBMITTED:
        return []
    return list(
        ExpertReview.objects.filter(pilot=review.pilot, status=ExpertReview.SUBMITTED)
        .exclude(pk=review.pk)
        .select_related("expert__organisation")
    )


def pending_for(user) -> list[ExpertReview]:
    return list(
        ExpertReview.objects.filter(expert=user, status=ExpertReview.PENDING)
        .select_related("pilot")
        .order_by("due_date", "pk")
    )
