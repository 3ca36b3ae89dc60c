"""Domain functions that change pilots. Views, the admin, imports and jobs all call these.

Each function is keyword-only, takes the acting user, validates against the regulation's
rules, changes state inside one transaction with the row locked, and writes history with the
actor and a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import access
from accounts.constants import Role
from accounts.models import Organisation
from pilots import rules
from pilots.constants import Origin, Status
from pilots.models import CodeSequence, Milestone, Pilot


@dataclass(frozen=True)
class MilestoneData:
    due_date: dt.date
    title: str
    reached_on: dt.date | None = None


def next_code(year: int) -> str:
    """Hand out the next pilot code for `year` (ST-2026-0001). Call inside a transaction:
    the year's counter row is locked until it commits, so two creators never collide."""
    CodeSequence.objects.get_or_create(year=year)
    seq = CodeSequence.objects.select_for_update().get(year=year)
    seq.last += 1
    seq.save(update_fields=["last"])
    return f"{getattr(settings, 'PILOT_CODE_PREFIX', 'ST')}-{year}-{seq.last:04d}"


# Fields a draft application may leave empty until it is submitted (R1.1 is checked then).
DRAFT_OPTIONAL = [
    "goal",
    "scope",
    "responsible_body",
    "measures",
    "expected_outcomes",
    "implementing_body",
]


def _check_entry(pilot: Pilot, milestones: Sequence[MilestoneData], *, draft: bool = False) -> None:
    """R1.1 and R1.2 on a pilot about to be saved; raises ValidationError in Chinese.
    A draft application may leave the entry elements empty; its term is still checked."""
    if not draft:
        # R1.1 first, so that a missing element is named in Chinese rather than as a bare
        # "required" error.
        missing = rules.missing_entry_elements(pilot.__dict__)
        if missing:
            raise ValidationError(missing)
    exclude = ["code", "regions", "participating_units"]
    # The end-after-start constraint is reported by validate_term in Chinese, not by name.
    pilot.full_clean(
        exclude=exclude + (DRAFT_OPTIONAL if draft else []), validate_constraints=False
    )
    rules.validate_term(
        kind=pilot.kind,
        start=pilot.start_date,
        end=pilot.end_date,
        milestone_dates=[m.due_date for m in milestones],
    )


def _save_with_history(pilot: Pilot, *, actor, reason: str, update_fields=None) -> None:
    pilot._history_user = actor
    pilot._change_reason = reason
    if update_fields is None:
        pilot.save()
    else:
        pilot.save(update_fields=[*update_fields, "updated_at"])


def _replace_milestones(pilot: Pilot, milestones: Sequence[MilestoneData], *, actor) -> None:
    """Milestones are never deleted: ones no longer listed are marked removed."""
    current = {(m.due_date, m.title): m for m in pilot.milestones.filter(is_removed=False)}
    wanted = {(m.due_date, m.title): m for m in milestones}
    for key, row in current.items():
        if key not in wanted:
            row.is_removed = True
            row._history_user = actor
            row._change_reason = "时间节点调整"
            row.save(update_fields=["is_removed"])
    for key, data in wanted.items():
        row = current.get(key)
        if row is None:
            row = Milestone(pilot=pilot, due_date=data.due_date, title=data.title)
            row.reached_on = data.reached_on
            row._history_user = actor
            row._change_reason = "新增时间节点"
            row.save()
        elif row.reached_on != data.reached_on:
            row.reached_on = data.reached_on
            row._history_user = actor
            row._change_reason = "更新节点完成情况"
            row.save(update_fields=["reached_on"])


@transaction.atomic
def enter_pilot(
    *,
    actor,
    data: dict,
    regions: Iterable[Organisation] = (),
    participating_units: Iterable[Organisation] = (),
    milestones: Sequence[MilestoneData] = (),
    reason: str = "",
) -> Pilot:
    """R2.2: a lead department enters a pilot deployed by the state, a ministry or the province,
    or one it runs itself; it enters the life cycle at *approved* and must then be filed
    within a week. The approval's authority, document number and date are required."""
    if not access.can_enter_pilot(actor):
        raise PermissionDenied("只有省级牵头联系部门或省办可以直接录入试点。")
    pilot = Pilot(**data)
    if pilot.origin == Origin.CALL:
        raise ValidationError({"origin": "申报批次产生的试点须通过申报流程，不能直接录入。"})
    if not access.is_office(actor):
        _require_own_lead(
            actor, pilot.lead_department_id, "只能录入本部门（或本部门处室）牵头的试点。"
        )
        pilot.applicant = actor.organisation
    elif pilot.applicant_id is None:
        pilot.applicant = pilot.lead_department
    missing = {
        name: "直接录入的试点须填写批复信息（第二条第（二）项）。"
        for name in ("approval_authority", "approval_doc_number", "approval_date")
        if not getattr(pilot, name)
    }
    if missing:
        raise ValidationError(missing)
    pilot.status = Status.APPROVED
    pilot.code = next_code(timezone.localdate().year)
    _check_entry(pilot, milestones)
    _save_with_history(pilot, actor=actor, reason=reason or "直接录入试点（已批复，待备案）")
    pilot.regions.set(regions)
    pilot.participating_units.set(participating_units)
    _replace_milestones(pilot, milestones, actor=actor)
    _reindex_on_commit(pilot)
    return pilot


def _require_own_lead(actor, lead_id: int | None, message: str) -> None:
    """A lead department acts only on pilots it or one of its divisions leads."""
    org_id = actor.organisation_id
    lead = Organisation.objects.filter(pk=lead_id).values_list("pk", "parent_id").first()
    if org_id is None or lead is None or org_id not in lead:
        raise PermissionDenied(message)


def _reindex_on_commit(pilot: Pilot) -> None:
    """Keep the overlap index (R1.3) in step with the pilot's text."""

    def _index() -> None:
        from pilots import overlap

        overlap.index_pilot(pilot)

    transaction.on_commit(_index)


@transaction.atomic
def update_pilot(
    *,
    actor,
    pilot: Pilot,
    data: dict,
    regions: Iterable[Organisation] | None = None,
    participating_units: Iterable[Organisation] | None = None,
    milestones: Sequence[MilestoneData] | None = None,
    reason: str = "",
) -> Pilot:
    """Edit a pilot's content while its owner may still change it (draft, returned for
    revision, or approved and not yet filed); R1.1/R1.2 are checked again."""
    locked = Pilot.objects.select_for_update(of=("self",)).get(pk=pilot.pk)
    if not Pilot.objects.restrict(actor, "change").filter(pk=locked.pk).exists():
        raise PermissionDenied("该试点当前状态下您无权修改。")
    protected = {"code", "status", "applicant", "applicant_id"}
    for name, value in data.items():
        if name in protected:
            raise ValidationError(f"字段“{name}”不能通过编辑修改。")
        setattr(locked, name, value)
    if milestones is None:
        milestones = [
            MilestoneData(m.due_date, m.title, m.reached_on)
            for m in locked.milestones.filter(is_removed=False)
        ]
    if ("lead_department" in data or "lead_department_id" in data) and access.role_of(
        actor
    ) == Role.LEAD_DEPARTMENT:
        _require_own_lead(actor, locked.lead_department_id, "不能把试点改为其他部门牵头。")
    draft = locked.status in (Status.DRAFT, Status.RETURNED) and locked.origin == Origin.CALL
    _check_entry(locked, milestones, draft=draft)
    _save_with_history(locked, actor=actor, reason=reason or "修改试点信息")
    if regions is not None:
        locked.regions.set(regions)
    if participating_units is not None:
        locked.participating_units.set(participating_units)
    _replace_milestones(locked, milestones, actor=actor)
    _reindex_on_commit(locked)
    return locked
