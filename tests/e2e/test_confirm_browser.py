"""Decisions ask before they act, in the browser: the office's 确认备案 asks what will follow; a
dismissed question changes nothing, an accepted one confirms. And the filing form shows, as
the department types, where the filing departs from the approval (R2.2)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone

from ledger.constants import FilingStatus
from ledger.filing import submit_filing
from pilots.constants import Status
from tests.e2e.conftest import PLAN_PDF

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "西湖区生态环境损害赔偿磋商改革试点"


@pytest.fixture
def approved(make_pilot, orgs):
    today = timezone.localdate()
    start = today + dt.timedelta(days=10)
    return make_pilot(
        name=NAME,
        status=Status.APPROVED,
        approval_authority="浙江省生态环境厅",
        approval_date=today - dt.timedelta(days=3),
        approval_doc_number="浙环函〔2026〕88号",
        start_date=start,
        end_date=start + dt.timedelta(days=364),
        ledger_since=None,
        regions=[orgs["county"]],
    )


@pytest.fixture
def filing(approved, personas):
    return submit_filing(
        actor=personas["dept"],
        pilot=approved,
        data={
            "approval_authority": "浙江省生态环境厅",
            "approval_doc_number": "浙环函〔2026〕88号",
            "approval_date": approved.approval_date,
            "implementing_body": "杭州市西湖区人民政府",
            "start_date": approved.start_date,
            "end_date": approved.end_date,
            "goal": "建立生态环境损害赔偿磋商制度。",
            "measures": "制定磋商规则。",
            "expected_outcomes": "形成可复制的制度。",
            "milestones_text": f"{approved.end_date:%Y-%m-%d} 形成赔偿磋商制度",
            "contact_person": "王明",
            "contact_phone": "0571-87654321",
        },
        plan=SimpleUploadedFile("试点方案.pdf", PLAN_PDF, content_type="application/pdf"),
    )


def test_a_dismissed_confirm_changes_nothing_and_an_accepted_one_acts(
    page, switch_to, steps, dialogs, filing, approved
):
    switch_to("office")
    page.goto(f"/ledger/filings/{filing.pk}/")
    button = page.get_by_role("button", name="确认备案，列入台账")

    dialogs.answer = "dismiss"
    button.click()

    assert len(dialogs.asked) == 1
    assert "列入台账" in dialogs.asked[0] and dialogs.asked[0].endswith("确定确认备案？")
    page.wait_for_timeout(500)  # a submission, had there been one, would have left by now
    assert page.url.endswith(f"/ledger/filings/{filing.pk}/")
    assert page.locator(".messages").count() == 0
    filing.refresh_from_db()
    approved.refresh_from_db()
    assert (filing.status, approved.status) == (FilingStatus.SUBMITTED, Status.FILING_SUBMITTED)

    dialogs.answer = "accept"
    steps.submit(button)

    assert len(dialogs.asked) == 2
    assert f"已确认备案，{approved.code} 列入台账。" in page.locator(".messages").inner_text()
    filing.refresh_from_db()
    approved.refresh_from_db()
    assert (filing.status, approved.status) == (FilingStatus.CONFIRMED, Status.ACTIVE)


def test_the_filing_form_shows_a_changed_term_as_it_is_typed_R2_2(
    page, switch_to, personas, approved, shot
):
    switch_to("dept")
    page.goto(f"/ledger/pilots/{approved.code}/file/")
    box = page.locator("#approval-differences")
    assert not box.is_visible()  # prefilled from the approval: nothing differs

    later = approved.start_date + dt.timedelta(days=20)
    page.fill("#id_start_date", later.isoformat())

    assert box.is_visible()
    row = box.locator("tr", has_text="开始日期").inner_text()
    assert f"{approved.start_date.year}年{approved.start_date.month}月" in row
    assert f"{later.year}年{later.month}月{later.day}日" in row
    assert "与批复不一致：批复为" in page.locator("#id_start_date + .approval-diff").inner_text()
    shot("filing-form-differences")

    page.fill("#id_start_date", approved.start_date.isoformat())
    assert not box.is_visible()
