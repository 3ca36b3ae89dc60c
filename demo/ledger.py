"""Demo data of the ledger (R2.2, R2.3): filings (demo/filings.py), quarterly progress and
half-year summaries (demo/reports.py) for the demo's pilots, so that a fresh demo shows the
ledger as it looks in use.

Dates follow each pilot's own approval and term (themselves relative to the day the pilots were
loaded) and never lie after today. History is written by the acting account; rows made here
carry the reason "演示数据". Loading is idempotent: what exists is left alone, and a
deliberately missing quarter stays so.
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.utils import timezone

from accounts.models import User
from demo.filings import ensure_filings
from demo.pilots import demo_pilots
from demo.reports import ensure_reports, ensure_summaries


@dataclass(frozen=True)
class LedgerDemoResult:
    filings_created: int
    ledger_dates_set: int
    reports_created: int
    summaries_created: int


def load_ledger_demo(*, users: dict[str, User], today: dt.date | None = None) -> LedgerDemoResult:
    """Load (or complete) the ledger's demo data for the demo's pilots. Safe to run again."""
    today = today or timezone.localdate()
    pilots = demo_pilots()
    filings, dates = ensure_filings(pilots, users, today)
    pilots = demo_pilots()  # with their ledger dates
    reports = ensure_reports(pilots, users, today)
    summaries = ensure_summaries(users, today)
    return LedgerDemoResult(
        filings_created=filings,
        ledger_dates_set=dates,
        reports_created=reports,
        summaries_created=summaries,
    )
