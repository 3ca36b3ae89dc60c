"""Calls for applications (申报批次, N3) and the applicant's part of the application path: a
county or prefecture bureau drafts an application in an open call (R1.1 elements may wait,
R1.2 term checked), submits it to its prefecture (R1.3 overlaps flagged) or withdraws it.
The screeners' decisions are in `pilots.screening`.

Every step is one keyword-only function taking the acting user. Each locks the pilot row,
checks who may act and in which state, writes the opinion and the pilot's history with the
reason, and notifies the next party after commit. The helpers here (`_lock`,
`_require_state`, `_require_reason`, `_notify`, …) are shared by the later steps.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable, Sequence

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, office_organisation
from accounts.notify import notify
from core.dates import format_cn_date
from core.history import save_with_history
from pilots import policy
from pilots.codes import next_code
from pilots.constants import Decision, Origin, ReformField, Stage, Status
from pilots.models import Call, Opinion, Pilot
from pilots.services import (
    MilestoneData,
    _check_entry,
    _replace_milestones,
    region_errors,
)

# --- calls -------------------------------------------------------------------------------


@transaction.atomic
def open_call(
    *,
    actor,
    title: str,
    deadline: dt.datetime,
    fields: Sequence[str] = (),
    prefecture_quota: int | None = None,
    description: str = "",
) -> Call:
    """N3: the office opens a call with the fields it covers, a deadline and a quota."""
    if not policy.can_open_call(actor):
        raise PermissionDenied("只有省办可以发布申报批次。")
    errors = call_errors(
        title=title, deadline=deadline, fields=fields, prefecture_quota=prefecture_quota
    )
    if errors:
        raise ValidationError(errors)
    quota = settings.CALL_DEFAULT_PREFECTURE_QUOTA if prefecture_quota is None else prefecture_quota
    call = Call(
        title=title.strip(),
        deadline=deadline,
        fields=list(fields),
        prefecture_quota=quota,
        description=description,
        opened_by=actor,
    )
    save_with_history(call, actor=actor, reason="发布申报批次")
    return call


# A call collects applications for weeks or months; a deadline years ahead is a typing slip.
CALL_HORIZON_YEARS = 2


def call_deadline_horizon(today: dt.date | None = None) -> dt.date:
    """The latest day a call's deadline may fall on: CALL_HORIZON_YEARS from today."""
    today = today or timezone.localdate()
    try:
        return today.replace(year=today.year + CALL_HORIZON_YEARS)
    except ValueError:  # 29 February
        return today.replace(year=today.year + CALL_HORIZON_YEARS, day=28)


def _local_day(moment: dt.datetime) -> dt.date:
    return timezone.localtime(moment).date() if timezone.is_aware(moment) else moment.date()


def call_errors(
    *, title: str, deadline: dt.datetime | None, fields: Sequence[str], prefecture_quota
) -> dict[str, str]:
    """N3: what keeps a call from being opened, keyed by field (the form shows them all at
    once; `open_call` refuses with them)."""
    errors: dict[str, str] = {}
    if not (title or "").strip():
        errors["title"] = "请填写批次名称。"
    if deadline is not None and deadline <= timezone.now():
        errors["deadline"] = "报送截止时间须晚于当前时间。"
    elif deadline is not None and _local_day(deadline) > call_deadline_horizon():
        errors["deadline"] = (
            f"报送截止时间不能晚于{format_cn_date(call_deadline_horizon())}"
            f"（申报批次的截止时间应在{CALL_HORIZON_YEARS}年以内），请检查年份。"
        )
    unknown = [f for f in fields if f not in ReformField.values]
    if unknown:
        errors["fields"] = "未知的改革领域：" + "、".join(unknown)
    if prefecture_quota is not None and prefecture_quota < 1:
        errors["prefecture_quota"] = "推荐名额至少为1。"
    return errors


# --- helpers ------------------------------------------------------------------------------


def _lock(pilot: Pilot) -> Pilot:
    return (
        Pilot.objects.select_for_update(of=("self",))
        .select_related("applicant", "lead_department")
        .get(pk=pilot.pk)
    )


def _require_state(pilot: Pilot, *states: str, action: str) -> None:
    if pilot.status not in states:
        allowed = "、".join(Status(s).label for s in states)
        raise ValidationError(
            f"当前状态为“{pilot.get_status_display()}”，不能{action}（仅限：{allowed}）。"
        )


# An opinion or a reason is a paragraph: 1,000 字 (the forms show the same limit).
OPINION_MAX = 1000


def _require_reason(reason: str, what: str, limit: int = OPINION_MAX) -> str:
    if not reason or not reason.strip():
        raise ValidationError({"reason": f"请填写{what}。"})
    reason = reason.strip()
    _limit_text(reason, what, limit, field="reason")
    return reason


def _limit_text(text: str, what: str, limit: int, *, field: str) -> None:
    """An opinion, reason or note over its limit is refused, with its length."""
    if text and len(text) > limit:
        raise ValidationError({field: f"{what}不超过{limit}字（现有{len(text)}字）。"})


def _record_opinion(pilot, *, actor, stage, decision, text="") -> Opinion:
    opinion = Opinion(
        pilot=pilot,
        stage=stage,
        decision=decision,
        text=text,
        organisation=actor.organisation or office_organisation(),
        author=actor,
    )
    save_with_history(opinion, actor=actor, reason="")
    return opinion


def _notify(org: Organisation | None, pilot: Pilot, subject: str, body: str = "") -> None:
    if org is not None:
        notify(organisation=org, subject=subject, body=body, url=pilot.get_absolute_url())


def _prefecture(pilot: Pilot) -> Organisation | None:
    pid = policy.prefecture_id_of(pilot)
    return pilot.applicant if pid == pilot.applicant_id else pilot.applicant.parent


# --- the applicant -------------------------------------------------------------------------


@transaction.atomic
def create_application(
    *,
    actor,
    call: Call,
    data: dict,
    regions: Iterable[Organisation] = (),
    participating_units: Iterable[Organisation] = (),
    milestones: Sequence[MilestoneData] = (),
) -> Pilot:
    """N3: a county or prefecture bureau drafts an application (申报表) in an open call. The
    draft may be saved incomplete; the entry elements are checked on submission."""
    if not policy.can_apply(actor):
        raise PermissionDenied("只有设区市局或县（市、区）局可以填报申报表。")
    if not call.is_open():
        raise ValidationError("该申报批次已截止或已撤销，不能再填报。")
    pilot = Pilot(**data)
    pilot.origin = Origin.CALL
    pilot.call = call
    pilot.applicant = actor.organisation
    pilot.status = Status.DRAFT
    pilot.code = next_code(timezone.localdate().year)
    errors: dict[str, list[str]] = {}
    if call.fields and pilot.field and pilot.field not in call.fields:
        errors["field"] = ["该批次不受理此改革领域的申报。"]
    regions = list(regions)
    if region_errors(regions):
        errors["regions"] = region_errors(regions)
    try:
        _check_entry(pilot, milestones, draft=True)
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            errors.setdefault(name, []).extend(messages)
    if errors:
        raise ValidationError(errors)
    save_with_history(pilot, actor=actor, reason="新建申报表（草稿）")
    pilot.regions.set(regions)
    pilot.participating_units.set(participating_units)
    _replace_milestones(pilot, milestones, actor=actor)
    return pilot


@transaction.atomic
def submit_application(*, actor, pilot: Pilot) -> Pilot:
    """N3: the applicant sends its application to its prefecture for screening. R1.1: every
    entry element must be stated; R1.2: the term and milestones must hold; R1.3: possible
    overlaps with existing pilots are flagged for the screener."""
    pilot = _lock(pilot)
    if not policy.is_applicant(actor, pilot):
        raise PermissionDenied("只有申报单位可以提交本申报。")
    _require_state(pilot, Status.DRAFT, Status.RETURNED, action="提交")
    if pilot.call_id and not pilot.call.is_open():
        raise ValidationError("该申报批次已截止，不能提交。")
    milestones = [
        MilestoneData(m.due_date, m.title, m.reached_on)
        for m in pilot.milestones.filter(is_removed=False)
    ]
    errors = submission_errors(pilot, milestones, has_regions=pilot.regions.exists())
    if errors:
        raise ValidationError(errors)
    pilot.status = Status.SUBMITTED
    save_with_history(pilot, actor=actor, reason="提交设区市把关", update_fields=["status"])
    _record_opinion(pilot, actor=actor, stage=Stage.PREFECTURE, decision=Decision.SUBMIT)
    _flag_overlaps_on_commit(pilot)
    _notify(
        _prefecture(pilot),
        pilot,
        f"待把关：{pilot.applicant.short_name}提交了申报“{pilot.name}”",
        "请在申报批次截止前完成把关（第三条：每个设区市一般不超过2项）。",
    )
    return pilot


def submission_errors(
    pilot: Pilot, milestones: Sequence[MilestoneData], *, has_regions: bool
) -> dict[str, list[str]]:
    """Everything that keeps an application from being submitted, at once, keyed by field:
    the entry elements (R1.1), the other required fields, the term (R1.2) and the regions."""
    errors: dict[str, list[str]] = {}
    try:
        _check_entry(pilot, milestones)
    except ValidationError as exc:
        errors.update(exc.message_dict)
    if not has_regions:
        errors["regions"] = ["请选择至少一个试点地区。"]
    return errors


def _flag_overlaps_on_commit(pilot: Pilot) -> None:
    def _flag() -> None:
        from pilots import overlap

        overlap.index_pilot(pilot)
        overlap.record_overlaps(pilot)

    transaction.on_commit(_flag)


@transaction.atomic
def withdraw_application(*, actor, pilot: Pilot, reason: str = "") -> Pilot:
    """The applicant withdraws its application before the office decides; kept, never deleted."""
    pilot = _lock(pilot)
    if not policy.is_applicant(actor, pilot):
        raise PermissionDenied("只有申报单位可以撤回本申报。")
    _require_state(pilot, Status.DRAFT, Status.SUBMITTED, Status.RETURNED, action="撤回")
    pilot.status = Status.WITHDRAWN
    pilot.endorsing_prefecture = None
    save_with_history(
        pilot,
        actor=actor,
        reason=f"撤回申报：{reason}" if reason else "撤回申报",
        update_fields=["status", "endorsing_prefecture"],
    )
    _record_opinion(
        pilot, actor=actor, stage=Stage.PREFECTURE, decision=Decision.WITHDRAW, text=reason
    )
    return pilot
