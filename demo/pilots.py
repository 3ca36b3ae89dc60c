"""The demo's pilots, created from demo/data/demo_pilots.json (demo/fixture.py).

Pilots are created directly in their state (the workflows that move them there are separate),
with history written by the acting demo account and the reason "演示数据". Loading is
idempotent: a pilot is keyed by the name it had when the demo created it.
"""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import Organisation, User
from core.history import save_with_history
from demo.calls import check_quota, endorsing_prefecture, ensure_demo_calls, record_screening
from demo.constants import DEMO_REASON
from demo.fixture import TEXT_FIELDS, DemoDates, call_key, demo_pilot_rows, resolve_dates
from demo.people import applicant_account
from pilots import rules
from pilots.codes import next_code
from pilots.constants import APPROVED_OR_LATER, Status
from pilots.models import Milestone, Pilot


def existing_demo_names() -> set[str]:
    """Names (at creation) of the pilots the demo loader created and that still exist."""
    historical = Pilot.history.model
    return set(
        historical.objects.filter(
            history_type="+", history_change_reason=DEMO_REASON, id__in=Pilot.objects.values("pk")
        ).values_list("name", flat=True)
    )


def demo_pilots() -> list[tuple[int, Pilot]]:
    """(position in the fixture, pilot) of the demo's pilots that still exist, keyed like the
    demo loader keys them: by the name they had when the demo created them."""
    created = dict(
        Pilot.history.model.objects.filter(
            history_type="+", history_change_reason=DEMO_REASON
        ).values_list("name", "id")
    )
    rows = demo_pilot_rows()
    pilots = Pilot.objects.select_related("lead_department__parent").in_bulk(
        [created[row["name"]] for row in rows if row["name"] in created]
    )
    found = []
    for index, row in enumerate(rows):
        pilot = pilots.get(created.get(row["name"]))
        if pilot is not None:
            found.append((index, pilot))
    return found


def _doc_number(approval: dict, day: dt.date) -> str:
    return f"{approval['doc']}〔{day.year}〕{approval['serial']}号"


def build_pilot(row: dict, orgs: dict[str, Organisation], dates: DemoDates) -> Pilot:
    """An unsaved pilot for one fixture row (no code yet)."""
    pilot = Pilot(
        field=row["field"],
        kind=row["kind"],
        origin=row["origin"],
        status=row["status"],
        lead_department=orgs[row["lead"]],
        applicant=orgs[row["applicant"]],
        start_date=dates.start,
        end_date=dates.end,
        **{name: row.get(name, "") for name in TEXT_FIELDS},
    )
    if dates.approved is not None:
        approval = row["approval"]
        pilot.approval_authority = approval["authority"]
        pilot.approval_doc_number = _doc_number(approval, dates.approved)
        pilot.approval_date = dates.approved
    return pilot


def _milestone_reached(
    due: dt.date, start: dt.date, status: str, today: dt.date, i: int
) -> dt.date | None:
    if due >= today or status == Status.PURGED:
        return None
    return max(start, due - dt.timedelta(days=2 + 3 * (i % 3)))


def ensure_demo_pilots(
    *, orgs: dict[str, Organisation], users: dict[str, User], today: dt.date
) -> tuple[int, int, int]:
    """Create the fixture's pilots that do not exist yet; returns (created, existing,
    milestones created). Codes are handed out in order of approval (or today for
    applications), keyed by that year."""
    done = existing_demo_names()
    todo = []
    for index, row in enumerate(demo_pilot_rows()):
        if row["name"] in done:
            continue
        dates = resolve_dates(row, today)
        todo.append((dates.approved or today, index, row, dates))
    todo.sort(key=lambda item: item[:2])
    call_keys = {call_key(row, dates) for *_ignored, row, dates in todo} - {None}
    calls = ensure_demo_calls(keys=call_keys, today=today, office=users["office"])
    now = timezone.now()

    milestones_created = 0
    for day, index, row, dates in todo:
        pilot = build_pilot(row, orgs, dates)
        key = call_key(row, dates)
        if key is not None:
            pilot.call = calls[key]
            if pilot.status == Status.ENDORSED or pilot.status in APPROVED_OR_LATER:
                pilot.endorsing_prefecture = endorsing_prefecture(pilot.applicant)
                pilot.endorsed_at = (
                    now - dt.timedelta(days=1 + index % 5)
                    if pilot.status == Status.ENDORSED
                    else pilot.call.deadline - dt.timedelta(days=3)
                )
                check_quota(pilot)
        pilot.full_clean(exclude=["code"])
        rules.validate_term(
            kind=pilot.kind,
            start=pilot.start_date,
            end=pilot.end_date,
            milestone_dates=[due for due, _title in dates.milestones],
        )
        pilot.code = next_code(day.year)
        actor = applicant_account(pilot.applicant, users)
        save_with_history(pilot, actor=actor, reason=DEMO_REASON)
        pilot.regions.set([orgs[code] for code in row["regions"]])
        pilot.participating_units.set([orgs[code] for code in row.get("participants", ())])
        for i, (due, title) in enumerate(dates.milestones):
            milestone = Milestone(
                pilot=pilot,
                due_date=due,
                title=title,
                reached_on=_milestone_reached(due, dates.start, pilot.status, today, i),
            )
            save_with_history(milestone, actor=actor, reason=DEMO_REASON)
            milestones_created += 1
        if "opinion" in row:
            record_screening(pilot, row["opinion"], users)
    return len(todo), len(demo_pilot_rows()) - len(todo), milestones_created


def flag_demo_overlaps() -> int:
    """R1.3: index every pilot's text and flag possible overlaps of the applications awaiting
    screening, as submission would have; verdicts already recorded are kept."""
    from pilots import overlap

    overlap.reindex_all()
    flags = 0
    for pilot in Pilot.objects.filter(status__in=[Status.SUBMITTED, Status.ENDORSED]):
        flags += len(overlap.record_overlaps(pilot))
    return flags
