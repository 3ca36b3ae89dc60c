"""Supervision (R3.3): inspections with rectification demands, the responsible organisation's
report, the office's closing, and open demands past their deadline flagged by the overdue job."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from pilots import jobs
from pilots.constants import DeadlineKind
from pilots.models import OverdueEvent
from reviews import supervision
from reviews.models import Inspection, Rectification

D = dt.date


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(ledger_since=D(2026, 1, 10), regions=[orgs["county"]])


@pytest.fixture
def inspection(pilot, personas):
    return supervision.record_inspection(
        actor=personas["office"],
        pilot=pilot,
        inspected_on=D(2026, 9, 1),
        inspectors="省办督察组：张三、李四",
        findings="磋商案件台账不完整。",
        demands=[supervision.Demand("补齐2025年以来的磋商案件台账", D(2026, 10, 31))],
    )


def test_an_inspection_records_its_demands_and_tells_the_lead_department_R3_3(inspection, orgs):
    rectification = inspection.rectifications.get()
    assert rectification.organisation == orgs["dept"]
    assert rectification.closed_on is None
    notice = Notification.objects.get(organisation=orgs["dept"])
    assert "补齐2025年以来的磋商案件台账" in notice.body and "2026年10月31日" in notice.body


def test_an_open_rectification_past_its_deadline_is_flagged_and_the_report_resolves_it_R3_3(
    inspection, personas
):
    rectification = inspection.rectifications.get()
    jobs.flag_overdue(D(2026, 10, 31))
    assert not OverdueEvent.objects.filter(kind=DeadlineKind.RECTIFICATION).exists()
    jobs.flag_overdue(D(2026, 11, 1))
    event = OverdueEvent.objects.get(kind=DeadlineKind.RECTIFICATION)
    assert event.clause == "R3.3" and event.organisation == rectification.organisation
    supervision.report_rectification(
        actor=personas["dept"], rectification=rectification, text="台账已补齐。"
    )
    # The unit's obligation is met by its report: resolved at once, not by the next run.
    event.refresh_from_db()
    assert event.resolved_on is not None
    latest = event.history.order_by("-history_id").first()
    assert latest.history_change_reason == "已报告整改情况，逾期事项解除"
    resolved_on = event.resolved_on
    supervision.close_rectification(
        actor=personas["office"], rectification=rectification, today=D(2026, 11, 3)
    )
    jobs.flag_overdue(D(2026, 11, 4))
    event.refresh_from_db()
    assert event.resolved_on == resolved_on
    rectification.refresh_from_db()
    assert rectification.follow_up == "台账已补齐。"
    assert [h.history_change_reason for h in rectification.history.order_by("history_id")] == [
        "督察整改要求",
        "报告整改情况",
        "整改销号",
    ]


def test_who_may_inspect_report_and_close_R3_3(inspection, pilot, personas):
    rectification = inspection.rectifications.get()
    with pytest.raises(PermissionDenied):
        supervision.record_inspection(
            actor=personas["dept"],
            pilot=pilot,
            inspected_on=D(2026, 9, 1),
            inspectors="x",
            findings="x",
            demands=[],
        )
    for who in ("hangzhou", "county", "office"):
        with pytest.raises(PermissionDenied):
            supervision.report_rectification(
                actor=personas[who], rectification=rectification, text="x"
            )
    with pytest.raises(PermissionDenied):
        supervision.close_rectification(actor=personas["dept"], rectification=rectification)
    supervision.close_rectification(actor=personas["office"], rectification=rectification)
    with pytest.raises(ValidationError, match="已销号"):
        supervision.close_rectification(actor=personas["office"], rectification=rectification)


def test_an_inspection_needs_its_facts_and_demands_their_deadlines_R3_3(pilot, personas):
    with pytest.raises(ValidationError) as exc:
        supervision.record_inspection(
            actor=personas["office"],
            pilot=pilot,
            inspected_on=D(2026, 9, 1),
            inspectors=" ",
            findings="",
            demands=[
                supervision.Demand("无期限的要求", None),
                supervision.Demand("期限早于督察的要求", D(2026, 8, 1)),
            ],
        )
    text = " ".join(exc.value.messages)
    assert "请填写督察人员" in text and "请填写发现的问题" in text
    assert "请填写整改期限" in text and "整改期限须晚于督察日期" in text
    assert not Inspection.objects.exists() and not Rectification.objects.exists()


def test_the_pilot_page_records_and_follows_an_inspection_R3_3(pilot, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 5, 10, tzinfo=ZoneInfo("Asia/Shanghai")), tick=False)
    office = client_for("office")
    response = office.post(
        f"/reviews/pilots/{pilot.code}/inspect/",
        {
            "inspected_on": "2026-09-01",
            "inspectors": "省办督察组",
            "subject": "",
            "findings": "台账不完整。",
            "dm-TOTAL_FORMS": "3",
            "dm-INITIAL_FORMS": "0",
            "dm-MIN_NUM_FORMS": "0",
            "dm-MAX_NUM_FORMS": "20",
            "dm-0-text": "补齐台账",
            "dm-0-due_date": "2026-10-31",
        },
    )
    assert response.status_code == 302
    rectification = Rectification.objects.get()
    page = client_for("dept").get(pilot.get_absolute_url()).content.decode()
    assert "补齐台账" in page and "逾期5天" in page and "R3.3" in page
    assert f"/reviews/rectifications/{rectification.pk}/report/" in page
    client_for("dept").post(
        f"/reviews/rectifications/{rectification.pk}/report/", {"text": "已补齐。"}
    )
    assert (
        client_for("dept").post(f"/reviews/rectifications/{rectification.pk}/close/").status_code
        == 403
    )
    client_for("office").post(f"/reviews/rectifications/{rectification.pk}/close/", {"note": ""})
    rectification.refresh_from_db()
    assert rectification.follow_up == "已补齐。" and rectification.closed_on == D(2026, 11, 5)
    assert (
        client_for("ningbo")
        .post(f"/reviews/rectifications/{rectification.pk}/report/", {"text": "x"})
        .status_code
        == 404
    )
    assert client_for("dept").get(f"/reviews/pilots/{pilot.code}/inspect/").status_code == 403
