"""Pages of the ledger: the ledger itself (R2.3), quarterly progress with versions, the
to-do list of owed reports, half-year summaries, Excel export, and PDF ledgers rendered in
the background. Filing (R2.2) is in ledger.filing_views, the Excel import in
ledger.import_views."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.db.models import Q
from django.http import FileResponse, Http404, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods

from accounts.constants import OrgKind, Role
from accounts.models import Organisation
from core.dates import period_or_404
from core.forms import add_domain_errors
from core.views import bound_data, content_disposition, serve_file
from ledger.constants import LedgerScope, RenderStatus, SummaryStatus
from ledger.forms import HalfYearSummaryForm, QuarterlyReportForm, RenderRequestForm
from ledger.models import HalfYearSummary, LedgerRender, QuarterlyReport
from ledger.reports import (
    REPORT_FIELDS,
    may_report,
    owed_reports,
    quarter_refusal,
    submit_quarterly_report,
)
from ledger.selectors import ledger_queryset, next_deadline, owed_quarters
from ledger.summaries import (
    SUMMARY_FIELDS,
    draft_half_year_summary,
    lead_departments,
    submit_half_year_summary,
)
from pilots import policy, rules
from pilots.constants import Status
from pilots.views import filtered_list

LEDGER_SESSION_KEY = "ledger_filters"


# --- the ledger -----------------------------------------------------------------------------


@login_required
def ledger_list(request: HttpRequest) -> HttpResponse:
    """R2.3: every filed pilot still in the library that the user may see, with its latest
    quarterly progress, next deadline and late flags."""
    state = filtered_list(request, ledger_queryset(request.user), session_key=LEDGER_SESSION_KEY)
    if isinstance(state, HttpResponse):
        return state
    today = timezone.localdate()
    rows = list(state.page.object_list)
    reported: dict[int, set] = {}
    for pilot_id, year, quarter in QuarterlyReport.objects.filter(
        pilot__in=rows, is_current=True
    ).values_list("pilot_id", "year", "quarter"):
        reported.setdefault(pilot_id, set()).add((year, quarter))
    for pilot in rows:
        pilot.next_deadline = next_deadline(pilot, today, reported.get(pilot.pk, set()))
        pilot.next_overdue = pilot.next_deadline.overdue_days(today) if pilot.next_deadline else 0
    return render(
        request,
        "ledger/ledger_list.html",
        {
            "form": state.form,
            "page": state.page,
            "rows": rows,
            "sort": state.sort,
            "query": state.query,
            "query_without_sort": state.query_without_sort,
            "today": today,
            "is_office": policy.is_office(request.user),
            "can_render": policy.can_render_ledgers(request.user),
        },
    )


@login_required
def ledger_export(request: HttpRequest) -> HttpResponse:
    """The ledger as filtered on the page, as .xlsx (streamed, constant memory)."""
    from ledger.exports import export_ledger

    state = filtered_list(request, ledger_queryset(request.user), session_key=LEDGER_SESSION_KEY)
    if isinstance(state, HttpResponse):
        return state
    response = HttpResponse(
        content_type="application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    stamp = timezone.localdate().strftime("%Y%m%d")
    response["Content-Disposition"] = content_disposition(f"改革试点台账-{stamp}.xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    export_ledger(state.queryset, response)
    return response


# --- quarterly progress (R2.3) --------------------------------------------------------------


@login_required
def pilot_reports(request: HttpRequest, code: str) -> HttpResponse:
    """A pilot's quarterly reports with every version, and the quarters still owed."""
    pilot = policy.get_pilot_for(request.user, code)
    reports = list(
        pilot.quarterly_reports.select_related("submitted_by").order_by(
            "-year", "-quarter", "-version"
        )
    )
    today = timezone.localdate()
    done = {(r.year, r.quarter) for r in reports}
    owed = [(y, q) for y, q in owed_quarters(pilot, today) if (y, q) not in done]
    return render(
        request,
        "ledger/pilot_reports.html",
        {
            "pilot": pilot,
            "reports": reports,
            "owed": owed,
            "can_report": may_report(request.user, pilot),
        },
    )


@login_required
@require_http_methods(["GET", "POST"])
def report_submit(request: HttpRequest, code: str, year: int, quarter: int) -> HttpResponse:
    pilot = policy.get_pilot_for(request.user, code)
    if not may_report(request.user, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送季度进展。")
    year, quarter = period_or_404(year, quarter, parts=4)
    current = pilot.quarterly_reports.filter(year=year, quarter=quarter, is_current=True).first()
    refusal = "" if current else quarter_refusal(pilot, year, quarter, timezone.localdate())
    if refusal:
        return render(
            request,
            "ledger/report_form.html",
            {"pilot": pilot, "year": year, "quarter": quarter, "refusal": refusal},
        )
    initial = {name: getattr(current, name) for name in REPORT_FIELDS} if current else None
    form = QuarterlyReportForm(bound_data(request), request.FILES or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            report = submit_quarterly_report(
                actor=request.user,
                pilot=pilot,
                year=year,
                quarter=quarter,
                data=form.cleaned_data,
                attachment=form.cleaned_data.get("attachment"),
                correction_reason=form.cleaned_data.get("correction_reason", ""),
            )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            late = f"（逾期{report.days_late}天）" if report.days_late else ""
            messages.success(request, f"已报送{report.period_label}进展{late}。")
            return redirect("ledger:pilot_reports", code=pilot.code)
    from pilots import rules

    return render(
        request,
        "ledger/report_form.html",
        {
            "pilot": pilot,
            "form": form,
            "year": year,
            "quarter": quarter,
            "current": current,
            "due": rules.quarterly_report_due(year, quarter),
        },
    )


@login_required
def report_attachment(request: HttpRequest, pk: int) -> FileResponse:
    report = get_object_or_404(
        QuarterlyReport, pk=pk, pilot__in=policy.visible_pilots(request.user)
    )
    return serve_file(report.attachment)


TODO_PER_PAGE = 50


@login_required
def todo(request: HttpRequest) -> HttpResponse:
    """A lead department's to-do list: pilots to file (R2.2) and exactly the quarterly reports
    it owes (R2.3), oldest first."""
    if policy.role_of(request.user) != Role.LEAD_DEPARTMENT or request.user.organisation is None:
        raise PermissionDenied("待办报送清单仅供牵头部门使用。")
    org = request.user.organisation
    today = timezone.localdate()
    to_file = (
        policy.visible_pilots(request.user)
        .filter(status=Status.APPROVED)
        .filter(Q(lead_department=org) | Q(lead_department__parent=org))
        .order_by("approval_date", "code")
    )
    # A department leading hundreds of pilots owes as many reports at a deadline: paged.
    owed = Paginator(owed_reports(org, today), per_page=TODO_PER_PAGE).get_page(
        request.GET.get("page")
    )
    return render(
        request,
        "ledger/todo.html",
        {"owed": owed.object_list, "owed_page": owed, "to_file": to_file, "today": today},
    )


# --- half-year summaries (R2.3) -------------------------------------------------------------


def _half_years(today) -> list[tuple[int, int]]:
    """The last four ended half years, newest first."""
    year, quarter = rules.last_ended_quarter(today)
    half = 1 if quarter <= 2 else 2
    if quarter in (1, 3):  # the half year containing that quarter has not ended yet
        year, half = (year - 1, 2) if half == 1 else (year, 1)
    out = []
    for _ in range(4):
        out.append((year, half))
        year, half = (year - 1, 2) if half == 1 else (year, 1)
    return out


@login_required
def summary_list(request: HttpRequest) -> HttpResponse:
    """The office sees which departments have and have not submitted each half year's summary;
    a department sees its own."""
    from pilots import rules

    today = timezone.localdate()
    periods = _half_years(today)
    if policy.is_office(request.user):
        departments = lead_departments()
    elif policy.role_of(request.user) == Role.LEAD_DEPARTMENT and request.user.organisation:
        departments = [request.user.organisation]
    else:
        raise PermissionDenied("半年汇总由牵头部门报送、省办查看。")
    summaries = {
        (s.organisation_id, s.year, s.half): s
        for s in HalfYearSummary.objects.filter(organisation__in=departments)
    }
    table = []
    for year, half in periods:
        due = rules.half_year_summary_due(year, half)
        rows = []
        for dept in departments:
            summary = summaries.get((dept.pk, year, half))
            submitted = summary is not None and summary.status == SummaryStatus.SUBMITTED
            rows.append(
                {
                    "org": dept,
                    "summary": summary,
                    "submitted": submitted,
                    "overdue_days": 0 if submitted else max(0, (today - due).days),
                }
            )
        table.append(
            {
                "year": year,
                "half": half,
                "label": f"{year}年{'上' if half == 1 else '下'}半年",
                "due": due,
                "rows": rows,
                "done": sum(1 for r in rows if r["submitted"]),
            }
        )
    return render(
        request,
        "ledger/summary_list.html",
        {"table": table, "is_office": policy.is_office(request.user)},
    )


@login_required
@require_http_methods(["GET", "POST"])
def summary_edit(request: HttpRequest, year: int, half: int) -> HttpResponse:
    if policy.role_of(request.user) != Role.LEAD_DEPARTMENT or request.user.organisation is None:
        raise PermissionDenied("只有牵头部门可以起草和报送半年汇总。")
    year, half = period_or_404(year, half, parts=2)
    org = request.user.organisation
    try:
        # A GET only shows the draft; it is saved on the POST that refreshes or submits it.
        summary = draft_half_year_summary(
            actor=request.user,
            organisation=org,
            year=year,
            half=half,
            refresh="refresh" in request.POST,
            save=request.method == "POST",
        )
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
        return redirect("ledger:summaries")
    if summary.status == SummaryStatus.SUBMITTED:
        return render(request, "ledger/summary_view.html", {"summary": summary})
    initial = {name: getattr(summary, name) for name in SUMMARY_FIELDS}
    posting = request.method == "POST" and "refresh" not in request.POST
    form = HalfYearSummaryForm(request.POST if posting else None, initial=initial)
    if posting and form.is_valid():
        try:
            submit_half_year_summary(actor=request.user, summary=summary, data=form.cleaned_data)
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            messages.success(request, f"已报送{summary.period_label}台账汇总。")
            return redirect("ledger:summaries")
    return render(request, "ledger/summary_form.html", {"summary": summary, "form": form})


@login_required
def summary_detail(request: HttpRequest, pk: int) -> HttpResponse:
    summary = get_object_or_404(HalfYearSummary.objects.select_related("organisation"), pk=pk)
    own = request.user.organisation_id == summary.organisation_id
    if not (policy.is_office(request.user) or own):
        raise Http404("未找到该半年汇总。")
    return render(request, "ledger/summary_view.html", {"summary": summary})


# --- PDF ledgers ------------------------------------------------------------------------------


def _render_departments(user):
    if policy.is_office(user):
        return Organisation.objects.filter(kind=OrgKind.DEPARTMENT).order_by("sort_order", "code")
    if policy.role_of(user) == Role.LEAD_DEPARTMENT and user.organisation_id:
        return Organisation.objects.filter(pk=user.organisation_id)
    return Organisation.objects.none()


def visible_renders(user):
    """The office sees every PDF ledger; a lead department those of its own department."""
    if policy.is_office(user):
        return LedgerRender.objects.all()
    if policy.role_of(user) == Role.LEAD_DEPARTMENT and user.organisation_id:
        return LedgerRender.objects.filter(department_id=user.organisation_id)
    return LedgerRender.objects.none()


@login_required
@require_http_methods(["GET", "POST"])
def render_list(request: HttpRequest) -> HttpResponse:
    from ledger.pdf import request_render

    if not policy.can_render_ledgers(request.user):
        raise PermissionDenied("PDF台账由省办和牵头部门生成。")
    departments = _render_departments(request.user)
    year, quarter = rules.last_ended_quarter(timezone.localdate())
    form = RenderRequestForm(
        bound_data(request), departments=departments, initial={"year": year, "quarter": quarter}
    )
    if not policy.is_office(request.user):
        form.fields["department"].required = True
        form.fields["department"].empty_label = None
    if request.method == "POST" and form.is_valid():
        dept = form.cleaned_data["department"]
        request_render(
            actor=request.user,
            scope=LedgerScope.DEPARTMENT if dept else LedgerScope.PROVINCE,
            department=dept,
            year=form.cleaned_data["year"],
            quarter=int(form.cleaned_data["quarter"]),
        )
        messages.success(request, "已提交生成，完成后可在下方下载。")
        return redirect("ledger:renders")
    renders = visible_renders(request.user).select_related("department", "requested_by")[:50]
    running = any(r.status in ("queued", "running") for r in renders)
    return render(
        request, "ledger/render_list.html", {"form": form, "renders": renders, "running": running}
    )


@login_required
def render_download(request: HttpRequest, pk: int) -> FileResponse:
    from ledger.pdf import download_name

    render_row = get_object_or_404(
        visible_renders(request.user).select_related("department"), pk=pk
    )
    if render_row.status != RenderStatus.DONE:
        raise Http404("该PDF台账尚未生成完成。")
    return serve_file(render_row.file, download_name(render_row))
