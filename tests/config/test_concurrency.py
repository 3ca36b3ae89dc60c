"""Two people act on one record at the same moment: exactly one wins; the other is told, in
Chinese, that the record has moved on; nothing is done twice. Row locks need PostgreSQL
(SQLite serialises writers on the whole file), so these run in CI's PostgreSQL pass."""

from __future__ import annotations

import threading

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from ledger.filing import confirm_filing, return_filing
from ledger.models import Filing
from pilots import term
from pilots.models import ClosureReport
from tests.ledger.test_filing import approved, submit  # noqa: F401 - fixture

pytestmark = pytest.mark.django_db(transaction=True)


def race(*calls):
    """Run the calls in threads released together; (results, errors) in call order."""
    start = threading.Barrier(len(calls))
    results = [None] * len(calls)
    errors = [None] * len(calls)

    def run(i, call):
        from django.db import connection as thread_connection

        try:
            start.wait(timeout=10)
            results[i] = call()
        except (ValidationError, PermissionDenied) as exc:
            errors[i] = exc
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=run, args=(i, c)) for i, c in enumerate(calls)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    return results, errors


@pytest.fixture(autouse=True)
def _postgres_only():
    if connection.vendor == "sqlite":
        pytest.skip("row locks need PostgreSQL; CI runs this against it")


def test_two_officers_confirming_one_filing_confirm_it_once(personas, approved):  # noqa: F811
    filing = submit(personas, approved)
    office = personas["office"]
    results, errors = race(
        lambda: confirm_filing(actor=office, filing=filing),
        lambda: confirm_filing(actor=office, filing=filing),
    )
    assert sum(r is not None for r in results) == 1
    loser = next(e for e in errors if e is not None)
    assert "备案" in " ".join(loser.messages)
    filing.refresh_from_db()
    assert filing.status == "confirmed"
    assert Filing.history.filter(id=filing.pk, status="confirmed").count() == 1


def test_confirming_and_returning_one_filing_at_once_leaves_one_decision(
    personas,
    approved,  # noqa: F811
):
    filing = submit(personas, approved)
    office = personas["office"]
    results, errors = race(
        lambda: confirm_filing(actor=office, filing=filing),
        lambda: return_filing(actor=office, filing=filing, reason="附件不全。"),
    )
    assert sum(r is not None for r in results) == 1
    assert sum(e is not None for e in errors) == 1
    filing.refresh_from_db()
    assert filing.status in ("confirmed", "returned")


def test_two_closure_reports_for_one_pilot_at_once_make_one(
    personas, make_pilot, orgs, time_machine
):
    import datetime as dt

    time_machine.move_to(dt.datetime(2026, 12, 10, 10, tzinfo=dt.UTC), tick=False)
    pilot = make_pilot(
        regions=[orgs["county"]], end_date=dt.date(2026, 12, 31), ledger_since=dt.date(2026, 1, 5)
    )
    dept = personas["dept"]

    def report():
        return term.report_closure(
            actor=dept, pilot=pilot, results="完成全部目标。", experience="可复制的经验。"
        )

    results, errors = race(report, report)
    assert sum(r is not None for r in results) == 1
    assert ClosureReport.objects.filter(pilot=pilot).count() == 1
    assert any(e is not None and "销号" in " ".join(e.messages) for e in errors)
