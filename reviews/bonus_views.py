"""The assessment's bonus points page (R4.1): the year's table per organisation beside the
entries, and the office's form. Every change goes through reviews.bonus."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from core.dates import YEAR_MAX, YEAR_MIN
from core.forms import add_domain_errors
from pilots import policy
from reviews import bonus
from reviews.forms import BonusForm
from reviews.models import BonusPoint


@login_required
@require_http_methods(["GET", "POST"])
def bonus_page(request: HttpRequest) -> HttpResponse:
    if not (policy.is_office(request.user) or policy.can_enter_pilot(request.user)):
        raise PermissionDenied("只有省办和省级牵头联系部门可以查看考核加分。")
    try:
        year = int(request.GET.get("year") or timezone.localdate().year)
    except ValueError:
        year = timezone.localdate().year
    year = min(max(year, YEAR_MIN), YEAR_MAX)
    office = policy.is_office(request.user)
    form = BonusForm(request.POST or None, initial={"year": year}) if office else None
    if request.method == "POST":
        if not office:
            raise PermissionDenied("只有省办可以录入考核加分。")
        if form.is_valid():
            try:
                entry = bonus.award_points(actor=request.user, **form.cleaned_data)
            except ValidationError as exc:
                add_domain_errors(form, exc)
            else:
                messages.success(request, f"已为{entry.organisation.name}录入{entry.points}分。")
                return redirect(f"{request.path}?year={entry.year}")
    entries = BonusPoint.objects.filter(year=year).select_related(
        "organisation", "pilot", "created_by"
    )
    return render(
        request,
        "reviews/bonus.html",
        {
            "year": year,
            "years": [year - 1, year, year + 1],
            "table": bonus.assessment_table(year),
            "entries": entries,
            "form": form,
        },
    )
