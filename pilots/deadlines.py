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

Each app enumerates the deadlines of the records it owns: this module those of the pilot
itself (filing, term end, acceptance); `ledger.deadlines` the reports and summaries;
`reviews.deadlines` rectifications and expert reviews. They register a source per kind with
`register_source` in their `AppConfig.ready()`, and `open_deadlines` asks every source.

`resolve_met` is called by every domain function that meets an obligation, in its own
transaction: the overdue events of that item are resolved at once (with history), not at the
next run of the overdue job, which reaches the same verdict since both read this enumeration.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Callable, Iterable
from dataclasses import dataclass

from django.conf import settings
from django.db.models import Exists, OuterRef, Q

from core.history import mark
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


def due_label(code: str, name: str, what: str) -> str:
    text = f"{code} {name}：{what}"
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1] + "…"


def led_by(organisation_ids: Iterable[int] | None) -> Q:
    """Pilots led by one of `organisation_ids` (every pilot when None)."""
    return Q() if organisation_ids is None else Q(lead_department_id__in=list(organisation_ids))


# A source gives the open deadlines of one kind: source(due_from, due_before, orgs), where
# `orgs` is a set of responsible organisations' ids or None for all.
Source = Callable[[dt.date | None, dt.date, set[int] | None], list[Due]]
SOURCES: dict[str, Source] = {}


def register_source(kind: str, source: Source) -> None:
    SOURCES[kind] = source


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
    for kind in DeadlineKind.values:
        if kind in wanted and kind in SOURCES:
            found += SOURCES[kind](due_from, due_before, orgs)
    found.sort(key=lambda d: (d.due, d.kind, d.label))
    return found


def in_range(day: dt.date, due_from: dt.date | None, due_before: dt.date) -> bool:
    return day < due_before and (due_from is None or day >= due_from)


def _filing(due_from, due_before, orgs) -> list[Due]:
    """R2.2: approved, not yet filed (a filing awaiting the office's confirmation is filed)."""
    days = dt.timedelta(days=settings.PILOT_FILING_DAYS)
    qs = Pilot.objects.filter(
        led_by(orgs), status=Status.APPROVED, approval_date__lt=due_before - days
    )
    if due_from is not None:
        qs = qs.filter(approval_date__gte=due_from - days)
    return [
        Due(
            DeadlineKind.FILING, pk, lead, rules.filing_due(approved), due_label(code, name, "备案")
        )
        for pk, code, name, lead, approved in qs.values_list(
            "pk", "code", "name", "lead_department_id", "approval_date"
        ).iterator(chunk_size=5000)
    ]


def _term_end(due_from, due_before, orgs) -> list[Due]:
    """R2.4: an active pilot reports closure or asks for an extension by its end date."""
    qs = Pilot.objects.filter(led_by(orgs), status=Status.ACTIVE, end_date__lt=due_before)
    if due_from is not None:
        qs = qs.filter(end_date__gte=due_from)
    return [
        Due(DeadlineKind.TERM_END, pk, lead, end, due_label(code, name, "到期销号或申请延期"))
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
        led_by(orgs),
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
        if in_range(due, due_from, due_before):
            found.append(
                Due(DeadlineKind.ACCEPTANCE, pk, lead, due, due_label(code, name, "总结验收报告"))
            )
    return found


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
        mark(event, actor=actor, reason=f"{reason}，逾期事项解除")
        event.save(update_fields=["resolved_on"])
        resolved += 1
    return resolved


register_source(DeadlineKind.FILING, _filing)
register_source(DeadlineKind.TERM_END, _term_end)
register_source(DeadlineKind.ACCEPTANCE, _acceptance)
