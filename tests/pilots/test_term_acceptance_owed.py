"""R3.2: every pilot that reaches the end of its term owes the acceptance report
("改革试点期满后，试点牵头单位必须开展验收评估，原则上要在2个月内…提交总结报告"), whatever
happened at the end — closed, still in the ledger past its end date, purged, restored — due
PILOT_ACCEPTANCE_REPORT_MONTHS after the end date, flagged by the overdue job, shown on the
pilot page and in the overdue list, and accepted from the lead unit once the end date has
passed."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from pilots import deadlines, jobs, term
from pilots.constants import DeadlineKind, EvaluatorType, Status
from pilots.models import AcceptanceReport, OverdueEvent
from pilots.services import MilestoneData

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
END = D(2026, 12, 31)
DUE = D(2027, 2, 28)  # 31 Dec + 2 months, clamped to the month's end


def on(time_machine, day: dt.date) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(
        regions=[orgs["county"]],
        code="ST-2026-0931",
        name="期满未销号试点",
        start_date=D(2026, 1, 1),
        end_date=END,
        ledger_since=D(2026, 1, 10),
    )


def _end_without_closure(pilot, personas, ending: str) -> None:
    """Bring `pilot` to the end of its term without a closure, as `ending` says."""
    if ending == "still_in_the_ledger":
        return
    if ending == "extension_pending":
        term.request_extension(
            actor=personas["dept"],
            pilot=pilot,
            reason="配套制度尚未出台。",
            new_end_date=D(2027, 6, 30),
            stage_targets="完成配套制度。",
            milestones=[MilestoneData(D(2027, 5, 1), "配套制度印发")],
            today=D(2027, 1, 20),
        )
        return
    jobs.purge_expired(D(2027, 2, 1))
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED
    if ending == "restored":
        term.restore_pilot(
            actor=personas["office"], pilot=pilot, reason="部门已说明情况", today=D(2027, 2, 3)
        )


ENDINGS = ["still_in_the_ledger", "extension_pending", "purged", "restored"]


@pytest.mark.parametrize("ending", ENDINGS)
def test_a_pilot_ended_without_closure_owes_the_acceptance_report_and_is_flagged_late_R3_2(
    pilot, personas, orgs, ending
):
    _end_without_closure(pilot, personas, ending)

    owed = deadlines.open_deadlines(due_before=D(2027, 3, 1), kinds=[DeadlineKind.ACCEPTANCE])
    assert [(d.pilot_id, d.organisation_id, d.due) for d in owed] == [
        (pilot.pk, orgs["dept"].pk, DUE)
    ]
    jobs.flag_overdue(DUE)
    assert not OverdueEvent.objects.filter(kind=DeadlineKind.ACCEPTANCE).exists()
    jobs.flag_overdue(DUE + dt.timedelta(days=1))
    event = OverdueEvent.objects.get(kind=DeadlineKind.ACCEPTANCE)
    assert (event.pilot, event.organisation, event.due_date) == (pilot, orgs["dept"], DUE)
    assert event.clause == "R3.2"


@pytest.mark.parametrize("ending", ENDINGS)
def test_the_lead_unit_submits_the_acceptance_report_whatever_the_ending_R3_2(
    pilot, personas, ending
):
    _end_without_closure(pilot, personas, ending)
    jobs.flag_overdue(D(2027, 3, 5))
    pilot.refresh_from_db()

    report = term.submit_acceptance_report(
        actor=personas["dept"],
        pilot=pilot,
        summary="试点目标基本完成，形成制度文件2项。",
        evaluator=EvaluatorType.SELF,
        today=D(2027, 3, 5),
    )

    assert (report.due_date, report.days_late) == (DUE, 5)
    # Met: resolved at once, in the same transaction, not at the next run.
    event = OverdueEvent.objects.get(kind=DeadlineKind.ACCEPTANCE)
    assert event.resolved_on == D(2027, 3, 5)
    latest = event.history.order_by("-history_id").first()
    assert latest.history_change_reason == "已报送总结验收报告，逾期事项解除"
    assert jobs.flag_overdue(D(2027, 3, 6)).counts["reopened"] == 0


def test_an_acceptance_report_before_the_end_date_is_refused_and_saves_nothing_R3_2(
    pilot, personas
):
    with pytest.raises(ValidationError, match="期满后方可报送总结验收报告"):
        term.submit_acceptance_report(
            actor=personas["dept"],
            pilot=pilot,
            summary="总结",
            evaluator=EvaluatorType.SELF,
            today=END,
        )
    assert not AcceptanceReport.objects.exists()


def test_an_approved_extension_moves_the_acceptance_report_with_the_end_date_R3_2(pilot, personas):
    _end_without_closure(pilot, personas, "extension_pending")
    pilot.refresh_from_db()
    request = pilot.extension_requests.get()
    term.approve_extension(actor=personas["office"], request=request)

    owed = deadlines.open_deadlines(due_before=D(2028, 1, 1), kinds=[DeadlineKind.ACCEPTANCE])
    assert [d.due for d in owed] == [D(2027, 8, 30)]


def test_the_pilot_page_offers_the_acceptance_report_of_an_expired_pilot_in_the_ledger_R3_2(
    pilot, client_for, time_machine
):
    jobs.flag_overdue(D(2027, 3, 5))
    on(time_machine, D(2027, 3, 5))
    client = client_for("dept")

    page = client.get(pilot.get_absolute_url()).content.decode()
    assert "2027年2月28日前（期满后2个月内" in page
    assert "逾期5天未报送" in page
    assert f"/pilots/{pilot.code}/acceptance/" in page
    assert "总结验收报告逾期" in page  # the open overdue item, on the panel

    assert client.get(f"/pilots/{pilot.code}/acceptance/").status_code == 200
    response = client.post(
        f"/pilots/{pilot.code}/acceptance/",
        {"summary": "试点目标基本完成。", "evaluator": EvaluatorType.SELF},
    )
    assert response.status_code == 302
    assert AcceptanceReport.objects.get(pilot=pilot).days_late == 5
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert "逾期5天未报送" not in page and "总结验收报告逾期" not in page


def test_the_overdue_list_shows_the_acceptance_report_of_a_purged_pilot_R3_2(
    pilot, personas, client_for, time_machine
):
    _end_without_closure(pilot, personas, "purged")
    jobs.flag_overdue(D(2027, 3, 5))
    on(time_machine, D(2027, 3, 5))

    page = client_for("dept").get("/pilots/overdue/?kind=acceptance").content.decode()
    assert pilot.name in page and "总结验收报告" in page and "R3.2" in page

    form = client_for("dept").get(f"/pilots/{pilot.code}/acceptance/")
    assert form.status_code == 200
