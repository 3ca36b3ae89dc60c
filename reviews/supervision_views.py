"""Pages of supervision (R3.3): the office records an inspection of a pilot with its
rectification demands; the responsible organisation reports its rectification; the office
closes each demand. Every change goes through reviews.supervision."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import add_domain_errors
from core.views import bound_data, flash_errors
from pilots import policy
from reviews import supervision
from reviews.forms import DemandFormSet, InspectionForm
from reviews.models import Rectification


@login_required
@require_http_methods(["GET", "POST"])
def inspection_create(request: HttpRequest, code: str) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以录入督察记录。")
    pilot = policy.get_pilot_for(request.user, code)
    form = InspectionForm(bound_data(request))
    formset = DemandFormSet(bound_data(request), prefix="dm")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        demands = [
            supervision.Demand(f.cleaned_data.get("text", ""), f.cleaned_data.get("due_date"))
            for f in formset.forms
        ]
        try:
            supervision.record_inspection(
                actor=request.user, pilot=pilot, demands=demands, **form.cleaned_data
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, "督察记录已保存，整改要求已通知责任单位。")
            return redirect(f"{pilot.get_absolute_url()}#supervision")
    return render(
        request, "reviews/inspection_form.html", {"pilot": pilot, "form": form, "formset": formset}
    )


def _rectification_for(request: HttpRequest, pk: int) -> Rectification:
    return get_object_or_404(
        Rectification.objects.select_related("inspection__pilot", "organisation"),
        pk=pk,
        inspection__pilot__in=policy.visible_pilots(request.user),
    )


@login_required
@require_POST
def rectification_report(request: HttpRequest, pk: int) -> HttpResponse:
    rectification = _rectification_for(request, pk)
    try:
        supervision.report_rectification(
            actor=request.user, rectification=rectification, text=request.POST.get("text", "")
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "整改情况已报送省办。")
    return redirect(f"{rectification.inspection.pilot.get_absolute_url()}#supervision")


@login_required
@require_POST
def rectification_close(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以确认整改销号。")
    rectification = _rectification_for(request, pk)
    try:
        supervision.close_rectification(
            actor=request.user, rectification=rectification, note=request.POST.get("note", "")
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "整改要求已销号。")
    return redirect(f"{rectification.inspection.pilot.get_absolute_url()}#supervision")
