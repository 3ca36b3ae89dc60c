"""The demo's pilots as written in demo/data/demo_pilots.json, and their dates.

Their texts are written per pilot; their dates are given relative to the day of loading, so
that a fresh demo always shows pilots whose filing is overdue, pilots past their end date,
pilots due for purging and so on:

- ``start``: ``{"months": n}`` — the first day of the month n months from the current one —
  or ``{"days": n}`` from today;
- ``end``: ``{"term_months": n}`` — the day before the same date n months after the start —
  or ``{"days": n}`` from today;
- ``approved`` (approved or later only): ``{"days": n}`` from today or
  ``{"before_start": n}`` days before the start (default 20);
- milestones: ``{"months": n, "title": ...}`` — due n months after the start; reached a few
  days early when already due, except for purged pilots.

An optional ``opinion`` records the screening step of a returned, endorsed or rejected
application, with its R1.1 checklist (demo/calls.py).
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from pilots import rules
from pilots.constants import (
    APPROVED_OR_LATER,
    Decision,
    Origin,
    PilotKind,
    ReformField,
    Stage,
    Status,
)

FIXTURE_PATH = Path(__file__).resolve().parent / "data" / "demo_pilots.json"
DEFAULT_APPROVAL_LEAD_DAYS = 20

TEXT_FIELDS = (
    "name",
    "implementing_body",
    "responsible_body",
    "goal",
    "scope",
    "measures",
    "expected_outcomes",
    "work_foundation",
    "contact_person",
    "contact_phone",
)
_REQUIRED_KEYS = {
    "name", "field", "kind", "origin", "status", "applicant", "regions", "lead",
    "implementing_body", "responsible_body", "goal", "scope", "measures",
    "expected_outcomes", "timing",
}  # fmt: skip
_OPTIONAL_KEYS = {
    "participants", "work_foundation", "contact_person", "contact_phone", "approval",
    "milestones", "opinion",
}  # fmt: skip


@dataclass(frozen=True)
class DemoDates:
    start: dt.date
    end: dt.date
    approved: dt.date | None
    milestones: tuple[tuple[dt.date, str], ...]


@cache
def demo_pilot_rows() -> tuple[dict, ...]:
    """The fixture's pilots, checked for keys and choice values (not yet for dates)."""
    rows = json.loads(FIXTURE_PATH.read_text(encoding="utf-8"))
    names: set[str] = set()
    for row in rows:
        name = row.get("name", "?")
        missing = _REQUIRED_KEYS - row.keys()
        unknown = row.keys() - _REQUIRED_KEYS - _OPTIONAL_KEYS
        if missing or unknown:
            raise ValueError(f"{name}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for key, choices in (
            ("field", ReformField),
            ("kind", PilotKind),
            ("origin", Origin),
            ("status", Status),
        ):
            if row[key] not in choices.values:
                raise ValueError(f"{name}: {key} {row[key]!r} is not one of {choices.values}")
        opinion = row.get("opinion")
        if opinion and (
            opinion.get("stage") not in Stage.values
            or opinion.get("decision") not in Decision.values
            or not opinion.get("text")
        ):
            raise ValueError(f"{name}: an opinion needs a stage, a decision and a text")
        if name in names:
            raise ValueError(f"duplicate demo pilot name {name!r}")
        names.add(name)
    return tuple(rows)


def _relative_day(today: dt.date, spec: dict, *, anchor: dt.date | None = None) -> dt.date:
    if "days" in spec:
        return today + dt.timedelta(days=spec["days"])
    if "months" in spec:
        return rules.add_months(today.replace(day=1), spec["months"])
    if "before_start" in spec and anchor is not None:
        return anchor - dt.timedelta(days=spec["before_start"])
    raise ValueError(f"unknown date spec {spec!r}")


def resolve_dates(row: dict, today: dt.date) -> DemoDates:
    """The dates of one fixture pilot, relative to `today`."""
    timing = row["timing"]
    start = _relative_day(today, timing["start"])
    end_spec = timing["end"]
    if "term_months" in end_spec:
        end = rules.add_months(start, end_spec["term_months"]) - dt.timedelta(days=1)
    else:
        end = _relative_day(today, end_spec)
    approved = None
    if row["status"] in APPROVED_OR_LATER:
        spec = timing.get("approved", {"before_start": DEFAULT_APPROVAL_LEAD_DAYS})
        approved = _relative_day(today, spec, anchor=start)
    elif "approved" in timing:
        raise ValueError(f"{row['name']}: an application has no approval date")
    milestones = tuple(
        (rules.add_months(start, m["months"]), m["title"]) for m in row.get("milestones", ())
    )
    return DemoDates(start=start, end=end, approved=approved, milestones=milestones)


def call_key(row: dict, dates: DemoDates) -> int | None:
    """Which demo call a fixture pilot belongs to: 0 for the call open now, the approval year
    for a closed call, None when the pilot did not come from a call."""
    if row["origin"] != Origin.CALL:
        return None
    return dates.approved.year if dates.approved else 0
