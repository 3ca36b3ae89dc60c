"""Filing (备案, R2.2): the lead department files an approved pilot with the filing form and
the pilot plan; the office confirms the filing (the pilot enters the ledger, the filed
content becomes its record) or returns it with reasons. Views, the API, imports and jobs
call these.

Each is keyword-only, takes the acting user, locks the rows it changes, writes history with
the actor and a reason, and notifies the next party after commit.
"""

from __future__ import annotations

import datetime as dt
import re

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.db.models import Max
from django.utils import timezone

from accounts.models import office_organisation
from accounts.notify import notify
from core.dates import format_cn_date
from core.forms import length_errors
from core.history import save_with_history
from ledger.constants import FilingStatus
from ledger.models import Filing
from pilots import policy, rules
from pilots.constants import DeadlineKind, Status
from pilots.deadlines import resolve_met
from pilots.models import TEXT_LIMITS, Milestone, Pilot
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
# The longest text (字) each field of the filing form takes: the pilot's texts as the
# application form caps them (pilots.models.TEXT_LIMITS), the short ones as the record holds.
FILING_LIMITS = {
    "approval_authority": 100,
    "approval_doc_number": 50,
    "implementing_body": 200,
    "goal": TEXT_LIMITS["goal"],
    "measures": TEXT_LIMITS["measures"],
    "expected_outcomes": TEXT_LIMITS["expected_outcomes"],
    "milestones_text": 5000,
    "contact_person": 50,
    "contact_phone": 30,
}
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


# A milestone line: a date (2026-09-30, 2026/9/30, 2026.9.30 or 2026年9月30日), then its goal.
MILESTONE_LINE = re.compile(
    r"^(\d{4})\s*[-/.年]\s*(\d{1,2})\s*[-/.月]\s*(\d{1,2})\s*日?\s*[:：、，,]?\s*(.*)$"
)
MILESTONE_EXAMPLE = "“2026-09-30 完成制度设计”"
# What the approval fixed (R2.2): a filing that states otherwise is shown and recorded.
APPROVAL_FIELDS = {
    "approval_authority": "批复机关",
    "approval_doc_number": "批复文号",
    "approval_date": "批复日期",
    "start_date": "开始日期",
    "end_date": "结束日期",
}


def parse_milestones(
    text: str, *, start: dt.date | None = None, end: dt.date | None = None
) -> list[tuple[dt.date, str]]:
    """The filing's time nodes, one a line: a date within the term and its stage goal. Every
    line that is not is refused with its number and text; blank lines are skipped."""
    errors: list[str] = []
    found: list[tuple[dt.date, str]] = []
    for number, raw in enumerate((text or "").splitlines(), start=1):
        line = raw.strip()
        if not line:
            continue
        shown = line if len(line) <= 30 else f"{line[:30]}…"
        where = f"时间节点第{number}行“{shown}”"
        match = MILESTONE_LINE.match(line)
        if not match:
            errors.append(f"{where}：开头不是日期，请按{MILESTONE_EXAMPLE}的格式填写。")
            continue
        year, month, day, title = match.groups()
        try:
            due = dt.date(int(year), int(month), int(day))
        except ValueError:
            errors.append(f"{where}：{year}年{month}月{day}日不是有效日期。")
            continue
        title = title.strip()
        if not title:
            errors.append(f"{where}：日期后请写明阶段目标。")
            continue
        if len(title) > 200:
            errors.append(f"{where}：阶段目标不超过200字。")
            continue
        if start and end and not start <= due <= end:
            errors.append(
                f"{where}：{format_cn_date(due)}不在试点期限"
                f"（{format_cn_date(start)}至{format_cn_date(end)}）内。"
            )
            continue
        found.append((due, title))
    if errors:
        raise ValidationError({"milestones_text": errors})
    return sorted(found)


def _shown(value) -> str:
    if isinstance(value, dt.date):
        return format_cn_date(value)
    return str(value or "").strip() or "未填写"


def _milestones_shown(milestones) -> str:
    return "；".join(f"{format_cn_date(d)} {t}" for d, t in milestones) or "未设置"


def approved_milestones(pilot: Pilot) -> list[tuple[dt.date, str]]:
    return sorted((m.due_date, m.title) for m in pilot.milestones.filter(is_removed=False))


def approval_differences(pilot: Pilot, data: dict, milestones) -> list[dict]:
    """Where the filing states otherwise than the approval on record (its authority, document
    number and date, the term, the time nodes): label, approved and filed, as shown. Time
    nodes left blank keep the approved ones (`milestones` None)."""
    found = []
    for name, label in APPROVAL_FIELDS.items():
        approved, filed = getattr(pilot, name), data.get(name)
        if approved in (None, "") or approved == filed:
            continue
        found.append(
            {"field": name, "label": label, "approved": _shown(approved), "filed": _shown(filed)}
        )
    approved_ms = approved_milestones(pilot)
    if milestones is not None and list(milestones) != approved_ms:
        found.append(
            {
                "field": "milestones_text",
                "label": "时间节点",
                "approved": _milestones_shown(approved_ms),
                "filed": _milestones_shown(milestones),
            }
        )
    return found


def check_filing(pilot: Pilot, data: dict) -> tuple[list | None, list[dict]]:
    """Validate a filing's content; returns its time nodes (None when left blank: the approved
    ones stay) and its differences from the approval. Raises ValidationError by field."""
    errors: dict[str, list[str]] = {}
    required = [f for f in FILING_FIELDS if f != "milestones_text"]
    for name in required:
        value = data.get(name)
        if value in (None, "") or (isinstance(value, str) and not value.strip()):
            errors.setdefault(name, []).append("此项为必填项。")
    for name, message in length_errors(
        {k: v.strip() for k, v in data.items() if isinstance(v, str)}, FILING_LIMITS
    ).items():
        errors.setdefault(name, []).append(message)
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
    start, end = data.get("start_date"), data.get("end_date")
    milestones = None
    if (data.get("milestones_text") or "").strip():
        term_ok = start and end and start < end
        try:
            milestones = parse_milestones(
                data["milestones_text"], start=start if term_ok else None, end=end
            )
        except ValidationError as exc:
            errors.setdefault("milestones_text", []).extend(exc.messages)
    if start and end:
        dates = [d for d, _ in milestones] if milestones else None
        if dates is None:
            dates = [m.due_date for m in pilot.milestones.filter(is_removed=False)] or [end]
        try:
            rules.validate_term(kind=pilot.kind, start=start, end=end, milestone_dates=dates)
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                errors.setdefault("end_date" if name == "__all__" else name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    return milestones, approval_differences(pilot, data, milestones)


@transaction.atomic
def submit_filing(*, actor, pilot: Pilot, data: dict, plan, today: dt.date | None = None) -> Filing:
    """R2.2: the lead department files an approved pilot with the filing form and the pilot
    plan. Due PILOT_FILING_DAYS after approval; a late filing is accepted and marked with its
    days late. Every time node must be a date within the term; where the filing differs from
    the approval on record, the differences are recorded with it. Its overdue events are
    resolved at once."""
    pilot = _lock_pilot(pilot)
    if not may_file(actor, pilot):
        raise PermissionDenied("只有该试点的省级牵头联系部门可以报送备案。")
    if pilot.status != Status.APPROVED:
        raise ValidationError(f"当前状态为“{pilot.get_status_display()}”，不能报送备案。")
    if not plan:
        raise ValidationError({"plan": "请上传试点方案（第二条第（二）项：备案须附试点方案）。"})
    _milestones, differences = check_filing(pilot, data)
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
        differences=differences,
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
        body=f"{pilot.lead_department.short_name}报送了备案表（第{version}版）。"
        + (f"与批复不一致{len(differences)}处，请核对。" if differences else ""),
        url=pilot.get_absolute_url(),
    )
    return filing


def _lock_filing(filing: Filing) -> Filing:
    return (
        Filing.objects.select_for_update(of=("self",))
        .select_related("pilot__lead_department", "submitted_by__organisation")
        .get(pk=filing.pk)
    )


def _file_milestones(actor, pilot: Pilot, filing: Filing) -> None:
    """The confirmed filing's time nodes become the pilot's: those no longer filed are marked
    removed (kept in history), new ones added; unchanged ones keep their completion. Time
    nodes left blank in the filing keep the approved ones."""
    if not filing.milestones_text.strip():
        return
    filed = parse_milestones(filing.milestones_text)
    kept = set()
    for milestone in pilot.milestones.filter(is_removed=False):
        key = (milestone.due_date, milestone.title)
        if key in filed and key not in kept:
            kept.add(key)
            continue
        milestone.is_removed = True
        save_with_history(
            milestone,
            actor=actor,
            reason="确认备案：按备案的时间节点调整",
            update_fields=["is_removed"],
        )
    for due, title in filed:
        if (due, title) not in kept:
            kept.add((due, title))
            save_with_history(
                Milestone(pilot=pilot, due_date=due, title=title),
                actor=actor,
                reason="确认备案：备案的时间节点",
            )


@transaction.atomic
def confirm_filing(*, actor, filing: Filing, today: dt.date | None = None) -> Filing:
    """R2.3: the office confirms a filing; only then is the pilot in the ledger. The filed
    approval, term, time nodes and content become the pilot's record."""
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
    _file_milestones(actor, pilot, filing)
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
