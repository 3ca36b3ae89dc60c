"""The ledger's deadlines (R2.3): every ended quarter a ledger pilot owes a progress report
for, and every ended half year a lead department owes its summary for. Registered with
pilots.deadlines, which enumerates every kind for the overdue job, the reminders and the
home pages."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.db.models import Min

from accounts.constants import OrgKind
from accounts.models import Organisation
from core.dates import format_cn_quarter
from ledger.constants import SummaryStatus
from ledger.models import HalfYearSummary, QuarterlyReport
from pilots import rules
from pilots.constants import LEDGER_STATES, DeadlineKind
from pilots.deadlines import LABEL_MAX, Due, due_label, led_by
from pilots.models import Pilot


def _quarter_range(due_from, due_before) -> tuple[tuple[int, int] | None, tuple[int, int]]:
    """The quarters whose report is due within the range: (first or None, last)."""
    shift = dt.timedelta(days=settings.PILOT_QUARTERLY_DUE_DAYS)
    # The last quarter due before `due_before` ended before `due_before - shift`.
    year, quarter = rules.quarter_of(due_before - shift - dt.timedelta(days=1))
    if rules.quarterly_report_due(year, quarter) >= due_before:
        year, quarter = rules.previous_quarter(year, quarter)
    first = None
    if due_from is not None:
        fy, fq = rules.quarter_of(due_from - shift)
        if rules.quarterly_report_due(fy, fq) < due_from:
            fy, fq = rules.next_quarter(fy, fq)
        first = (fy, fq)
    return first, (year, quarter)


def quarterly(due_from, due_before, orgs) -> list[Due]:
    """R2.3: every ended quarter of a ledger pilot, from the quarter it entered the ledger (or
    started, if later) to the last quarter of its term, that has no current report."""
    first, last = _quarter_range(due_from, due_before)
    if first is not None and first > last:
        return []
    pilots = Pilot.objects.filter(
        led_by(orgs), status__in=LEDGER_STATES, ledger_since__isnull=False
    )
    reports = QuarterlyReport.objects.filter(
        is_current=True, pilot__status__in=LEDGER_STATES, year__lte=last[0]
    )
    if orgs is not None:
        reports = reports.filter(pilot__lead_department_id__in=orgs)
    if first is not None:
        pilots = pilots.filter(end_date__gte=rules.quarter_end(*first) - dt.timedelta(days=92))
        reports = reports.filter(year__gte=first[0])
    reported = set(reports.values_list("pilot_id", "year", "quarter").iterator(chunk_size=10000))
    found = []
    rows = pilots.values_list(
        "pk", "code", "name", "lead_department_id", "start_date", "end_date", "ledger_since"
    ).iterator(chunk_size=5000)
    for pk, code, name, lead, start, end, since in rows:
        span = rules.owed_quarter_span(start, end, since)
        if span is None:
            continue
        begin = max(span[0], first) if first is not None else span[0]
        for year, quarter in rules.quarters_between(begin, min(span[1], last)):
            if (pk, year, quarter) not in reported:
                found.append(
                    Due(
                        DeadlineKind.QUARTERLY,
                        pk,
                        lead,
                        rules.quarterly_report_due(year, quarter),
                        due_label(code, name, f"{format_cn_quarter(year, quarter)}进展"),
                    )
                )
    return found


def half_year(due_from, due_before, orgs) -> list[Due]:
    """R2.3: each department leading ledger pilots (a division's count for its department)
    owes a summary for every half year that ended since its first pilot entered the ledger."""
    firsts: dict[int, dt.date] = {}
    rows = (
        Pilot.objects.filter(status__in=LEDGER_STATES, ledger_since__isnull=False)
        .values("lead_department_id", "lead_department__kind", "lead_department__parent_id")
        .annotate(first=Min("ledger_since"))
    )
    for row in rows:
        if row["lead_department__kind"] == OrgKind.DEPARTMENT:
            dept = row["lead_department_id"]
        elif row["lead_department__parent_id"] is not None:
            dept = row["lead_department__parent_id"]
        else:
            dept = row["lead_department_id"]
        if orgs is not None and dept not in orgs:
            continue
        firsts[dept] = min(firsts.get(dept, row["first"]), row["first"])
    if not firsts:
        return []
    done = set(
        HalfYearSummary.objects.filter(
            status=SummaryStatus.SUBMITTED, organisation_id__in=list(firsts)
        ).values_list("organisation_id", "year", "half")
    )
    names = dict(Organisation.objects.filter(pk__in=list(firsts)).values_list("pk", "name"))
    found = []
    for dept, first in firsts.items():
        year, half = rules.half_of(first)
        while True:
            due = rules.half_year_summary_due(year, half)
            if due >= due_before:
                break
            if (due_from is None or due >= due_from) and (dept, year, half) not in done:
                period = f"{year}年{'上' if half == 1 else '下'}半年"
                found.append(
                    Due(
                        DeadlineKind.HALF_YEAR,
                        None,
                        dept,
                        due,
                        f"{names.get(dept, '')}：{period}台账汇总"[:LABEL_MAX],
                    )
                )
            year, half = rules.next_half_year(year, half)
    return found
