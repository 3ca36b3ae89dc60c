"""Quarterly progress (季度进展, R2.3): a lead department reports each ledger pilot once per
ended quarter, due PILOT_QUARTERLY_DUE_DAYS after it; a correction is a new version, the
earlier ones kept. Also what each department still owes. Views, the API, imports and jobs
call these.

Each is keyword-only, takes the acting user, locks the rows it changes and writes history
with the actor and a reason.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Organisation
from core.dates import QUARTER_NAMES, YEAR_MAX, YEAR_MIN, format_cn_quarter
from core.forms import length_errors
from core.history import save_with_history
from ledger.filing import _lock_pilot
from ledger.models import QuarterlyReport
from ledger.selectors import owed_quarters
from pilots import policy, rules
from pilots.constants import LEDGER_STATES, DeadlineKind
from pilots.deadlines import resolve_met
from pilots.models import Pilot

REPORT_FIELDS = ["progress", "milestones_reached", "problems", "next_steps"]
# The longest text (字) each part of a quarterly report takes: a quarter's progress on one
# pilot in a page, the rest in half a page each, so the ledger stays readable.
REPORT_LIMITS = {"progress": 2000, "milestones_reached": 1000, "problems": 1000, "next_steps": 1000}


def may_report(user, pilot: Pilot) -> bool:
    """R2.3: the provincial lead department reports its pilots' quarterly progress."""
    return policy.is_lead_department_of(user, pilot)


def quarter_refusal(pilot: Pilot, year: int, quarter: int, today: dt.date) -> str:
    """R2.3: why a pilot does not report for this quarter, or "" when it owes that report:
    only a real quarter from the one it entered the ledger to the last that has ended."""
    if quarter not in QUARTER_NAMES:
        return "季度只能是第一季度至第四季度。"
    if not YEAR_MIN <= year <= YEAR_MAX:
        return f"年度须在{YEAR_MIN}年至{YEAR_MAX}年之间。"
    if (year, quarter) in owed_quarters(pilot, today):
        return ""
    why = ""
    if not rules.quarter_has_ended(year, quarter, today):
        # R2.3: a quarter is reported once it is over, never ahead.
        why = (
            f"该季度尚未结束，季度结束后方可报送（{rules.numbers().quarterly}报送，"
            "第二条第（三）项）。"
        )
    return (
        f"{format_cn_quarter(year, quarter)}不在该试点的报送期内"
        "（自列入台账的季度起、到已结束的季度止）。" + why
    )


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
    refusal = quarter_refusal(pilot, year, quarter, today)
    if refusal:
        raise ValidationError(refusal)
    if not (data.get("progress") or "").strip():
        raise ValidationError({"progress": "请填写工作进展。"})
    too_long = length_errors(
        {k: v.strip() for k, v in data.items() if isinstance(v, str)}, REPORT_LIMITS
    )
    if too_long:
        raise ValidationError(too_long)
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
    save_with_history(
        report,
        actor=actor,
        reason=(
            f"更正{format_cn_quarter(year, quarter)}进展：{correction_reason.strip()}"
            if previous
            else f"报送{format_cn_quarter(year, quarter)}进展"
        ),
    )
    if previous is not None:
        # History of the superseded version records why it is no longer current.
        previous.refresh_from_db()
        save_with_history(
            previous,
            actor=actor,
            reason=f"被第{report.version}版更正",
            update_fields=["is_current"],
        )
    resolve_met(
        kind=DeadlineKind.QUARTERLY,
        pilot_id=pilot.pk,
        actor=actor,
        reason=f"已报送{format_cn_quarter(year, quarter)}进展",
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
