"""Pages of the pilot library: list, detail with history, direct entry and edit (R2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.models import Organisation
from ledger.services import may_file
from pilots import policy, rules, services
from pilots.constants import APPROVED_OR_LATER, Origin, Status
from pilots.forms import (
    ApplicationForm,
    MilestoneFormSet,
    PilotFilterForm,
    PilotForm,
    milestones_from,
)
from pilots.history import entries_for, m2m_rows
from pilots.selectors import DEFAULT_SORT, SORTS, pilot_list_queryset

FILTER_SESSION_KEY = "pilot_list_filters"
FILTER_KEYS = (
    "q",
    "status",
    "field",
    "tier",
    "kind",
    "prefecture",
    "lead",
    "overdue",
    "sort",
    "per_page",
)


@dataclass
class ListState:
    """A filtered, sorted, paged list as the templates render it."""

    form: PilotFilterForm
    page: object
    sort: str
    query: str
    query_without_sort: str
    queryset: object


def filtered_list(request: HttpRequest, qs, *, session_key: str) -> ListState | HttpResponse:
    """Filters, search, sort and paging shared by the pilot list and the ledger. Filters
    persist in the session: coming back without parameters restores the last ones; ?reset=1
    clears them; invalid values are ignored with a warning and never remembered. Returns a
    redirect when the saved filters must be restored."""
    if "reset" in request.GET:
        request.session.pop(session_key, None)
        return redirect(request.path)
    params = {k: v for k, v in request.GET.items() if k in FILTER_KEYS and v}
    saved = request.session.get(session_key)
    if not request.GET and saved:
        return redirect(f"{request.path}?{urlencode(saved)}")
    form = PilotFilterForm(request.GET or None)
    if form.is_bound and not form.is_valid():
        messages.warning(request, "部分筛选条件无效，已忽略。")
        request.session.pop(session_key, None)
        params = {k: v for k, v in params.items() if k not in form.errors}
        form = PilotFilterForm()
    else:
        if form.is_bound:
            qs = form.filter(qs)
        if params != saved:
            request.session[session_key] = params
    sort = request.GET.get("sort", DEFAULT_SORT)
    if sort not in SORTS:
        sort = DEFAULT_SORT
    qs = qs.order_by(*SORTS[sort])
    page = Paginator(qs, per_page=_per_page(request)).get_page(request.GET.get("page"))
    return ListState(
        form=form,
        page=page,
        sort=sort,
        query=urlencode(params),
        query_without_sort=urlencode({k: v for k, v in params.items() if k != "sort"}),
        queryset=qs,
    )


@login_required
def pilot_list(request: HttpRequest) -> HttpResponse:
    """The pilot library: every pilot the user may see, in any state."""
    state = filtered_list(
        request, pilot_list_queryset(request.user), session_key=FILTER_SESSION_KEY
    )
    if isinstance(state, HttpResponse):
        return state
    return render(
        request,
        "pilots/pilot_list.html",
        {
            "form": state.form,
            "page": state.page,
            "sort": state.sort,
            "query": state.query,
            "query_without_sort": state.query_without_sort,
            "can_enter": policy.can_enter_pilot(request.user),
        },
    )


def _bound(request: HttpRequest):
    """POST data to bind a form to — also when a POST arrives empty, so it gets errors."""
    return request.POST if request.method == "POST" else None


def _per_page(request: HttpRequest) -> int:
    from django.conf import settings

    try:
        value = int(request.GET.get("per_page", settings.PAGINATE_BY))
    except ValueError:
        return settings.PAGINATE_BY
    return min(max(value, 10), 200)


@login_required
def pilot_detail(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    milestones = list(pilot.milestones.filter(is_removed=False))
    regions = list(pilot.regions.select_related("parent"))
    participants = list(pilot.participating_units.all())
    context = {
        "pilot": pilot,
        "milestones": milestones,
        "regions": regions,
        "participants": participants,
        "timeline": _timeline(pilot),
        "can_change": _can_change(request.user, pilot),
        "can_file": pilot.status == Status.APPROVED and may_file(request.user, pilot),
        "filings": pilot.filings.select_related("submitted_by", "decided_by").order_by("-version"),
    }
    from pilots.term_views import term_context
    from reviews.evaluations import EVALUATED_STATES, may_evaluate

    context.update(term_context(request.user, pilot))
    context["evaluations"] = list(
        pilot.evaluations.select_related("scorecard").order_by("-evaluated_on", "-pk")
    )
    context["can_evaluate"] = pilot.status in EVALUATED_STATES and may_evaluate(request.user, pilot)
    context.update(_promotion_context(request.user, pilot))
    context.update(_supervision_context(request.user, pilot))
    context["user_is_office"] = policy.is_office(request.user)
    # R1.3: overlaps are checked wherever a pilot enters, so every pilot shows its flags.
    context["flags"] = policy.overlap_flags_for(request.user, pilot)
    if pilot.origin == Origin.CALL:
        from pilots.application_views import _screening_role

        is_applicant = policy.is_applicant(request.user, pilot)
        context.update(
            {
                "opinions": pilot.opinions.select_related("organisation", "author"),
                "checklists": pilot.checklists.select_related("organisation", "author"),
                "can_submit": is_applicant and pilot.status in (Status.DRAFT, Status.RETURNED),
                "can_withdraw": is_applicant
                and pilot.status in (Status.DRAFT, Status.SUBMITTED, Status.RETURNED),
                "can_screen": _screening_role(request.user, pilot) is not None,
            }
        )
    return render(request, "pilots/pilot_detail.html", context)


def _promotion_context(user, pilot) -> dict:
    """R3.4: the pilot page's 复制推广 panel."""
    from reviews.forms import PromotionReportForm, RecognitionForm
    from reviews.promotion import PROMOTED_STATES

    if pilot.status not in PROMOTED_STATES:
        return {"promotion_panel": False}
    can_report = policy.is_lead_department_of(user, pilot)
    can_recognise = policy.is_office(user)
    return {
        "promotion_panel": True,
        "promotion_reports": list(
            pilot.promotion_reports.select_related("organisation", "submitted_by")
        ),
        "recognitions": list(pilot.recognitions.all()),
        "promotion_form": PromotionReportForm() if can_report else None,
        "recognition_form": RecognitionForm() if can_recognise else None,
    }


def _supervision_context(user, pilot) -> dict:
    """R3.3: the pilot page's 督察 panel: inspections with their rectification demands."""
    from django.db.models import Prefetch

    from reviews.models import Rectification
    from reviews.supervision import may_report_rectification

    inspections = list(
        pilot.inspections.select_related("created_by").prefetch_related(
            Prefetch("rectifications", Rectification.objects.select_related("organisation"))
        )
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


def _can_change(user, pilot) -> bool:
    from pilots.models import Pilot

    return Pilot.objects.restrict(user, "change").filter(pk=pilot.pk).exists()


def _timeline(pilot):
    from pilots.models import Milestone

    records = list(pilot.history.select_related("history_user"))
    org_ids: set[int] = set()
    for r in records:
        org_ids.update(
            filter(None, [r.lead_department_id, r.applicant_id, r.endorsing_prefecture_id])
        )
    names = dict(Organisation.objects.filter(pk__in=org_ids).values_list("pk", "name"))
    # Regions and participating units are named as they were in each version, removed ones
    # included.
    m2m = m2m_rows(records)
    m2m_ids = {row["organisation"] for rows in m2m.values() for v in rows.values() for row in v}
    names.update(
        Organisation.objects.filter(pk__in=m2m_ids - names.keys()).values_list("pk", "short_name")
    )
    entries = entries_for(records, subject="试点", relation_names=names, m2m=m2m)
    milestone_records = Milestone.history.filter(pilot_id=pilot.pk).select_related("history_user")
    by_milestone: dict[int, list] = {}
    for r in milestone_records:
        by_milestone.setdefault(r.id, []).append(r)
    for rows in by_milestone.values():
        entries += entries_for(rows, subject=f"时间节点“{rows[-1].title}”")
    entries.sort(key=lambda e: e.when, reverse=True)
    return entries


def _form_context(form, formset, **extra):
    return {"form": form, "formset": formset, **extra}


@login_required
@require_http_methods(["GET", "POST"])
def pilot_create(request: HttpRequest) -> HttpResponse:
    """R2.2: a lead department enters a state-, ministry- or department-deployed pilot."""
    if not policy.can_enter_pilot(request.user):
        raise PermissionDenied("只有省级牵头联系部门或省办可以直接录入试点。")
    form = PilotForm(_bound(request), request.FILES or None, user=request.user)
    formset = MilestoneFormSet(_bound(request), prefix="ms")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            pilot = services.enter_pilot(
                actor=request.user,
                data=form.domain_data(),
                regions=form.cleaned_data["regions"],
                participating_units=form.cleaned_data["participating_units"],
                milestones=milestones_from(formset),
                reason=form.cleaned_data.get("reason", ""),
            )
        except ValidationError as exc:
            _attach_errors(form, exc)
        else:
            messages.success(
                request, f"已录入试点 {pilot.code}，请在{rules.numbers().filing}完成备案。"
            )
            return redirect(pilot)
    return render(request, "pilots/pilot_form.html", _form_context(form, formset, creating=True))


@login_required
@require_http_methods(["GET", "POST"])
def pilot_edit(request: HttpRequest, code: str) -> HttpResponse:
    """Edit a pilot's content: a draft or returned application (the 申报表), or a directly
    entered pilot before filing."""
    pilot = policy.get_pilot_for(request.user, code, "change")
    is_application = pilot.origin == Origin.CALL
    initial_ms = [
        {"due_date": m.due_date, "title": m.title, "reached_on": m.reached_on}
        for m in pilot.milestones.filter(is_removed=False)
    ]
    form_class = ApplicationForm if is_application else PilotForm
    extra = {"call": pilot.call} if is_application else {}
    form = form_class(
        _bound(request), request.FILES or None, instance=pilot, user=request.user, **extra
    )
    formset = MilestoneFormSet(_bound(request), prefix="ms", initial=initial_ms)
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        try:
            pilot = services.update_pilot(
                actor=request.user,
                pilot=pilot,
                data=form.domain_data(),
                regions=form.cleaned_data["regions"],
                participating_units=form.cleaned_data["participating_units"],
                milestones=milestones_from(formset),
                reason=form.cleaned_data.get("reason", ""),
            )
        except ValidationError as exc:
            _attach_errors(form, exc)
        else:
            if is_application:
                from pilots.application_views import _after_save

                return _after_save(request, pilot)
            messages.success(request, "试点信息已保存。")
            return redirect(pilot)
    template = "pilots/application_form.html" if is_application else "pilots/pilot_form.html"
    return render(
        request,
        template,
        _form_context(form, formset, creating=False, pilot=pilot, call=pilot.call),
    )


def flash_errors(request: HttpRequest, source) -> None:
    """Show a bound form's errors, or a ValidationError's messages, as error messages (for a
    POST that redirects back to the page it came from)."""
    if isinstance(source, ValidationError):
        found = source.messages
    else:
        found = [message for errors in source.errors.values() for message in errors]
    for message in found:
        messages.error(request, message)


def _attach_errors(form, exc: ValidationError) -> None:
    if hasattr(exc, "error_dict"):
        for name, errors in exc.message_dict.items():
            target = name if name in form.fields else None
            for message in errors:
                form.add_error(target, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
def pilot_plan(request: HttpRequest, code: str) -> FileResponse:
    """The pilot plan attachment, only through the access gate."""
    pilot = policy.get_pilot_for(request.user, code)
    if not pilot.plan_attachment:
        raise Http404("该试点未上传试点方案。")
    try:
        handle = pilot.plan_attachment.open("rb")
    except FileNotFoundError as exc:
        raise Http404("附件文件不存在。") from exc
    name = pilot.plan_attachment.name.rsplit("/", 1)[-1]
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
