"""Domain functions of the ledger: filing (备案, R2.2), quarterly progress and half-year
summaries (R2.3). Views, the API, imports and jobs all call these.

Each is keyword-only, takes the acting user, locks the row it changes, writes history with the
actor and a reason, and notifies the next party after commit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max, Q
from django.utils import timezone

from accounts.constants import OrgKind, Role
from accounts.models import Organisation, office_organisation
from accounts.notify import notify
from ledger.constants import FilingStatus, SummaryStatus
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.selectors import owed_quarters
from pilots import policy, rules
from pilots.constants import LEDGER_STATES, DeadlineKind, Status
from pilots.deadlines import resolve_met
from pilots.models import Pilot
from pilots.services import _save_with_history
from pilots.validators import validate_doc_number, validate_phone

# --- filing (R2.2) ----------------------------------------------------------------------

FILING_FIELDS = [
    "approval_authority",
    "approval_doc_number",
    "approval_date",
    "implementing_body",
    "start_date",
    "end_date",
    "goal",
    "measures",
    "expected_outcomes",
    "milestones_text",
    "contact_person",
    "contact_phone",
]
# Filing fields that become the pilot's record once the office confirms the filing.
SYNCED_TO_PILOT = [
    "approval_authority",
    "approval_doc_number",
    "approval_date",
    "implementing_body",
    "start_date",
    "end_date",
    "goal",
    "measures",
    "expected_outcomes",
    "contact_person",
    "contact_phone",
]


def _lock_pilot(pilot: Pilot) -> Pilot:
    return (
        Pilot.objects.select_for_update(of=("self",))
        .select_related("lead_department")
        .get(pk=pilot.pk)
    )


def may_file(user, pilot: Pilot) -> bool:
    """R2.2: the pilot's provincial lead department (or its parent department) files it."""
    return policy.is_lead_department_of(user, pilot)


def _notify_filer(filing: Filing, *, subject: str, body: str) -> None:
    """Tell the lead department, and the department that filed if it is another (a parent
    department filing for its division)."""
    pilot = filing.pilot
    targets = [pilot.lead_department]
    filer = filing.submitted_by.organisation
    if filer is not None and filer.pk != pilot.lead_department_id:
        targets.append(filer)
    for org in targets:
        notify(organisation=org, subject=subject, body=body, url=pilot.get_absolute_url())


def _validate_filing(pilot: Pilot, data: dict) -> None:
    errors: dict[str, list[str]] = {}
    required = [f for f in FILING_FIELDS if f != "milestones_text"]
    for name in required:
        value = data.get(name)
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            errors.setdefault(name, []).append("此项为必填项。")
    for name, validator in (
        ("approval_doc_number", validate_doc_number),
        ("contact_phone", validate_phone),
    ):
        if data.get(name):
            try:
                validator(data[name])
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
    if data.get("approval_date") and data["approval_date"] > timezone.localdate():
        errors.setdefault("approval_date", []).append("批复日期不能晚于今天。")
    if data.get("start_date") and data.get("end_date"):
        try:
            rules.validate_term(
                kind=pilot.kind,
                start=data["start_date"],
                end=data["end_date"],
                milestone_dates=[m.due_date for m in pilot.milestones.filter(is_removed=False)]
                or [data["end_date"]],
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault("end_date" if name == "__all__" else name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def submit_filing(*, actor, pilot: Pilot, data: dict, plan, today: dt.date | None = None) -> Filing:
    """R2.2: the lead department files an approved pilot with the filing form and the pilot
    plan. Due PILOT_FILING_DAYS after approval; a late filing is accepted and marked with its
    days late. Its overdue events are resolved at once."""
    pilot = _lock_pilot(pilot)
    if not may_file(actor, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送备案。")
    if pilot.status != Status.APPROVED:
        raise ValidationError(f"当前状态为“{pilot.get_status_display()}”，不能报送备案。")
    if not plan:
        raise ValidationError({"plan": "请上传试点方案（第二条第（二）项：备案须附试点方案）。"})
    _validate_filing(pilot, data)
    today = today or timezone.localdate()
    approval_date = data["approval_date"]
    # The clock runs from the approval on record; a date typed into the form cannot move it.
    clock_start = pilot.approval_date or approval_date
    version = (pilot.filings.aggregate(v=Max("version"))["v"] or 0) + 1
    filing = Filing(
        pilot=pilot,
        version=version,
        plan=plan,
        due_date=rules.filing_due(clock_start),
        filed_on=today,
        days_late=rules.filing_days_late(clock_start, today),
        submitted_by=actor,
        **{
            name: data.get(name) or ""
            for name in FILING_FIELDS
            if name not in ("approval_date", "start_date", "end_date")
        },
        approval_date=approval_date,
        start_date=data["start_date"],
        end_date=data["end_date"],
    )
    filing._history_user = actor
    filing._change_reason = "报送备案表"
    filing.save()
    pilot.status = Status.FILING_SUBMITTED
    late = f"（逾期{filing.days_late}天）" if filing.days_late else ""
    _save_with_history(pilot, actor=actor, reason=f"报送备案{late}", update_fields=["status"])
    from pilots import overlap  # R1.3: filing enters the ledger; check the pilot once more

    overlap.check_on_commit(pilot)
    resolve_met(
        kind=DeadlineKind.FILING, pilot_id=pilot.pk, actor=actor, reason="已报送备案", today=today
    )
    notify(
        organisation=office_organisation(),
        subject=f"待确认备案：{pilot.name}{late}",
        body=f"{pilot.lead_department.short_name}报送了备案表（第{version}版）。",
        url=pilot.get_absolute_url(),
    )
    return filing


def _lock_filing(filing: Filing) -> Filing:
    return (
        Filing.objects.select_for_update(of=("self",))
        .select_related("pilot__lead_department", "submitted_by__organisation")
        .get(pk=filing.pk)
    )


@transaction.atomic
def confirm_filing(*, actor, filing: Filing, today: dt.date | None = None) -> Filing:
    """R2.3: the office confirms a filing; only then is the pilot in the ledger. The filed
    approval, term and content become the pilot's record."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以确认备案。")
    filing = _lock_filing(filing)
    if filing.status != FilingStatus.SUBMITTED:
        raise ValidationError("该备案已处理，不能重复确认。")
    pilot = _lock_pilot(filing.pilot)
    if pilot.status != Status.FILING_SUBMITTED:
        raise ValidationError(f"试点当前状态为“{pilot.get_status_display()}”，不能确认备案。")
    now = timezone.now()
    filing.status = FilingStatus.CONFIRMED
    filing.decided_by = actor
    filing.decided_at = now
    filing._history_user = actor
    filing._change_reason = "省办确认备案"
    filing.save(update_fields=["status", "decided_by", "decided_at"])
    for name in SYNCED_TO_PILOT:
        setattr(pilot, name, getattr(filing, name))
    if filing.plan:
        pilot.plan_attachment = filing.plan.name
    pilot.status = Status.ACTIVE
    pilot.ledger_since = today or timezone.localdate()
    _save_with_history(
        pilot,
        actor=actor,
        reason="省办确认备案，列入台账",
        update_fields=[*SYNCED_TO_PILOT, "plan_attachment", "status", "ledger_since"],
    )
    _notify_filer(
        filing,
        subject=f"备案已确认：{pilot.name}",
        body=f"试点已列入台账，请每{rules.numbers().quarterly}报送进展（第二条第（三）项）。",
    )
    return filing


@transaction.atomic
def return_filing(*, actor, filing: Filing, reason: str) -> Filing:
    """The office returns a filing with reasons; the lead department files again."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以退回备案。")
    if not reason or not reason.strip():
        raise ValidationError({"reason": "请填写退回理由。"})
    filing = _lock_filing(filing)
    if filing.status != FilingStatus.SUBMITTED:
        raise ValidationError("该备案已处理，不能退回。")
    pilot = _lock_pilot(filing.pilot)
    filing.status = FilingStatus.RETURNED
    filing.decided_by = actor
    filing.decided_at = timezone.now()
    filing.return_reason = reason.strip()
    filing._history_user = actor
    filing._change_reason = f"退回备案：{reason.strip()}"
    filing.save(update_fields=["status", "decided_by", "decided_at", "return_reason"])
    pilot.status = Status.APPROVED
    _save_with_history(
        pilot, actor=actor, reason=f"备案被退回：{reason.strip()}", update_fields=["status"]
    )
    _notify_filer(filing, subject=f"备案被退回：{pilot.name}", body=reason.strip())
    return filing


# --- quarterly progress (R2.3) ------------------------------------------------------------

REPORT_FIELDS = ["progress", "milestones_reached", "problems", "next_steps"]


def may_report(user, pilot: Pilot) -> bool:
    """R2.3: the provincial lead department reports its pilots' quarterly progress."""
    return policy.is_lead_department_of(user, pilot)


@transaction.atomic
def submit_quarterly_report(
    *,
    actor,
    pilot: Pilot,
    year: int,
    quarter: int,
    data: dict,
    attachment=None,
    correction_reason: str = "",
    today: dt.date | None = None,
) -> QuarterlyReport:
    """R2.3: one report per ledger pilot per quarter, submitted once the quarter has ended and
    due PILOT_QUARTERLY_DUE_DAYS after it; a late report is flagged with its days late.
    Submitting again for the same quarter is a correction: a new version, the earlier one
    kept, never overwritten. Its overdue events are resolved at once."""
    pilot = _lock_pilot(pilot)
    if not may_report(actor, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送季度进展。")
    if pilot.status not in LEDGER_STATES:
        raise ValidationError("只有列入台账的试点报送季度进展（第二条第（三）项）。")
    today = today or timezone.localdate()
    if (year, quarter) not in owed_quarters(pilot, today):
        why = ""
        if quarter in (1, 2, 3, 4) and not rules.quarter_has_ended(year, quarter, today):
            # R2.3: a quarter is reported once it is over, never ahead.
            why = (
                f"该季度尚未结束，季度结束后方可报送（{rules.numbers().quarterly}报送，"
                "第二条第（三）项）。"
            )
        raise ValidationError(
            f"{year}年第{quarter}季度不在该试点的报送期内（自列入台账的季度起、到已结束的季度止）。"
            + why
        )
    if not (data.get("progress") or "").strip():
        raise ValidationError({"progress": "请填写工作进展。"})
    previous = (
        QuarterlyReport.objects.select_for_update()
        .filter(pilot=pilot, year=year, quarter=quarter)
        .order_by("-version")
        .first()
    )
    if previous is not None and not correction_reason.strip():
        raise ValidationError({"correction_reason": "该季度已报送，更正时请填写更正说明。"})
    due = rules.quarterly_report_due(year, quarter)
    if previous is not None:
        QuarterlyReport.objects.filter(pilot=pilot, year=year, quarter=quarter).update(
            is_current=False
        )
    report = QuarterlyReport(
        pilot=pilot,
        year=year,
        quarter=quarter,
        version=(previous.version + 1) if previous else 1,
        is_current=True,
        due_date=due,
        # A correction keeps the lateness of the first submission.
        days_late=previous.days_late if previous else max(0, (today - due).days),
        organisation=actor.organisation,
        submitted_by=actor,
        correction_reason=correction_reason.strip(),
        attachment=attachment or "",
        **{name: (data.get(name) or "").strip() for name in REPORT_FIELDS},
    )
    report._history_user = actor
    report._change_reason = (
        f"更正{year}年第{quarter}季度进展：{correction_reason.strip()}"
        if previous
        else f"报送{year}年第{quarter}季度进展"
    )
    report.save()
    if previous is not None:
        # History of the superseded version records why it is no longer current.
        previous.refresh_from_db()
        previous._history_user = actor
        previous._change_reason = f"被第{report.version}版更正"
        previous.save(update_fields=["is_current"])
    resolve_met(
        kind=DeadlineKind.QUARTERLY,
        pilot_id=pilot.pk,
        actor=actor,
        reason=f"已报送{year}年第{quarter}季度进展",
        today=today,
    )
    return report


def owed_reports(organisation: Organisation, today: dt.date) -> list[dict]:
    """R2.3: exactly the quarterly reports a lead department owes — every ended quarter of
    each of its ledger pilots that has no report yet — oldest due date first."""
    pilots = list(
        Pilot.objects.in_ledger()
        .filter(Q(lead_department=organisation) | Q(lead_department__parent=organisation))
        .select_related("lead_department")
        .order_by("code")
    )
    reported = set(
        QuarterlyReport.objects.filter(pilot__in=pilots, is_current=True).values_list(
            "pilot_id", "year", "quarter"
        )
    )
    owed = []
    for pilot in pilots:
        for year, quarter in owed_quarters(pilot, today):
            if (pilot.pk, year, quarter) in reported:
                continue
            due = rules.quarterly_report_due(year, quarter)
            owed.append(
                {
                    "pilot": pilot,
                    "year": year,
                    "quarter": quarter,
                    "due": due,
                    "overdue_days": max(0, (today - due).days),
                }
            )
    owed.sort(key=lambda row: (row["due"], row["pilot"].code))
    return owed


# --- half-year summary (R2.3) -------------------------------------------------------------

SUMMARY_FIELDS = ["overview", "progress", "problems", "next_steps"]


def lead_departments() -> list[Organisation]:
    """Organisations that lead ledger pilots and so owe half-year summaries: departments
    (a division's pilots count for its department)."""
    return list(
        Organisation.objects.filter(kind=OrgKind.DEPARTMENT)
        .filter(
            Q(pilots_led__status__in=LEDGER_STATES)
            | Q(children__pilots_led__status__in=LEDGER_STATES)
        )
        .distinct()
        .order_by("sort_order", "code")
    )


def half_year_quarters(year: int, half: int) -> list[tuple[int, int]]:
    return [(year, 1), (year, 2)] if half == 1 else [(year, 3), (year, 4)]


def summary_figures(organisation: Organisation, year: int, half: int) -> dict:
    """The numbers a half-year summary states, from the department's pilots and their
    current quarterly reports of that half year."""
    pilots = Pilot.objects.filter(
        Q(lead_department=organisation) | Q(lead_department__parent=organisation)
    ).exclude(
        status__in=[s for s in Status if s not in (*LEDGER_STATES, Status.CLOSED, Status.PURGED)]
    )
    by_state = Counter(pilots.values_list("status", flat=True))
    reports = list(
        QuarterlyReport.objects.filter(
            pilot__in=pilots.filter(status__in=LEDGER_STATES),
            is_current=True,
            year=year,
            quarter__in=[q for _, q in half_year_quarters(year, half)],
        )
        .select_related("pilot")
        .order_by("pilot__code", "quarter")
    )
    return {
        "by_state": {Status(s).label: n for s, n in sorted(by_state.items())},
        "in_ledger": sum(n for s, n in by_state.items() if s in LEDGER_STATES),
        "reports": len(reports),
        "late_reports": sum(1 for r in reports if r.days_late),
        "report_rows": reports,
    }


def _draft_texts(organisation: Organisation, year: int, half: int, figures: dict) -> dict:
    period = f"{year}年{'上' if half == 1 else '下'}半年"
    states = "，".join(f"{label}{n}项" for label, n in figures["by_state"].items()) or "暂无试点"
    reports = figures["report_rows"]
    return {
        "overview": (
            f"{period}，{organisation.name}牵头联系的改革试点列入台账{figures['in_ledger']}项（{states}）。"
            f"本半年共报送季度进展{figures['reports']}份，其中逾期报送{figures['late_reports']}份。"
        ),
        "progress": "\n".join(f"{r.pilot.name}（{r.period_label}）：{r.progress}" for r in reports),
        "problems": "\n".join(
            f"{r.pilot.name}：{r.problems}" for r in reports if r.problems.strip()
        ),
        "next_steps": "\n".join(
            f"{r.pilot.name}：{r.next_steps}" for r in reports if r.next_steps.strip()
        ),
    }


def _require_summary_author(actor, organisation: Organisation) -> None:
    if policy.role_of(actor) != Role.LEAD_DEPARTMENT or actor.organisation_id != organisation.pk:
        raise PermissionDenied("只有该牵头部门可以起草和报送本单位的半年汇总。")


@transaction.atomic
def draft_half_year_summary(
    *, actor, organisation: Organisation, year: int, half: int, refresh: bool = False
) -> HalfYearSummary:
    """R2.3: the product drafts a department's half-year summary from its quarterly reports
    (counts by state, progress, problems); the department then edits and submits it.
    `refresh` re-drafts the texts of an unsubmitted summary from the latest reports."""
    _require_summary_author(actor, organisation)
    if half not in (1, 2):
        raise ValidationError("半年只能是上半年或下半年。")
    figures = summary_figures(organisation, year, half)
    texts = _draft_texts(organisation, year, half, figures)
    counts = {k: v for k, v in figures.items() if k != "report_rows"}
    summary = (
        HalfYearSummary.objects.select_for_update()
        .filter(organisation=organisation, year=year, half=half)
        .first()
    )
    if summary is None:
        summary = HalfYearSummary(
            organisation=organisation,
            year=year,
            half=half,
            due_date=rules.half_year_summary_due(year, half),
            prepared_by=actor,
            counts=counts,
            **texts,
        )
        summary._history_user = actor
        summary._change_reason = "系统根据季度进展起草半年汇总"
        summary.save()
        return summary
    if summary.status == SummaryStatus.SUBMITTED:
        if refresh:
            raise ValidationError("该半年汇总已报送，不能重新起草。")
        return summary
    if refresh:
        summary.counts = counts
        for name, value in texts.items():
            setattr(summary, name, value)
        summary._history_user = actor
        summary._change_reason = "根据最新季度进展重新起草"
        summary.save()
    return summary


@transaction.atomic
def submit_half_year_summary(
    *, actor, summary: HalfYearSummary, data: dict, today: dt.date | None = None
) -> HalfYearSummary:
    """R2.3: the department submits its edited half-year summary once the half year has ended
    (it may draft before); due PILOT_HALF_YEAR_DUE_DAYS after the half year; a late one is
    flagged with its days late. Its overdue events are resolved at once."""
    summary = (
        HalfYearSummary.objects.select_for_update(of=("self",))
        .select_related("organisation")
        .get(pk=summary.pk)
    )
    _require_summary_author(actor, summary.organisation)
    if summary.status == SummaryStatus.SUBMITTED:
        raise ValidationError("该半年汇总已报送。")
    if not (data.get("overview") or "").strip():
        raise ValidationError({"overview": "请填写总体情况。"})
    if not (data.get("progress") or "").strip():
        raise ValidationError({"progress": "请填写主要进展。"})
    today = today or timezone.localdate()
    if not rules.half_year_has_ended(summary.year, summary.half, today):
        end = rules.half_year_end(summary.year, summary.half)
        raise ValidationError(
            f"{summary.period_label}于{rules.format_cn_date(end)}结束，半年结束后方可报送台账汇总"
            f"（{rules.numbers().half_year}报送，第二条第（三）项），此前可先起草。"
        )
    for name in SUMMARY_FIELDS:
        setattr(summary, name, (data.get(name) or "").strip())
    summary.status = SummaryStatus.SUBMITTED
    summary.submitted_by = actor
    summary.submitted_at = timezone.now()
    summary.days_late = max(0, (today - summary.due_date).days)
    summary._history_user = actor
    summary._change_reason = "报送半年汇总" + (
        f"（逾期{summary.days_late}天）" if summary.days_late else ""
    )
    summary.save()
    resolve_met(
        kind=DeadlineKind.HALF_YEAR,
        organisation_id=summary.organisation_id,
        actor=actor,
        reason=f"已报送{summary.period_label}台账汇总",
        today=today,
    )
    notify(
        organisation=office_organisation(),
        subject=f"{summary.organisation.short_name}报送了{summary.period_label}台账汇总",
        url="/ledger/summaries/",
    )
    return summary
