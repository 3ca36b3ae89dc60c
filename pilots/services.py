"""Domain functions that change pilots. Views, the admin, imports and jobs all call these.

Each function is keyword-only, takes the acting user, validates against the regulation's
rules, changes state inside one transaction with the row locked, and writes history with the
actor and a reason.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence
from dataclasses import dataclass

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.constants import OrgKind, Role
from accounts.models import Organisation
from core.forms import length_errors
from core.history import mark, save_with_history
from pilots import policy, rules
from pilots.codes import next_code
from pilots.constants import LEDGER_STATES, Origin, PilotKind, Status
from pilots.models import TEXT_LIMITS, Milestone, Pilot


@dataclass(frozen=True)
class MilestoneData:
    due_date: dt.date
    title: str
    reached_on: dt.date | None = None


# Fields a draft application may leave empty until it is submitted (R1.1 is checked then):
# a draft keeps whatever has been filled in, even nothing.
DRAFT_OPTIONAL = [
    "name",
    "field",
    "kind",
    "implementing_body",
    "lead_department",
    "goal",
    "scope",
    "start_date",
    "end_date",
    "responsible_body",
    "measures",
    "expected_outcomes",
]


def term_errors(
    *, kind: str, start: dt.date | None, end: dt.date | None, milestone_dates: Sequence[dt.date]
) -> dict[str, list[str]]:
    """R1.2 as {field: [message]}; the milestone checks under "__all__"."""
    if not kind or kind not in PilotKind.values:
        return {}
    try:
        rules.validate_term(kind=kind, start=start, end=end, milestone_dates=milestone_dates)
    except ValidationError as exc:
        return dict(exc.message_dict)
    return {}


def entry_errors(
    values: dict, *, milestone_dates: Sequence[dt.date] = (), draft: bool = False
) -> dict[str, list[str]]:
    """Every R1.1 and R1.2 error of a pilot's content at once, as {field: [Chinese message]}:
    the entry elements left empty (not for a draft) and the term with its milestones. Shared
    by the forms (to show every error in one round) and `_check_entry`."""
    errors: dict[str, list[str]] = {
        name: [message] for name, message in length_errors(values, TEXT_LIMITS).items()
    }
    if not draft:
        for name, message in rules.missing_entry_elements(values).items():
            errors.setdefault(name, [message])
    for name, messages in term_errors(
        kind=values.get("kind") or "",
        start=values.get("start_date"),
        end=values.get("end_date"),
        milestone_dates=milestone_dates,
    ).items():
        if name not in errors:
            errors[name] = messages
    if draft and not milestone_dates:
        errors.pop("__all__", None)  # a draft may add its milestones later
    return errors


def _check_entry(pilot: Pilot, milestones: Sequence[MilestoneData], *, draft: bool = False) -> None:
    """R1.1 and R1.2 on a pilot about to be saved; raises one ValidationError in Chinese with
    every error keyed by field. A draft application may leave any field empty; what it does
    state is checked."""
    errors = entry_errors(
        pilot.__dict__, milestone_dates=[m.due_date for m in milestones], draft=draft
    )
    exclude = ["code", "regions", "participating_units", *errors]
    try:
        # The end-after-start constraint is reported by validate_term in Chinese, not by name.
        pilot.full_clean(
            exclude=exclude + (DRAFT_OPTIONAL if draft else []), validate_constraints=False
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)


def _replace_milestones(pilot: Pilot, milestones: Sequence[MilestoneData], *, actor) -> None:
    """Milestones are never deleted: ones no longer listed are marked removed."""
    current = {(m.due_date, m.title): m for m in pilot.milestones.filter(is_removed=False)}
    wanted = {(m.due_date, m.title): m for m in milestones}
    for key, row in current.items():
        if key not in wanted:
            row.is_removed = True
            save_with_history(row, actor=actor, reason="时间节点调整", update_fields=["is_removed"])
    for key, data in wanted.items():
        row = current.get(key)
        if row is None:
            row = Milestone(pilot=pilot, due_date=data.due_date, title=data.title)
            row.reached_on = data.reached_on
            save_with_history(row, actor=actor, reason="新增时间节点")
        elif row.reached_on != data.reached_on:
            row.reached_on = data.reached_on
            save_with_history(
                row, actor=actor, reason="更新节点完成情况", update_fields=["reached_on"]
            )


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
    if not policy.can_enter_pilot(actor):
        raise PermissionDenied("只有省级牵头联系部门或省办可以直接录入试点。")
    pilot = Pilot(**data)
    if pilot.origin == Origin.CALL:
        raise ValidationError({"origin": "申报批次产生的试点须通过申报流程，不能直接录入。"})
    if not policy.is_office(actor):
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
    if pilot.approval_date and pilot.approval_date > timezone.localdate():
        # R2.2: the filing week runs from the approval; an approval still to come has none.
        missing["approval_date"] = "批复日期不能晚于今天。"
    if missing:
        raise ValidationError(missing)
    regions = list(regions)
    _check_regions(regions)
    pilot.status = Status.APPROVED
    pilot.code = next_code(timezone.localdate().year)
    _check_entry(pilot, milestones)
    save_with_history(pilot, actor=actor, reason=reason or "直接录入试点（已批复，待备案）")
    pilot.regions.set(regions)
    pilot.participating_units.set(participating_units)
    _replace_milestones(pilot, milestones, actor=actor)
    _reindex_on_commit(pilot)
    return pilot


def region_errors(regions: Iterable[Organisation], keep: Iterable[int] = ()) -> list[str]:
    """A pilot's regions are places of this province (a prefecture, or a county under one):
    not a department, nor a unit of another province's plan (忻州市忻府区). Regions a pilot
    already names (`keep`) stay valid."""
    kept = set(keep)
    return [
        f"「{org.name}」不是本省的设区市或县（市、区），不能作为试点地区。"
        for org in regions
        if org.pk not in kept and not org.is_region
    ]


def _check_regions(regions: Sequence[Organisation], keep: Iterable[int] = ()) -> None:
    errors = region_errors(regions, keep)
    if errors:
        raise ValidationError({"regions": errors})


def _require_own_lead(actor, lead_id: int | None, message: str) -> None:
    """A lead department acts only on pilots it or one of its divisions leads."""
    org_id = actor.organisation_id
    lead = Organisation.objects.filter(pk=lead_id).values_list("pk", "parent_id").first()
    if org_id is None or lead is None or org_id not in lead:
        raise PermissionDenied(message)


def _reindex_on_commit(pilot: Pilot) -> None:
    """R1.3 on direct entry and on every change of content: once committed, keep the overlap
    index in step with the pilot's text and, for a pilot in the library (not a draft), flag
    the pilots it may duplicate."""
    from pilots import overlap

    overlap.check_on_commit(pilot, library_only=True)


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
    if ("lead_department" in data or "lead_department_id" in data) and policy.role_of(
        actor
    ) == Role.LEAD_DEPARTMENT:
        _require_own_lead(actor, locked.lead_department_id, "不能把试点改为其他部门牵头。")
    if regions is not None:
        regions = list(regions)
        _check_regions(regions, keep=locked.regions.values_list("pk", flat=True))
    draft = locked.status in (Status.DRAFT, Status.RETURNED) and locked.origin == Origin.CALL
    _check_entry(locked, milestones, draft=draft)
    save_with_history(locked, actor=actor, reason=reason or "修改试点信息")
    if regions is not None:
        locked.regions.set(regions)
    if participating_units is not None:
        locked.participating_units.set(participating_units)
    _replace_milestones(locked, milestones, actor=actor)
    _reindex_on_commit(locked)
    return locked


# Fields of a ledger pilot's record the office may correct (R2.3: the office keeps the
# ledger). The lead department, the ledger date and the state are not among them: each has
# its own step (filing, closure, extension), and none exists yet for moving the lead.
LEDGER_CORRECTABLE = (
    "name",
    "field",
    "kind",
    "origin",
    "implementing_body",
    "start_date",
    "end_date",
    "approval_doc_number",
    "approval_date",
)


def ledger_correction_errors(
    *,
    pilot: Pilot,
    data: dict,
    regions: Iterable[Organisation] | None = None,
    today: dt.date | None = None,
    region_ids: set[int] | None = None,
    milestone_dates: Sequence[dt.date] | None = None,
) -> dict[str, list[str]]:
    """What keeps `data` (field → new value) and `regions` from being written to a ledger
    pilot, as {field: [Chinese message]}; empty when the correction may be made. Shared by
    `correct_ledger_pilot` and the Excel import's preview, so both refuse the same rows.
    `region_ids` and `milestone_dates` may be given when already loaded (the pilot's regions
    and live milestones' dates)."""
    errors: dict[str, list[str]] = {}

    def add(name: str, message: str) -> None:
        errors.setdefault(name, []).append(message)

    today = today or timezone.localdate()
    if pilot.status not in LEDGER_STATES:
        add(
            "status",
            f"该试点当前为「{pilot.get_status_display()}」，不在台账中，不能更正台账信息。",
        )
    if "status" in data and data["status"] != pilot.status:
        add("status", "状态变更须通过备案、销号或延期流程办理，不能更改。")
    lead = data.get("lead_department")
    if lead is not None and getattr(lead, "pk", lead) != pilot.lead_department_id:
        add(
            "lead_department",
            f"已列入台账试点的牵头部门不能更改（系统中为「{pilot.lead_department.name}」）。",
        )
    if "ledger_since" in data and data["ledger_since"] != pilot.ledger_since:
        shown = rules.format_cn_date(pilot.ledger_since) or "空"
        add(
            "ledger_since",
            f"列入台账日期以省办确认备案为准，不能更改（系统中为{shown}）。",
        )
    unknown = set(data) - set(LEDGER_CORRECTABLE) - {"status", "lead_department", "ledger_since"}
    for name in sorted(unknown):
        add(name, "该项不能通过台账更正修改。")
    end = data.get("end_date")
    if end is not None and end > pilot.end_date:
        add(
            "end_date",
            "延长期限须通过延期申请（第二条第（四）项），由省办批准；批准的结束日期为"
            f"{rules.format_cn_date(pilot.end_date)}，不能改为更晚的日期。",
        )
    approved = data.get("approval_date", pilot.approval_date)
    if "approval_date" in data and approved and approved > today:
        add("approval_date", "批复日期不能晚于今天。")
    elif (
        "approval_date" in data
        and approved
        and pilot.ledger_since
        and pilot.ledger_since < approved
    ):
        add("approval_date", "批复日期不能晚于列入台账日期（先批复、后备案列入台账）。")
    if regions is not None:
        current = (
            region_ids
            if region_ids is not None
            else set(pilot.regions.values_list("pk", flat=True))
        )
        for org in regions:
            if org.kind not in (OrgKind.PREFECTURE, OrgKind.COUNTY):
                add("regions", f"「{org.name}」不是设区市或县（市、区）。")
            elif org.pk not in current and not org.is_region:
                add("regions", region_errors([org])[0])
            elif not org.is_active and org.pk not in current:
                add("regions", f"「{org.name}」已停用，不能新增为试点地区。")
    if not errors.get("end_date"):
        kind = data.get("kind", pilot.kind)
        milestones = (
            list(milestone_dates)
            if milestone_dates is not None
            else [m.due_date for m in pilot.milestones.filter(is_removed=False)]
        )
        try:
            rules.validate_term(
                kind=kind,
                start=data.get("start_date", pilot.start_date),
                end=data.get("end_date", pilot.end_date),
                milestone_dates=milestones,
            )
        except ValidationError as exc:
            for name, messages in exc.message_dict.items():
                # A ledger pilot imported without milestones is completed on its page; the
                # correction does not add to what is missing there.
                if name == "__all__" and not milestones:
                    continue
                for message in messages:
                    add("end_date" if name == "__all__" else name, message)
    return errors


@transaction.atomic
def correct_ledger_pilot(
    *,
    actor,
    pilot: Pilot,
    data: dict,
    regions: Iterable[Organisation] | None = None,
    reason: str,
) -> Pilot:
    """R2.3: the office corrects the record of a pilot in the ledger (a name, a document
    number, a shorter term, its regions …). An end date later than the approved one is an
    extension (R2.4, `pilots.term.request_extension`), never a correction; the lead
    department, the ledger date and the state are not changed here. Every changed field is
    saved once, with history by `actor` and `reason`."""
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以更正台账信息。")
    if not reason.strip():
        raise ValidationError({"reason": "请填写更正原因，记入变更历史。"})
    locked = (
        Pilot.objects.select_for_update(of=("self",))
        .select_related("lead_department")
        .get(pk=pilot.pk)
    )
    regions = list(regions) if regions is not None else None
    errors = ledger_correction_errors(pilot=locked, data=data, regions=regions)
    if errors:
        raise ValidationError(errors)
    changed = [name for name, value in data.items() if getattr(locked, name) != value]
    for name in changed:
        setattr(locked, name, data[name])
    if changed:
        # Only the changed fields are checked: a ledger pilot may lack what its page adds.
        locked.full_clean(
            exclude=[f.name for f in Pilot._meta.fields if f.name not in changed],
            validate_unique=False,
            validate_constraints=False,
        )
        save_with_history(locked, actor=actor, reason=reason, update_fields=changed)
    if regions is not None and {o.pk for o in regions} != set(
        locked.regions.values_list("pk", flat=True)
    ):
        mark(locked, actor=actor, reason=reason)
        locked.regions.set(regions)
    if changed:
        _reindex_on_commit(locked)
    return locked
