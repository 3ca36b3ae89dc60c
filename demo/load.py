"""Loading the demo: the organisation directory, one account per role (demo/people.py),
realistic pilots (demo/pilots.py) with their calls (demo/calls.py), the ledger's filings and
reports (demo/ledger.py), the end-of-term records (demo/term.py) and the reviews
(demo/reviews.py). Safe to run again: what exists is left alone."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db import transaction
from django.utils import timezone

from accounts.orgdata import ensure_organisations, ensure_plan_units
from demo.ledger import load_ledger_demo
from demo.people import ensure_demo_users
from demo.pilots import ensure_demo_pilots, flag_demo_overlaps
from demo.reviews import load_reviews_demo
from demo.term import load_term_demo


@dataclass(frozen=True)
class DemoResult:
    organisations: int
    users_created: int
    users_updated: int
    pilots_created: int
    pilots_existing: int
    milestones_created: int


@transaction.atomic
def load_demo(*, today: dt.date | None = None) -> DemoResult:
    """Load (or complete) the demo: organisations, accounts and pilots. Safe to run again."""
    today = today or timezone.localdate()
    orgs = ensure_organisations()
    ensure_plan_units()  # the units of the sample reform plan (ledger/data)
    users, users_created, users_updated = ensure_demo_users(orgs)
    created, existing, milestones = ensure_demo_pilots(orgs=orgs, users=users, today=today)
    load_ledger_demo(users=users, today=today)
    load_term_demo(users=users, today=today)
    load_reviews_demo(users=users, today=today)
    flag_demo_overlaps()
    return DemoResult(
        organisations=len(orgs),
        users_created=users_created,
        users_updated=users_updated,
        pilots_created=created,
        pilots_existing=existing,
        milestones_created=milestones,
    )
