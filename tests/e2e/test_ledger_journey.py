"""The ledger journey in the browser (R2.2, R2.3): the lead department files an approved pilot
with its plan, the office confirms it into the ledger, the department reports an ended quarter
from its to-do list, and the office finds it in the ledger and downloads a PDF ledger."""

from __future__ import annotations

import datetime as dt
from pathlib import Path

import pytest
from django.utils import timezone

from core.dates import format_cn_quarter
from ledger.constants import FilingStatus
from ledger.models import Filing, LedgerRender, QuarterlyReport
from pilots import rules
from pilots.constants import Status
from pilots.rules import last_ended_quarter

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

FILED_NAME = "西湖区生态环境损害赔偿磋商改革试点"
REPORTING_NAME = "杭州市排污权指标市场化配置改革试点"
PROGRESS = "完成排污权指标收储交易规则修订，新增交易23笔，成交金额1860万元。"


@pytest.fixture
def approved(make_pilot, orgs):
    today = timezone.localdate()
    start = today + dt.timedelta(days=10)
    return make_pilot(
        name=FILED_NAME,
        status=Status.APPROVED,
        approval_date=today - dt.timedelta(days=3),
        approval_doc_number="浙环函〔2026〕88号",
        start_date=start,
        end_date=start + dt.timedelta(days=364),
        ledger_since=None,
        contact_person="",
        contact_phone="",
        regions=[orgs["county"]],
    )


@pytest.fixture
def reporting(make_pilot, orgs):
    """A ledger pilot that entered the ledger in the last ended quarter and owes its report."""
    year, quarter = last_ended_quarter(timezone.localdate())
    start = rules.quarter_end(year, quarter).replace(month=3 * quarter - 2, day=1)
    return make_pilot(
        name=REPORTING_NAME,
        status=Status.ACTIVE,
        start_date=start,
        end_date=start + dt.timedelta(days=364),
        ledger_since=start + dt.timedelta(days=5),
        regions=[orgs["hangzhou"]],
    )


def test_file_confirm_report_and_print_the_ledger_R2_2_R2_3(
    page, switch_to, shot, steps, personas, approved, reporting, tmp_path
):
    year, quarter = last_ended_quarter(timezone.localdate())

    # --- the department files the approved pilot with its plan (R2.2) ---
    switch_to("dept")
    page.goto(approved.get_absolute_url())
    assert "已批复待备案" in page.locator("h1").inner_text()
    shot("dept-approved-pilot")
    page.click("a:has-text('报送备案')")
    page.wait_for_url(f"**/ledger/pilots/{approved.code}/file/")
    assert "生态文明领域新增改革试点项目备案表" in page.locator("h1").inner_text()
    assert page.input_value("#id_approval_doc_number") == "浙环函〔2026〕88号"
    steps.fill_filing(milestone=f"{approved.end_date:%Y-%m-%d} 形成赔偿磋商制度")
    shot("dept-filing-form")
    page.click("button:has-text('报送备案')")
    page.wait_for_url(f"**/pilots/{approved.code}/")
    assert "备案已报送，待省办确认。" in page.locator(".messages").inner_text()
    assert "备案待确认" in page.locator("h1").inner_text()
    shot("dept-filed")
    filing = Filing.objects.get(pilot=approved)
    assert (filing.status, filing.days_late, filing.contact_person) == (
        FilingStatus.SUBMITTED,
        0,
        "王明",
    )

    # --- the office confirms it: the pilot enters the ledger (R2.3) ---
    switch_to("office")
    page.goto("/ledger/filings/")
    steps.confirm_filing(FILED_NAME, approved.code, shot_as="office-filings")
    shot("office-confirmed")
    approved.refresh_from_db()
    assert (approved.status, approved.ledger_since) == (Status.ACTIVE, timezone.localdate())

    # --- the department reports an ended quarter from its to-do list (R2.3) ---
    switch_to("dept")
    page.goto("/ledger/todo/")
    owed = page.locator("tr", has_text=REPORTING_NAME)
    assert f"{format_cn_quarter(year, quarter)}" in owed.inner_text()
    assert page.locator("tr", has_text=FILED_NAME).count() == 0  # nothing owed yet, nor to file
    shot("dept-todo")
    steps.report_quarter(owed, reporting.code, year, quarter, progress=PROGRESS)
    shot("dept-reports")
    report = QuarterlyReport.objects.get(pilot=reporting)
    assert (report.year, report.quarter, report.version) == (year, quarter, 1)

    # --- the office finds both in the ledger ---
    switch_to("office")
    page.goto("/ledger/?reset=1")
    page.wait_for_url("**/ledger/")
    table = page.locator("table").inner_text()
    assert FILED_NAME in table and REPORTING_NAME in table
    reporting_row = page.locator("tr", has_text=REPORTING_NAME)
    assert f"{year}年Q{quarter}" in reporting_row.inner_text()
    assert PROGRESS[:20] in reporting_row.inner_text()
    shot("office-ledger")

    # --- and prints the province's PDF ledger for that quarter ---
    download_link = steps.render_ledger(year)
    shot("office-renders")
    saved = Path(tmp_path) / "ledger.pdf"
    download = steps.download(download_link, saved)
    assert download.suggested_filename.endswith(".pdf")
    assert saved.read_bytes().startswith(b"%PDF-")
    render = LedgerRender.objects.get()
    assert (render.status, render.year, render.quarter) == ("done", year, quarter)
    assert render.rows == 2
