"""Pages of the online expert review (N3): the office assigns experts and reads their scores
side by side; an expert reviews the applications assigned to them and nothing else. Every
change goes through reviews.expert."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.constants import Role
from core.forms import add_domain_errors
from core.views import bound_data
from pilots import policy
from reviews import expert
from reviews.forms import AssignExpertsForm, ExpertReviewForm


@login_required
@require_http_methods(["GET", "POST"])
def assign(request: HttpRequest, code: str) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以分配评审专家和查看评审结果。")
    pilot = policy.get_pilot_for(request.user, code)
    form = AssignExpertsForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            expert.assign_experts(
                actor=request.user,
                pilot=pilot,
                experts=list(form.cleaned_data["experts"]),
                due_date=form.cleaned_data["due_date"],
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "已分配评审专家，并已通知。")
            return redirect("reviews:experts", code=pilot.code)
    return render(
        request,
        "reviews/expert_assign.html",
        {
            "pilot": pilot,
            "form": form,
            "summary": expert.summary(pilot),
            "can_screen": policy.screening_role(request.user, pilot) is not None,
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def review(request: HttpRequest, pk: int) -> HttpResponse:
    """An expert's review of one assigned application."""
    task = expert.review_for(request.user, pk)
    form = ExpertReviewForm(bound_data(request), criteria=task.criteria)
    if request.method == "POST":
        # Every error at once: the domain checks what the form could read even when another
        # field has an error of its own (a field keeps its own error, add_domain_errors).
        valid = form.is_valid()
        data = form.cleaned_data
        scores = [data.get(f"score_{i}") for i in range(len(task.criteria))]
        try:
            if valid:
                expert.submit_review(
                    actor=request.user, review=task, scores=scores, opinion=data["opinion"]
                )
            else:
                expert.check_review(task, scores, data.get("opinion", ""))
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            if valid:
                messages.success(request, "评审已提交。")
                return redirect("reviews:expert_review", pk=task.pk)
    task.refresh_from_db()
    return render(
        request,
        "reviews/expert_review.html",
        {
            "task": task,
            "pilot": task.pilot,
            "rows": list(
                zip(
                    range(len(task.criteria)),
                    task.criteria,
                    task.scores or [None] * len(task.criteria),
                    strict=False,
                )
            ),
            "form": form,
            "others": expert.others_visible(task),
        },
    )


@login_required
def my_reviews(request: HttpRequest) -> HttpResponse:
    from reviews.models import ExpertReview

    if policy.role_of(request.user) != Role.EXPERT:
        raise PermissionDenied("评审任务只分配给评审专家。")

    tasks = ExpertReview.objects.filter(expert=request.user).select_related("pilot")
    return render(request, "reviews/expert_list.html", {"tasks": tasks})
