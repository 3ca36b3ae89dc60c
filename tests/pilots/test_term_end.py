"""The end of a pilot's term (pilots.term): closure (R2.4), extension within R1.2 counted from
the original start (R2.4, R1.2), the acceptance report and its due date (R3.2), and restoring
a purged pilot (R2.4)."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from pilots import term
from pilots.constants import EvaluatorType, PilotKind, Status, TermRequestStatus
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest, Pilot
from pilots.services import MilestoneData

D = dt.date
END = D(2026, 12, 31)


@pytest.fixture
def pilot(make_pilot):
    return make_pilot(start_date=D(2026, 1, 1), end_date=END, ledger_since=D(2026, 1, 10))


def _close(actor, pilot, today):
    return term.report_closure(
        actor=actor,
        pilot=pilot,
        results="出台办法2项，办结案件12件。",
        experience="磋商前置、司法确认。",
        today=today,
    )


def _extend(actor, pilot, new_end, milestones=None):
    return term.request_extension(
        actor=actor,
        pilot=pilot,
        reason="配套制度尚未出台。",
        new_end_date=new_end,
        stage_targets="完成配套制度并评估。",
        milestones=milestones
        if milestones is not None
        else [MilestoneData(new_end - dt.timedelta(days=60), "配套制度印发")],
    )


# --- closure (R2.4) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("today", "allowed"),
    [
        (D(2026, 11, 30), False),  # 31 days before the end date
        (D(2026, 12, 1), True),  # the window opens 30 days before (PILOT_CLOSURE_WINDOW_DAYS)
        (D(2026, 12, 31), True),
        (D(2027, 1, 20), True),  # after expiry, before the purge
    ],
)
def test_closure_may_be_reported_from_30_days_before_the_end_R2_4(pilot, personas, today, allowed):
    if allowed:
        report = _close(personas["dept"], pilot, today)
        pilot.refresh_from_db()
        assert pilot.status == Status.CLOSURE_REPORTED
        assert report.status == TermRequestStatus.SUBMITTED
    else:
        with pytest.raises(ValidationError, match="2026年12月1日起方可报告销号"):
            _close(personas["dept"], pilot, today)
        pilot.refresh_from_db()
        assert pilot.status == Status.ACTIVE
        assert not ClosureReport.objects.exists()


def test_only_the_lead_department_reports_closure_R2_4(pilot, personas):
    for who in ("office", "hangzhou", "county"):
        with pytest.raises(PermissionDenied):
            _close(personas[who], pilot, D(2026, 12, 20))
    assert not ClosureReport.objects.exists()


def test_closure_needs_results_and_experience_R2_4(pilot, personas):
    with pytest.raises(ValidationError) as caught:
        term.report_closure(
            actor=personas["dept"], pilot=pilot, results=" ", experience="", today=END
        )
    assert set(caught.value.message_dict) == {"results", "experience"}


def test_accepted_closure_closes_the_pilot_and_keeps_it_readable_R2_4(pilot, personas):
    report = _close(personas["dept"], pilot, END)

    term.accept_closure(actor=personas["office"], report=report, note="同意。")

    pilot.refresh_from_db()
    report.refresh_from_db()
    assert pilot.status == Status.CLOSED
    assert not Pilot.objects.in_ledger().filter(pk=pilot.pk).exists()
    assert Pilot.objects.filter(pk=pilot.pk).exists()
    assert report.status == TermRequestStatus.ACCEPTED and report.decided_by == personas["office"]
    reasons = list(pilot.history.values_list("history_change_reason", flat=True))
    assert "同意销号" in reasons and "报告销号" in reasons
    notice = Notification.objects.filter(organisation=pilot.lead_department).latest("pk")
    assert "2027年2月28日" in notice.body  # the acceptance report's due date (R3.2)


def test_returned_closure_puts_the_pilot_back_in_the_ledger_with_the_reason_R2_4(pilot, personas):
    report = _close(personas["dept"], pilot, END)

    with pytest.raises(ValidationError):
        term.return_closure(actor=personas["office"], report=report, reason="")
    term.return_closure(actor=personas["office"], report=report, reason="成果材料不全。")

    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE
    assert pilot.history.first().history_change_reason == "退回销号报告：成果材料不全。"
    with pytest.raises(ValidationError, match="已审核"):
        term.accept_closure(actor=personas["office"], report=report)


def test_only_the_office_decides_closure_R2_4(pilot, personas):
    report = _close(personas["dept"], pilot, END)
    with pytest.raises(PermissionDenied):
        term.accept_closure(actor=personas["dept"], report=report)
    pilot.refresh_from_db()
    assert pilot.status == Status.CLOSURE_REPORTED


# --- extension (R2.4, R1.2) ------------------------------------------------------------------


@pytest.mark.parametrize(
    ("kind", "new_end", "ok"),
    [
        (PilotKind.SINGLE, D(2027, 12, 31), True),
        (PilotKind.SINGLE, D(2028, 1, 1), True),  # exactly two years from 2026-01-01
        (PilotKind.SINGLE, D(2028, 1, 2), False),
        (PilotKind.COMPREHENSIVE, D(2031, 1, 1), True),  # five years
        (PilotKind.COMPREHENSIVE, D(2031, 1, 2), False),
    ],
)
def test_extension_keeps_the_term_limit_from_the_original_start_R1_2(
    make_pilot, personas, kind, new_end, ok
):
    pilot = make_pilot(kind=kind, start_date=D(2026, 1, 1), end_date=D(2026, 12, 31))
    if ok:
        request = _extend(personas["dept"], pilot, new_end)
        assert request.previous_end_date == D(2026, 12, 31)
        pilot.refresh_from_db()
        assert pilot.status == Status.EXTENSION_REQUESTED
    else:
        with pytest.raises(ValidationError) as caught:
            _extend(personas["dept"], pilot, new_end)
        message = " ".join(caught.value.message_dict["new_end_date"])
        assert "自原开始日期2026年1月1日起算" in message
        assert not ExtensionRequest.objects.exists()


def test_extension_must_move_the_end_date_later_and_give_milestones_R2_4(pilot, personas):
    with pytest.raises(ValidationError) as caught:
        _extend(personas["dept"], pilot, END, milestones=[])
    errors = caught.value.message_dict
    assert "须晚于原结束日期" in errors["new_end_date"][0]
    assert "时间节点" in errors["__all__"][0]
    with pytest.raises(ValidationError) as caught:
        _extend(personas["dept"], pilot, D(2027, 6, 30), [MilestoneData(D(2027, 8, 1), "超出期限")])
    assert "不在期限内" in caught.value.message_dict["__all__"][0]


def test_extension_may_be_asked_only_from_30_days_before_the_end_R2_4(
    pilot, personas, time_machine
):
    time_machine.move_to(dt.datetime(2026, 11, 30, 10, tzinfo=dt.UTC), tick=False)
    with pytest.raises(ValidationError, match="本试点自2026年12月1日起方可申请延期"):
        _extend(personas["dept"], pilot, D(2027, 6, 30))
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE and not ExtensionRequest.objects.exists()
    time_machine.move_to(dt.datetime(2026, 12, 1, 10, tzinfo=dt.UTC), tick=False)
    _extend(personas["dept"], pilot, D(2027, 6, 30))
    pilot.refresh_from_db()
    assert pilot.status == Status.EXTENSION_REQUESTED


def test_extension_may_be_asked_after_expiry_R2_4(pilot, personas):
    # No "today" check: before or after expiry, as long as the pilot is in the ledger.
    request = _extend(personas["dept"], pilot, D(2027, 6, 30))
    assert request.status == TermRequestStatus.SUBMITTED


def test_approved_extension_moves_the_end_date_and_history_says_why_R2_4(pilot, personas):
    request = _extend(personas["dept"], pilot, D(2027, 6, 30))

    term.approve_extension(actor=personas["office"], request=request)

    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE
    assert pilot.end_date == D(2027, 6, 30)
    assert pilot.start_date == D(2026, 1, 1)
    reason = pilot.history.first().history_change_reason
    assert "2026年12月31日延至2027年6月30日" in reason
    assert pilot.history.first().history_user == personas["office"]
    assert list(pilot.milestones.values_list("due_date", "title")) == [
        (D(2027, 5, 1), "配套制度印发")
    ]


def test_rejected_extension_keeps_the_end_date_R2_4(pilot, personas):
    request = _extend(personas["dept"], pilot, D(2027, 6, 30))

    term.reject_extension(actor=personas["office"], request=request, reason="理由不充分。")

    pilot.refresh_from_db()
    request.refresh_from_db()
    assert pilot.end_date == END and pilot.status == Status.ACTIVE
    assert request.status == TermRequestStatus.RETURNED
    assert request.decision_note == "理由不充分。"


def test_no_extension_while_a_closure_is_pending_R2_4(pilot, personas):
    _close(personas["dept"], pilot, END)
    with pytest.raises(ValidationError, match="不能申请延期"):
        _extend(personas["dept"], pilot, D(2027, 6, 30))


# --- acceptance report (R3.2) ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "submitted", "due", "late"),
    [
        (D(2026, 12, 31), D(2027, 2, 28), D(2027, 2, 28), 0),  # 31 Dec + 2 months → 28 Feb
        (D(2026, 12, 31), D(2027, 3, 1), D(2027, 2, 28), 1),
        (D(2027, 12, 31), D(2028, 2, 29), D(2028, 2, 29), 0),  # leap year
        (D(2026, 6, 30), D(2026, 9, 5), D(2026, 8, 30), 6),
    ],
)
def test_acceptance_report_is_due_two_months_after_the_end_R3_2(
    make_pilot, personas, end, submitted, due, late
):
    pilot = make_pilot(start_date=end - dt.timedelta(days=300), end_date=end, status=Status.CLOSED)

    report = term.submit_acceptance_report(
        actor=personas["dept"],
        pilot=pilot,
        summary="目标全部完成。",
        evaluator=EvaluatorType.SELF,
        today=submitted,
    )

    assert report.due_date == due
    assert report.days_late == late


def test_acceptance_report_names_its_third_party_R3_2(make_pilot, personas):
    pilot = make_pilot(status=Status.CLOSED)
    with pytest.raises(ValidationError) as caught:
        term.submit_acceptance_report(
            actor=personas["dept"], pilot=pilot, summary="总结", evaluator=EvaluatorType.THIRD_PARTY
        )
    assert "third_party" in caught.value.message_dict
    with pytest.raises(ValidationError):
        term.submit_acceptance_report(
            actor=personas["dept"], pilot=pilot, summary="总结", evaluator="friend"
        )
    report = term.submit_acceptance_report(
        actor=personas["dept"],
        pilot=pilot,
        summary="总结",
        evaluator=EvaluatorType.THIRD_PARTY,
        third_party="浙江省环境科学研究院",
    )
    assert report.third_party == "浙江省环境科学研究院"


def test_a_corrected_acceptance_report_is_a_new_version_R3_2(make_pilot, personas):
    pilot = make_pilot(status=Status.CLOSED)
    first = term.submit_acceptance_report(
        actor=personas["dept"], pilot=pilot, summary="初稿", evaluator=EvaluatorType.SELF
    )
    second = term.submit_acceptance_report(
        actor=personas["dept"], pilot=pilot, summary="修改稿", evaluator=EvaluatorType.SELF
    )
    first.refresh_from_db()
    assert (first.version, first.is_current) == (1, False)
    assert (second.version, second.is_current) == (2, True)
    assert AcceptanceReport.objects.filter(pilot=pilot).count() == 2


def test_acceptance_report_of_a_pilot_still_running_waits_for_its_end_R3_2(pilot, personas):
    # R3.2 reads "期满后": an active pilot before its end date owes nothing yet (it used to
    # be refused until closure whatever the date; see test_term_acceptance_owed.py).
    with pytest.raises(ValidationError, match="期满后方可报送总结验收报告"):
        term.submit_acceptance_report(
            actor=personas["dept"],
            pilot=pilot,
            summary="总结",
            evaluator=EvaluatorType.SELF,
            today=END,
        )
    report = term.submit_acceptance_report(
        actor=personas["dept"],
        pilot=pilot,
        summary="总结",
        evaluator=EvaluatorType.SELF,
        today=END + dt.timedelta(days=1),
    )
    assert report.due_date == D(2027, 2, 28)
