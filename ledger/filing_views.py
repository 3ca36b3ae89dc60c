"""Pages of the filing (备案, R2.2): the lead department's filing form, which shows where it
departs from the approval before it is sent; the filings list; the filing page, where the
office reads what was filed and confirms or returns it; the filed plan."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.http import FileResponse, HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_http_methods, require_POST

from core.forms import add_domain_errors
from core.views import bound_data, serve_file
from ledger.constants import FilingStatus
from ledger.filing import (
    APPROVAL_FIELDS,
    approved_milestones,
    check_filing,
    confirm_filing,
    may_file,
    parse_milestones,
    return_filing,
    submit_filing,
)
from ledger.forms import FilingForm
from ledger.models import Filing
from pilots import policy, rules
from pilots.constants import Status

CONFIRM_DIFFERENCES = "confirm_differences"


def _milestone_lines(milestones) -> str:
    return "\n".join(f"{due:%Y-%m-%d} {title}" for due, title in milestones)


def _filing_initial(pilot) -> dict:
    initial = {
        name: getattr(pilot, name)
        for name in (
            *APPROVAL_FIELDS,
            "implementing_body",
            "goal",
            "measures",
            "expected_outcomes",
            "contact_person",
            "contact_phone",
        )
    }
    initial["milestones_text"] = _milestone_lines(approved_milestones(pilot))
    return initial


def _approval(pilot) -> dict:
    """What the approval on record fixed, as the form shows it beside the fields and the page's
    script compares what is typed against (data-approved)."""
    return {
        "authority": pilot.approval_authority,
        "doc_number": pilot.approval_doc_number,
        "date": pilot.approval_date,
        "start": pilot.start_date,
        "end": pilot.end_date,
        "milestones": approved_milestones(pilot),
    }


def _mark_approved(form: FilingForm, pilot) -> None:
    for name in APPROVAL_FIELDS:
        value = getattr(pilot, name)
        if value not in (None, ""):
            shown = rules.format_cn_date(value) if hasattr(value, "year") else value
            form.fields[name].widget.attrs.update(
                {"data-approved": str(value), "data-approved-shown": shown}
            )
    lines = _milestone_lines(approved_milestones(pilot))
    form.fields["milestones_text"].widget.attrs.update(
        {"data-approved": lines, "data-approved-shown": lines.replace("\n", "；") or "未设置"}
    )


@login_required
@require_http_methods(["GET", "POST"])
def filing_create(request: HttpRequest, code: str) -> HttpResponse:
    """R2.2: the 备案表. Where what is filed differs from the approval on record, the page lists
    the differences and the department confirms them before the filing is sent."""
    pilot = policy.get_pilot_for(request.user, code)
    if not may_file(request.user, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送备案。")
    if pilot.status != Status.APPROVED:
        messages.error(request, f"当前状态为“{pilot.get_status_display()}”，不能报送备案。")
        return redirect(pilot)
    form = FilingForm(bound_data(request), request.FILES or None, initial=_filing_initial(pilot))
    _mark_approved(form, pilot)
    differences: list[dict] = []
    # The form's checks and the filing's own (dates, term, time nodes) are shown together,
    # each beside its field: a field the form already refused keeps that one message.
    valid = request.method == "POST" and form.is_valid()
    if request.method == "POST":
        data = {k: v for k, v in form.cleaned_data.items() if k != "plan"}
        try:
            _milestones, differences = check_filing(pilot, data)
            if not valid:
                differences = []  # compared again once the form itself is in order
            elif differences and not request.POST.get(CONFIRM_DIFFERENCES):
                form.add_error(
                    None,
                    "报送内容与批复不一致，请核对下列各项；确认按此报送的，"
                    "请勾选“已核对”并重新选择试点方案文件后报送。",
                )
            else:
                filing = submit_filing(
                    actor=request.user, pilot=pilot, data=data, plan=form.cleaned_data["plan"]
                )
        except ValidationError as exc:
            add_domain_errors(form, exc)
        else:
            if valid and not form.errors:
                if filing.days_late:
                    messages.warning(
                        request, f"备案已报送，逾期{filing.days_late}天，已标记为逾期备案。"
                    )
                else:
                    messages.success(request, "备案已报送，待省办确认。")
                return redirect(pilot)  # its page shows the filing and the filed plan
    today = timezone.localdate()
    due = rules.filing_due(pilot.approval_date) if pilot.approval_date else None
    return render(
        request,
        "ledger/filing_form.html",
        {
            "pilot": pilot,
            "form": form,
            "today": today,
            "due": due,
            "late_days": rules.filing_days_late(pilot.approval_date, today) if due else 0,
            "approval": _approval(pilot),
            "differences": differences,
            "confirm_name": CONFIRM_DIFFERENCES,
        },
    )


@login_required
def filing_list(request: HttpRequest) -> HttpResponse:
    """Filings awaiting the office's confirmation, and the latest ones decided; each opens on
    its own page, where it is read and decided."""
    visible = Filing.objects.filter(pilot__in=policy.visible_pilots(request.user))
    pending = visible.filter(status=FilingStatus.SUBMITTED).select_related(
        "pilot__lead_department", "submitted_by"
    )
    recent = (
        visible.exclude(status=FilingStatus.SUBMITTED)
        .select_related("pilot__lead_department", "decided_by")
        .order_by("-decided_at")[:50]
    )
    return render(
        request,
        "ledger/filing_list.html",
        {"pending": pending, "recent": recent, "is_office": policy.is_office(request.user)},
    )


def _get_filing(user, pk: int) -> Filing:
    return get_object_or_404(
        Filing.objects.select_related(
            "pilot__lead_department", "submitted_by__organisation", "decided_by"
        ),
        pk=pk,
        pilot__in=policy.visible_pilots(user),
    )


@login_required
def filing_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One filing as filed: every field, the time nodes, the plan, where it differs from the
    approval, whether it was late; the office confirms or returns it here."""
    filing = _get_filing(request.user, pk)
    try:
        milestones = parse_milestones(filing.milestones_text)
    except ValidationError:  # filed before the time nodes were checked line by line
        milestones = []
    pending = filing.status == FilingStatus.SUBMITTED
    return render(
        request,
        "ledger/filing_detail.html",
        {
            "filing": filing,
            "pilot": filing.pilot,
            "milestones": milestones,
            "kept_milestones": [] if milestones else approved_milestones(filing.pilot),
            "can_decide": pending and policy.is_office(request.user),
            "others": filing.pilot.filings.exclude(pk=filing.pk).order_by("-version"),
        },
    )


@login_required
@require_POST
def filing_decide(request: HttpRequest, pk: int) -> HttpResponse:
    filing = _get_filing(request.user, pk)
    action = request.POST.get("action")
    try:
        if action == "confirm":
            confirm_filing(actor=request.user, filing=filing)
            messages.success(request, f"已确认备案，{filing.pilot.code} 列入台账。")
        elif action == "return":
            return_filing(
                actor=request.user, filing=filing, reason=request.POST.get("reason", "")[:2000]
            )
            messages.success(request, "已退回备案。")
        else:
            messages.error(request, "未知的操作。")
    except ValidationError as exc:
        messages.error(request, "；".join(exc.messages))
    return redirect("ledger:filing_detail", pk=filing.pk)


@login_required
def filing_plan(request: HttpRequest, pk: int) -> FileResponse:
    filing = _get_filing(request.user, pk)
    return serve_file(filing.plan)
