"""The reviews' panels on the pilot page (evaluations R3.2, promotion R3.4, supervision R3.3)
and on the screening page (the experts' scores, N3); registered with pilots.panels."""

from __future__ import annotations

from django.db.models import Exists, OuterRef, Prefetch
from django.utils import timezone

from pilots import policy
from pilots.constants import APPROVED_OR_LATER
from pilots.panels import SCREENING_PAGE, Panel, has_rows, register_panel
from reviews import expert
from reviews.evaluations import EVALUATED_STATES, may_evaluate
from reviews.forms import PromotionReportForm, RecognitionForm
from reviews.models import Evaluation, Inspection, PromotionReport, Recognition, Rectification
from reviews.promotion import PROMOTED_STATES
from reviews.supervision import may_report_rectification


def evaluations(user, pilot, access) -> dict:
    """R3.2: the pilot's scored evaluations, and whether the user may record one."""
    found = pilot.evaluations.select_related("scorecard").order_by("-evaluated_on", "-pk")
    return {
        "evaluations": list(found) if has_rows(pilot, "has_evaluations") else [],
        "can_evaluate": pilot.status in EVALUATED_STATES and may_evaluate(user, pilot),
    }


def promotion(user, pilot, access) -> dict:
    """R3.4: the 复制推广 panel: reports of the lead department and the office's recognitions."""
    if pilot.status not in PROMOTED_STATES:
        return {}
    can_report = policy.is_lead_department_of(user, pilot)
    return {
        "promotion_panel": True,
        "promotion_reports": list(
            pilot.promotion_reports.select_related("organisation", "submitted_by")
        )
        if has_rows(pilot, "has_promotion_reports")
        else [],
        "recognitions": list(pilot.recognitions.all())
        if has_rows(pilot, "has_recognitions")
        else [],
        "promotion_form": PromotionReportForm() if can_report else None,
        "recognition_form": RecognitionForm() if policy.is_office(user) else None,
    }


def supervision(user, pilot, access) -> dict:
    """R3.3: the 督察 panel: inspections with their rectification demands."""
    rectifications = Rectification.objects.select_related("organisation")
    if not has_rows(pilot, "has_rectifications"):
        rectifications = rectifications.none()
    inspections = (
        list(
            pilot.inspections.select_related("created_by").prefetch_related(
                Prefetch("rectifications", rectifications)
            )
        )
        if has_rows(pilot, "has_inspections")
        else []
    )
    today = timezone.localdate()
    for inspection in inspections:
        for r in inspection.rectifications.all():
            r.days_late = (today - r.due_date).days if r.closed_on is None else 0
            r.can_report = r.closed_on is None and may_report_rectification(user, r)
    office = policy.is_office(user)
    return {
        "inspections": inspections,
        "can_inspect": office and pilot.status in APPROVED_OR_LATER,
        "can_close_rectification": office,
    }


def expert_scores(user, pilot, access) -> dict:
    """N3: for the office deciding, the experts' scores, mean and spread side by side."""
    if not policy.is_office(user):
        return {}
    found = expert.summary(pilot)
    return {"expert_summary": found} if found.reviews else {}


def _exists(model):
    """Builds the annotation telling whether the pilot has any record of `model`."""
    return lambda: Exists(model.objects.filter(pilot=OuterRef("pk")))


def register() -> None:
    register_panel(
        Panel(
            "evaluations",
            "reviews/_pilot_evaluations.html",
            evaluations,
            30,
            exists={"has_evaluations": _exists(Evaluation)},
        )
    )
    register_panel(
        Panel(
            "promotion",
            "reviews/_pilot_promotion.html",
            promotion,
            40,
            exists={
                "has_promotion_reports": _exists(PromotionReport),
                "has_recognitions": _exists(Recognition),
            },
        )
    )
    register_panel(
        Panel(
            "supervision",
            "reviews/_pilot_supervision.html",
            supervision,
            50,
            exists={
                "has_inspections": _exists(Inspection),
                "has_rectifications": lambda: Exists(
                    Rectification.objects.filter(inspection__pilot=OuterRef("pk"))
                ),
            },
        )
    )
    register_panel(
        Panel(
            "expert_scores",
            "reviews/_screen_experts.html",
            expert_scores,
            10,
            page=SCREENING_PAGE,
        )
    )
