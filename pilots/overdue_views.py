"""The office's lists at the end of terms: the overdue items (R2.2, R2.3, R2.4, R3.2, R3.3,
N3) with their export, the pilots purged from the library (R2.4) and the queue of closures and
extensions waiting for a decision."""

from __future__ import annotations

from urllib.parse import urlencode

from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.db.models import Count
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from core.views import (
    content_disposition,
    per_page,
    warn_ignored_filters,
)
from pilots import policy
from pilots.constants import DeadlineKind, Status
from pilots.models import (
    AcceptanceReport,
    Pilot,
)
from pilots.selectors import overdue_events_for, pending_term_requests
from pilots.term_forms import (
    OverdueFilterForm,
)

# States in which a pilot has an end of term to manage.


@login_required
def purged_list(request: HttpRequest) -> HttpResponse:
    """R2.4: the pilots purged from the library that the user sees, newest first."""
    qs = (
        Pilot.objects.restrict(request.user)
        .filter(status=Status.PURGED)
        .select_related("lead_department")
        .order_by("-purged_on", "code")
    )
    page = Paginator(qs, per_page=per_page(request)).get_page(request.GET.get("page"))
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
        "pilot", "pilot__lead_department", "organisation__parent"
    )
    form = OverdueFilterForm(request.GET or None)
    params = {k: v for k, v in request.GET.items() if k in OVERDUE_FILTER_KEYS and v}
    if form.is_bound and not form.is_valid():
        warn_ignored_filters(request, form)
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
    page = Paginator(qs, per_page=per_page(request)).get_page(request.GET.get("page"))
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


def _responsible(event, user) -> str:
    """The unit owing an item; an expert review's expert stays unnamed to other units."""
    own = user.organisation_id == event.organisation_id
    if event.kind == DeadlineKind.EXPERT_REVIEW and not own and not policy.is_office(user):
        return "评审专家"
    return event.organisation.name


@login_required
def overdue_export(request: HttpRequest) -> HttpResponse:
    """The overdue list as filtered on the page, as .xlsx (streamed)."""
    from core.xlsx import XLSX_CONTENT_TYPE, write_workbook

    _form, _params, _sort, qs = _overdue_state(request)
    today = timezone.localdate()
    response = HttpResponse(content_type=XLSX_CONTENT_TYPE)
    stamp = today.strftime("%Y%m%d")
    response["Content-Disposition"] = content_disposition(f"逾期事项-{stamp}.xlsx")
    response["X-Content-Type-Options"] = "nosniff"
    rows = (
        [
            e.get_kind_display(),
            e.pilot.code if e.pilot else "",
            e.label,
            _responsible(e, request.user),
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
