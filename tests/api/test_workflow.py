"""A pilot's whole life driven through the API alone, each step by the persona the rules name,
with personal tokens: call → application → submission → endorsement → department opinion →
approval → filing → confirmation → quarterly report → closure → acceptance of the closure.
And the extension, the half-year summary and the notices, also through the API."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

from django.core.files.uploadedfile import SimpleUploadedFile

from pilots.constants import Status
from pilots.models import Pilot

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
CHECKLIST = {
    "elements": {"ok": True},
    "institutional": {"ok": True},
    "replicable": {"ok": True, "note": "经验可推广"},
}


def at(time_machine, *args):
    time_machine.move_to(dt.datetime(*args, 10, tzinfo=SHANGHAI), tick=False)


def post(client, url, auth, body=None, status=200):
    response = client.post(f"{API}/{url}", body or {}, content_type="application/json", **auth)
    assert response.status_code == status, response.content.decode()
    return response.json()


def test_a_pilot_from_call_to_closure_through_the_api_alone(
    client, personas, token_for, time_machine
):
    office, county, hangzhou, dept = (
        token_for(n) for n in ("office", "county", "hangzhou", "dept")
    )
    at(time_machine, 2026, 3, 2)
    call = post(
        client,
        "calls/",
        office,
        {
            "title": "2026年生态文明领域改革试点申报",
            "deadline": "2026-03-31T17:00:00+08:00",
            "fields": ["governance"],
            "prefecture_quota": 2,
        },
        status=201,
    )
    draft = post(
        client,
        "pilots/",
        county,
        {
            "call": call["id"],
            "name": "西湖区排污权有偿使用改革试点",
            "field": "governance",
            "kind": "single",
            "regions": ["hz-xihu"],
            "lead_department": "dept-env",
            "implementing_body": "杭州市西湖区人民政府",
            "goal": "建立排污权有偿使用和交易制度。",
            "scope": "西湖区全域重点排污单位。",
            "start_date": "2026-05-01",
            "end_date": "2027-04-30",
            "responsible_body": "杭州市生态环境局西湖分局",
            "measures": "核定初始排污权，建立交易平台。",
            "expected_outcomes": "形成可复制的排污权交易规则。",
            "contact_person": "王明",
            "contact_phone": "0571-87654321",
            "milestones": [{"due_date": "2026-10-31", "title": "交易平台上线"}],
        },
        status=201,
    )
    code = draft["code"]
    assert draft["status"] == Status.DRAFT and draft["milestones"][0]["title"] == "交易平台上线"
    assert post(client, f"pilots/{code}/submit/", county)["status"] == Status.SUBMITTED
    endorsed = post(
        client,
        f"pilots/{code}/endorse/",
        hangzhou,
        {"opinion": "同意推荐。", "checklist": CHECKLIST},
    )
    assert endorsed["status"] == Status.ENDORSED and endorsed["endorsing_prefecture"] == "hangzhou"
    opinion = post(
        client,
        f"pilots/{code}/department-opinion/",
        dept,
        {"agree": True, "text": "符合领域改革方向。", "checklist": CHECKLIST},
    )
    assert [o["stage"] for o in opinion["opinions"]][-1] == "department"

    at(time_machine, 2026, 4, 10)
    approved = post(
        client,
        f"pilots/{code}/approve/",
        office,
        {
            "authority": "省生态文明体制改革专项小组",
            "doc_number": "浙环函〔2026〕12号",
            "approval_date": "2026-04-10",
            "checklist": CHECKLIST,
        },
    )
    assert approved["status"] == Status.APPROVED and approved["filing_due"] == "2026-04-17"

    at(time_machine, 2026, 4, 15)
    filing = client.post(
        f"{API}/pilots/{code}/file/",
        {
            "approval_authority": "省生态文明体制改革专项小组",
            "approval_doc_number": "浙环函〔2026〕12号",
            "approval_date": "2026-04-10",
            "implementing_body": "杭州市西湖区人民政府",
            "start_date": "2026-05-01",
            "end_date": "2027-04-30",
            "goal": "建立排污权有偿使用和交易制度。",
            "measures": "核定初始排污权，建立交易平台。",
            "expected_outcomes": "形成可复制的排污权交易规则。",
            "contact_person": "李华",
            "contact_phone": "0571-87000000",
            "plan": SimpleUploadedFile("试点方案.pdf", PDF, content_type="application/pdf"),
        },
        **dept,
    )
    assert filing.status_code == 201, filing.content.decode()
    assert filing.json()["days_late"] == 0
    confirmed = post(client, f"filings/{filing.json()['id']}/confirm/", office)
    assert confirmed["status"] == "confirmed"

    at(time_machine, 2026, 7, 6)
    report = post(
        client,
        f"pilots/{code}/reports/",
        dept,
        {"year": 2026, "quarter": 2, "progress": "完成初始排污权核定。"},
        status=201,
    )
    assert (report["version"], report["days_late"]) == (1, 0)
    listed = client.get(f"{API}/quarterly-reports/", {"pilot__code": code}, **office).json()
    assert [r["id"] for r in listed["results"]] == [report["id"]]

    at(time_machine, 2027, 4, 6)
    closure = post(
        client,
        f"pilots/{code}/closure/",
        dept,
        {"results": "交易平台运行，完成交易12笔。", "experience": "排污权交易规则。"},
        status=201,
    )
    post(client, f"closures/{closure['id']}/accept/", office, {"note": "同意销号。"})

    pilot = client.get(f"{API}/pilots/{code}/", **county).json()
    assert pilot["status"] == Status.CLOSED
    # Every step is in the pilot's history, by whom it was taken, as when done from the pages.
    steps = Pilot.history.filter(code=code).order_by("history_date", "history_id")
    users = [h.history_user.username for h in steps]
    assert users[0] == "county" and users[-1] == "office"
    assert {"county", "hangzhou", "dept", "office"} <= set(users)
    assert len(users) >= 8


def test_extension_through_the_api(client, make_pilot, orgs, token_for, time_machine):
    at(time_machine, 2026, 12, 10)
    pilot = make_pilot(
        regions=[orgs["hangzhou"]],
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        ledger_since=dt.date(2026, 1, 5),
    )
    dept, office = token_for("dept"), token_for("office")
    extension = post(
        client,
        f"pilots/{pilot.code}/extension/",
        dept,
        {
            "reason": "配套政策尚未出台。",
            "new_end_date": "2027-06-30",
            "stage_targets": "完成配套政策。",
            "milestones": [{"due_date": "2027-03-31", "title": "出台配套政策"}],
        },
        status=201,
    )
    assert client.get(f"{API}/pilots/{pilot.code}/", **dept).json()["status"] == (
        Status.EXTENSION_REQUESTED
    )
    post(client, f"extensions/{extension['id']}/approve/", office)
    after = client.get(f"{API}/pilots/{pilot.code}/", **dept).json()
    assert (after["status"], after["end_date"]) == (Status.ACTIVE, "2027-06-30")


def test_r2_4_an_extension_or_closure_before_the_window_is_refused_with_the_date(
    client, make_pilot, orgs, token_for, time_machine
):
    at(time_machine, 2026, 12, 6)
    pilot = make_pilot(start_date=dt.date(2026, 1, 1), end_date=dt.date(2029, 1, 31))
    extension = {
        "reason": "配套政策尚未出台。",
        "new_end_date": "2029-06-30",
        "stage_targets": "完成配套政策。",
        "milestones": [{"due_date": "2029-03-31", "title": "出台配套政策"}],
    }
    closure = {"results": "完成全部任务。", "experience": "磋商前置。"}
    for url, body in (("extension", extension), ("closure", closure)):
        response = client.post(
            f"{API}/pilots/{pilot.code}/{url}/",
            body,
            content_type="application/json",
            **token_for("dept"),
        )
        assert response.status_code == 400
        assert "本试点自2029年1月1日起方可" in str(response.json())
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE


def test_r1_2_an_extension_beyond_the_term_limit_is_refused_with_the_rule(
    client, make_pilot, orgs, token_for, time_machine
):
    at(time_machine, 2026, 12, 10)
    pilot = make_pilot(start_date=dt.date(2025, 1, 1), end_date=dt.date(2026, 12, 31))
    response = client.post(
        f"{API}/pilots/{pilot.code}/extension/",
        {
            "reason": "未完成。",
            "new_end_date": "2029-12-31",
            "stage_targets": "继续推进。",
            "milestones": [{"due_date": "2027-06-30", "title": "节点"}],
        },
        content_type="application/json",
        **token_for("dept"),
    )
    assert response.status_code == 400
    assert "new_end_date" in response.json()["errors"]
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE and pilot.end_date == dt.date(2026, 12, 31)


def test_half_year_summary_and_notices_through_the_api(
    client, make_pilot, orgs, token_for, time_machine
):
    at(time_machine, 2026, 7, 8)
    make_pilot(regions=[orgs["hangzhou"]], ledger_since=dt.date(2026, 1, 5))
    dept = token_for("dept")
    draft = post(client, "half-year-summaries/draft/", dept, {"year": 2026, "half": 1})
    assert draft["status"] == "draft" and draft["overview"]
    submitted = post(
        client,
        f"half-year-summaries/{draft['id']}/submit/",
        dept,
        {"overview": draft["overview"], "progress": "上半年进展。"},
    )
    assert (submitted["status"], submitted["days_late"]) == ("submitted", 0)
    notices = client.get(f"{API}/notifications/", **token_for("office")).json()["results"]
    assert any("半年" in n["subject"] for n in notices)
    office = token_for("office")
    unread = client.get(f"{API}/notifications/", {"unread": "true"}, **office).json()
    assert unread["count"] == len(notices)
    assert post(client, "notifications/read-all/", office)["marked"] == len(notices)
    assert client.get(f"{API}/notifications/", {"unread": "true"}, **office).json()["count"] == 0
