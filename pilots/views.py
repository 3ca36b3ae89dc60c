"""Pages of the pilot library: list, detail, history, direct entry and edit (R2.2)."""

from __future__ import annotations

from dataclasses import dataclass
from urllib.parse import urlencode

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods

from accounts.models import Organisation
from core.forms import add_domain_errors
from core.timeline import entries_for, m2m_rows
from core.views import bound_data, per_page, serve_file, warn_ignored_filters
from pilots import policy, rules, services
from pilots.constants import Origin, Status
from pilots.forms import (
    ApplicationForm,
    MilestoneFormSet,
    PilotFilterForm,
    PilotForm,
    milestones_from,
    validate_with,
)
from pilots.models import Milestone, Pilot
from pilots.panels import panels_for
from pilots.selectors import (
    DEFAULT_SORT,
    SORTS,
    pilot_list_queryset,
    pilot_page_queryset,
    pilot_units,
)

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
        warn_ignored_filters(request, form)
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
    page = Paginator(qs, per_page=per_page(request)).get_page(request.GET.get("page"))
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


@login_required
def pilot_detail(request: HttpRequest, code: str) -> HttpResponse:
    """A pilot's page: its facts, entry elements, milestones and every app's panels. Records
    the pilot has none of are not queried (the pilot comes with one Exists per kind); the
    history has its own page."""
    try:
        pilot = pilot_page_queryset(request.user).get(code=code)
    except (Pilot.DoesNotExist, ValueError) as exc:
        raise Http404("未找到该试点，或您无权查看。") from exc
    access = policy.for_pilot(request.user, pilot)
    panels, panel_context = panels_for(request.user, pilot, access)
    regions, participants = pilot_units(pilot)
    milestones = pilot.milestones.filter(is_removed=False)
    context = {
        "pilot": pilot,
        "milestones": list(milestones) if pilot.has_milestones else [],
        "regions": regions,
        "participants": participants,
        # The edit page's own test (policy.get_pilot_for with "change").
        "can_change": access.may(policy.Act.CHANGE),
        "user_is_office": policy.is_office(request.user),
        # R1.3: overlaps are checked wherever a pilot enters, so every pilot shows its flags.
        "flags": policy.overlap_flags_for(request.user, pilot) if pilot.has_flags else [],
        "panels": panels,
        **panel_context,
    }
    if pilot.origin == Origin.CALL:
        is_applicant = policy.is_applicant(request.user, pilot)
        people = ("organisation", "author__organisation__parent")
        opinions = pilot.opinions.select_related(*people)
        checklists = pilot.checklists.select_related(*people)
        context.update(
            {
                "opinions": list(opinions) if pilot.has_opinions else [],
                "checklists": list(checklists) if pilot.has_checklists else [],
                "can_submit": is_applicant and pilot.status in (Status.DRAFT, Status.RETURNED),
                "can_withdraw": is_applicant
                and pilot.status in (Status.DRAFT, Status.SUBMITTED, Status.RETURNED),
                "can_screen": policy.screening_role(request.user, pilot) is not None,
            }
        )
    return render(request, "pilots/pilot_detail.html", context)


@login_required
def pilot_history(request: HttpRequest, code: str) -> HttpResponse:
    """A pilot's whole history: who changed what, when and why, its milestones included."""
    pilot = policy.get_pilot_for(request.user, code)
    return render(
        request, "pilots/pilot_history.html", {"pilot": pilot, "timeline": _timeline(pilot)}
    )


def _timeline(pilot):
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
    units = Organisation.objects.select_related("parent").in_bulk(m2m_ids)
    # A region is the place (杭州市西湖区), a participating unit the unit: the applying bureau
    # is named only where it is the applicant.
    m2m_names = {
        "regions": {pk: org.place_name for pk, org in units.items()},
        "participating_units": {pk: org.name for pk, org in units.items()},
    }
    entries = entries_for(
        records, subject="试点", relation_names=names, m2m=m2m, m2m_names=m2m_names
    )
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
    form = PilotForm(bound_data(request), request.FILES or None, user=request.user)
    formset = MilestoneFormSet(bound_data(request), prefix="ms")
    if request.method == "POST" and validate_with(form, formset):
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
            add_domain_errors(form, exc)
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
    extra = (
        {"call": pilot.call, "submitting": bool(request.POST.get("submit_now"))}
        if is_application
        else {}
    )
    form = form_class(
        bound_data(request), request.FILES or None, instance=pilot, user=request.user, **extra
    )
    formset = MilestoneFormSet(bound_data(request), prefix="ms", initial=initial_ms)
    if request.method == "POST" and validate_with(form, formset):
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
            add_domain_errors(form, exc)
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


@login_required
def pilot_plan(request: HttpRequest, code: str) -> FileResponse:
    """The pilot plan attachment, only through the access gate."""
    pilot = policy.get_pilot_for(request.user, code)
    return serve_file(
        pilot.plan_attachment, missing="该试点未上传试点方案。", gone="附件文件不存在。"
    )
