"""Every open deadline the regulation sets, for all pilots at once (set-based).

One enumeration serves the overdue job (deadlines before today), the reminders (deadlines in
the next days) and the home pages (an organisation's own). Each deadline names the
organisation responsible and the clause that sets it:

- R2.2 filing: an approved pilot not yet filed, due PILOT_FILING_DAYS after approval;
- R2.3 quarterly progress: each ended quarter of a ledger pilot with no current report, due
  PILOT_QUARTERLY_DUE_DAYS after the quarter;
- R2.3 half-year summary: each ended half year of a department leading ledger pilots with no
  submitted summary, due PILOT_HALF_YEAR_DUE_DAYS after the half year;
- R2.4 closure or extension: an active pilot whose term ends, due on its end date;
- R3.2 acceptance report: every pilot whose term has ended (closed, closure pending, still
  in the ledger past its end date, purged or restored) without one, due
  PILOT_ACCEPTANCE_REPORT_MONTHS after its end date;
- R3.3 rectification: each open demand of an inspection not yet reported on, due on the date
  the office set;
- N3 expert review: each review an expert has not submitted, due on the date the office set.

A fixed number of queries whatever the number of pilots: one per kind, plus one for the
reports and one for the summaries already submitted.

`resolve_met` is called by every domain function that meets an obligation, in its own
transaction: the overdue events of that item are resolved at once (with history), not at the
next run of the overdue job, which reaches the same verdict since both read this enumeration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass

from django.apps import apps
from django.conf import settings
from django.db.models import Exists, Min, OuterRef, Q

from accounts.constants import OrgKind
from pilots import rules
from pilots.constants import DEADLINE_CLAUSE, LEDGER_STATES, DeadlineKind, Status
from pilots.models import AcceptanceReport, Pilot

LABEL_MAX = 200


@dataclass(frozen=True, slots=True)
class Due:
    kind: str
    pilot_id: int | None
    organisation_id: int
    due: dt.date
    label: str

    @property
    def key(self) -> str:
        return f"{self.kind}:{self.pilot_id or 0}:{self.organisation_id}:{self.due.isoformat()}"

    @property
    def clause(self) -> str:
        return DEADLINE_CLAUSE[self.kind]

    @property
    def kind_label(self) -> str:
        return DeadlineKind(self.kind).label


def _label(code: str, name: str, what: str) -> str:
    text = f"{code} {name}：{what}"
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def _pilots(organisation_ids: Iterable[int] | None) -> Q:
    return Q() if organisation_ids is None else Q(lead_department_id__in=list(organisation_ids))


def open_deadlines(
    *,
    due_before: dt.date,
    due_from: dt.date | None = None,
    organisation_ids: Iterable[int] | None = None,
    kinds: Iterable[str] | None = None,
) -> list[Due]:
    """The open deadlines with `due_from <= due < due_before`, oldest first; only those of
    `organisation_ids` (responsible organisations) when given."""
    orgs = None if organisation_ids is None else set(organisation_ids)
    wanted = set(kinds) if kinds is not None else set(DeadlineKind.values)
    found: list[Due] = []
    if DeadlineKind.FILING in wanted:
        found += _filing(due_from, due_before, orgs)
    if DeadlineKind.QUARTERLY in wanted:
        found += _quarterly(due_from, due_before, orgs)
    if DeadlineKind.HALF_YEAR in wanted:
        found += _half_year(due_from, due_before, orgs)
    if DeadlineKind.TERM_END in wanted:
        found += _term_end(due_from, due_before, orgs)
    if DeadlineKind.ACCEPTANCE in wanted:
        found += _acceptance(due_from, due_before, orgs)
    if DeadlineKind.RECTIFICATION in wanted:
        found += _rectification(due_from, due_before, orgs)
    if DeadlineKind.EXPERT_REVIEW in wanted:
        found += _expert_review(due_from, due_before, orgs)
    found.sort(key=lambda d: (d.due, d.kind, d.label))
    return found


def _in_range(day: dt.date, due_from: dt.date | None, due_before: dt.date) -> bool:
    return day < due_before and (due_from is None or day >= due_from)


def _filing(due_from, due_before, orgs) -> list[Due]:
    """R2.2: approved, not yet filed (a filing awaiting the office's confirmation is filed)."""
    days = dt.timedelta(days=settings.PILOT_FILING_DAYS)
    qs = Pilot.objects.filter(
        _pilots(orgs), status=Status.APPROVED, approval_date__lt=due_before - days
    )
    if due_from is not None:
        qs = qs.filter(approval_date__gte=due_from - days)
    return [
        Due(DeadlineKind.FILING, pk, lead, rules.filing_due(approved), _label(code, name, "备案"))
        for pk, code, name, lead, approved in qs.values_list(
            "pk", "code", "name", "lead_department_id", "approval_date"
        ).iterator(chunk_size=5000)
    ]


def _quarter_range(due_from, due_before) -> tuple[tuple[int, int] | None, tuple[int, int]]:
    """The quarters whose report is due within the range: (first or None, last)."""
    shift = dt.timedelta(days=settings.PILOT_QUARTERLY_DUE_DAYS)
    # The last quarter due before `due_before` ended before `due_before - shift`.
    year, quarter = rules.quarter_of(due_before - shift - dt.timedelta(days=1))
    if rules.quarterly_report_due(year, quarter) >= due_before:
        year, quarter = (year - 1, 4) if quarter == 1 else (year, quarter - 1)
    first = None
    if due_from is not None:
        fy, fq = rules.quarter_of(due_from - shift)
        if rules.quarterly_report_due(fy, fq) < due_from:
            fy, fq = (fy + 1, 1) if fq == 4 else (fy, fq + 1)
        first = (fy, fq)
    return first, (year, quarter)


def _quarterly(due_from, due_before, orgs) -> list[Due]:
    """R2.3: every ended quarter of a ledger pilot, from the quarter it entered the ledger (or
    started, if later) to the last quarter of its term, that has no current report."""
    QuarterlyReport = apps.get_model("ledger", "QuarterlyReport")
    first, last = _quarter_range(due_from, due_before)
    if first is not None and first > last:
        return []
    pilots = Pilot.objects.filter(
        _pilots(orgs), status__in=LEDGER_STATES, ledger_since__isnull=False
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
        begin = rules.quarter_of(max(start, since))
        stop = min(rules.quarter_of(end), last)
        year, quarter = max(begin, first) if first is not None else begin
        while (year, quarter) <= stop:
            if (pk, year, quarter) not in reported:
                found.append(
                    Due(
                        DeadlineKind.QUARTERLY,
                        pk,
                        lead,
                        rules.quarterly_report_due(year, quarter),
                        _label(code, name, f"{year}年第{quarter}季度进展"),
                    )
                )
            year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
    return found


def _half_of(day: dt.date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def _half_year(due_from, due_before, orgs) -> list[Due]:
    """R2.3: each department leading ledger pilots (a division's count for its department)
    owes a summary for every half year that ended since its first pilot entered the ledger."""
    from ledger.constants import SummaryStatus

    HalfYearSummary = apps.get_model("ledger", "HalfYearSummary")
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
    names = dict(
        apps.get_model("accounts", "Organisation")
        .objects.filter(pk__in=list(firsts))
        .values_list("pk", "name")
    )
    found = []
    for dept, first in firsts.items():
        year, half = _half_of(first)
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
            year, half = (year + 1, 1) if half == 2 else (year, 2)
    return found


def _term_end(due_from, due_before, orgs) -> list[Due]:
    """R2.4: an active pilot reports closure or asks for an extension by its end date."""
    qs = Pilot.objects.filter(_pilots(orgs), status=Status.ACTIVE, end_date__lt=due_before)
    if due_from is not None:
        qs = qs.filter(end_date__gte=due_from)
    return [
        Due(DeadlineKind.TERM_END, pk, lead, end, _label(code, name, "到期销号或申请延期"))
        for pk, code, name, lead, end in qs.values_list(
            "pk", "code", "name", "lead_department_id", "end_date"
        ).iterator(chunk_size=5000)
    ]


# R3.2: every pilot that reaches the end of its term owes the acceptance report, whatever
# happened at the end: closed, closure pending, still in the ledger past its end date (an
# extension pending or none asked), purged, or restored after a purge.
ACCEPTANCE_STATES = frozenset({*LEDGER_STATES, Status.CLOSED, Status.PURGED})


def _acceptance(due_from, due_before, orgs) -> list[Due]:
    """R3.2: after the term, the summary (acceptance) report, owed from the end date by every
    pilot whose term has ended (ACCEPTANCE_STATES) and that has none yet; due
    PILOT_ACCEPTANCE_REPORT_MONTHS after the end date. An approved extension moves the end
    date and with it the report's due date."""
    qs = Pilot.objects.filter(
        _pilots(orgs),
        status__in=ACCEPTANCE_STATES,
        end_date__lt=due_before,
    ).exclude(Exists(AcceptanceReport.objects.filter(pilot=OuterRef("pk"), is_current=True)))
    if due_from is not None:
        qs = qs.filter(end_date__gte=rules.add_months(due_from, -12))
    found = []
    for pk, code, name, lead, end in qs.values_list(
        "pk", "code", "name", "lead_department_id", "end_date"
    ).iterator(chunk_size=5000):
        due = rules.acceptance_report_due(end)
        if _in_range(due, due_from, due_before):
            found.append(
                Due(DeadlineKind.ACCEPTANCE, pk, lead, due, _label(code, name, "总结验收报告"))
            )
    return found


def _rectification(due_from, due_before, orgs) -> list[Due]:
    """R3.3: each open rectification demand of an inspection, by its deadline, owed by the
    organisation it names until it reports its rectification (then the office's closing is
    the office's step, not the unit's)."""
    Rectification = apps.get_model("reviews", "Rectification")
    qs = Rectification.objects.filter(closed_on__isnull=True, follow_up="", due_date__lt=due_before)
    if due_from is not None:
        qs = qs.filter(due_date__gte=due_from)
    if orgs is not None:
        qs = qs.filter(organisation_id__in=list(orgs))
    rows = qs.values_list(
        "pk",
        "inspection__pilot_id",
        "inspection__pilot__code",
        "inspection__pilot__name",
        "organisation_id",
        "due_date",
    )
    return [
        Due(
            DeadlineKind.RECTIFICATION,
            pilot_id,
            org,
            due,
            _label(code, name, f"督察整改（第{pk}号）"),
        )
        for pk, pilot_id, code, name, org, due in rows.iterator(chunk_size=5000)
    ]


def _expert_review(due_from, due_before, orgs) -> list[Due]:
    """N3: each expert review not yet submitted, by its deadline, owed by the expert's
    organisation (the reminders and flags reach the expert's unit)."""
    ExpertReview = apps.get_model("reviews", "ExpertReview")
    qs = ExpertReview.objects.filter(
        status=ExpertReview.PENDING, due_date__lt=due_before, expert__organisation__isnull=False
    )
    if due_from is not None:
        qs = qs.filter(due_date__gte=due_from)
    if orgs is not None:
        qs = qs.filter(expert__organisation_id__in=list(orgs))
    rows = qs.values_list(
        "pk",
        "pilot_id",
        "pilot__code",
        "pilot__name",
        "expert__organisation_id",
        "expert__username",
        "due_date",
    )
    return [
        Due(
            DeadlineKind.EXPERT_REVIEW,
            pilot_id,
            org,
            due,
            _label(code, name, f"专家评审（{username}，第{pk}号）"),
        )
        for pk, pilot_id, code, name, org, username, due in rows.iterator(chunk_size=5000)
    ]


def resolve_met(
    *,
    kind: str,
    actor,
    reason: str,
    pilot_id: int | None = None,
    organisation_id: int | None = None,
    today: dt.date | None = None,
) -> int:
    """Resolve, now and with history, the open overdue events of `kind` (of `pilot_id` and/or
    `organisation_id`) whose item is no longer due. Called inside the transaction of the
    domain function that met the obligation, after its change is written. The verdict is the
    enumeration's (the same as the overdue job's), so the job never reopens what this
    resolved. Returns how many events were resolved."""
    from django.utils import timezone

    from pilots.models import OverdueEvent

    events = OverdueEvent.objects.select_for_update().filter(kind=kind, resolved_on__isnull=True)
    if pilot_id is not None:
        events = events.filter(pilot_id=pilot_id)
    if organisation_id is not None:
        events = events.filter(organisation_id=organisation_id)
    events = list(events.order_by("pk"))
    if not events:
        return 0
    still_due = {
        due.key
        for due in open_deadlines(
            due_from=min(e.due_date for e in events),
            due_before=max(e.due_date for e in events) + dt.timedelta(days=1),
            organisation_ids={e.organisation_id for e in events},
            kinds=[kind],
        )
    }
    day = today or timezone.localdate()
    resolved = 0
    for event in events:
        if event.key in still_due:
            continue
        event.resolved_on = max(day, event.flagged_on)
        event._history_user = actor
        event._change_reason = f"{reason}，逾期事项解除"[:100]
        event.save(update_fields=["resolved_on"])
        resolved += 1
    return resolved
