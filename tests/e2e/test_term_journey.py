"""The end of a term in the browser (R2.4, R1.2): an expired pilot's lead department asks for
an extension and the office approves it from its queue; an expired pilot nobody closed is
purged by the scheduled job and the office restores it from the purged list."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pilots import jobs
from pilots.constants import Status, TermRequestStatus
from pilots.models import ExtensionRequest, Pilot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

EXTENDED_NAME = "西湖区河湖长制考核评价改革试点"
PURGED_NAME = "余杭区生态产品价值核算改革试点"


def _expired(make_pilot, orgs, name: str, days_ago: int) -> Pilot:
    end = timezone.localdate() - dt.timedelta(days=days_ago)
    return make_pilot(
        name=name,
        start_date=end - dt.timedelta(days=364),
        end_date=end,
        ledger_since=end - dt.timedelta(days=350),
        regions=[orgs["county"]],
    )


def test_an_expired_pilot_is_extended_and_the_office_approves_R2_4(
    page, switch_to, shot, steps, make_pilot, orgs, personas
):
    pilot = _expired(make_pilot, orgs, EXTENDED_NAME, days_ago=5)
    new_end = pilot.end_date + dt.timedelta(days=180)
    milestone = pilot.end_date + dt.timedelta(days=90)

    switch_to("dept")
    page.goto(pilot.get_absolute_url())
    assert page.locator("#term").get_by_text("已到期5天").is_visible()
    page.locator("#term").get_by_role("link", name="申请延期").click()
    steps.fill_extension(new_end=new_end, milestone=milestone, milestone_title="配套制度印发")
    shot("extension-form")
    page.get_by_role("button", name="报送延期申请").click()
    page.wait_for_url(f"**{pilot.get_absolute_url()}")
    assert page.get_by_text("已报送省办审批").is_visible()
    assert ExtensionRequest.objects.get(pilot=pilot).status == TermRequestStatus.SUBMITTED

    switch_to("office")
    steps.approve_extension(EXTENDED_NAME)

    page.goto(pilot.get_absolute_url())
    shot("extended")
    pilot.refresh_from_db()
    assert pilot.end_date == new_end and pilot.status == Status.ACTIVE
    assert page.get_by_text(f"{new_end.year}年{new_end.month}月{new_end.day}日").first.is_visible()
    page.get_by_role("link", name="查看变更历史").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/history/")
    assert page.get_by_text("同意延期：结束日期由").is_visible()


def test_an_expired_pilot_nobody_closed_is_purged_and_restored_R2_4(
    page, switch_to, shot, make_pilot, orgs, personas
):
    pilot = _expired(make_pilot, orgs, PURGED_NAME, days_ago=40)
    run = jobs.purge_expired()
    assert run.counts == {"purged": 1}

    switch_to("office")
    page.get_by_role("link", name="通知").click()
    notice = page.locator("tr", has_text="1项试点已清理出库")
    assert notice.is_visible() and PURGED_NAME in notice.inner_text()
    page.goto("/pilots/purged/")
    row = page.locator("tr", has_text=PURGED_NAME)
    assert row.is_visible()
    shot("purged-list")
    row.get_by_placeholder("恢复理由（必填）").fill("牵头部门已补报材料，恢复入库")
    row.get_by_role("button", name="恢复入库").click()
    page.wait_for_url("**/pilots/purged/")
    assert page.get_by_text("已恢复入库").is_visible()
    assert page.get_by_text("没有已清理出库的试点。").is_visible()

    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE and pilot.restored_on == timezone.localdate()
    page.goto(pilot.get_absolute_url())
    shot("restored")
    page.get_by_role("link", name="查看变更历史").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/history/")
    assert page.get_by_text("恢复入库：牵头部门已补报材料，恢复入库").is_visible()
