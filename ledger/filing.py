"""Filing (备案, R2.2): the lead department files an approved pilot with the filing form and
the pilot plan; the office confirms the filing (the pilot enters the ledger, the filed
content becomes its record) or returns it with reasons. Views, the API, imports and jobs
call these.

Each is keyword-only, takes the acting user, locks the rows it changes, writes history with
the actor and a reason, and notifies the next party after commit.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import office_organisation
from accounts.notify import notify
from core.history import save_with_history
from ledger.constants import FilingStatus
from ledger.models import Filing
from pilots import policy, rules
from pilots.constants import DeadlineKind, Status
from pilots.deadlines import resolve_met
from pilots.models import Pilot
from pilots.validators import validate_doc_number, validate_phone

FILING_FIELDS = [
    "approval_authority",
    "approval_doc_number",
    "approval_date",
    "implementing_body",
    "start_date",
    "end_date",
    "goal",
    "measures",
    "expected_outcomes",
    "milestones_text",
    "contact_person",
    "contact_phone",
]
# Filing fields that become the pilot's record once the office confirms the filing.
SYNCED_TO_PILOT = [
    "approval_authority",
    "approval_doc_number",
    "approval_date",
    "implementing_body",
    "start_date",
    "end_date",
    "goal",
    "measures",
    "expected_outcomes",
    "contact_person",
    "contact_phone",
]


def _lock_pilot(pilot: Pilot) -> Pilot:
    return (
        Pilot.objects.select_for_update(of=("self",))
        .select_related("lead_department")
        .get(pk=pilot.pk)
    )


def may_file(user, pilot: Pilot) -> bool:
    """R2.2: the pilot's provincial lead department (or its parent department) files it."""
    return policy.is_lead_department_of(user, pilot)


def _notify_filer(filing: Filing, *, subject: str, body: str) -> None:
    """Tell the lead department, and the department that filed if it is another (a parent
    department filing for its division)."""
    pilot = filing.pilot
    targets = [pilot.lead_department]
    filer = filing.submitted_by.organisation
    if filer is not None and filer.pk != pilot.lead_department_id:
        targets.append(filer)
    for org in targets:
        notify(organisation=org, subject=subject, body=body, url=pilot.get_absolute_url())


def _validate_filing(pilot: Pilot, data: dict) -> None:
    errors: dict[str, list[str]] = {}
    required = [f for f in FILING_FIELDS if f != "milestones_text"]
    for name in required:
        value = data.get(name)
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            errors.setdefault(name, []).append("此项为必填项。")
    for name, validator in (
        ("approval_doc_number", validate_doc_number),
        ("contact_phone", validate_phone),
    ):
        if data.get(name):
            try:
                validator(data[name])
            except ValidationError as exc:
                errors.setdefault(name, []).extend(exc.messages)
    if data.get("approval_date") and data["approval_date"] > timezone.localdate():
        errors.setdefault("approval_date", []).append("批复日期不能晚于今天。")
    if data.get("start_date") and data.get("end_date"):
        try:
            rules.validate_term(
                kind=pilot.kind,
                start=data["start_date"],
                end=data["end_date"],
                milestone_dates=[m.due_date for m in pilot.milestones.filter(is_removed=False)]
                or [data["end_date"]],
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault("end_date" if name == "__all__" else name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


@transaction.atomic
def submit_filing(*, actor, pilot: Pilot, data: dict, plan, today: dt.date | None = None) -> Filing:
    """R2.2: the lead department files an approved pilot with the filing form and the pilot
    plan. Due PILOT_FILING_DAYS after approval; a late filing is accepted and marked with its
    days late. Its overdue events are resolved at once."""
    pilot = _lock_pilot(pilot)
    if not may_file(actor, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送备案。")
    if pilot.status != Status.APPROVED:
        raise ValidationError(f"当前状态为“{pilot.get_status_display()}”，不能报送备案。")
    if not plan:
        raise ValidationError({"plan": "请上传试点方案（第二条第（二）项：备案须附试点方案）。"})
    _validate_filing(pilot, data)
    today = today or timezone.localdate()
    approval_date = data["approval_date"]
    # The clock runs from the approval on record; a date typed into the form cannot move it.
    clock_start = pilot.approval_date or approval_date
    version = (pilot.filings.aggregate(v=Max("version"))["v"] or 0) + 1
    filing = Filing(
        pilot=pilot,
        version=version,
        plan=plan,
        due_date=rules.filing_due(clock_start),
        filed_on=today,
        days_late=rules.filing_days_late(clock_start, today),
        submitted_by=actor,
        **{
            name: data.get(name) or ""
            for name in FILING_FIELDS
            if name not in ("approval_date", "start_date", "end_date")
        },
        approval_date=approval_date,
        start_date=data["start_date"],
        end_date=data["end_date"],
    )
    save_with_history(filing, actor=actor, reason="报送备案表")
    pilot.status = Status.FILING_SUBMITTED
    late = f"（逾期{filing.days_late}天）" if filing.days_late else ""
    save_with_history(pilot, actor=actor, reason=f"报送备案{late}", update_fields=["status"])
    from pilots import overlap  # R1.3: filing enters the ledger; check the pilot once more

    overlap.check_on_commit(pilot)
    resolve_met(
        kind=DeadlineKind.FILING, pilot_id=pilot.pk, actor=actor, reason="已报送备案", today=today
    )
    notify(
        organisation=office_organisation(),
        subject=f"待确认备案：{pilot.name}{late}",
        body=f"{pilot.lead_department.short_name}报送了备案表（第{version}版）。",
        url=pilot.get_absolute_url(),
    )
    return filing


def _lock_filing(filing: Filing) -> Filing:
    return (
        Filing.objects.select_for_update(of=("self",))
        .select_related("pilot__lead_department", "submitted_by__organisation")
        .get(pk=filing.pk)
    )


@transaction.atomic
def confirm_filing(*, actor, filing: Filing, today: dt.date | None = None) -> Filing:
    """R2.3: the office confirms a filing; only then is the pilot in the ledger. The filed
    approval, term and content become the pilot's record."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以确认备案。")
    filing = _lock_filing(filing)
    if filing.status != FilingStatus.SUBMITTED:
        raise ValidationError("该备案已处理，不能重复确认。")
    pilot = _lock_pilot(filing.pilot)
    if pilot.status != Status.FILING_SUBMITTED:
        raise ValidationError(f"试点当前状态为“{pilot.get_status_display()}”，不能确认备案。")
    now = timezone.now()
    filing.status = FilingStatus.CONFIRMED
    filing.decided_by = actor
    filing.decided_at = now
    save_with_history(
        filing,
        actor=actor,
        reason="省办确认备案",
        update_fields=["status", "decided_by", "decided_at"],
    )
    for name in SYNCED_TO_PILOT:
        setattr(pilot, name, getattr(filing, name))
    if filing.plan:
        pilot.plan_attachment = filing.plan.name
    pilot.status = Status.ACTIVE
    pilot.ledger_since = today or timezone.localdate()
    save_with_history(
        pilot,
        actor=actor,
        reason="省办确认备案，列入台账",
        update_fields=[*SYNCED_TO_PILOT, "plan_attachment", "status", "ledger_since"],
    )
    _notify_filer(
        filing,
        subject=f"备案已确认：{pilot.name}",
        body=f"试点已列入台账，请每{rules.numbers().quarterly}报送进展（第二条第（三）项）。",
    )
    return filing


@transaction.atomic
def return_filing(*, actor, filing: Filing, reason: str) -> Filing:
    """The office returns a filing with reasons; the lead department files again."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以退回备案。")
    if not reason or not reason.strip():
        raise ValidationError({"reason": "请填写退回理由。"})
    filing = _lock_filing(filing)
    if filing.status != FilingStatus.SUBMITTED:
        raise ValidationError("该备案已处理，不能退回。")
    pilot = _lock_pilot(filing.pilot)
    filing.status = FilingStatus.RETURNED
    filing.decided_by = actor
    filing.decided_at = timezone.now()
    filing.return_reason = reason.strip()
    save_with_history(
        filing,
        actor=actor,
        reason=f"退回备案：{reason.strip()}",
        update_fields=["status", "decided_by", "decided_at", "return_reason"],
    )
    pilot.status = Status.APPROVED
    save_with_history(
        pilot, actor=actor, reason=f"备案被退回：{reason.strip()}", update_fields=["status"]
    )
    _notify_filer(filing, subject=f"备案被退回：{pilot.name}", body=reason.strip())
    return filing
