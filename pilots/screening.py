"""Screening an application (N3, N2, R1.1, R1.3): the prefecture returns, rejects or endorses
it within its quota and the call's deadline; the lead department of the field gives its
opinion; the office approves (the filing clock of R2.2 starts), rejects or returns it. Each
decision but a return needs the R1.1 checklist; flagged overlaps (R1.3) need a verdict first.

Every step is one keyword-only function taking the acting user. Each locks the pilot row,
checks who may act and in which state, writes the opinion and the pilot's history with the
reason, and notifies the next party after commit.
"""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.models import Organisation, office_organisation
from core.history import save_with_history
from pilots import policy, rules
from pilots.calls import (
    OPINION_MAX,
    _lock,
    _notify,
    _record_opinion,
    _require_reason,
    _require_state,
)
from pilots.constants import SCREENING_CRITERIA, Decision, OverlapVerdict, Stage, Status
from pilots.models import Call, Opinion, OverlapFlag, Pilot, ScreeningChecklist
from pilots.validators import validate_doc_number

# --- the screening checklist (R1.1) and overlap verdicts (R1.3) ---------------------------


def _record_checklist(pilot, *, actor, stage, answers: dict | None) -> ScreeningChecklist:
    """R1.1: the screener answers every criterion (yes/no with a note) before deciding."""
    if not answers:
        raise ValidationError({"checklist": "请先填写准入审查表（第一条第（一）项），再作出决定。"})
    clean: dict[str, dict] = {}
    for key, label in SCREENING_CRITERIA:
        answer = answers.get(key)
        if not isinstance(answer, dict) or answer.get("ok") not in (True, False):
            raise ValidationError({"checklist": f"准入审查表未填写完整：{label}。"})
        note = str(answer.get("note") or "").strip()
        if answer["ok"] is False and not note:
            raise ValidationError({"checklist": f"不符合的审查项须说明理由：{label}。"})
        clean[key] = {"ok": answer["ok"], "note": note[:500]}
    checklist = ScreeningChecklist(
        pilot=pilot,
        stage=stage,
        answers=clean,
        organisation=actor.organisation or office_organisation(),
        author=actor,
    )
    save_with_history(checklist, actor=actor, reason="")
    return checklist


def _require_all_met(checklist: ScreeningChecklist, action: str) -> None:
    if not checklist.all_met:
        raise ValidationError(
            {"checklist": f"准入审查有不符合项，不能{action}；可退回修改或不予通过。"}
        )


def _require_overlaps_decided(pilot: Pilot, action: str, *, actor) -> None:
    """R1.3: every flagged overlap carries the screener's verdict before the application
    moves on; one judged a duplicate to be refused blocks it. A flag against a pilot the
    screener may not see is the office's to decide: it does not hold the screener up."""
    flags = policy.overlap_flags_for(actor, pilot)
    verdicts = {f.verdict for f in flags if not f.hidden}
    if OverlapVerdict.PENDING in verdicts:
        raise ValidationError(
            {"overlap": f"还有未判定的重复交叉提示（第一条第（三）项），请逐项判定后再{action}。"}
        )
    if OverlapVerdict.REJECT in verdicts:
        raise ValidationError(
            {"overlap": f"该申报已被判定与现有试点重复、不予准入，不能{action}。"}
        )


# --- the prefecture -------------------------------------------------------------------------


def _require_prefecture(actor, pilot: Pilot) -> None:
    if not policy.is_screening_prefecture(actor, pilot):
        raise PermissionDenied("只有申报单位所在的设区市局可以把关本申报。")


@transaction.atomic
def prefecture_return(*, actor, pilot: Pilot, reason: str) -> Pilot:
    """N3: the prefecture returns an application to its applicant for revision, with reasons."""
    pilot = _lock(pilot)
    _require_prefecture(actor, pilot)
    reason = _require_reason(reason, "退回理由")
    _require_state(pilot, Status.SUBMITTED, action="退回")
    pilot.status = Status.RETURNED
    save_with_history(
        pilot, actor=actor, reason=f"设区市退回修改：{reason}", update_fields=["status"]
    )
    _record_opinion(
        pilot, actor=actor, stage=Stage.PREFECTURE, decision=Decision.RETURN, text=reason
    )
    _notify(pilot.applicant, pilot, f"申报“{pilot.name}”被退回修改", reason)
    return pilot


@transaction.atomic
def prefecture_reject(*, actor, pilot: Pilot, reason: str, checklist: dict | None) -> Pilot:
    """N3: the prefecture decides not to recommend an application (R1.1 checklist required)."""
    pilot = _lock(pilot)
    _require_prefecture(actor, pilot)
    reason = _require_reason(reason, "不予推荐的理由")
    _require_state(pilot, Status.SUBMITTED, action="作出不予推荐决定")
    _record_checklist(pilot, actor=actor, stage=Stage.PREFECTURE, answers=checklist)
    pilot.status = Status.REJECTED
    save_with_history(
        pilot, actor=actor, reason=f"设区市不予推荐：{reason}", update_fields=["status"]
    )
    _record_opinion(
        pilot, actor=actor, stage=Stage.PREFECTURE, decision=Decision.REJECT, text=reason
    )
    _notify(pilot.applicant, pilot, f"申报“{pilot.name}”未获推荐", reason)
    return pilot


def endorsed_count(call: Call, prefecture: Organisation) -> int:
    """N3: how many of a call's applications a prefecture has endorsed (its quota in use)."""
    return Pilot.objects.filter(call=call, endorsing_prefecture=prefecture).count()


@transaction.atomic
def prefecture_endorse(
    *, actor, pilot: Pilot, opinion: str, checklist: dict | None, now: dt.datetime | None = None
) -> Pilot:
    """N3: the prefecture endorses an application with its opinion and sends it to the office.
    Refused past the call's deadline or past the prefecture's quota (default 2); requires the
    R1.1 checklist with every criterion met and a verdict on every R1.3 overlap flag.
    The call row is locked, so two endorsements at once cannot both take the last place."""
    pilot = _lock(pilot)
    _require_prefecture(actor, pilot)
    opinion = _require_reason(opinion, "推荐意见")
    _require_state(pilot, Status.SUBMITTED, action="推荐")
    now = now or timezone.now()
    if pilot.call_id is None:
        raise ValidationError("该申报不属于任何申报批次，不能推荐。")
    call = Call.objects.select_for_update().get(pk=pilot.call_id)
    if now > call.deadline:
        raise ValidationError(
            f"申报批次已于{rules.format_cn_date(timezone.localtime(call.deadline).date())}截止，"
            "不能再推荐（第三条）。"
        )
    used = endorsed_count(call, actor.organisation)
    if used >= call.prefecture_quota:
        raise ValidationError(
            f"本批次每个设区市推荐不超过{call.prefecture_quota}项，"
            f"贵局已推荐{used}项，不能再推荐（第三条）。"
        )
    _require_overlaps_decided(pilot, "推荐", actor=actor)
    checklist_row = _record_checklist(pilot, actor=actor, stage=Stage.PREFECTURE, answers=checklist)
    _require_all_met(checklist_row, "推荐")
    pilot.status = Status.ENDORSED
    pilot.endorsing_prefecture = actor.organisation
    pilot.endorsed_at = now
    save_with_history(
        pilot,
        actor=actor,
        reason=f"设区市推荐：{opinion}",
        update_fields=["status", "endorsing_prefecture", "endorsed_at"],
    )
    _record_opinion(
        pilot, actor=actor, stage=Stage.PREFECTURE, decision=Decision.ENDORSE, text=opinion
    )
    subject = f"待审定：{actor.organisation.short_name}推荐了申报“{pilot.name}”"
    _notify(office_organisation(), pilot, subject)
    _notify(
        pilot.lead_department,
        pilot,
        f"请提出把关意见：{pilot.name}",
        "牵头部门按领域把关（通知第二条）。",
    )
    return pilot


# --- the lead department (N2) ------------------------------------------------------------------


@transaction.atomic
def department_opinion(
    *, actor, pilot: Pilot, agree: bool, text: str, checklist: dict | None
) -> Opinion:
    """N2: the lead department of the field screens an endorsed application and gives its
    opinion, with the R1.1 checklist. The state does not change; the office decides."""
    pilot = _lock(pilot)
    if not policy.is_lead_department_of(actor, pilot):
        raise PermissionDenied("只有本试点的省级牵头联系部门可以提出把关意见。")
    text = _require_reason(text, "把关意见")
    _require_state(pilot, Status.ENDORSED, action="提出把关意见")
    _record_checklist(pilot, actor=actor, stage=Stage.DEPARTMENT, answers=checklist)
    opinion = _record_opinion(
        pilot,
        actor=actor,
        stage=Stage.DEPARTMENT,
        decision=Decision.AGREE if agree else Decision.DISAGREE,
        text=text,
    )
    save_with_history(
        pilot,
        actor=actor,
        reason=f"牵头部门把关意见（{'同意' if agree else '不同意'}）：{text}",
        update_fields=[],
    )
    _notify(office_organisation(), pilot, f"牵头部门已对“{pilot.name}”提出意见", text)
    return opinion


# --- the office -------------------------------------------------------------------------------


def _require_office(actor) -> None:
    if not policy.is_office(actor):
        raise PermissionDenied("只有省办可以审定申报。")


@transaction.atomic
def office_approve(
    *,
    actor,
    pilot: Pilot,
    authority: str,
    doc_number: str,
    approval_date: dt.date,
    opinion: str = "",
    checklist: dict | None,
) -> Pilot:
    """The office approves an endorsed application: approval authority, document number and
    date are recorded, and the filing clock of R2.2 starts (due approval date + 7 days)."""
    pilot = _lock(pilot)
    _require_office(actor)
    _require_state(pilot, Status.ENDORSED, action="批复")
    errors = {}
    if not authority.strip():
        errors["authority"] = "请填写批复机关。"
    try:
        validate_doc_number(doc_number)
    except ValidationError as exc:
        errors["doc_number"] = exc.messages[0]
    if not doc_number.strip():
        errors["doc_number"] = "请填写批复文号。"
    if approval_date is None:
        errors["approval_date"] = "请填写批复日期。"
    elif approval_date > timezone.localdate():
        errors["approval_date"] = "批复日期不能晚于今天。"
    if len(opinion or "") > OPINION_MAX:
        errors["reason"] = f"审定意见不超过{OPINION_MAX}字（现有{len(opinion)}字）。"
    if errors:
        raise ValidationError(errors)
    _require_overlaps_decided(pilot, "批复", actor=actor)
    checklist_row = _record_checklist(pilot, actor=actor, stage=Stage.OFFICE, answers=checklist)
    _require_all_met(checklist_row, "批复")
    pilot.status = Status.APPROVED
    pilot.approval_authority = authority.strip()
    pilot.approval_doc_number = doc_number.strip()
    pilot.approval_date = approval_date
    save_with_history(
        pilot,
        actor=actor,
        reason=f"省办批复同意（{doc_number}）" + (f"：{opinion}" if opinion else ""),
        update_fields=["status", "approval_authority", "approval_doc_number", "approval_date"],
    )
    _record_opinion(pilot, actor=actor, stage=Stage.OFFICE, decision=Decision.APPROVE, text=opinion)
    due = rules.format_cn_date(rules.filing_due(approval_date))
    _notify(pilot.applicant, pilot, f"申报“{pilot.name}”已批复同意")
    _notify(
        pilot.lead_department,
        pilot,
        f"请备案：{pilot.name}",
        f"试点已于{rules.format_cn_date(approval_date)}批复，请于{due}前报送备案表并附试点方案（第二条第（二）项）。",
    )
    return pilot


@transaction.atomic
def office_reject(*, actor, pilot: Pilot, reason: str, checklist: dict | None) -> Pilot:
    """The office decides not to approve an endorsed application, with reasons."""
    pilot = _lock(pilot)
    _require_office(actor)
    reason = _require_reason(reason, "不予通过的理由")
    _require_state(pilot, Status.ENDORSED, action="作出不予通过决定")
    _record_checklist(pilot, actor=actor, stage=Stage.OFFICE, answers=checklist)
    pilot.status = Status.REJECTED
    save_with_history(
        pilot, actor=actor, reason=f"省办不予通过：{reason}", update_fields=["status"]
    )
    _record_opinion(pilot, actor=actor, stage=Stage.OFFICE, decision=Decision.REJECT, text=reason)
    _notify(pilot.applicant, pilot, f"申报“{pilot.name}”未获通过", reason)
    if pilot.endorsing_prefecture_id and pilot.endorsing_prefecture_id != pilot.applicant_id:
        _notify(pilot.endorsing_prefecture, pilot, f"申报“{pilot.name}”未获通过", reason)
    return pilot


@transaction.atomic
def office_return(*, actor, pilot: Pilot, reason: str) -> Pilot:
    """The office returns an endorsed application for revision; the prefecture's quota place
    is released, and the revised application goes through the prefecture again."""
    pilot = _lock(pilot)
    _require_office(actor)
    reason = _require_reason(reason, "退回理由")
    _require_state(pilot, Status.ENDORSED, action="退回")
    prefecture = pilot.endorsing_prefecture
    pilot.status = Status.RETURNED
    pilot.endorsing_prefecture = None
    pilot.endorsed_at = None
    save_with_history(
        pilot,
        actor=actor,
        reason=f"省办退回修改：{reason}",
        update_fields=["status", "endorsing_prefecture", "endorsed_at"],
    )
    _record_opinion(pilot, actor=actor, stage=Stage.OFFICE, decision=Decision.RETURN, text=reason)
    _notify(pilot.applicant, pilot, f"申报“{pilot.name}”被省办退回修改", reason)
    if prefecture is not None and prefecture.pk != pilot.applicant_id:
        _notify(prefecture, pilot, f"申报“{pilot.name}”被省办退回修改", reason)
    return pilot


# --- overlap verdicts (R1.3) ----------------------------------------------------------------


def can_decide_overlap(actor, pilot: Pilot) -> bool:
    if pilot.status == Status.SUBMITTED:
        return policy.is_screening_prefecture(actor, pilot) or policy.is_office(actor)
    if pilot.status == Status.ENDORSED:
        return policy.is_office(actor) or policy.is_lead_department_of(actor, pilot)
    return False


@transaction.atomic
def decide_overlap(*, actor, flag: OverlapFlag, verdict: str, note: str = "") -> OverlapFlag:
    """R1.3: the screener records whether a flagged pilot is distinct from the application,
    or overlaps it (to merge, or to refuse entry)."""
    flag = (
        OverlapFlag.objects.select_for_update(of=("self",))
        .select_related("pilot__applicant")
        .get(pk=flag.pk)
    )
    if not can_decide_overlap(actor, flag.pilot):
        raise PermissionDenied("您当前无权判定该重复交叉提示。")
    if not policy.may_decide_overlap(actor, flag):
        raise PermissionDenied("该提示涉及其他单位的申报，由省办判定（第一条第（三）项）。")
    if verdict not in OverlapVerdict.values or verdict == OverlapVerdict.PENDING:
        raise ValidationError({"verdict": "请选择判定结果。"})
    if verdict != OverlapVerdict.DISTINCT and not note.strip():
        raise ValidationError({"note": "判定为重复的，请说明理由。"})
    flag.verdict = verdict
    flag.note = note.strip()[:500]
    flag.decided_by = actor
    flag.decided_at = timezone.now()
    save_with_history(
        flag,
        actor=actor,
        reason=f"重复交叉判定：{OverlapVerdict(verdict).label}",
        update_fields=["verdict", "note", "decided_by", "decided_at"],
    )
    return flag
