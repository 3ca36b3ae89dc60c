"""Pages of the reviews app: scorecards (the office defines them, everyone reads them) and a
pilot's evaluations scored against one (R3.2). Every change goes through
reviews.evaluations."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods

from accounts.constants import Role
from core.views import bound_data, content_disposition
from pilots import policy
from reviews import evaluations, scoring
from reviews.forms import EvaluationForm, IndicatorFormSet, ScorecardForm, indicators_from
from reviews.models import Evaluation, Scorecard


def may_list_scorecards(user) -> bool:
    return policy.is_office(user) or policy.role_of(user) == Role.LEAD_DEPARTMENT


@login_required
def scorecard_list(request: HttpRequest) -> HttpResponse:
    """The scorecards: the office defines them, lead departments evaluate their pilots with
    them. A scorecard itself is readable from every evaluation scored against it."""
    if not may_list_scorecards(request.user):
        raise PermissionDenied("评分表由省办制定、牵头联系部门用于试点评估，本单位无需查看。")
    cards = Scorecard.objects.annotate(
        n_indicators=Count("indicators", distinct=True),
        n_evaluations=Count("evaluations", distinct=True),
    ).order_by("-created_at", "-pk")
    return render(
        request,
        "reviews/scorecard_list.html",
        {"cards": cards, "can_define": policy.is_office(request.user)},
    )


@login_required
def scorecard_detail(request: HttpRequest, pk: int) -> HttpResponse:
    card = get_object_or_404(Scorecard, pk=pk)
    return render(
        request,
        "reviews/scorecard_detail.html",
        {
            "card": card,
            "indicators": list(card.indicators.all()),
            "criteria": list(card.criteria.all()),
            "indicator_share": 100 - card.effort_share,
            "may_list": may_list_scorecards(request.user),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def scorecard_create(request: HttpRequest) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以制定评分表。")
    form = ScorecardForm(bound_data(request))
    formset = IndicatorFormSet(bound_data(request), prefix="ind")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        try:
            card = evaluations.define_scorecard(
                actor=request.user,
                name=data["name"],
                indicators=indicators_from(formset),
                criteria=form.criteria(),
                effort_share=data["effort_share"],
                thresholds=scoring.Thresholds(
                    data["five_stars"], data["four_stars"], data["three_stars"]
                ),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, f"已制定评分表“{card.name}”。")
            return redirect("reviews:scorecard", pk=card.pk)
    return render(request, "reviews/scorecard_form.html", {"form": form, "formset": formset})


@login_required
@require_http_methods(["GET", "POST"])
def evaluation_create(request: HttpRequest, code: str) -> HttpResponse:
    """R3.2: record a stage or acceptance evaluation of a pilot against a scorecard."""
    pilot = policy.get_pilot_for(request.user, code)
    if not evaluations.may_evaluate(request.user, pilot):
        raise PermissionDenied("只有该试点的牵头联系部门或省办可以录入评估。")
    cards = list(Scorecard.objects.filter(is_active=True).order_by("-created_at", "-pk"))
    if not cards:
        messages.warning(request, "省办尚未制定评分表，暂不能录入评估。")
        return redirect(pilot)
    chosen = request.POST.get("scorecard") or request.GET.get("scorecard")
    card = next((c for c in cards if str(c.pk) == chosen), cards[0])
    form = EvaluationForm(bound_data(request), scorecard=card)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            evaluation = evaluations.record_evaluation(
                actor=request.user,
                pilot=pilot,
                scorecard=card,
                stage=data["stage"],
                evaluator=data["evaluator"],
                third_party=data.get("third_party", ""),
                evaluated_on=data["evaluated_on"],
                values=form.values(),
                effort=data["effort"],
                criteria_hit=form.criteria_hit(),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(
                request,
                f"已录入{evaluation.get_stage_display()}：{evaluation.score}分，"
                f"{evaluation.get_rating_display()}。",
            )
            return redirect("reviews:evaluation", pk=evaluation.pk)
    return render(
        request,
        "reviews/evaluation_form.html",
        {"pilot": pilot, "form": form, "card": card, "cards": cards},
    )


@login_required
def evaluation_detail(request: HttpRequest, pk: int) -> HttpResponse:
    evaluation = get_object_or_404(
        Evaluation.objects.select_related("pilot", "scorecard", "created_by", "organisation"),
        pk=pk,
        pilot__in=policy.visible_pilots(request.user),
    )
    return render(request, "reviews/evaluation_detail.html", {"evaluation": evaluation})


@login_required
def evaluation_pdf(request: HttpRequest, pk: int) -> HttpResponse:
    """The evaluation report as a printable PDF (R3.2)."""
    from pilots.documents import render_pdf

    evaluation = get_object_or_404(
        Evaluation.objects.select_related("pilot", "scorecard", "organisation"),
        pk=pk,
        pilot__in=policy.visible_pilots(request.user),
    )
    content = render_pdf(
        "pdf/evaluation_report.html", {"evaluation": evaluation, "pilot": evaluation.pilot}
    )
    response = HttpResponse(content, content_type="application/pdf")
    name = f"{evaluation.pilot.code}-{evaluation.get_stage_display()}报告.pdf"
    response["Content-Disposition"] = content_disposition(name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
