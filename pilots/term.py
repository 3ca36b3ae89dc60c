"""The end of a pilot's term (R2.4, R1.2, R3.2): closure (销号), extension (延期), the
acceptance report, and restoring a purged pilot.

- From PILOT_CLOSURE_WINDOW_DAYS before its end date the lead department reports closure; the
  office accepts it (the pilot is closed, out of the active ledger, readable forever) or
  returns it with reasons (the pilot is back in the ledger).
- From the same day, before or after expiry, the lead department asks for an extension with
  its reason, the new end date, stage targets and dated milestones; the new term keeps to
  R1.2 counted from the original start. The office approves (the end date moves; history
  says why) or rejects.
- After the term the lead unit submits the summary (acceptance) report, evaluated by itself
  or by a named third party, due PILOT_ACCEPTANCE_REPORT_MONTHS after the end date (R3.2).
- The office restores a purged pilot (R2.4) with a reason; it gets a new grace period.

Each step is one keyword-only function taking the acting user; each locks the pilot row,
checks who may act and in which state, writes history with the reason and notifies the
other party after commit. Views, API, admin and jobs call these and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, office_organisation
from core.history import save_with_history
from pilots import policy, rules
from pilots.calls import OPINION_MAX, _limit_text, _lock, _notify, _require_reason, _require_state
from pilots.constants import DeadlineKind, EvaluatorType, Status, TermRequestStatus
from pilots.deadlines import ACCEPTANCE_STATES, resolve_met
from pilots.extension_rules import check_extension
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest, Milestone, Pilot
from pilots.services import MilestoneData
from pilots.term_window import closure_opens, require_window

# A restore's reason: a few sentences (the form shows the same limit).
RESTORE_REASON_MAX = 500


def _today(today: dt.date | None) -> dt.date:
    return today or timezone.localdate()


def _require_lead(actor, pilot: Pilot, action: str) -> Organisation:
    if not policy.is_lead_department_of(actor, pilot):
        raise PermissionDenied(f"只有该试点的牵头联系部门可以{action}。")
    return actor.organisation


def _require_office(actor, action: str) -> None:
    if not policy.is_office(actor):
        raise PermissionDenied(f"只有省办可以{action}。")


# The longest text each field of the end of a term takes (the forms show the same limits).
TEXT_LIMITS = dict(results=3000, milestones_reached=1000, experience=2000, reason=1000)
TEXT_LIMITS.update(stage_targets=2000, summary=5000, third_party=200, note=OPINION_MAX)


def _required(
    values: dict[str, str], labels: dict[str, str], optional: dict[str, str] | None = None
) -> dict[str, str]:
    """The texts stripped; every one in `labels` stated, and none (of `optional` either)
    over its limit in TEXT_LIMITS — all errors at once, keyed by field."""
    optional = optional or {}
    texts = {name: (value or "").strip() for name, value in values.items()}
    errors = {name: f"请填写{label}。" for name, label in labels.items() if not texts[name]}
    for name, label in {**labels, **optional}.items():
        limit = TEXT_LIMITS.get(name)
        if name not in errors and limit and len(texts[name]) > limit:
            errors[name] = f"{label}不超过{limit}字（现有{len(texts[name])}字）。"
    if errors:
        raise ValidationError(errors)
    return texts


# --- what may be done now (for pages) -------------------------------------------------------


def may_report_closure(user, pilot: Pilot, today: dt.date | None = None) -> bool:
    return (
        pilot.status == Status.ACTIVE
        and _today(today) >= closure_opens(pilot)
        and policy.is_lead_department_of(user, pilot)
    )


def may_request_extension(user, pilot: Pilot, today: dt.date | None = None) -> bool:
    return may_report_closure(user, pilot, today)  # R2.4: the same window and the same party


def acceptance_open(pilot: Pilot, today: dt.date | None = None) -> bool:
    """R3.2: the acceptance report may be submitted for a pilot whose term has ended, in any
    state it ended in (closed, still in the ledger, purged, restored), or once its closure is
    reported (a closure reported early ends the term with it)."""
    if pilot.status not in ACCEPTANCE_STATES:
        return False
    if pilot.status in (Status.CLOSURE_REPORTED, Status.CLOSED):
        return True
    return rules.acceptance_owed(pilot.end_date, _today(today))


def may_submit_acceptance(user, pilot: Pilot, today: dt.date | None = None) -> bool:
    return acceptance_open(pilot, today) and policy.is_lead_department_of(user, pilot)


def _resolve(kind: str, pilot: Pilot, *, actor, reason: str, today: dt.date | None) -> None:
    """The obligation is met: its overdue events are resolved now, in this transaction."""
    resolve_met(kind=kind, pilot_id=pilot.pk, actor=actor, reason=reason, today=_today(today))


# --- closure (销号, R2.4) --------------------------------------------------------------------


@transaction.atomic
def report_closure(
    *,
    actor,
    pilot: Pilot,
    results: str,
    experience: str,
    milestones_reached: str = "",
    attachment=None,
    today: dt.date | None = None,
) -> ClosureReport:
    """R2.4: the lead department reports closure, from PILOT_CLOSURE_WINDOW_DAYS before the
    end date on, with the results against the expected outcomes and replicable experience."""
    pilot = _lock(pilot)
    org = _require_lead(actor, pilot, "报告销号")
    _require_state(pilot, Status.ACTIVE, action="报告销号")
    day = _today(today)
    require_window(pilot, day, "报告销号")
    texts = _required(
        {"results": results, "experience": experience, "milestones_reached": milestones_reached},
        {"results": "完成情况", "experience": "可复制推广的经验"},
        {"milestones_reached": "时间节点完成情况"},
    )
    report = ClosureReport(
        pilot=pilot,
        organisation=org,
        submitted_by=actor,
        results=texts["results"],
        experience=texts["experience"],
        milestones_reached=texts["milestones_reached"],
    )
    if attachment is not None:
        report.attachment = attachment
    save_with_history(report, actor=actor, reason="报告销号")
    pilot.status = Status.CLOSURE_REPORTED
    save_with_history(pilot, actor=actor, reason="报告销号", update_fields=["status"])
    _resolve(DeadlineKind.TERM_END, pilot, actor=actor, reason="已报告销号", today=day)
    _notify(
        office_organisation(),
        pilot,
        f"销号待审核：{pilot.name}",
        f"{org.name}报告试点销号，请审核。",
    )
    return report


def _decide(model, record, *, actor, accepted: bool, note: str, reason: str, action: str):
    """Lock the pilot and the record, and record the office's decision on a submitted
    closure report or extension request. Returns (pilot, record)."""
    pilot = _lock(record.pilot)
    record = model.objects.select_for_update().select_related("pilot").get(pk=record.pk)
    _limit_text(note.strip(), "意见", TEXT_LIMITS["note"], field="note")
    if record.status != TermRequestStatus.SUBMITTED:
        raise ValidationError(f"该{model._meta.verbose_name}已{action}。")
    record.status = TermRequestStatus.ACCEPTED if accepted else TermRequestStatus.RETURNED
    record.decided_by = actor
    record.decided_at = timezone.now()
    record.decision_note = note.strip()
    save_with_history(record, actor=actor, reason=reason)
    return pilot, record


@transaction.atomic
def accept_closure(*, actor, report: ClosureReport, note: str = "") -> ClosureReport:
    """R2.4: the office accepts a closure: the pilot is closed — out of the active ledger and
    readable forever."""
    _require_office(actor, "审核销号")
    pilot, report = _decide(
        ClosureReport,
        report,
        actor=actor,
        accepted=True,
        note=note,
        reason="同意销号",
        action="审核",
    )
    _require_state(pilot, Status.CLOSURE_REPORTED, action="销号")
    pilot.status = Status.CLOSED
    save_with_history(pilot, actor=actor, reason="同意销号", update_fields=["status"])
    _notify(
        pilot.lead_department,
        pilot,
        f"已同意销号：{pilot.name}",
        f"请于{rules.format_cn_date(pilot.acceptance_report_due)}前报送总结验收报告（第三条第（二）项）。",
    )
    return report


@transaction.atomic
def return_closure(*, actor, report: ClosureReport, reason: str) -> ClosureReport:
    """R2.4: the office returns a closure report with its reasons; the pilot is back in the
    ledger and the department reports again (or asks for an extension)."""
    _require_office(actor, "审核销号")
    reason = _require_reason(reason, "退回理由")
    why = f"退回销号报告：{reason}"
    pilot, report = _decide(
        ClosureReport,
        report,
        actor=actor,
        accepted=False,
        note=reason,
        reason=why,
        action="审核",
    )
    pilot.status = Status.ACTIVE
    save_with_history(pilot, actor=actor, reason=why, update_fields=["status"])
    _notify(pilot.lead_department, pilot, f"销号报告被退回：{pilot.name}", reason)
    return report


# --- extension (延期, R2.4 + R1.2) ------------------------------------------------------------


def _milestone_rows(milestones: Sequence[MilestoneData]) -> list[dict]:
    return [
        {"due_date": m.due_date.isoformat(), "title": m.title.strip()}
        for m in sorted(milestones, key=lambda m: m.due_date)
    ]


def check_extension_request(
    pilot: Pilot, *, reason, new_end_date, stage_targets, milestones
) -> dict[str, str]:
    """R2.4: every error of an extension request at once, keyed by field; the texts stripped."""
    errors, texts = {}, {}
    try:
        texts = _required(
            {"reason": reason, "stage_targets": stage_targets},
            {"reason": "延期理由", "stage_targets": "阶段性目标"},
        )
    except ValidationError as exc:
        errors.update(exc.message_dict)
    try:
        check_extension(pilot, new_end_date, milestones)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if errors:
        raise ValidationError(errors)
    return texts


@transaction.atomic
def request_extension(
    *,
    actor,
    pilot: Pilot,
    reason: str,
    new_end_date: dt.date | None,
    stage_targets: str,
    milestones: Sequence[MilestoneData],
    today: dt.date | None = None,
) -> ExtensionRequest:
    """R2.4: the lead department asks for an extension, from PILOT_CLOSURE_WINDOW_DAYS before
    the end date on (before or after expiry)."""
    pilot = _lock(pilot)
    org = _require_lead(actor, pilot, "申请延期")
    _require_state(pilot, Status.ACTIVE, action="申请延期")
    require_window(pilot, _today(today), "申请延期")
    texts = check_extension_request(
        pilot,
        reason=reason,
        new_end_date=new_end_date,
        stage_targets=stage_targets,
        milestones=milestones,
    )
    request = ExtensionRequest(
        pilot=pilot,
        organisation=org,
        submitted_by=actor,
        reason=texts["reason"],
        stage_targets=texts["stage_targets"],
        previous_end_date=pilot.end_date,
        new_end_date=new_end_date,
        milestones=_milestone_rows(milestones),
    )
    save_with_history(request, actor=actor, reason="申请延期")
    pilot.status = Status.EXTENSION_REQUESTED
    save_with_history(pilot, actor=actor, reason="申请延期", update_fields=["status"])
    _resolve(DeadlineKind.TERM_END, pilot, actor=actor, reason="已申请延期", today=today)
    _notify(
        office_organisation(),
        pilot,
        f"延期待审批：{pilot.name}",
        f"{org.name}申请延期至{rules.format_cn_date(new_end_date)}。理由：{texts['reason']}",
    )
    return request


@transaction.atomic
def approve_extension(*, actor, request: ExtensionRequest, note: str = "") -> ExtensionRequest:
    """R2.4: the office approves: the end date moves, the milestones are added, and the
    pilot's history says from when to when and why."""
    _require_office(actor, "审批延期")
    milestones = [
        MilestoneData(dt.date.fromisoformat(m["due_date"]), m["title"]) for m in request.milestones
    ]
    _require_state(request.pilot, Status.EXTENSION_REQUESTED, action="审批延期")
    check_extension(request.pilot, request.new_end_date, milestones)
    pilot, request = _decide(
        ExtensionRequest,
        request,
        actor=actor,
        accepted=True,
        note=note,
        reason="同意延期",
        action="审批",
    )
    why = (
        f"同意延期：结束日期由{rules.format_cn_date(pilot.end_date)}延至"
        f"{rules.format_cn_date(request.new_end_date)}。理由：{request.reason}"
    )
    pilot.end_date = request.new_end_date
    pilot.status = Status.ACTIVE
    save_with_history(pilot, actor=actor, reason=why, update_fields=["end_date", "status"])
    existing = set(pilot.milestones.filter(is_removed=False).values_list("due_date", "title"))
    for m in milestones:
        if (m.due_date, m.title) not in existing:
            row = Milestone(pilot=pilot, due_date=m.due_date, title=m.title)
            save_with_history(row, actor=actor, reason="延期新增时间节点")
    _notify(pilot.lead_department, pilot, f"已同意延期：{pilot.name}", why)
    return request


@transaction.atomic
def reject_extension(*, actor, request: ExtensionRequest, reason: str) -> ExtensionRequest:
    """R2.4: the office rejects an extension with its reasons; the pilot keeps its end date
    and must report closure (or is purged when the grace runs out)."""
    _require_office(actor, "审批延期")
    reason = _require_reason(reason, "不同意的理由")
    why = f"不同意延期：{reason}"
    pilot, request = _decide(
        ExtensionRequest,
        request,
        actor=actor,
        accepted=False,
        note=reason,
        reason=why,
        action="审批",
    )
    pilot.status = Status.ACTIVE
    save_with_history(pilot, actor=actor, reason=why, update_fields=["status"])
    _notify(pilot.lead_department, pilot, f"延期申请未获同意：{pilot.name}", reason)
    return request


# --- acceptance report (R3.2) --------------------------------------------------------------


@transaction.atomic
def submit_acceptance_report(
    *,
    actor,
    pilot: Pilot,
    summary: str,
    evaluator: str,
    third_party: str = "",
    attachment=None,
    today: dt.date | None = None,
) -> AcceptanceReport:
    """R3.2: after the term, the lead unit's summary report, stating whether it evaluated the
    pilot itself or commissioned a named third party. Owed by every pilot whose term has
    ended, whatever happened at the end (closed, still in the ledger past its end date,
    purged, restored); due PILOT_ACCEPTANCE_REPORT_MONTHS after the end date; a late one is
    accepted and marked with its days late. A correction is a new version; the earlier ones
    stay. Its overdue events are resolved at once."""
    pilot = _lock(pilot)
    org = _require_lead(actor, pilot, "报送总结验收报告")
    _require_state(pilot, *[s for s in Status if s in ACCEPTANCE_STATES], action="报送总结验收报告")
    if not acceptance_open(pilot, today):
        raise ValidationError(
            f"试点{rules.format_cn_date(pilot.end_date)}到期，期满后方可报送总结验收报告"
            f"（{rules.numbers().acceptance}报送，第三条第（二）项）。"
        )
    errors = {}
    if not summary.strip():
        errors["summary"] = "请填写总结报告。"
    if evaluator not in EvaluatorType.values:
        errors["evaluator"] = "请选择评估方式（牵头单位自行评估或委托第三方评估）。"
    elif evaluator == EvaluatorType.THIRD_PARTY and not third_party.strip():
        errors["third_party"] = "委托第三方评估的，请填写第三方评估机构名称。"
    for name, label, text in (
        ("summary", "总结报告", summary.strip()),
        ("third_party", "第三方评估机构", third_party.strip()),
    ):
        if name not in errors and len(text) > TEXT_LIMITS[name]:
            errors[name] = f"{label}不超过{TEXT_LIMITS[name]}字（现有{len(text)}字）。"
    if errors:
        raise ValidationError(errors)
    day = _today(today)
    due = pilot.acceptance_report_due
    previous = (
        AcceptanceReport.objects.select_for_update()
        .filter(pilot=pilot)
        .order_by("-version")
        .first()
    )
    if previous is not None and previous.is_current:
        previous.is_current = False
        save_with_history(
            previous, actor=actor, reason="被新版本替代", update_fields=["is_current"]
        )
    report = AcceptanceReport(
        pilot=pilot,
        version=(previous.version + 1) if previous else 1,
        summary=summary.strip(),
        evaluator=evaluator,
        third_party=third_party.strip() if evaluator == EvaluatorType.THIRD_PARTY else "",
        due_date=due,
        days_late=max(0, (day - due).days),
        organisation=org,
        submitted_by=actor,
    )
    if attachment is not None:
        report.attachment = attachment
    save_with_history(
        report, actor=actor, reason="报送总结验收报告" if not previous else "更正总结验收报告"
    )
    _resolve(DeadlineKind.ACCEPTANCE, pilot, actor=actor, reason="已报送总结验收报告", today=day)
    late = f"（逾期{report.days_late}天）" if report.days_late else ""
    _notify(
        office_organisation(), pilot, f"总结验收报告{late}：{pilot.name}", f"{org.name}已报送。"
    )
    return report


# --- purge and restore (R2.4) ---------------------------------------------------------------


def purge_reason(pilot_end: dt.date) -> str:
    return (
        f"试点于{rules.format_cn_date(pilot_end)}到期，{rules.numbers().purge_grace}"
        "既未报告销号也未申请延期，依第二条第（四）项清理出库。"
    )


@transaction.atomic
def restore_pilot(*, actor, pilot: Pilot, reason: str, today: dt.date | None = None) -> Pilot:
    """R2.4: the office restores a purged pilot, with a reason: every field as it was, its
    state as before the purge; from today it has a new grace period to report closure or ask
    for an extension."""
    _require_office(actor, "恢复入库")
    reason = _require_reason(reason, "恢复理由", limit=RESTORE_REASON_MAX)
    pilot = _lock(pilot)
    _require_state(pilot, Status.PURGED, action="恢复入库")
    pilot.status = pilot.status_before_purge or Status.ACTIVE
    pilot.status_before_purge = ""
    pilot.purged_on = None
    pilot.purge_reason = ""
    pilot.restored_on = _today(today)
    save_with_history(
        pilot,
        actor=actor,
        reason=f"恢复入库：{reason}",
        update_fields=["status", "status_before_purge", "purged_on", "purge_reason", "restored_on"],
    )
    _notify(pilot.lead_department, pilot, f"试点已恢复入库：{pilot.name}", reason)
    return pilot
