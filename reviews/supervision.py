"""Supervision (督察, R3.3): the office records an inspection of a pilot (or of a practice
promoted from it) with its findings and rectification demands, each with a deadline and the
organisation responsible (by default the pilot's lead department); the responsible
organisation reports how it rectified; the office closes a demand once it is done. An open
demand past its deadline is an overdue item of pilots.jobs.flag_overdue (R3.3).

Each step is one keyword-only function taking the acting user; views, API, admin and jobs
call these and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, office_organisation
from core.history import save_with_history
from pilots import policy, rules
from pilots.calls import _lock, _notify
from pilots.constants import DeadlineKind
from pilots.deadlines import resolve_met
from pilots.models import Pilot
from reviews.models import Inspection, Rectification


@dataclass(frozen=True)
class Demand:
    text: str
    due_date: dt.date | None
    organisation: Organisation | None = None


@transaction.atomic
def record_inspection(
    *,
    actor,
    pilot: Pilot,
    inspected_on: dt.date | None,
    inspectors: str,
    findings: str,
    demands: Sequence[Demand],
    subject: str = "",
) -> Inspection:
    """R3.3: the office records an inspection and its rectification demands."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以录入督察记录。")
    pilot = _lock(pilot)
    errors: dict[str, str] = {}
    if inspected_on is None:
        errors["inspected_on"] = "请填写督察日期。"
    if not inspectors.strip():
        errors["inspectors"] = "请填写督察人员。"
    if not findings.strip():
        errors["findings"] = "请填写发现的问题。"
    wanted = [d for d in demands if d.text.strip()]
    for n, demand in enumerate(wanted, start=1):
        if demand.due_date is None:
            errors[f"demand_{n}"] = f"第{n}项整改要求：请填写整改期限。"
        elif inspected_on is not None and demand.due_date <= inspected_on:
            errors[f"demand_{n}"] = f"第{n}项整改要求：整改期限须晚于督察日期。"
    if errors:
        raise ValidationError(errors)
    inspection = Inspection(
        pilot=pilot,
        inspected_on=inspected_on,
        inspectors=inspectors.strip()[:300],
        subject=subject.strip()[:200],
        findings=findings.strip(),
        created_by=actor,
    )
    save_with_history(inspection, actor=actor, reason="录入督察记录")
    for demand in wanted:
        save_with_history(
            Rectification(
                inspection=inspection,
                demand=demand.text.strip(),
                organisation=demand.organisation or pilot.lead_department,
                due_date=demand.due_date,
            ),
            actor=actor,
            reason="督察整改要求",
        )
    lines = "\n".join(f"· {d.text.strip()}（{rules.format_cn_date(d.due_date)}前）" for d in wanted)
    _notify(
        pilot.lead_department,
        pilot,
        f"督察发现问题：{pilot.name}",
        f"{inspection.findings}\n{('整改要求：' + chr(10) + lines) if lines else ''}".strip(),
    )
    return inspection


def may_report_rectification(user, rectification: Rectification) -> bool:
    org = user.organisation_id if user.is_authenticated else None
    owner = rectification.organisation
    return policy.role_of(user) is not None and org in (owner.pk, owner.parent_id)


def _lock_rectification(rectification: Rectification) -> Rectification:
    return (
        Rectification.objects.select_for_update()
        .select_related("inspection__pilot", "organisation")
        .get(pk=rectification.pk)
    )


@transaction.atomic
def report_rectification(*, actor, rectification: Rectification, text: str) -> Rectification:
    """R3.3: the responsible organisation reports how it rectified; the office is told."""
    rectification = _lock_rectification(rectification)
    if not may_report_rectification(actor, rectification):
        raise PermissionDenied("只有整改责任单位可以报告整改情况。")
    if rectification.closed_on is not None:
        raise ValidationError("该整改要求已销号。")
    if not text.strip():
        raise ValidationError({"text": "请填写整改情况。"})
    rectification.follow_up = text.strip()
    save_with_history(rectification, actor=actor, reason="报告整改情况")
    # R3.3: the unit's obligation is its report; its overdue item is resolved now.
    _resolve(rectification, actor=actor, reason="已报告整改情况", today=None)
    pilot = rectification.inspection.pilot
    _notify(
        office_organisation(), pilot, f"整改情况报告：{pilot.name}", rectification.follow_up[:200]
    )
    return rectification


@transaction.atomic
def close_rectification(
    *, actor, rectification: Rectification, note: str = "", today: dt.date | None = None
) -> Rectification:
    """R3.3: the office closes a rectification demand once it is done; from then on it is no
    longer overdue."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以确认整改销号。")
    rectification = _lock_rectification(rectification)
    if rectification.closed_on is not None:
        raise ValidationError("该整改要求已销号。")
    rectification.closed_on = today or timezone.localdate()
    rectification.closed_by = actor
    if note.strip():
        rectification.follow_up = (rectification.follow_up + "\n省办意见：" + note.strip()).strip()
    save_with_history(rectification, actor=actor, reason="整改销号")
    _resolve(rectification, actor=actor, reason="整改销号", today=rectification.closed_on)
    return rectification


def _resolve(rectification: Rectification, *, actor, reason: str, today: dt.date | None) -> None:
    resolve_met(
        kind=DeadlineKind.RECTIFICATION,
        pilot_id=rectification.inspection.pilot_id,
        organisation_id=rectification.organisation_id,
        actor=actor,
        reason=reason,
        today=today,
    )
