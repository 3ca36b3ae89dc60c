"""Records of two ledger pilots — A (environment department, Hangzhou) and B (water
department, Ningbo) — with one of every kind the API lists, so that each endpoint can be
read by each persona."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest

from accounts.models import Notification
from accounts.tokens import issue_token
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from pilots.constants import Status
from pilots.models import AcceptanceReport, Call, ClosureReport, ExtensionRequest
from reviews.models import Evaluation, Inspection, Scorecard

D = dt.date


def _records(pilot, user):
    filing = Filing.objects.create(
        pilot=pilot,
        approval_authority="浙江省生态环境厅",
        approval_doc_number="浙环函〔2026〕1号",
        approval_date=D(2025, 12, 20),
        implementing_body="实施主体",
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        goal="目标",
        measures="措施",
        expected_outcomes="成果",
        contact_person="联系人",
        contact_phone="0571-88888888",
        plan="filings/plan.pdf",
        due_date=D(2025, 12, 27),
        filed_on=D(2025, 12, 26),
        submitted_by=user,
        status="confirmed",
    )
    report = QuarterlyReport.objects.create(
        pilot=pilot,
        year=2026,
        quarter=1,
        progress="进展",
        due_date=D(2026, 4, 10),
        organisation=pilot.lead_department,
        submitted_by=user,
    )
    closure = ClosureReport.objects.create(
        pilot=pilot,
        results="完成",
        experience="经验",
        organisation=pilot.lead_department,
        submitted_by=user,
    )
    extension = ExtensionRequest.objects.create(
        pilot=pilot,
        reason="理由",
        previous_end_date=pilot.end_date,
        new_end_date=D(2027, 6, 30),
        stage_targets="目标",
        milestones=[],
        organisation=pilot.lead_department,
        submitted_by=user,
    )
    acceptance = AcceptanceReport.objects.create(
        pilot=pilot,
        summary="总结",
        evaluator="self",
        due_date=D(2027, 2, 28),
        organisation=pilot.lead_department,
        submitted_by=user,
    )
    card, _ = Scorecard.objects.get_or_create(name="评分表", defaults={"created_by": user})
    evaluation = Evaluation.objects.create(
        pilot=pilot,
        scorecard=card,
        stage="stage",
        evaluator="self",
        evaluated_on=D(2026, 6, 30),
        effort=Decimal(80),
        score=Decimal("85.0"),
        rating="4",
        organisation=pilot.lead_department,
        created_by=user,
    )
    inspection = Inspection.objects.create(
        pilot=pilot,
        inspected_on=D(2026, 5, 1),
        inspectors="督察组",
        findings="问题",
        created_by=user,
    )
    return {
        "filings": filing.pk,
        "quarterly-reports": report.pk,
        "closures": closure.pk,
        "extensions": extension.pk,
        "acceptance-reports": acceptance.pk,
        "evaluations": evaluation.pk,
        "inspections": inspection.pk,
    }


@pytest.fixture
def world(make_pilot, orgs, personas):
    office = personas["office"]
    a = make_pilot(
        name="甲试点",
        regions=[orgs["hangzhou"]],
        ledger_since=D(2026, 1, 5),
        status=Status.CLOSURE_REPORTED,
    )
    b = make_pilot(
        name="乙试点",
        lead_department=orgs["other_dept"],
        regions=[orgs["ningbo"]],
        ledger_since=D(2026, 1, 5),
        status=Status.CLOSURE_REPORTED,
    )
    summary = HalfYearSummary.objects.create(
        organisation=orgs["dept"],
        year=2026,
        half=1,
        overview="总体",
        progress="进展",
        due_date=D(2026, 7, 15),
        prepared_by=personas["dept"],
    )
    notice = Notification.objects.create(organisation=orgs["dept"], subject="待办")
    call = Call.objects.create(
        title="2026年申报批次",
        deadline=dt.datetime(2027, 3, 31, 17, tzinfo=dt.UTC),
        opened_by=office,
    )
    return {
        "a": a,
        "b": b,
        "a_records": _records(a, office),
        "b_records": _records(b, office),
        "summary": summary.pk,
        "notice": notice.pk,
        "call": call.pk,
    }


@pytest.fixture
def token_for(personas):
    """token_for("dept") → the Authorization header of a fresh token of that persona."""

    def _token(name: str) -> dict:
        _, key = issue_token(personas[name], "测试")
        return {"HTTP_AUTHORIZATION": f"Token {key}"}

    return _token
