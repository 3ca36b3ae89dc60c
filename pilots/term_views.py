"""Pages of the end of a term (R2.4, R3.2) and of the scheduled jobs: the closure report,
the extension request, the acceptance report, the office's decisions, restoring a purged
pilot, the overdue list (with its export), the purged pilots and the jobs' run log.

Every change goes through pilots.term (or pilots.jobs for a run started by hand); these views
only bind forms, call those functions and show their Chinese messages."""

from __future__ import annotations

import datetime as dt
from urllib.parse import urlencode

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.utils.http import url_has_allowed_host_and_scheme
from django.views.decorators.http import require_http_methods, require_POST

from pilots import policy, rules, term
from pilots.application_views import _content_disposition
from pilots.constants import LEDGER_STATES, DeadlineKind, JobName, Status, TermRequestStatus
from pilots.deadlines import ACCEPTANCE_STATES
from pilots.models import (
    AcceptanceReport,
    ClosureReport,
    ExtensionRequest,
    JobRun,
    Pilot,
)
from pilots.selectors import overdue_events_for, pending_term_requests
from pilots.services import MilestoneData
from pilots.term_forms import (
    AcceptanceForm,
    ClosureForm,
    DecisionForm,
    ExtensionForm,
    ExtensionMilestoneFormSet,
    OverdueFilterForm,
    RestoreForm,
)
from pilots.views import _attach_errors, _bound, _per_page, flash_errors

# States in which a pilot has an end of term to manage.
TERM_STATES = LEDGER_STATES | {Status.CLOSED, Status.PURGED}


def _back(request: HttpRequest, fallback: str) -> str:
    """Where to go after a decision: the page it was made on, if it is ours."""
    target = request.POST.get("next", "")
    if target and url_has_allowed_host_and_scheme(target, {request.get_host()}):
        return target
    return fallback


# --- the pilot page's panel -----------------------------------------------------------------


def term_context(user, pilot: Pilot, today: dt.date | None = None) -> dict:
    """What the pilot page's 到期管理 panel shows, and which of its actions `user` may take."""
    if pilot.status not in TERM_STATES:
        return {"term_panel": False}
    today = today or timezone.localdate()
    related = ("submitted_by", "decided_by", "organisation")
    closures = list(pilot.closure_reports.select_related(*related))
    extensions = list(pilot.extension_requests.select_related(*related))
    acceptance = list(
        pilot.acceptance_reports.select_related("submitted_by", "organisation").order_by("-version")
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
        "open_overdue": list(
            pilot.overdue_events.filter(resolved_on__isnull=True).order_by("due_date")
        ),
        "can_report_closure": term.may_report_closure(user, pilot, today),
        "can_request_extension": term.may_request_extension(user, pilot),
        "can_submit_acceptance": term.may_submit_acceptance(user, pilot, today),
        "can_decide_term": office,
        "can_restore": office and pilot.status == Status.PURGED,
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
        raise PermissionDenied(
            f"试点{rules.format_cn_date(pilot.end_date)}到期，自"
            f"{rules.format_cn_date(term.closure_opens(pilot))}起方可报告销号"
            f"（{rules.numbers().closure_window}，R2.4）。"
        )
    form = ClosureForm(_bound(request), request.FILES or None)
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
            _attach_errors(form, exc)
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
    form = ExtensionForm(_bound(request))
    formset = ExtensionMilestoneFormSet(_bound(request), prefix="ms")
    if request.method == "POST" and form.is_valid() and formset.is_valid():
        data = form.cleaned_data
        milestones = [
            MilestoneData(f.cleaned_data["due_date"], f.cleaned_data["title"])
            for f in formset.forms
            if f.cleaned_data.get("due_date") and f.cleaned_data.get("title")
        ]
        try:
            request_ = term.request_extension(
                actor=request.user,
                pilot=pilot,
                reason=data["reason"],
                new_end_date=data["new_end_date"],
                stage_targets=data["stage_targets"],
                milestones=milestones,
            )
        except ValidationError as exc:
            _attach_errors(form, exc)
        else:
            messages.success(
                request,
                f"延期申请（延至{rules.format_cn_date(request_.new_end_date)}）已报送省办审批。",
            )
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
    form = AcceptanceForm(_bound(request), request.FILES or None, initial=initial)
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
            _attach_errors(form, exc)
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
    from ledger.views import _serve

    model = {"closure": ClosureReport, "acceptance": AcceptanceReport}.get(kind)
    if model is None:
        raise Http404("未找到该附件。")
    record = get_object_or_404(model, pk=pk, pilot__in=policy.visible_pilots(request.user))
    return _serve(record.attachment)


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


@login_required
def purged_list(request: HttpRequest) -> HttpResponse:
    """R2.4: the pilots purged from the library that the user sees, newest first."""
    qs = (
        Pilot.objects.restrict(request.user)
        .filter(status=Status.PURGED)
        .select_related("lead_department")
        .order_by("-purged_on", "code")
    )
    page = Paginator(qs, per_page=_per_page(request)).get_page(request.GET.get("page"))
    return render(
        request,
        "pilots/term/purged_list.html",
        {"page": page, "query": "", "can_restore": policy.is_office(request.user)},
    )


# --- the office's queue ---------------------------------------------------------------------


@login_required
def term_queue(request: HttpRequest) -> HttpResponse:
    """R2.4, R3.2: closure reports and extension requests awaiting the office, and the latest
    acceptance reports. Lead departments see their own, without the decision forms."""
    if not (policy.is_office(request.user) or policy.can_enter_pilot(request.user)):
        raise PermissionDenied("只有省办和省级牵头联系部门可以查看到期事项审核。")
    closures, extensions = pending_term_requests(request.user)
    acceptance = (
        AcceptanceReport.objects.filter(
            is_current=True, pilot__in=policy.visible_pilots(request.user)
        )
        .select_related("pilot", "organisation")
        .order_by("-submitted_at")[:30]
    )
    return render(
        request,
        "pilots/term/queue.html",
        {
            "closures": closures,
            "extensions": extensions,
            "acceptance_reports": acceptance,
            "can_decide": policy.is_office(request.user),
        },
    )


# --- overdue events -------------------------------------------------------------------------

OVERDUE_SORTS = {
    "due": ("due_date", "pk"),
    "-due": ("-due_date", "-pk"),
    "flagged": ("flagged_on", "pk"),
    "-flagged": ("-flagged_on", "-pk"),
}
OVERDUE_FILTER_KEYS = ("q", "kind", "org", "state")
OVERDUE_HEADERS = [
    "事项",
    "试点编号",
    "内容",
    "责任单位",
    "期限",
    "逾期天数",
    "依据",
    "标记日期",
    "解除日期",
]


def _overdue_state(request: HttpRequest):
    qs = overdue_events_for(request.user).select_related(
        "pilot", "pilot__lead_department", "organisation"
    )
    form = OverdueFilterForm(request.GET or None)
    params = {k: v for k, v in request.GET.items() if k in OVERDUE_FILTER_KEYS and v}
    if form.is_bound and not form.is_valid():
        messages.warning(request, "部分筛选条件无效，已忽略。")
        params = {k: v for k, v in params.items() if k not in form.errors}
        form = OverdueFilterForm()
        qs = qs.filter(resolved_on__isnull=True)
    elif form.is_bound:
        qs = form.filter(qs)
    else:
        qs = qs.filter(resolved_on__isnull=True)
    sort = request.GET.get("sort", "due")
    if sort not in OVERDUE_SORTS:
        sort = "due"
    return form, params, sort, qs.order_by(*OVERDUE_SORTS[sort])


@login_required
def overdue_list(request: HttpRequest) -> HttpResponse:
    """R2.2, R2.3, R2.4, R3.2: the missed deadlines the user answers for or sees, each with
    its clause, how many days late, and whether it is resolved."""
    form, params, sort, qs = _overdue_state(request)
    today = timezone.localdate()
    by_kind = dict(
        qs.order_by().values_list("kind").annotate(n=Count("pk")).values_list("kind", "n")
    )
    page = Paginator(qs, per_page=_per_page(request)).get_page(request.GET.get("page"))
    for event in page.object_list:
        event.days_late = ((event.resolved_on or today) - event.due_date).days
    return render(
        request,
        "pilots/term/overdue_list.html",
        {
            "form": form,
            "page": page,
            "sort": sort,
            "query": urlencode({**params, "sort": sort}),
            "query_without_sort": urlencode(params),
            "filters": urlencode(params),
            "kind_counts": [(k.value, k.label, by_kind.get(k.value, 0)) for k in DeadlineKind],
            "total": sum(by_kind.values()),
        },
    )


@login_required
def overdue_export(request: HttpRequest) -> HttpResponse:
    """The overdue list as filtered on the page, as .xlsx (streamed)."""
    from ledger.xlsx import XLSX_CONTENT_TYPE, write_workbook

    _form, _params, _sort, qs = _overdue_state(request)
    today = timezone.localdate()
    response = HttpResponse(content_type=XLSX_CONTENT_TYPE)
    stamp = today.strftime("%Y%m%d")
    response["Content-Disposition"] = _content_disposition(f"逾期事项-{stamp}.xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    rows = (
        [
            e.get_kind_display(),
            e.pilot.code if e.pilot else "",
            e.label,
            e.organisation.name,
            e.due_date,
            ((e.resolved_on or today) - e.due_date).days,
            e.clause,
            e.flagged_on,
            e.resolved_on,
        ]
        for e in qs.iterator(chunk_size=2000)
    )
    write_workbook(
        "逾期事项",
        OVERDUE_HEADERS,
        rows,
        [14, 16, 60, 28, 12, 10, 8, 12, 12],
        out=response,
    )
    return response


# --- the scheduled jobs ---------------------------------------------------------------------


@login_required
@require_http_methods(["GET", "POST"])
def job_list(request: HttpRequest) -> HttpResponse:
    """The office's view of the scheduled jobs: their schedules (kept in the database and
    editable in the admin), their recent runs, and a button to run one now."""
    if not policy.is_office(request.user):
        raise PermissionDenied("只有省办可以查看和运行定时任务。")
    if request.method == "POST":
        return _run_now(request)
    from django_celery_beat.models import PeriodicTask

    runs = JobRun.objects.all()
    job = request.GET.get("job", "")
    if job in JobName.values:
        runs = runs.filter(job=job)
    page = Paginator(runs, per_page=30).get_page(request.GET.get("page"))
    schedules = PeriodicTask.objects.select_related("crontab", "interval").order_by("name")
    return render(
        request,
        "pilots/term/job_list.html",
        {
            "page": page,
            "query": urlencode({"job": job}) if job in JobName.values else "",
            "job": job,
            "jobs": JobName.choices,
            "schedules": schedules,
        },
    )


def _run_now(request: HttpRequest) -> HttpResponse:
    from ledger.tasks import cleanup_old_renders_task, render_ledgers_task
    from pilots import tasks

    name = request.POST.get("job", "")
    task = {
        JobName.FLAG_OVERDUE: tasks.flag_overdue_task,
        JobName.PURGE_EXPIRED: tasks.purge_expired_task,
        JobName.SEND_REMINDERS: tasks.send_reminders_task,
        JobName.RENDER_LEDGERS: render_ledgers_task,
        JobName.ARCHIVE_RENDERS: cleanup_old_renders_task,
    }.get(name)
    if task is None:
        messages.error(request, "未知的定时任务。")
        return redirect("pilots:jobs")
    from pilots.queue import enqueue

    who = f"{request.user.get_full_name() or request.user.username}手动运行"
    if enqueue(task, triggered_by=who):
        messages.success(request, f"已启动“{JobName(name).label}”，运行结果见下方记录。")
    else:
        messages.warning(
            request,
            f"消息队列暂不可用，“{JobName(name).label}”已登记，将在队列恢复后自动运行。",
        )
    return redirect("pilots:jobs")
