"""Pages of the end of a term (R2.4, R3.2) and of the scheduled jobs: the closure report,
the extension request, the acceptance report, the office's decisions, restoring a purged
pilot, the overdue list (with its export), the purged pilots and the jobs' run log.

Every change goes through pilots.term (or pilots.jobs for a run started by hand); these views
only bind forms, call those functions and show their Chinese messages."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.db.models import Exists, OuterRef
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import add_domain_errors
from core.views import (
    bound_data,
    flash_errors,
    serve_file,
)
from pilots import policy, rules, term
from pilots.constants import LEDGER_STATES, Status, TermRequestStatus
from pilots.deadlines import ACCEPTANCE_STATES
from pilots.models import (
    AcceptanceReport,
    ClosureReport,
    ExtensionRequest,
    OverdueEvent,
    Pilot,
)
from pilots.panels import has_rows
from pilots.services import MilestoneData
from pilots.term_forms import (
    AcceptanceForm,
    ClosureForm,
    DecisionForm,
    ExtensionForm,
    ExtensionMilestoneFormSet,
    RestoreForm,
)
from pilots.term_window import window_message

# States in which a pilot has an end of term to manage.
TERM_STATES = LEDGER_STATES | {Status.CLOSED, Status.PURGED}


def _back(request: HttpRequest, fallback: str) -> str:
    """Where to go after a decision: the page it was made on, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


# --- the pilot page's panel -----------------------------------------------------------------


def term_panel(user, pilot: Pilot, access) -> dict:
    """The pilot page's 到期管理 panel (registered with pilots.panels)."""
    return term_context(user, pilot)


def term_context(user, pilot: Pilot, today: dt.date | None = None) -> dict:
    """What the pilot page's 到期管理 panel shows, and which of its actions `user` may take."""
    if pilot.status not in TERM_STATES:
        return {"term_panel": False}
    today = today or timezone.localdate()
    people = ("submitted_by__organisation__parent", "organisation")
    related = (*people, "decided_by__organisation__parent")
    closures = _rows(pilot, "has_closures", pilot.closure_reports.select_related(*related))
    extensions = _rows(pilot, "has_extensions", pilot.extension_requests.select_related(*related))
    acceptance = _rows(
        pilot,
        "has_acceptance_reports",
        pilot.acceptance_reports.select_related(*people).order_by("-version"),
    )
    office = policy.is_office(user)
    acceptance_due = pilot.acceptance_report_due
    # R3.2: owed from the end date whatever happened at the end, until a report is in.
    acceptance_owed = rules.acceptance_owed(pilot.end_date, today) and not any(
        a.is_current for a in acceptance
    )
    return {
        "term_panel": True,
        "purge_on": purge_on(pilot, closures, extensions),
        "grace_days": settings.PILOT_PURGE_GRACE_DAYS,
        "closure_opens": term.closure_opens(pilot),
        "closure_open_now": today >= term.closure_opens(pilot),
        "days_to_end": (pilot.end_date - today).days,
        "acceptance_due": acceptance_due,
        "acceptance_owed": acceptance_owed,
        "acceptance_days_late": max(0, (today - acceptance_due).days) if acceptance_owed else 0,
        "closures": closures,
        "extensions": extensions,
        "acceptance_reports": acceptance,
        "open_overdue": _rows(
            pilot,
            "has_open_overdue",
            pilot.overdue_events.filter(resolved_on__isnull=True).order_by("due_date"),
        ),
        "can_report_closure": term.may_report_closure(user, pilot, today),
        "can_request_extension": term.may_request_extension(user, pilot, today),
        "is_lead": policy.is_lead_department_of(user, pilot),
        "can_submit_acceptance": term.may_submit_acceptance(user, pilot, today),
        "can_decide_term": office,
        "can_restore": office and pilot.status == Status.PURGED,
    }


def _rows(pilot: Pilot, name: str, qs) -> list:
    """The records of `qs`, unless the pilot page found the pilot has none (panels.has_rows)."""
    return list(qs) if has_rows(pilot, name) else []


TERM_EXISTS = {
    "has_closures": lambda: Exists(ClosureReport.objects.filter(pilot=OuterRef("pk"))),
    "has_extensions": lambda: Exists(ExtensionRequest.objects.filter(pilot=OuterRef("pk"))),
    "has_acceptance_reports": lambda: Exists(AcceptanceReport.objects.filter(pilot=OuterRef("pk"))),
    "has_open_overdue": lambda: Exists(
        OverdueEvent.objects.filter(pilot=OuterRef("pk"), resolved_on__isnull=True)
    ),
}


def purge_on(pilot: Pilot, closures, extensions) -> dt.date:
    """R2.4: the day an active pilot is purged if nothing is reported: the grace runs from its
    end date, or afresh from a restore, a returned closure or a rejected extension (as
    pilots.jobs.purge_candidates counts it)."""
    starts = [pilot.end_date]
    if pilot.restored_on:
        starts.append(pilot.restored_on)
    starts += [
        timezone.localdate(r.decided_at)
        for r in [*closures, *extensions]
        if r.status == TermRequestStatus.RETURNED and r.decided_at
    ]
    return rules.purge_date(max(starts))


def _refuse(user, pilot: Pilot, action: str, allowed: tuple[str, ...]) -> None:
    """A clear reason why `user` may not take `action` on `pilot` now."""
    if not policy.is_lead_department_of(user, pilot):
        raise PermissionDenied(f"只有该试点的省级牵头联系部门可以{action}。")
    if pilot.status not in allowed:
        raise PermissionDenied(f"试点当前状态为“{pilot.get_status_display()}”，不能{action}。")


# --- closure (销号, R2.4) --------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def closure_create(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    if not term.may_report_closure(request.user, pilot):
        _refuse(request.user, pilot, "报告销号", (Status.ACTIVE,))
        raise PermissionDenied(window_message(pilot, "报告销号"))
    form = ClosureForm(bound_data(request), request.FILES or None)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            term.report_closure(
                actor=request.user,
                pilot=pilot,
                results=data["results"],
                experience=data["experience"],
                milestones_reached=data.get("milestones_reached", ""),
                attachment=data.get("attachment"),
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, "销号报告已报送省办审核。")
            return redirect(pilot)
    return render(
        request,
        "pilots/term/closure_form.html",
        {"pilot": pilot, "form": form, "milestones": pilot.milestones.filter(is_removed=False)},
    )


def _decide(request: HttpRequest, record, *, accept, refuse, accepted: str, refused: str):
    """The office's decision on a closure report or an extension request: `accept(note)` or
    `refuse(reason)`, then back to the page it was made on with what happened."""
    back = _back(request, record.pilot.get_absolute_url())
    form = DecisionForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(back)
    note = form.cleaned_data["note"]
    try:
        if form.cleaned_data["decision"] == DecisionForm.ACCEPT:
            accept(note)
            messages.success(request, accepted)
        else:
            refuse(note)
            messages.success(request, refused)
    except ValidationError as exc:
        flash_errors(request, exc)
    return redirect(back)


@login_required
@require_POST
def closure_decide(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以审核销号。")
    report = get_object_or_404(ClosureReport.objects.select_related("pilot"), pk=pk)
    return _decide(
        request,
        report,
        accept=lambda note: term.accept_closure(actor=request.user, report=report, note=note),
        refuse=lambda note: term.return_closure(actor=request.user, report=report, reason=note),
        accepted=f"已同意{report.pilot.name}销号。",
        refused=f"已退回{report.pilot.name}的销号报告。",
    )


# --- extension (延期, R2.4 + R1.2) ------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def extension_create(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    if not term.may_request_extension(request.user, pilot):
        _refuse(request.user, pilot, "申请延期", (Status.ACTIVE,))
        raise PermissionDenied(window_message(pilot, "申请延期"))
    form = ExtensionForm(bound_data(request))
    formset = ExtensionMilestoneFormSet(bound_data(request), prefix="ms")
    if request.method == "POST":
        # Every error at once: the domain checks what the form could read even when a field
        # has an error of its own (that field keeps its own message, add_domain_errors).
        valid = [form.is_valid(), formset.is_valid()] == [True, True]  # both, so both have errors
        data = form.cleaned_data
        values = dict(
            reason=data.get("reason", ""),
            new_end_date=data.get("new_end_date"),
            stage_targets=data.get("stage_targets", ""),
            milestones=[
                MilestoneData(f.cleaned_data["due_date"], f.cleaned_data["title"])
                for f in formset.forms
                if f.cleaned_data.get("due_date") and f.cleaned_data.get("title")
            ],
        )
        try:
            if valid:
                request_ = term.request_extension(actor=request.user, pilot=pilot, **values)
            else:
                term.check_extension_request(pilot, **values)
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            if valid:
                new_end = rules.format_cn_date(request_.new_end_date)
                messages.success(request, f"延期申请（延至{new_end}）已报送省办审批。")
                return redirect(pilot)
    return render(
        request,
        "pilots/term/extension_form.html",
        {
            "pilot": pilot,
            "form": form,
            "formset": formset,
            "limit_years": rules.TERM_YEARS[pilot.kind][1],
            "latest_end": rules.max_end_date(pilot.kind, pilot.start_date),
        },
    )


@login_required
@require_POST
def extension_decide(request: HttpRequest, pk: int) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以审批延期。")
    ext = get_object_or_404(ExtensionRequest.objects.select_related("pilot"), pk=pk)
    return _decide(
        request,
        ext,
        accept=lambda note: term.approve_extension(actor=request.user, request=ext, note=note),
        refuse=lambda note: term.reject_extension(actor=request.user, request=ext, reason=note),
        accepted=f"已同意{ext.pilot.name}延期至{rules.format_cn_date(ext.new_end_date)}。",
        refused=f"已不同意{ext.pilot.name}的延期申请。",
    )


# --- acceptance report (R3.2) ---------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def acceptance_create(request: HttpRequest, code: str) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    if not term.may_submit_acceptance(request.user, pilot):
        _refuse(request.user, pilot, "报送总结验收报告", tuple(ACCEPTANCE_STATES))
        raise PermissionDenied(
            f"试点{rules.format_cn_date(pilot.end_date)}到期，期满后方可报送总结验收报告"
            f"（{rules.numbers().acceptance}，R3.2）。"
        )
    current = pilot.acceptance_reports.filter(is_current=True).first()
    fields = ("summary", "evaluator", "third_party")
    initial = {name: getattr(current, name) for name in fields} if current else None
    form = AcceptanceForm(bound_data(request), request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        try:
            report = term.submit_acceptance_report(
                actor=request.user,
                pilot=pilot,
                summary=data["summary"],
                evaluator=data["evaluator"],
                third_party=data.get("third_party", ""),
                attachment=data.get("attachment"),
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            late = f"（逾期{report.days_late}天）" if report.days_late else ""
            messages.success(request, f"总结验收报告第{report.version}版已报送{late}。")
            return redirect(pilot)
    return render(
        request,
        "pilots/term/acceptance_form.html",
        {"pilot": pilot, "form": form, "current": current, "due": pilot.acceptance_report_due},
    )


@login_required
def term_attachment(request: HttpRequest, kind: str, pk: int) -> HttpResponse:
    """A closure or acceptance report's attachment, only through the access gate."""

    model = {"closure": ClosureReport, "acceptance": AcceptanceReport}.get(kind)
    if model is None:
        raise Http404("未找到该附件。")
    record = get_object_or_404(model, pk=pk, pilot__in=policy.visible_pilots(request.user))
    return serve_file(record.attachment)


# --- purge and restore (R2.4) ---------------------------------------------------------------


@login_required
@require_POST
def restore(request: HttpRequest, code: str) -> HttpResponse:
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以将清理出库的试点恢复入库。")
    pilot = policy.get_pilot_for(request.user, code)
    form = RestoreForm(request.POST)
    if not form.is_valid():
        flash_errors(request, form)
        return redirect(_back(request, pilot.get_absolute_url()))
    try:
        term.restore_pilot(actor=request.user, pilot=pilot, reason=form.cleaned_data["reason"])
    except ValidationError as exc:
        flash_errors(request, exc)
    else:
        grace = rules.numbers().purge_grace_days
        messages.success(
            request,
            f"{pilot.name}已恢复入库；自今日起{grace}日内须报告销号或申请延期，否则将再次清理出库。",
        )
    return redirect(_back(request, pilot.get_absolute_url()))
