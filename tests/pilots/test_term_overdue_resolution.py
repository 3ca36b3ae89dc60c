"""An overdue item is resolved the moment its obligation is met (R2.2, R2.3, R2.4, R3.2, N3),
in the same transaction as the filing, report, summary, request or review that meets it and
with history, not at the next nightly run of flag_overdue; the home page and the overdue list
say so at once, and the next run does not reopen it."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.constants import OrgKind, Role
from ledger.filing import submit_filing
from ledger.reports import submit_quarterly_report
from ledger.summaries import draft_half_year_summary, submit_half_year_summary
from pilots import jobs, term
from pilots.constants import DeadlineKind, Status
from pilots.models import OverdueEvent
from pilots.services import MilestoneData
from reviews import expert
from tests.factories import OrganisationFactory, UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def on(time_machine, day: dt.date) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=False)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


def _event(kind: str, **filters) -> OverdueEvent:
    return OverdueEvent.objects.get(kind=kind, **filters)


def _resolved_now(event: OverdueEvent, day: dt.date, reason: str) -> None:
    event.refresh_from_db()
    assert event.resolved_on == day
    latest = event.history.order_by("-history_id").first()
    assert latest.history_change_reason == f"{reason}，逾期事项解除"
    assert latest.resolved_on == day


def test_a_filing_resolves_its_overdue_item_at_once_R2_2(make_pilot, personas, time_machine):
    pilot = make_pilot(
        status=Status.APPROVED,
        approval_date=D(2026, 11, 1),
        start_date=D(2026, 11, 10),
        end_date=D(2027, 11, 9),
        ledger_since=None,
    )
    jobs.flag_overdue(D(2026, 11, 9))
    event = _event(DeadlineKind.FILING)
    on(time_machine, D(2026, 11, 10))

    submit_filing(
        actor=personas["dept"],
        pilot=pilot,
        data={
            "approval_authority": "浙江省生态环境厅",
            "approval_doc_number": "浙环函〔2026〕31号",
            "approval_date": D(2026, 11, 1),
            "implementing_body": "杭州市西湖区人民政府",
            "start_date": D(2026, 11, 10),
            "end_date": D(2027, 11, 9),
            "goal": "建立磋商制度。",
            "measures": "制定磋商规则。",
            "expected_outcomes": "形成可复制的制度。",
            "contact_person": "王明",
            "contact_phone": "0571-87654321",
        },
        plan=SimpleUploadedFile("试点方案.pdf", PDF, content_type="application/pdf"),
    )

    _resolved_now(event, D(2026, 11, 10), "已报送备案")
    assert jobs.flag_overdue(D(2026, 11, 11)).counts["reopened"] == 0


def test_a_quarterly_report_resolves_its_item_at_once_and_the_pages_say_so_R2_3(
    make_pilot, personas, client_for, time_machine
):
    pilot = make_pilot(
        name="季度进展试点",
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 5),
    )
    jobs.flag_overdue(D(2026, 7, 11))  # Q1 and Q2 both overdue
    q1 = _event(DeadlineKind.QUARTERLY, due_date=D(2026, 4, 10))
    q2 = _event(DeadlineKind.QUARTERLY, due_date=D(2026, 7, 10))
    on(time_machine, D(2026, 7, 12))

    submit_quarterly_report(
        actor=personas["dept"], pilot=pilot, year=2026, quarter=1, data={"progress": "出台办法。"}
    )

    _resolved_now(q1, D(2026, 7, 12), "已报送2026年第一季度进展")
    q2.refresh_from_db()
    assert q2.resolved_on is None  # only the quarter reported
    listed = client_for("dept").get("/pilots/overdue/").content.decode()
    assert "2026年第一季度进展" not in listed and "2026年第二季度进展" in listed
    home = client_for("dept").get("/").content.decode()
    assert "1 项未解除" in home

    submit_quarterly_report(
        actor=personas["dept"], pilot=pilot, year=2026, quarter=2, data={"progress": "推进中。"}
    )
    listed = client_for("dept").get("/pilots/overdue/").content.decode()
    assert 'badge-danger">未解除' not in listed and pilot.name not in listed
    assert "项未解除" not in client_for("dept").get("/").content.decode()
    run = jobs.flag_overdue(D(2026, 7, 13))
    assert (run.counts["resolved"], run.counts["reopened"]) == (0, 0)


def test_a_half_year_summary_resolves_its_overdue_item_at_once_R2_3(make_pilot, orgs, personas):
    make_pilot(ledger_since=D(2026, 1, 5))
    jobs.flag_overdue(D(2026, 7, 16))
    event = _event(DeadlineKind.HALF_YEAR, organisation=orgs["dept"])
    summary = draft_half_year_summary(
        actor=personas["dept"], organisation=orgs["dept"], year=2026, half=1
    )

    submit_half_year_summary(
        actor=personas["dept"],
        summary=summary,
        data={"overview": "总体情况。", "progress": "主要进展。"},
        today=D(2026, 7, 18),
    )

    _resolved_now(event, D(2026, 7, 18), "已报送2026年上半年台账汇总")
    assert jobs.flag_overdue(D(2026, 7, 19)).counts["reopened"] == 0


@pytest.mark.parametrize("step", ["closure", "extension"])
def test_a_closure_or_an_extension_request_resolves_the_expiry_item_at_once_R2_4(
    make_pilot, personas, step
):
    pilot = make_pilot(start_date=D(2026, 1, 1), end_date=D(2026, 12, 31))
    jobs.flag_overdue(D(2027, 1, 2))
    event = _event(DeadlineKind.TERM_END)

    if step == "closure":
        term.report_closure(
            actor=personas["dept"],
            pilot=pilot,
            results="完成",
            experience="经验",
            today=D(2027, 1, 3),
        )
        reason = "已报告销号"
    else:
        term.request_extension(
            actor=personas["dept"],
            pilot=pilot,
            reason="配套制度尚未出台。",
            new_end_date=D(2027, 6, 30),
            stage_targets="完成配套制度。",
            milestones=[MilestoneData(D(2027, 5, 1), "配套制度印发")],
            today=D(2027, 1, 3),
        )
        reason = "已申请延期"

    _resolved_now(event, D(2027, 1, 3), reason)
    assert jobs.flag_overdue(D(2027, 1, 4)).counts["reopened"] == 0


def test_an_expert_review_resolves_its_overdue_item_at_once_N3(make_pilot, personas, time_machine):
    unit = OrganisationFactory(
        code="zju", name="浙江大学环境与资源学院", short_name="浙大", kind=OrgKind.THIRD_PARTY
    )
    second = UserFactory(username="expert2", organisation=unit, role=Role.EXPERT)
    application = make_pilot(name="待评审申报", status=Status.ENDORSED)
    on(time_machine, D(2026, 4, 20))
    first_review, second_review = expert.assign_experts(
        actor=personas["office"],
        pilot=application,
        experts=[personas["expert"], second],
        due_date=D(2026, 4, 30),
    )
    jobs.flag_overdue(D(2026, 5, 1))
    mine = _event(DeadlineKind.EXPERT_REVIEW, organisation=personas["expert"].organisation)
    theirs = _event(DeadlineKind.EXPERT_REVIEW, organisation=unit)
    on(time_machine, D(2026, 5, 2))

    review = first_review if first_review.expert == personas["expert"] else second_review
    expert.submit_review(
        actor=personas["expert"],
        review=review,
        scores=[Decimal(c["max"]) for c in review.criteria],
        opinion="目标清晰，措施可行。",
    )

    _resolved_now(mine, D(2026, 5, 2), "已提交专家评审")
    theirs.refresh_from_db()
    assert theirs.resolved_on is None  # the other expert's review is still owed
