"""The quarterly PDF ledgers job (R2.3): after each quarter the province's ledger and each lead
department's are queued once; a second run queues nothing; the command replays a day."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command

from core.models import JobRun
from ledger import pdf
from ledger.constants import LedgerJob, LedgerScope, RenderStatus
from ledger.jobs import render_ledgers
from ledger.models import LedgerRender
from pilots.constants import Status

D = dt.date


@pytest.fixture
def queued(monkeypatch):
    """The render ids handed to the background renderer (not rendered here)."""
    ids: list[int] = []
    monkeypatch.setattr(pdf, "_enqueue", ids.append)
    return ids


@pytest.fixture
def ledger_pilots(make_pilot, orgs):
    make_pilot(lead_department=orgs["dept"], ledger_since=D(2026, 1, 10))
    make_pilot(lead_department=orgs["division"], ledger_since=D(2026, 2, 10))
    make_pilot(lead_department=orgs["other_dept"], ledger_since=D(2026, 3, 10))
    # Not in the ledger: its department gets no ledger of its own.
    make_pilot(lead_department=orgs["other_dept"], status=Status.APPROVED, ledger_since=None)


def test_after_a_quarter_the_province_and_each_lead_department_get_a_pdf_ledger_R2_3(
    ledger_pilots, orgs, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        run = render_ledgers(D(2027, 1, 11))
    assert run.counts == {"queued": 3, "year": 2026, "quarter": 4}
    renders = LedgerRender.objects.filter(year=2026, quarter=4)
    assert {(r.scope, r.department_id) for r in renders} == {
        (LedgerScope.PROVINCE, None),
        (LedgerScope.DEPARTMENT, orgs["dept"].pk),
        (LedgerScope.DEPARTMENT, orgs["other_dept"].pk),
    }
    assert all(r.status == RenderStatus.QUEUED and r.requested_by is None for r in renders)
    assert sorted(queued) == sorted(r.pk for r in renders)
    assert LedgerRender.history.filter(history_change_reason="季度定时生成PDF台账").count() == 3


def test_render_ledgers_twice_queues_once_R2_3(
    ledger_pilots, queued, django_capture_on_commit_callbacks
):
    with django_capture_on_commit_callbacks(execute=True):
        render_ledgers(D(2027, 1, 11))
        again = render_ledgers(D(2027, 1, 12))
    assert again.counts["queued"] == 0
    assert LedgerRender.objects.count() == 3
    assert len(queued) == 3
    # The next quarter is a new set.
    with django_capture_on_commit_callbacks(execute=True):
        assert render_ledgers(D(2027, 4, 11)).counts == {"queued": 3, "year": 2027, "quarter": 1}


def test_the_render_command_replays_a_day_and_logs_the_run(ledger_pilots, queued, capsys):
    call_command("render_ledgers", "--today", "2026-10-11")
    assert "季度PDF台账（2026-10-11）完成" in capsys.readouterr().out
    run = JobRun.objects.get(job=LedgerJob.RENDER_LEDGERS)
    assert run.counts["quarter"] == 3 and run.triggered_by == "命令行"
