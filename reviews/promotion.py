"""Promotion of what worked (R3.4, N3): a lead department reports how its pilot's experience
is being replicated; the office recognises a pilot as replicable experience or as a
demonstration case (and records the law or normative document it became); the office drafts
an edition of the published list from the recognitions, choosing the public columns, and
publishes it. A published edition is frozen; drafts are never public.

Each step is one keyword-only function taking the acting user; views, API and admin call
these and nothing else.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Sequence

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import office_organisation
from core.history import save_with_history
from pilots import policy, rules
from pilots.calls import _lock, _notify
from pilots.constants import Status
from pilots.models import Pilot
from reviews.constants import PUBLIC_FIELDS, ListStatus, RecognitionKind
from reviews.models import ListEntry, PromotionReport, PublishedList, Recognition

# Pilots whose experience can be reported and recognised: in the ledger or closed.
PROMOTED_STATES = (
    Status.ACTIVE,
    Status.CLOSURE_REPORTED,
    Status.EXTENSION_REQUESTED,
    Status.CLOSED,
)
PUBLIC_FIELD_KEYS = [key for key, _ in PUBLIC_FIELDS]


def _require_office(actor, action: str) -> None:
    if not policy.is_office(actor):
        raise PermissionDenied(f"只有省办可以{action}。")


def _require_promoted_state(pilot: Pilot) -> None:
    if pilot.status not in PROMOTED_STATES:
        raise ValidationError(
            f"试点当前状态为“{pilot.get_status_display()}”，尚无可推广的经验（须已列入台账或已销号）。"
        )


@transaction.atomic
def report_promotion(*, actor, pilot: Pilot, text: str, adopted_by: str = "") -> PromotionReport:
    """R3.4: the lead department reports how the pilot's experience is replicated."""
    pilot = _lock(pilot)
    if not policy.is_lead_department_of(actor, pilot):
        raise PermissionDenied("只有该试点的牵头联系部门可以报送推广情况。")
    _require_promoted_state(pilot)
    if not text.strip():
        raise ValidationError({"text": "请填写复制推广情况。"})
    report = PromotionReport(
        pilot=pilot,
        text=text.strip(),
        adopted_by=adopted_by.strip()[:500],
        organisation=actor.organisation,
        submitted_by=actor,
    )
    save_with_history(report, actor=actor, reason="报送推广情况")
    _notify(
        office_organisation(),
        pilot,
        f"推广情况报告：{pilot.name}",
        f"{actor.organisation.name}已报送。",
    )
    return report


@transaction.atomic
def recognise(
    *, actor, pilot: Pilot, kind: str, summary: str, document: str = "", today=None
) -> Recognition:
    """R3.4, N3: the office recognises the pilot as replicable experience or a demonstration
    case, with the public summary; recognising it again updates the summary, with history."""
    _require_office(actor, "认定可复制推广经验和示范案例")
    pilot = _lock(pilot)
    _require_promoted_state(pilot)
    errors = {}
    if kind not in RecognitionKind.values:
        errors["kind"] = "请选择认定类别。"
    if not summary.strip():
        errors["summary"] = "请填写可公开的经验做法。"
    if errors:
        raise ValidationError(errors)
    recognition = Recognition.objects.filter(pilot=pilot, kind=kind).first()
    reason = "更新推广认定" if recognition else f"认定为{RecognitionKind(kind).label}"
    if recognition is None:
        recognition = Recognition(pilot=pilot, kind=kind)
    recognition.summary = summary.strip()
    recognition.document = document.strip()[:300]
    recognition.is_withdrawn = False
    recognition.marked_by = actor
    recognition.marked_on = today or timezone.localdate()
    save_with_history(recognition, actor=actor, reason=reason)
    _notify(
        pilot.lead_department,
        pilot,
        f"试点已认定为{RecognitionKind(kind).label}：{pilot.name}",
        recognition.summary[:200],
    )
    return recognition


def _public_values(recognition: Recognition, fields: Sequence[str]) -> dict:
    pilot = recognition.pilot
    values = {
        "regions": "、".join(r.name for r in pilot.regions.all()),
        "lead_department": pilot.lead_department.name,
        "field": pilot.get_field_display(),
        "term": f"{rules.format_cn_date(pilot.start_date)}至{rules.format_cn_date(pilot.end_date)}",
        "summary": recognition.summary,
        "document": recognition.document,
    }
    return {key: values[key] for key in fields}


@transaction.atomic
def draft_list(
    *, actor, title: str, fields: Sequence[str], recognitions: Sequence[Recognition]
) -> PublishedList:
    """The office drafts an edition: the chosen recognitions, with only the chosen public
    columns, copied as they are now."""
    _require_office(actor, "编制推广清单")
    errors = {}
    if not title.strip():
        errors["title"] = "请填写清单名称。"
    unknown = [f for f in fields if f not in PUBLIC_FIELD_KEYS]
    if unknown:
        errors["fields"] = "所选公开字段无效。"
    chosen = [r for r in recognitions if not r.is_withdrawn]
    if not chosen:
        errors["recognitions"] = "请至少选择一项认定的试点。"
    if errors:
        raise ValidationError(errors)
    ordered = [key for key in PUBLIC_FIELD_KEYS if key in fields]
    edition = PublishedList(title=title.strip(), fields=ordered, created_by=actor)
    save_with_history(edition, actor=actor, reason="编制推广清单")
    chosen = sorted(chosen, key=lambda r: (r.kind != RecognitionKind.DEMONSTRATION, r.pilot.code))
    ListEntry.objects.bulk_create(
        ListEntry(
            published_list=edition,
            number=n,
            kind=r.kind,
            code=r.pilot.code,
            name=r.pilot.name,
            values=_public_values(r, ordered),
        )
        for n, r in enumerate(chosen, start=1)
    )
    return edition


@transaction.atomic
def publish_list(*, actor, edition: PublishedList, today: dt.date | None = None) -> PublishedList:
    """The office publishes a drafted edition; from then on it is public and never changes."""
    _require_office(actor, "发布推广清单")
    edition = PublishedList.objects.select_for_update().get(pk=edition.pk)
    if edition.status != ListStatus.DRAFT:
        raise ValidationError("该清单已发布，不能再次发布或修改。")
    edition.status = ListStatus.PUBLISHED
    edition.published_on = today or timezone.localdate()
    save_with_history(edition, actor=actor, reason="发布推广清单")
    return edition


def public_lists():
    """The published editions, newest first: all the public page may show."""
    return PublishedList.objects.filter(status=ListStatus.PUBLISHED).order_by(
        "-published_on", "-pk"
    )
