"""The application journey in the browser (N3, R1.1, R2.2): a county fills its 申报表 in an
open call and submits it, its prefecture screens and endorses it, the office approves it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pilots.calls import open_call, submit_application
from pilots.constants import Stage, Status
from pilots.models import Pilot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PILOT_NAME = "西湖区生态环境损害赔偿磋商制度改革试点"
DOC_NUMBER = "浙环函〔2026〕88号"


@pytest.fixture
def call(personas):
    return open_call(
        actor=personas["office"],
        title="2026年度生态环保领域改革试点申报",
        deadline=timezone.now() + dt.timedelta(days=30),
        prefecture_quota=2,
        description="县（市、区）提出建议项目，设区市把关后报送。",
    )


def test_county_applies_prefecture_endorses_office_approves(
    page, switch_to, shot, steps, orgs, call
):
    start = timezone.localdate() + dt.timedelta(days=40)
    end = start + dt.timedelta(days=364)

    # --- the county finds the call on its home page and fills the form ---
    switch_to("county")
    assert "正在申报的批次" in page.content()
    shot("county-home")
    steps.fill_application(
        call,
        name=PILOT_NAME,
        region=orgs["county"],
        lead_department=orgs["dept"],
        start=start,
        end=end,
    )
    shot("application-form")
    page.click("text=保存并提交设区市把关")
    pilot = Pilot.objects.get(name=PILOT_NAME)
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert "已提交设区市把关" in page.locator(".messages").inner_text()
    assert "已提交待把关" in page.locator("h1").inner_text()
    shot("county-submitted")

    # --- the prefecture screens and endorses it ---
    switch_to("hangzhou")
    assert "待本局把关的申报" in page.content()
    shot("hangzhou-home")
    page.click(f"text={PILOT_NAME}")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    steps.open_screening(pilot.code, "设区市把关")
    page.fill("#id_endorse-reason", "符合准入条件，同意推荐上报。")
    shot("hangzhou-screen")
    steps.decide("推荐上报", pilot.code, flash="已推荐上报。", badge="设区市已推荐")
    shot("hangzhou-endorsed")

    # --- the office approves it ---
    switch_to("office")
    assert "待省办审定的申报" in page.content()
    shot("office-home")
    page.click(f"text={PILOT_NAME}")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    steps.open_screening(pilot.code, "省办审定")
    page.fill("#id_approve-authority", "浙江省生态环境厅")
    page.fill("#id_approve-doc_number", DOC_NUMBER)
    assert page.input_value("#id_approve-approval_date") == timezone.localdate().isoformat()
    page.fill("#id_approve-reason", "同意开展试点，请于7日内备案。")
    shot("office-screen")
    steps.decide("批复同意", pilot.code, flash="已批复同意。", badge="已批复待备案")
    assert DOC_NUMBER in page.content()
    shot("office-approved")

    pilot.refresh_from_db()
    assert pilot.status == Status.APPROVED
    assert pilot.endorsing_prefecture == orgs["hangzhou"]
    assert pilot.approval_doc_number == DOC_NUMBER
    assert list(pilot.checklists.values_list("stage", flat=True)) == [
        Stage.PREFECTURE,
        Stage.OFFICE,
    ]


def test_screening_without_checklist_shows_the_error(
    page, switch_to, shot, call, personas, make_application
):
    pilot = make_application(call, PILOT_NAME)
    submit_application(actor=personas["county"], pilot=pilot)
    switch_to("hangzhou")
    page.goto(f"/pilots/{pilot.code}/screen/")
    page.fill("#id_endorse-reason", "同意推荐。")
    with page.expect_navigation():
        page.click("button:has-text('推荐上报')")
    assert "请逐项填写准入审查。" in page.content()
    shot("screen-missing-checklist")
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
