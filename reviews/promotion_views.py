"""Pages of promotion (R3.4, N3): the lead department's promotion reports and the office's
recognitions from the pilot page; the office's promotion page where list editions are drafted
and published; and the public page (no login) with the published editions only."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count, Q
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from core.views import bound_data, flash_errors
from pilots import policy
from reviews import promotion
from reviews.constants import PUBLIC_FIELDS, ListStatus
from reviews.forms import ListDraftForm, PromotionReportForm, RecognitionForm
from reviews.models import ListEntry, PublishedList, Recognition

FIELD_LABELS = dict(PUBLIC_FIELDS)


@login_required
@require_POST
def promotion_report(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    form = PromotionReportForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(f"{pilot.get_absolute_url()}#promotion")
    try:
        promotion.report_promotion(
            actor=request.user,
            pilot=pilot,
            text=form.cleaned_data["text"],
            adopted_by=form.cleaned_data["adopted_by"],
        )
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, "推广情况已报送省办。")
    return redirect(f"{pilot.get_absolute_url()}#promotion")


@login_required
@require_POST
def recognise(request: HttpRequest, code: str) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以认定可复制推广经验和示范案例。")
    pilot = policy.get_pilot_for(request.user, code)
    form = RecognitionForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(f"{pilot.get_absolute_url()}#promotion")
    try:
        recognition = promotion.recognise(actor=request.user, pilot=pilot, **form.cleaned_data)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"已认定为{recognition.get_kind_display()}。")
    return redirect(f"{pilot.get_absolute_url()}#promotion")


@login_required
@require_http_methods(["GET", "POST"])
def promotion_page(request: HttpRequest) -> HttpResponse:
    """The office's promotion page: recognitions, and list editions drafted and published."""
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以编制和发布推广清单。")
    form = ListDraftForm(bound_data(request))
    if request.method == "POST" and form.is_valid():
        try:
            edition = promotion.draft_list(
                actor=request.user,
                title=form.cleaned_data["title"],
                fields=form.cleaned_data["fields"],
                recognitions=list(form.cleaned_data["recognitions"]),
            )
        except ValidationError as exc:
            for message in exc.messages:
                form.add_error(None, message)
        else:
            messages.success(request, "清单草稿已生成，请核对后发布。")
            return redirect("reviews:list", pk=edition.pk)
    recognitions = Recognition.objects.select_related("pilot", "pilot__lead_department")
    editions = PublishedList.objects.annotate(n=Count("entries"))
    return render(
        request,
        "reviews/promotion.html",
        {"form": form, "recognitions": recognitions, "editions": editions},
    )


@login_required
def list_detail(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以查看推广清单草稿。")
    edition = get_object_or_404(PublishedList, pk=pk)
    return render(
        request,
        "reviews/list_detail.html",
        {
            "edition": edition,
            "entries": edition.entries.all(),
            "columns": [(key, FIELD_LABELS[key]) for key in edition.fields],
            "can_publish": edition.status == ListStatus.DRAFT,
        },
    )


@login_required
@require_POST
def list_publish(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以发布推广清单。")
    edition = get_object_or_404(PublishedList, pk=pk)
    try:
        promotion.publish_list(actor=request.user, edition=edition)
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        messages.success(request, f"“{edition.title}”已发布，公众可在公开页面查阅。")
    return redirect("reviews:list", pk=pk)


# --- the public page (no login) ---------------------------------------------------------------


def public_index(request: HttpRequest) -> HttpResponse:
    """The published editions, and a search across their entries."""
    editions = promotion.public_lists().annotate(n=Count("entries"))
    query = request.GET.get("q", "").strip()[:50]
    hits = None
    if query:
        hits = (
            ListEntry.objects.filter(published_list__in=promotion.public_lists())
            .filter(Q(name__icontains=query) | Q(code__icontains=query))
            .select_related("published_list")
            .order_by("-published_list__published_on", "number")[:100]
        )
    return render(
        request,
        "reviews/public_index.html",
        {"editions": editions, "query": query, "hits": hits},
    )


def public_list(request: HttpRequest, pk: int) -> HttpResponse:
    edition = get_object_or_404(promotion.public_lists(), pk=pk)
    page = Paginator(edition.entries.all(), 100).get_page(request.GET.get("page"))
    return render(
        request,
        "reviews/public_list.html",
        {
            "edition": edition,
            "page": page,
            "query": "",
            "columns": [(key, FIELD_LABELS[key]) for key in edition.fields],
        },
    )
