"""R2.4 + R1.2: what an extension's new end date and milestones must keep to. `pilots.term`
checks it for pages and the API alike, and again when the office approves."""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import ValidationError

from pilots import rules
from pilots.constants import PilotKind
from pilots.models import Pilot
from pilots.services import MilestoneData


def check_extension(
    pilot: Pilot, new_end_date: dt.date | None, milestones: Sequence[MilestoneData]
) -> None:
    """R2.4 + R1.2: the new end date comes after the current one; the whole term, counted
    from the original start date, stays within the kind's limit; there are dated milestones
    inside the new term. Raises ValidationError with Chinese messages keyed by field."""
    errors: dict[str, list[str]] = {}
    if new_end_date is None:  # the milestones are still checked: every error at once
        errors["new_end_date"] = ["请填写申请延至的日期。"]
    elif new_end_date <= pilot.end_date:
        errors.setdefault("new_end_date", []).append(
            f"延期后的结束日期须晚于原结束日期{rules.format_cn_date(pilot.end_date)}。"
        )
    if not milestones:
        errors.setdefault("__all__", []).append(
            "申请延期须明确阶段性目标和时间节点（第二条第（四）项），请至少填写一个节点。"
        )
    if new_end_date is None:
        raise ValidationError(errors)
    outside = [m.due_date for m in milestones if not pilot.start_date <= m.due_date <= new_end_date]
    if outside and pilot.kind != PilotKind.COMPREHENSIVE:  # validate_term checks those
        errors.setdefault("__all__", []).append(
            "时间节点须在延期后的试点期限内："
            + "、".join(rules.format_cn_date(d) for d in sorted(outside))
            + " 不在期限内。"
        )
    try:
        rules.validate_term(
            kind=pilot.kind,
            start=pilot.start_date,
            end=new_end_date,
            milestone_dates=[m.due_date for m in milestones] or [pilot.start_date],
        )
    except ValidationError as exc:
        for name, messages in exc.message_dict.items():
            key = "new_end_date" if name == "end_date" else name
            for message in messages:
                if key == "new_end_date":
                    message = f"自原开始日期{rules.format_cn_date(pilot.start_date)}起算，{message}"
                errors.setdefault(key, []).append(message)
    if errors:
        raise ValidationError(errors)
