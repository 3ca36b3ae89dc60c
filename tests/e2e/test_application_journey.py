"""The application journey in the browser (N3, R1.1, R2.2): a county fills its 申报表 in an
open call and submits it, its prefecture screens and endorses it, the office approves it."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pilots import workflow
from pilots.constants import Stage, Status
from pilots.models import Pilot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PILOT_NAME = "西湖区生态环境损害赔偿磋商制度改革试点"
DOC_NUMBER = "浙环函〔2026〕88号"


@pytest.fixture
def call(personas):
    return workflow.open_call(
        actor=personas["office"],
        title="2026年度生态环保领域改革试点申报",
        deadline=timezone.now() + dt.timedelta(days=30),
        prefecture_quota=2,
        description="县（市、区）提出建议项目，设区市把关后报送。",
    )


def _check_all_criteria(page) -> None:
    for key in ("elements", "institutional", "replicable"):
        page.check(f'input[name="ck-ck_{key}"][value="yes"]')


def test_county_applies_prefecture_endorses_office_approves(page, switch_to, shot, orgs, call):
    start = timezone.localdate() + dt.timedelta(days=40)
    end = start + dt.timedelta(days=364)

    # --- the county finds the call on its home page and fills the form ---
    switch_to("county")
    assert "正在申报的批次" in page.content()
    shot("county-home")
    page.click(f"text={call.title}")
    page.wait_for_url(f"**/pilots/calls/{call.pk}/")
    shot("call-detail")
    page.click("text=填报申报表")
    page.wait_for_url(f"**/pilots/calls/{call.pk}/apply/")
    page.fill("#id_name", PILOT_NAME)
    page.select_option("#id_field", "governance")
    page.select_option("#id_kind", "single")
    page.select_option("#id_regions", [str(orgs["county"].pk)])
    page.fill("#id_implementing_body", "杭州市生态环境局西湖分局")
    page.select_option("#id_lead_department", str(orgs["dept"].pk))
    page.fill("#id_goal", "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。")
    page.fill("#id_scope", "西湖区全域。")
    page.fill("#id_start_date", start.isoformat())
    page.fill("#id_end_date", end.isoformat())
    page.fill("#id_responsible_body", "杭州市生态环境局西湖分局")
    page.fill("#id_measures", "建立磋商规则、司法确认衔接和修复效果评估机制。")
    page.fill("#id_expected_outcomes", "形成可复制可推广的赔偿磋商制度。")
    page.fill("#id_work_foundation", "2025年已办理赔偿案件12件。")
    page.fill("#id_contact_person", "王明")
    page.fill("#id_contact_phone", "0571-87654321")
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
    page.click("text=把关 / 审定")
    page.wait_for_url(f"**/pilots/{pilot.code}/screen/")
    assert "设区市把关" in page.locator("h1").inner_text()
    _check_all_criteria(page)
    page.fill("#id_endorse-reason", "符合准入条件，同意推荐上报。")
    shot("hangzhou-screen")
    page.click("button:has-text('推荐上报')")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert "设区市已推荐" in page.locator("h1").inner_text()
    shot("hangzhou-endorsed")

    # --- the office approves it ---
    switch_to("office")
    assert "待省办审定的申报" in page.content()
    shot("office-home")
    page.click(f"text={PILOT_NAME}")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    page.click("text=把关 / 审定")
    page.wait_for_url(f"**/pilots/{pilot.code}/screen/")
    assert "省办审定" in page.locator("h1").inner_text()
    _check_all_criteria(page)
    page.fill("#id_approve-authority", "浙江省生态环境厅")
    page.fill("#id_approve-doc_number", DOC_NUMBER)
    assert page.input_value("#id_approve-approval_date") == timezone.localdate().isoformat()
    page.fill("#id_approve-reason", "同意开展试点，请于7日内备案。")
    shot("office-screen")
    page.click("button:has-text('批复同意')")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert "已批复待备案" in page.locator("h1").inner_text()
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


def test_screening_without_checklist_shows_the_error(page, switch_to, shot, orgs, call, personas):
    pilot = workflow.create_application(
        actor=personas["county"],
        call=call,
        data={
            "name": PILOT_NAME,
            "field": "governance",
            "kind": "single",
            "implementing_body": "杭州市生态环境局西湖分局",
            "lead_department": orgs["dept"],
            "goal": "建立生态环境损害赔偿磋商制度。",
            "scope": "西湖区全域。",
            "start_date": timezone.localdate() + dt.timedelta(days=40),
            "end_date": timezone.localdate() + dt.timedelta(days=400),
            "responsible_body": "杭州市生态环境局西湖分局",
            "measures": "建立磋商规则。",
            "expected_outcomes": "形成可复制的磋商制度。",
        },
        regions=[orgs["county"]],
    )
    workflow.submit_application(actor=personas["county"], pilot=pilot)
    switch_to("hangzhou")
    page.goto(f"/pilots/{pilot.code}/screen/")
    page.fill("#id_endorse-reason", "同意推荐。")
    page.click("button:has-text('推荐上报')")
    assert "请逐项填写准入审查。" in page.content()
    shot("screen-missing-checklist")
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
