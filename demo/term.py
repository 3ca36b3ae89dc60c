"""The demo's end-of-term records (R2.4, R3.2): a demo pilot whose state says a closure or an
extension is pending gets the report or request behind it; a closed pilot its accepted closure
report (and, for some, an acceptance report); a purged pilot its purge date and reason.
Written directly with history (the demo's dates lie in the past), and safe to run again."""

from __future__ import annotations

import datetime as dt

from django.utils import timezone

from accounts.models import User
from core.history import save_with_history
from demo.constants import DEMO_REASON
from demo.people import lead_account
from demo.pilots import demo_pilots
from pilots import rules
from pilots.constants import EvaluatorType, Status, TermRequestStatus
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest, Pilot
from pilots.term import purge_reason


def _save(obj, actor) -> None:
    save_with_history(obj, actor=actor, reason=DEMO_REASON)


def _closure(pilot: Pilot, actor: User, *, accepted_by: User | None) -> None:
    report = ClosureReport(
        pilot=pilot,
        organisation=pilot.lead_department,
        submitted_by=actor,
        results=f"对照预期成果，{pilot.expected_outcomes}已基本实现。",
        milestones_reached="各时间节点任务均已按期完成。",
        experience="形成了可复制可推广的制度文件和工作流程，已在全省相关地区推广应用。",
    )
    if accepted_by is not None:
        report.status = TermRequestStatus.ACCEPTED
        report.decided_by = accepted_by
        report.decided_at = timezone.now()
        report.decision_note = "同意销号。"
    _save(report, actor)


def _extension(pilot: Pilot, actor: User) -> None:
    new_end = min(
        rules.add_months(pilot.end_date, 6), rules.max_end_date(pilot.kind, pilot.start_date)
    )
    if new_end <= pilot.end_date:
        return
    middle = pilot.end_date + (new_end - pilot.end_date) / 2
    _save(
        ExtensionRequest(
            pilot=pilot,
            organisation=pilot.lead_department,
            submitted_by=actor,
            reason="配套制度尚在审批，需延长试点期限以完成制度评估。",
            previous_end_date=pilot.end_date,
            new_end_date=new_end,
            stage_targets="完成配套制度出台并开展第三方评估。",
            milestones=[{"due_date": middle.isoformat(), "title": "配套制度印发实施"}],
        ),
        actor,
    )


def load_term_demo(*, users: dict[str, User], today: dt.date | None = None) -> int:
    """Create what is missing; returns how many records were created."""
    today = today or timezone.localdate()
    office = users["office"]
    created = 0
    for index, pilot in demo_pilots():
        # A department without a demo account: the office entered it on its behalf.
        actor = lead_account(pilot, users) or office
        has_closure = ClosureReport.objects.filter(pilot=pilot).exists()
        if pilot.status == Status.CLOSURE_REPORTED and not has_closure:
            _closure(pilot, actor, accepted_by=None)
            created += 1
        elif pilot.status == Status.CLOSED and not has_closure:
            _closure(pilot, actor, accepted_by=office)
            created += 1
            if index % 2 == 0:
                due = rules.acceptance_report_due(pilot.end_date)
                _save(
                    AcceptanceReport(
                        pilot=pilot,
                        summary="试点目标全部完成，经评估达到预期成效。",
                        evaluator=EvaluatorType.THIRD_PARTY
                        if index % 4 == 0
                        else EvaluatorType.SELF,
                        third_party="浙江省环境科学研究院" if index % 4 == 0 else "",
                        due_date=due,
                        days_late=0,
                        organisation=pilot.lead_department,
                        submitted_by=actor,
                    ),
                    actor,
                )
                created += 1
        elif (
            pilot.status == Status.EXTENSION_REQUESTED
            and not ExtensionRequest.objects.filter(pilot=pilot).exists()
        ):
            _extension(pilot, actor)
            created += 1
        elif pilot.status == Status.PURGED and pilot.purged_on is None:
            pilot.purged_on = min(today, rules.purge_date(pilot.end_date))
            pilot.purge_reason = purge_reason(pilot.end_date)
            pilot.status_before_purge = Status.ACTIVE
            save_with_history(
                pilot,
                actor=office,
                reason=DEMO_REASON,
                update_fields=["purged_on", "purge_reason", "status_before_purge"],
            )
            created += 1
    return created
