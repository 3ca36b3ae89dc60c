"""Half-year summaries (半年汇总, R2.3): the product drafts a lead department's summary of its
ledger from its quarterly reports (counts by state, progress, problems); the department edits
it and submits it once the half year has ended. Also which departments owe one. Views, the
API and jobs call these.

Each is keyword-only, takes the acting user, locks the row it changes, writes history with
the actor and a reason, and notifies the office after commit.
"""

from __future__ import annotations

import datetime as dt
from collections import Counter

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.constants import OrgKind, Role
from accounts.models import Organisation, office_organisation
from accounts.notify import notify
from core.dates import YEAR_MAX, YEAR_MIN
from core.forms import length_errors
from core.history import save_with_history
from ledger.constants import SummaryStatus
from ledger.models import HalfYearSummary, QuarterlyReport
from pilots import policy, rules
from pilots.constants import LEDGER_STATES, DeadlineKind, Status
from pilots.deadlines import resolve_met
from pilots.models import Pilot

SUMMARY_FIELDS = ["overview", "progress", "problems", "next_steps"]
# The longest text (字) each part of a half-year summary takes: the progress gathers a half
# year of a department's pilots (drafted from their reports), the rest is a page or two.
SUMMARY_LIMITS = {"overview": 3000, "progress": 20000, "problems": 5000, "next_steps": 5000}


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
    *,
    actor,
    organisation: Organisation,
    year: int,
    half: int,
    refresh: bool = False,
    save: bool = True,
    today: dt.date | None = None,
) -> HalfYearSummary:
    """R2.3: the product drafts a department's half-year summary from its quarterly reports
    (counts by state, progress, problems); the department then edits and submits it.
    `refresh` re-drafts the texts of an unsubmitted summary from the latest reports; with
    `save=False` a new draft is returned unsaved (to show it) and nothing changes. Half years
    after the current one cannot be drafted."""
    _require_summary_author(actor, organisation)
    if half not in (1, 2):
        raise ValidationError("半年只能是上半年或下半年。")
    if not YEAR_MIN <= year <= YEAR_MAX:
        raise ValidationError(f"年度须在{YEAR_MIN}年至{YEAR_MAX}年之间。")
    today = today or timezone.localdate()
    if (year, half) > (today.year, 1 if today.month <= 6 else 2):
        raise ValidationError(
            f"{year}年{'上' if half == 1 else '下'}半年尚未开始，不能起草台账汇总。"
        )
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
        if save:
            save_with_history(summary, actor=actor, reason="系统根据季度进展起草半年汇总")
        return summary
    if summary.status == SummaryStatus.SUBMITTED:
        if refresh:
            raise ValidationError("该半年汇总已报送，不能重新起草。")
        return summary
    if refresh and save:
        summary.counts = counts
        for name, value in texts.items():
            setattr(summary, name, value)
        save_with_history(summary, actor=actor, reason="根据最新季度进展重新起草")
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
    too_long = length_errors(
        {k: v.strip() for k, v in data.items() if isinstance(v, str)}, SUMMARY_LIMITS
    )
    if too_long:
        raise ValidationError(too_long)
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
    late = f"（逾期{summary.days_late}天）" if summary.days_late else ""
    save_with_history(summary, actor=actor, reason=f"报送半年汇总{late}")
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
