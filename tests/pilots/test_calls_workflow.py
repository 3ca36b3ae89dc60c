"""The application path through its domain functions (pilots.workflow): calls and quotas (N3),
entry screening (R1.1), terms (R1.2), overlap verdicts (R1.3), who may act, approval and the
filing clock (R2.2), and the trail each step leaves (history, opinions, notices, e-mail)."""

from __future__ import annotations

import datetime as dt
import threading
import time
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection

from accounts.constants import Role
from accounts.models import Notification
from pilots import workflow
from pilots.constants import Decision, OverlapVerdict, PilotKind, Stage, Status
from pilots.models import Call, Opinion, OverlapFlag, Pilot, ScreeningChecklist
from pilots.services import MilestoneData
from tests.factories import UserFactory
from tests.pilots.conftest import checklist_answers

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)
TODAY = D(2026, 3, 20)
DOC_NUMBER = "浙环函〔2026〕88号"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def in_march_2026(time_machine):
    """Calls open and decisions are taken on 20 March 2026 (the filing due date is fixed)."""
    time_machine.move_to(NOW, tick=False)


def _messages(exc_info) -> str:
    return "；".join(exc_info.value.messages)


def approve(personas, pilot, **kwargs):
    kwargs.setdefault("authority", "浙江省生态环境厅")
    kwargs.setdefault("doc_number", DOC_NUMBER)
    kwargs.setdefault("approval_date", TODAY)
    kwargs.setdefault("opinion", "同意开展试点。")
    kwargs.setdefault("checklist", checklist_answers())
    pilot = workflow.office_approve(
        actor=kwargs.pop("actor", personas["office"]), pilot=pilot, **kwargs
    )
    pilot.refresh_from_db()
    return pilot


# --- N3: calls, quota and deadline ---------------------------------------------------------


def test_n3_office_opens_a_call_others_may_not(personas, open_call_for):
    call = open_call_for(quota=2)
    assert call.is_open()
    assert call.prefecture_quota == 2
    assert call.history.first().history_user == personas["office"]
    for name in ("dept", "hangzhou", "county"):
        with pytest.raises(PermissionDenied):
            workflow.open_call(
                actor=personas[name], title="批次", deadline=NOW + dt.timedelta(days=5)
            )


def test_n3_open_call_validates_in_chinese(personas):
    with pytest.raises(ValidationError) as exc:
        workflow.open_call(
            actor=personas["office"],
            title="  ",
            deadline=NOW - dt.timedelta(hours=1),
            fields=["nonsense"],
            prefecture_quota=0,
        )
    errors = exc.value.message_dict
    assert errors["title"] == ["请填写批次名称。"]
    assert errors["deadline"] == ["报送截止时间须晚于当前时间。"]
    assert "未知的改革领域" in errors["fields"][0]
    assert errors["prefecture_quota"] == ["推荐名额至少为1。"]
    assert not Call.objects.exists()


def test_n3_quota_third_endorsement_refused_naming_the_quota(orgs, call, make_application, endorse):
    first, second, third = (make_application() for _ in range(3))
    assert endorse(first).endorsing_prefecture == orgs["hangzhou"]
    endorse(second)
    assert workflow.endorsed_count(call, orgs["hangzhou"]) == 2
    with pytest.raises(ValidationError) as exc:
        endorse(third)
    message = _messages(exc)
    assert "每个设区市推荐不超过2项" in message
    assert "已推荐2项" in message
    third.refresh_from_db()
    assert third.status == Status.SUBMITTED
    assert third.endorsing_prefecture is None
    assert not third.checklists.exists()


def test_n3_office_return_frees_the_quota_place(personas, make_application, endorse):
    first, second, third = (make_application() for _ in range(3))
    endorse(first)
    endorse(second)
    workflow.office_return(actor=personas["office"], pilot=second, reason="请补充工作基础。")
    second.refresh_from_db()
    assert second.status == Status.RETURNED
    assert second.endorsing_prefecture is None
    assert second.endorsed_at is None
    third = endorse(third)
    assert third.status == Status.ENDORSED


def test_n3_application_rejected_by_office_still_counts(
    personas, make_application, endorse, complete_checklist
):
    first, second, third = (make_application() for _ in range(3))
    endorse(first)
    endorse(second)
    workflow.office_reject(
        actor=personas["office"],
        pilot=second,
        reason="属于部门常规工作。",
        checklist=complete_checklist(institutional=(False, "属于部门常规工作。")),
    )
    second.refresh_from_db()
    assert second.status == Status.REJECTED
    assert second.endorsing_prefecture is not None
    with pytest.raises(ValidationError, match="不超过2项"):
        endorse(third)


def test_n3_quota_is_per_prefecture(orgs, make_application, endorse, nb_county_user):
    for _ in range(2):
        endorse(make_application())
    ningbo_app = make_application(by=nb_county_user)
    ningbo_app = endorse(ningbo_app, by="ningbo")
    assert ningbo_app.status == Status.ENDORSED
    assert ningbo_app.endorsing_prefecture == orgs["ningbo"]


def test_n3_quota_is_per_call(call, open_call_for, make_application, endorse):
    for _ in range(2):
        endorse(make_application())
    other_call = open_call_for(quota=2, title="2026年度第二批改革试点申报")
    later = endorse(make_application(in_call=other_call))
    assert later.status == Status.ENDORSED
    with pytest.raises(ValidationError, match="不超过2项"):
        endorse(make_application(in_call=call))


def test_n3_endorsement_after_deadline_refused(call, make_application, endorse):
    pilot = make_application()
    with pytest.raises(ValidationError) as exc:
        endorse(pilot, now=call.deadline + dt.timedelta(minutes=1))
    assert "截止" in _messages(exc)
    assert "第三条" in _messages(exc)
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_n3_endorsement_after_deadline_refused_by_the_clock(
    call, make_application, endorse, time_machine
):
    pilot = make_application()
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="截止"):
        endorse(pilot)


def test_n3_endorsement_at_the_deadline_allowed(call, make_application, endorse):
    pilot = endorse(make_application(), now=call.deadline)
    assert pilot.status == Status.ENDORSED


def test_n3_creating_in_a_closed_call_refused(personas, call, application_data, time_machine, orgs):
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="已截止"):
        workflow.create_application(
            actor=personas["county"], call=call, data=application_data(), regions=[orgs["county"]]
        )
    assert not Pilot.objects.exists()


def test_n3_creating_in_a_cancelled_call_refused(personas, call, application_data):
    call.is_cancelled = True
    call.save()
    with pytest.raises(ValidationError, match="已撤销"):
        workflow.create_application(actor=personas["county"], call=call, data=application_data())


def test_n3_submitting_in_a_closed_call_refused(personas, call, make_application, time_machine):
    draft = make_application(submit=False)
    time_machine.move_to(call.deadline + dt.timedelta(seconds=1), tick=False)
    with pytest.raises(ValidationError, match="已截止"):
        workflow.submit_application(actor=personas["county"], pilot=draft)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_n3_field_outside_the_call_refused(personas, open_call_for, application_data):
    call = open_call_for(fields=["market"])
    with pytest.raises(ValidationError) as exc:
        workflow.create_application(actor=personas["county"], call=call, data=application_data())
    assert exc.value.message_dict["field"] == ["该批次不受理此改革领域的申报。"]


# --- R1.1: entry elements and the screening checklist ---------------------------------------


def test_r1_1_draft_saved_incomplete_submission_lists_missing_elements(personas, make_application):
    draft = make_application(submit=False, goal="", scope="", measures="")
    assert draft.status == Status.DRAFT
    with pytest.raises(ValidationError) as exc:
        workflow.submit_application(actor=personas["county"], pilot=draft)
    errors = exc.value.message_dict
    assert set(errors) == {"goal", "scope", "measures"}
    assert "请填写试点目标" in errors["goal"][0]
    assert "请填写试点范围" in errors["scope"][0]
    assert "请填写推进措施" in errors["measures"][0]
    assert "准入六要素" in errors["goal"][0]
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_r1_1_submission_needs_a_region(personas, make_application):
    draft = make_application(submit=False, regions=[])
    with pytest.raises(ValidationError) as exc:
        workflow.submit_application(actor=personas["county"], pilot=draft)
    assert exc.value.message_dict["regions"] == ["请选择至少一个试点地区。"]


@pytest.fixture
def endorsed(make_application, endorse):
    return endorse(make_application())


def _step(name, personas, pilot, checklist):
    if name == "prefecture_endorse":
        return workflow.prefecture_endorse(
            actor=personas["hangzhou"], pilot=pilot, opinion="同意推荐。", checklist=checklist
        )
    if name == "prefecture_reject":
        return workflow.prefecture_reject(
            actor=personas["hangzhou"], pilot=pilot, reason="不予推荐。", checklist=checklist
        )
    if name == "department_opinion":
        return workflow.department_opinion(
            actor=personas["dept"], pilot=pilot, agree=True, text="同意。", checklist=checklist
        )
    if name == "office_approve":
        return workflow.office_approve(
            actor=personas["office"],
            pilot=pilot,
            authority="浙江省生态环境厅",
            doc_number=DOC_NUMBER,
            approval_date=TODAY,
            checklist=checklist,
        )
    assert name == "office_reject"
    return workflow.office_reject(
        actor=personas["office"], pilot=pilot, reason="不予通过。", checklist=checklist
    )


CHECKLIST_STEPS = [
    ("prefecture_endorse", Status.SUBMITTED),
    ("prefecture_reject", Status.SUBMITTED),
    ("department_opinion", Status.ENDORSED),
    ("office_approve", Status.ENDORSED),
    ("office_reject", Status.ENDORSED),
]


@pytest.fixture
def application_in(make_application, endorse):
    def _in(status):
        pilot = make_application()
        return endorse(pilot) if status == Status.ENDORSED else pilot

    return _in


@pytest.mark.parametrize(("step", "state"), CHECKLIST_STEPS)
@pytest.mark.parametrize("checklist", [None, {}], ids=["none", "empty"])
def test_r1_1_decisions_without_checklist_refused(personas, application_in, step, state, checklist):
    pilot = application_in(state)
    with pytest.raises(ValidationError) as exc:
        _step(step, personas, pilot, checklist)
    assert "准入审查表" in _messages(exc)
    pilot.refresh_from_db()
    assert pilot.status == state
    assert not pilot.opinions.filter(stage=Stage.DEPARTMENT).exists()
    assert pilot.checklists.count() == (1 if state == Status.ENDORSED else 0)


@pytest.mark.parametrize(("step", "state"), CHECKLIST_STEPS)
def test_r1_1_incomplete_checklist_refused(
    personas, application_in, complete_checklist, step, state
):
    pilot = application_in(state)
    with pytest.raises(ValidationError) as exc:
        _step(step, personas, pilot, complete_checklist(replicable=None))
    assert "准入审查表未填写完整" in _messages(exc)
    assert "可复制可推广" in _messages(exc)


@pytest.mark.parametrize(("step", "state"), CHECKLIST_STEPS)
def test_r1_1_no_without_a_note_refused(personas, application_in, complete_checklist, step, state):
    pilot = application_in(state)
    with pytest.raises(ValidationError) as exc:
        _step(step, personas, pilot, complete_checklist(institutional=(False, "  ")))
    assert "不符合的审查项须说明理由" in _messages(exc)


@pytest.mark.parametrize(("step", "state"), CHECKLIST_STEPS)
def test_r1_1_non_boolean_answer_refused(personas, application_in, complete_checklist, step, state):
    answers = complete_checklist()
    answers["elements"] = {"ok": "yes", "note": ""}
    with pytest.raises(ValidationError, match="准入审查表未填写完整"):
        _step(step, personas, application_in(state), answers)


@pytest.mark.parametrize(
    ("step", "state"),
    [("prefecture_endorse", Status.SUBMITTED), ("office_approve", Status.ENDORSED)],
)
def test_r1_1_endorse_and_approve_with_a_no_refused(
    personas, application_in, complete_checklist, step, state
):
    pilot = application_in(state)
    before = pilot.checklists.count()
    with pytest.raises(ValidationError) as exc:
        _step(step, personas, pilot, complete_checklist(replicable=(False, "成果难以推广。")))
    assert "准入审查有不符合项" in _messages(exc)
    pilot.refresh_from_db()
    assert pilot.status == state
    assert pilot.checklists.count() == before  # the refused step left nothing behind


@pytest.mark.parametrize(
    ("step", "state"),
    [
        ("prefecture_reject", Status.SUBMITTED),
        ("department_opinion", Status.ENDORSED),
        ("office_reject", Status.ENDORSED),
    ],
)
def test_r1_1_a_no_with_a_note_is_recorded_for_other_decisions(
    personas, application_in, complete_checklist, step, state
):
    pilot = application_in(state)
    _step(step, personas, pilot, complete_checklist(institutional=(False, "属于部门常规工作。")))
    checklist = pilot.checklists.order_by("-pk").first()
    assert checklist.all_met is False
    assert checklist.answers["institutional"] == {"ok": False, "note": "属于部门常规工作。"}


def test_r1_1_checklist_recorded_with_stage_author_and_organisation(orgs, personas, endorsed):
    checklist = ScreeningChecklist.objects.get(pilot=endorsed)
    assert checklist.stage == Stage.PREFECTURE
    assert checklist.author == personas["hangzhou"]
    assert checklist.organisation == orgs["hangzhou"]
    assert checklist.all_met


def test_r1_1_return_needs_no_checklist_but_a_reason(personas, make_application, endorse):
    pilot = make_application()
    with pytest.raises(ValidationError) as exc:
        workflow.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="  ")
    assert exc.value.message_dict["reason"] == ["请填写退回理由。"]
    workflow.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充推进措施。")
    pilot.refresh_from_db()
    assert pilot.status == Status.RETURNED
    assert not pilot.checklists.exists()

    pilot = endorse(workflow.submit_application(actor=personas["county"], pilot=pilot))
    with pytest.raises(ValidationError, match="请填写退回理由"):
        workflow.office_return(actor=personas["office"], pilot=pilot, reason="")
    workflow.office_return(actor=personas["office"], pilot=pilot, reason="请细化预期成果。")
    pilot.refresh_from_db()
    assert pilot.status == Status.RETURNED


@pytest.mark.parametrize("reason", ["", "   "])
def test_r1_1_reject_and_endorse_need_a_reason(
    personas, make_application, complete_checklist, reason
):
    pilot = make_application()
    with pytest.raises(ValidationError, match="请填写不予推荐的理由"):
        workflow.prefecture_reject(
            actor=personas["hangzhou"], pilot=pilot, reason=reason, checklist=complete_checklist()
        )
    with pytest.raises(ValidationError, match="请填写推荐意见"):
        workflow.prefecture_endorse(
            actor=personas["hangzhou"], pilot=pilot, opinion=reason, checklist=complete_checklist()
        )


# --- R1.3: overlap verdicts --------------------------------------------------------------------


@pytest.fixture
def existing(make_pilot, orgs):
    """An active pilot in the same field and region that a new application may repeat."""
    return make_pilot(
        code="ST-2025-0901", name="杭州市生态环境损害赔偿制度改革试点", regions=[orgs["hangzhou"]]
    )


def _flag(pilot, other, verdict=OverlapVerdict.PENDING):
    return OverlapFlag.objects.create(
        pilot=pilot, other=other, score=0.82, reasons=["同一领域", "同一地区"], verdict=verdict
    )


def test_r1_3_pending_flag_blocks_endorsement(personas, make_application, endorse, existing):
    pilot = make_application()
    flag = _flag(pilot, existing)
    with pytest.raises(ValidationError) as exc:
        endorse(pilot)
    assert "未判定的重复交叉提示" in _messages(exc)
    workflow.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.DISTINCT)
    flag.refresh_from_db()
    assert flag.decided_by == personas["hangzhou"]
    assert flag.decided_at is not None
    assert endorse(pilot).status == Status.ENDORSED


def test_r1_3_pending_flag_blocks_approval(personas, endorsed, existing):
    flag = _flag(endorsed, existing)
    with pytest.raises(ValidationError, match="未判定的重复交叉提示"):
        approve(personas, endorsed)
    workflow.decide_overlap(
        actor=personas["office"],
        flag=flag,
        verdict=OverlapVerdict.MERGE,
        note="与现有试点合并推进。",
    )
    assert approve(personas, endorsed).status == Status.APPROVED


def test_r1_3_reject_verdict_blocks_endorsement_and_approval(
    personas, make_application, endorse, existing, make_pilot, orgs
):
    pilot = make_application()
    flag = _flag(pilot, existing)
    workflow.decide_overlap(
        actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.REJECT, note="重复试点。"
    )
    with pytest.raises(ValidationError, match="不予准入"):
        endorse(pilot)

    later = endorse(make_application())
    _flag(later, existing, verdict=OverlapVerdict.DISTINCT)
    _flag(
        later,
        make_pilot(code="ST-2025-0902", regions=[orgs["hangzhou"]]),
        verdict=OverlapVerdict.REJECT,
    )
    with pytest.raises(ValidationError, match="不予准入"):
        approve(personas, later)


@pytest.mark.parametrize("verdict", [OverlapVerdict.MERGE, OverlapVerdict.REJECT])
def test_r1_3_merge_or_reject_needs_a_note(personas, make_application, existing, verdict):
    flag = _flag(make_application(), existing)
    with pytest.raises(ValidationError) as exc:
        workflow.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=verdict, note=" ")
    assert exc.value.message_dict["note"] == ["判定为重复的，请说明理由。"]
    flag.refresh_from_db()
    assert flag.verdict == OverlapVerdict.PENDING


@pytest.mark.parametrize("verdict", [OverlapVerdict.PENDING, "maybe"])
def test_r1_3_verdict_must_be_a_decision(personas, make_application, existing, verdict):
    flag = _flag(make_application(), existing)
    with pytest.raises(ValidationError, match="请选择判定结果"):
        workflow.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=verdict)


@pytest.mark.parametrize("name", ["county", "ningbo", "dept", "expert"])
def test_r1_3_only_the_screening_party_decides_while_submitted(
    personas, make_application, existing, name
):
    flag = _flag(make_application(), existing)
    with pytest.raises(PermissionDenied):
        workflow.decide_overlap(actor=personas[name], flag=flag, verdict=OverlapVerdict.DISTINCT)
    workflow.decide_overlap(actor=personas["office"], flag=flag, verdict=OverlapVerdict.DISTINCT)


@pytest.mark.parametrize("name", ["county", "hangzhou", "ningbo"])
def test_r1_3_only_office_or_lead_department_decides_once_endorsed(
    personas, endorsed, existing, name
):
    flag = _flag(endorsed, existing)
    with pytest.raises(PermissionDenied):
        workflow.decide_overlap(actor=personas[name], flag=flag, verdict=OverlapVerdict.DISTINCT)
    workflow.decide_overlap(actor=personas["dept"], flag=flag, verdict=OverlapVerdict.DISTINCT)


def test_r1_3_verdict_writes_history(personas, make_application, existing):
    flag = _flag(make_application(), existing)
    workflow.decide_overlap(
        actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.MERGE, note="建议合并。"
    )
    record = flag.history.first()
    assert record.history_user == personas["hangzhou"]
    assert "重复交叉判定" in record.history_change_reason


# --- R1.2: term and milestones ------------------------------------------------------------------


def test_r1_2_over_long_single_term_refused(personas, call, application_data):
    with pytest.raises(ValidationError) as exc:
        workflow.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(start_date=D(2026, 6, 1), end_date=D(2028, 6, 2)),
        )
    message = exc.value.message_dict["end_date"][0]
    assert "单项试点期限最长不超过2年" in message
    assert "2028年6月1日" in message
    assert not Pilot.objects.exists()


def test_r1_2_over_long_comprehensive_term_refused(personas, call, application_data):
    with pytest.raises(ValidationError, match="最长不超过5年"):
        workflow.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(
                kind=PilotKind.COMPREHENSIVE, start_date=D(2026, 6, 1), end_date=D(2031, 6, 2)
            ),
            milestones=[MilestoneData(D(2027, 6, 1), "完成制度设计")],
        )


def test_r1_2_comprehensive_without_milestones_refused(personas, call, application_data):
    data = application_data(
        kind=PilotKind.COMPREHENSIVE, start_date=D(2026, 6, 1), end_date=D(2029, 5, 31)
    )
    with pytest.raises(ValidationError) as exc:
        workflow.create_application(actor=personas["county"], call=call, data=data)
    assert "综合性试点须明确阶段性目标任务和时间节点" in _messages(exc)
    assert not Pilot.objects.exists()
    pilot = workflow.create_application(
        actor=personas["county"],
        call=call,
        data=data,
        milestones=[
            MilestoneData(D(2027, 5, 31), "完成制度设计"),
            MilestoneData(D(2029, 5, 31), "总结验收"),
        ],
    )
    assert pilot.milestones.count() == 2


def test_r1_2_end_before_start_refused(personas, call, application_data):
    with pytest.raises(ValidationError, match="结束日期必须晚于开始日期"):
        workflow.create_application(
            actor=personas["county"],
            call=call,
            data=application_data(start_date=D(2026, 6, 1), end_date=D(2026, 5, 1)),
        )


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["county", "dept", "office", "expert"])
def test_roles_only_the_prefecture_endorses(personas, make_application, complete_checklist, name):
    pilot = make_application()
    with pytest.raises(PermissionDenied):
        workflow.prefecture_endorse(
            actor=personas[name], pilot=pilot, opinion="同意。", checklist=complete_checklist()
        )


def test_roles_ningbo_cannot_act_on_a_hangzhou_county_application(
    personas, make_application, complete_checklist
):
    pilot = make_application()
    ningbo = personas["ningbo"]
    with pytest.raises(PermissionDenied):
        workflow.prefecture_endorse(
            actor=ningbo, pilot=pilot, opinion="同意。", checklist=complete_checklist()
        )
    with pytest.raises(PermissionDenied):
        workflow.prefecture_return(actor=ningbo, pilot=pilot, reason="退回。")
    with pytest.raises(PermissionDenied):
        workflow.prefecture_reject(
            actor=ningbo, pilot=pilot, reason="不予推荐。", checklist=complete_checklist()
        )
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_roles_only_the_lead_department_gives_the_n2_opinion(
    orgs, personas, endorsed, complete_checklist
):
    water = UserFactory(
        username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT
    )
    division = UserFactory(username="law", organisation=orgs["division"], role=Role.LEAD_DEPARTMENT)
    for actor in (water, division, personas["hangzhou"], personas["office"]):
        with pytest.raises(PermissionDenied):
            workflow.department_opinion(
                actor=actor,
                pilot=endorsed,
                agree=True,
                text="同意。",
                checklist=complete_checklist(),
            )
    opinion = workflow.department_opinion(
        actor=personas["dept"],
        pilot=endorsed,
        agree=False,
        text="与现有制度重复。",
        checklist=complete_checklist(),
    )
    assert opinion.decision == Decision.DISAGREE
    endorsed.refresh_from_db()
    assert endorsed.status == Status.ENDORSED  # the office decides


def test_roles_parent_department_of_a_leading_division_gives_the_opinion(
    orgs, personas, make_application, endorse, complete_checklist
):
    pilot = endorse(make_application(lead_department=orgs["division"]))
    opinion = workflow.department_opinion(
        actor=personas["dept"],
        pilot=pilot,
        agree=True,
        text="同意。",
        checklist=complete_checklist(),
    )
    assert opinion.organisation == orgs["dept"]


def test_roles_department_opinion_only_once_endorsed(
    personas, make_application, complete_checklist
):
    pilot = make_application()
    with pytest.raises(ValidationError, match="不能提出把关意见"):
        workflow.department_opinion(
            actor=personas["dept"],
            pilot=pilot,
            agree=True,
            text="同意。",
            checklist=complete_checklist(),
        )


@pytest.mark.parametrize("name", ["hangzhou", "county", "dept", "expert"])
def test_roles_only_the_office_decides(personas, endorsed, complete_checklist, name):
    actor = personas[name]
    with pytest.raises(PermissionDenied):
        approve(personas, endorsed, actor=actor)
    with pytest.raises(PermissionDenied):
        workflow.office_reject(
            actor=actor, pilot=endorsed, reason="不予通过。", checklist=complete_checklist()
        )
    with pytest.raises(PermissionDenied):
        workflow.office_return(actor=actor, pilot=endorsed, reason="退回。")
    endorsed.refresh_from_db()
    assert endorsed.status == Status.ENDORSED


@pytest.mark.parametrize("name", ["hangzhou", "ningbo", "office", "dept"])
def test_roles_only_the_applicant_submits_and_withdraws(personas, make_application, name):
    draft = make_application(submit=False)
    with pytest.raises(PermissionDenied):
        workflow.submit_application(actor=personas[name], pilot=draft)
    with pytest.raises(PermissionDenied):
        workflow.withdraw_application(actor=personas[name], pilot=draft)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_roles_another_county_cannot_submit(make_application, nb_county_user):
    draft = make_application(submit=False)
    with pytest.raises(PermissionDenied):
        workflow.submit_application(actor=nb_county_user, pilot=draft)


@pytest.mark.parametrize("name", ["office", "dept", "expert"])
def test_roles_only_counties_and_prefectures_apply(personas, call, application_data, name):
    with pytest.raises(PermissionDenied):
        workflow.create_application(actor=personas[name], call=call, data=application_data())


def test_roles_prefecture_applies_itself_and_endorses_its_own(
    orgs, personas, call, make_application, endorse
):
    pilot = make_application(by="hangzhou", implementing_body="杭州市生态环境局")
    assert pilot.applicant == orgs["hangzhou"]
    assert pilot.status == Status.SUBMITTED
    assert Notification.objects.filter(
        organisation=orgs["hangzhou"], subject__startswith="待把关"
    ).exists()
    pilot = endorse(pilot)
    assert pilot.status == Status.ENDORSED
    assert pilot.endorsing_prefecture == orgs["hangzhou"]
    assert workflow.endorsed_count(call, orgs["hangzhou"]) == 1


def test_roles_withdraw_keeps_the_record(personas, make_application):
    pilot = make_application()
    workflow.withdraw_application(actor=personas["county"], pilot=pilot, reason="另行申报。")
    pilot.refresh_from_db()
    assert pilot.status == Status.WITHDRAWN
    assert pilot.opinions.filter(decision=Decision.WITHDRAW, text="另行申报。").exists()
    assert "撤回申报：另行申报。" in pilot.history.first().history_change_reason
    with pytest.raises(ValidationError, match="不能提交"):
        workflow.submit_application(actor=personas["county"], pilot=pilot)


def test_roles_steps_check_the_state(personas, endorsed, complete_checklist):
    with pytest.raises(ValidationError, match="不能推荐"):
        workflow.prefecture_endorse(
            actor=personas["hangzhou"],
            pilot=endorsed,
            opinion="再推荐。",
            checklist=complete_checklist(),
        )
    with pytest.raises(ValidationError, match="不能撤回"):
        workflow.withdraw_application(actor=personas["county"], pilot=endorsed)


# --- R2.2: approval and the filing clock ---------------------------------------------------------


def test_r2_2_office_approval_records_the_approval(orgs, personas, endorsed):
    pilot = approve(personas, endorsed, approval_date=D(2026, 3, 18))
    assert pilot.status == Status.APPROVED
    assert pilot.approval_authority == "浙江省生态环境厅"
    assert pilot.approval_doc_number == DOC_NUMBER
    assert pilot.approval_date == D(2026, 3, 18)
    assert pilot.filing_due == D(2026, 3, 25)


@pytest.mark.parametrize("doc_number", ["浙环函2026-88", "浙环函〔26〕88号", "ZHH〔2026〕88号"])
def test_r2_2_doc_number_format_checked_in_chinese(personas, endorsed, doc_number):
    with pytest.raises(ValidationError) as exc:
        approve(personas, endorsed, doc_number=doc_number)
    assert "文号格式不正确" in exc.value.message_dict["doc_number"][0]
    endorsed.refresh_from_db()
    assert endorsed.status == Status.ENDORSED


def test_r2_2_approval_fields_required(personas, endorsed):
    with pytest.raises(ValidationError) as exc:
        approve(personas, endorsed, authority=" ", doc_number="", approval_date=None)
    errors = exc.value.message_dict
    assert errors["authority"] == ["请填写批复机关。"]
    assert errors["doc_number"] == ["请填写批复文号。"]
    assert errors["approval_date"] == ["请填写批复日期。"]


def test_r2_2_future_approval_date_refused(personas, endorsed):
    with pytest.raises(ValidationError) as exc:
        approve(personas, endorsed, approval_date=TODAY + dt.timedelta(days=1))
    assert exc.value.message_dict["approval_date"] == ["批复日期不能晚于今天。"]
    assert approve(personas, endorsed, approval_date=TODAY).status == Status.APPROVED


def test_r2_2_lead_department_told_the_filing_due_date(orgs, personas, endorsed):
    approve(personas, endorsed, approval_date=TODAY)
    notice = Notification.objects.get(organisation=orgs["dept"], subject__startswith="请备案")
    assert "2026年3月20日批复" in notice.body
    assert "请于2026年3月27日前报送备案表" in notice.body
    assert notice.url == endorsed.get_absolute_url()
    assert Notification.objects.filter(
        organisation=orgs["county"], subject__contains="已批复同意"
    ).exists()


def test_r2_2_approval_only_of_an_endorsed_application(personas, make_application):
    with pytest.raises(ValidationError, match="不能批复"):
        approve(personas, make_application())


# --- history, opinions, notices, e-mail ---------------------------------------------------------


def _reasons(pilot) -> list[tuple[str, object]]:
    return [
        (r.history_change_reason, r.history_user)
        for r in pilot.history.order_by("history_date", "history_id")
    ]


def test_history_every_step_of_the_approval_path(
    orgs, personas, make_application, complete_checklist
):
    pilot = make_application()
    workflow.prefecture_endorse(
        actor=personas["hangzhou"],
        pilot=pilot,
        opinion="同意推荐。",
        checklist=complete_checklist(),
    )
    workflow.department_opinion(
        actor=personas["dept"],
        pilot=pilot,
        agree=True,
        text="符合领域要求。",
        checklist=complete_checklist(),
    )
    approve(personas, pilot, opinion="同意开展试点。")
    expected = [
        ("新建申报表（草稿）", personas["county"]),
        ("提交设区市把关", personas["county"]),
        ("设区市推荐：同意推荐。", personas["hangzhou"]),
        ("牵头部门把关意见（同意）：符合领域要求。", personas["dept"]),
        (f"省办批复同意（{DOC_NUMBER}）：同意开展试点。", personas["office"]),
    ]
    assert _reasons(pilot)[-len(expected) :] == expected
    opinions = list(pilot.opinions.values_list("stage", "decision", "organisation", "author"))
    assert opinions == [
        (Stage.PREFECTURE, Decision.SUBMIT, orgs["county"].pk, personas["county"].pk),
        (Stage.PREFECTURE, Decision.ENDORSE, orgs["hangzhou"].pk, personas["hangzhou"].pk),
        (Stage.DEPARTMENT, Decision.AGREE, orgs["dept"].pk, personas["dept"].pk),
        (Stage.OFFICE, Decision.APPROVE, orgs["office"].pk, personas["office"].pk),
    ]
    assert list(pilot.checklists.values_list("stage", flat=True)) == [
        Stage.PREFECTURE,
        Stage.DEPARTMENT,
        Stage.OFFICE,
    ]


def test_history_returns_and_rejections(personas, make_application, endorse, complete_checklist):
    pilot = make_application()
    workflow.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充工作基础。")
    assert _reasons(pilot)[-1] == ("设区市退回修改：请补充工作基础。", personas["hangzhou"])
    workflow.submit_application(actor=personas["county"], pilot=pilot)
    endorse(pilot)
    workflow.office_return(actor=personas["office"], pilot=pilot, reason="请细化措施。")
    assert _reasons(pilot)[-1] == ("省办退回修改：请细化措施。", personas["office"])
    workflow.submit_application(actor=personas["county"], pilot=pilot)
    endorse(pilot)
    workflow.office_reject(
        actor=personas["office"],
        pilot=pilot,
        reason="属于常规工作。",
        checklist=complete_checklist(),
    )
    assert _reasons(pilot)[-1] == ("省办不予通过：属于常规工作。", personas["office"])

    other = make_application()
    workflow.prefecture_reject(
        actor=personas["hangzhou"],
        pilot=other,
        reason="不属于体制机制。",
        checklist=complete_checklist(),
    )
    assert _reasons(other)[-1] == ("设区市不予推荐：不属于体制机制。", personas["hangzhou"])
    decisions = list(pilot.opinions.values_list("stage", "decision", "text"))
    assert (Stage.PREFECTURE, Decision.RETURN, "请补充工作基础。") in decisions
    assert (Stage.OFFICE, Decision.RETURN, "请细化措施。") in decisions
    assert (Stage.OFFICE, Decision.REJECT, "属于常规工作。") in decisions
    assert other.opinions.filter(stage=Stage.PREFECTURE, decision=Decision.REJECT).exists()


def _subjects(org) -> list[str]:
    return list(Notification.objects.filter(organisation=org).values_list("subject", flat=True))


def test_notices_go_to_the_next_party(
    orgs, personas, make_application, endorse, complete_checklist
):
    pilot = make_application()
    assert any(s.startswith("待把关：西湖区提交了申报") for s in _subjects(orgs["hangzhou"]))
    assert _subjects(orgs["office"]) == []
    assert _subjects(orgs["dept"]) == []

    endorse(pilot)
    assert any(s.startswith("待审定：杭州推荐了申报") for s in _subjects(orgs["office"]))
    assert any(s.startswith("请提出把关意见") for s in _subjects(orgs["dept"]))

    workflow.office_return(actor=personas["office"], pilot=pilot, reason="请细化措施。")
    assert "被省办退回修改" in _subjects(orgs["county"])[0]
    assert "被省办退回修改" in _subjects(orgs["hangzhou"])[0]

    workflow.submit_application(actor=personas["county"], pilot=pilot)
    workflow.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充。")
    assert _subjects(orgs["county"])[0] == f"申报“{pilot.name}”被退回修改"

    workflow.submit_application(actor=personas["county"], pilot=pilot)
    workflow.prefecture_reject(
        actor=personas["hangzhou"], pilot=pilot, reason="不予推荐。", checklist=complete_checklist()
    )
    assert _subjects(orgs["county"])[0] == f"申报“{pilot.name}”未获推荐"

    approved = endorse(make_application())
    approve(personas, approved)
    assert _subjects(orgs["county"])[0] == f"申报“{approved.name}”已批复同意"
    assert _subjects(orgs["dept"])[0] == f"请备案：{approved.name}"
    assert _subjects(orgs["ningbo"]) == []


def test_notices_of_an_office_rejection_reach_applicant_and_prefecture(
    orgs, personas, endorsed, complete_checklist
):
    workflow.office_reject(
        actor=personas["office"],
        pilot=endorsed,
        reason="属于常规工作。",
        checklist=complete_checklist(),
    )
    for org in (orgs["county"], orgs["hangzhou"]):
        notice = Notification.objects.filter(organisation=org).first()
        assert notice.subject == f"申报“{endorsed.name}”未获通过"
        assert notice.body == "属于常规工作。"


def test_email_goes_out_on_commit(
    personas, make_application, endorse, django_capture_on_commit_callbacks, mailoutbox
):
    county = personas["county"]
    county.email = "xihu@example.gov.cn"
    county.save()
    pilot = make_application()
    assert mailoutbox == []
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        workflow.prefecture_return(
            actor=personas["hangzhou"], pilot=pilot, reason="请补充推进措施。"
        )
    assert len(callbacks) == 1
    assert len(mailoutbox) == 1
    mail = mailoutbox[0]
    assert mail.to == ["xihu@example.gov.cn"]
    assert mail.subject == f"【改革试点台账】申报“{pilot.name}”被退回修改"
    assert "请补充推进措施。" in mail.body
    assert pilot.get_absolute_url() in mail.body
    assert Notification.objects.get(organisation=county.organisation).emailed_at is not None


def test_email_to_the_prefecture_on_submission(
    personas, make_application, django_capture_on_commit_callbacks, mailoutbox
):
    pytest.importorskip("pilots.overlap", reason="submission flags overlaps (pilots/overlap.py)")
    hangzhou = personas["hangzhou"]
    hangzhou.email = "hangzhou@example.gov.cn"
    hangzhou.save()
    draft = make_application(submit=False)
    with django_capture_on_commit_callbacks(execute=True):
        workflow.submit_application(actor=personas["county"], pilot=draft)
    assert [m.to for m in mailoutbox] == [["hangzhou@example.gov.cn"]]
    assert mailoutbox[0].subject == f"【改革试点台账】待把关：西湖区提交了申报“{draft.name}”"


def test_email_not_sent_when_the_step_is_refused(
    personas, make_application, django_capture_on_commit_callbacks, mailoutbox
):
    pilot = make_application()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            workflow.prefecture_endorse(
                actor=personas["hangzhou"], pilot=pilot, opinion="同意。", checklist=None
            )
    assert callbacks == []
    assert mailoutbox == []


# --- concurrency (PostgreSQL) ---------------------------------------------------------------------


@pytest.mark.django_db(transaction=True)
def test_n3_concurrent_endorsements_take_the_last_place_once(
    orgs, call, make_application, endorse, complete_checklist, personas, monkeypatch
):
    if connection.vendor == "sqlite":
        pytest.skip(
            "SQLite has no row locks (select_for_update is a no-op) and serialises writers on "
            "the whole file; run with DATABASE_URL=postgres://… to check the Call row lock."
        )
    endorse(make_application())  # one of two places taken
    # Different applicants and lead departments: locking each pilot row (with its joined
    # organisation rows) must not be what serialises the two; only the Call row lock may.
    contenders = [
        make_application(by="county"),
        make_application(by="hangzhou", lead_department=orgs["other_dept"]),
    ]
    # Submission flags possible overlaps on commit (R1.3); here they are judged distinct so
    # that only the quota decides the race.
    for flag in OverlapFlag.objects.filter(verdict=OverlapVerdict.PENDING):
        workflow.decide_overlap(
            actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.DISTINCT
        )
    # Instrumentation to make the race deterministic: both endorsements hold their own pilot
    # row before either goes on; the county's reaches the call first; and each, once it has
    # counted the places in use, waits (briefly) for the other to count too. Without the Call
    # row lock both would count one place in use and both succeed; with it the second waits
    # on the lock and counts two.
    both_locked = threading.Barrier(len(contenders))
    counted = threading.Condition()
    counters = []
    check_prefecture = workflow._require_prefecture
    count_endorsed = workflow.endorsed_count

    def gated_check(actor, pilot):
        check_prefecture(actor, pilot)
        both_locked.wait(timeout=10)
        if pilot.applicant_id == orgs["hangzhou"].pk:
            time.sleep(0.3)

    def gated_count(call, prefecture):
        used = count_endorsed(call, prefecture)
        with counted:
            counters.append(used)
            counted.notify_all()
            counted.wait_for(lambda: len(counters) >= len(contenders), timeout=1.5)
        return used

    monkeypatch.setattr(workflow, "_require_prefecture", gated_check)
    monkeypatch.setattr(workflow, "endorsed_count", gated_count)
    outcomes: list[str] = []
    lock = threading.Lock()

    def run(pilot):
        from django.db import connection as thread_connection

        try:
            workflow.prefecture_endorse(
                actor=personas["hangzhou"],
                pilot=pilot,
                opinion="同意推荐。",
                checklist=complete_checklist(),
            )
            result = "ok"
        except ValidationError as exc:
            result = "; ".join(exc.messages)
        except Exception as exc:  # noqa: BLE001 - reported below
            result = f"error: {exc!r}"
        finally:
            thread_connection.close()
        with lock:
            outcomes.append(result)

    threads = [threading.Thread(target=run, args=(p,)) for p in contenders]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    assert len(outcomes) == 2, outcomes
    assert outcomes.count("ok") == 1, outcomes
    refused = next(o for o in outcomes if o != "ok")
    assert "不超过2项" in refused and "已推荐2项" in refused
    assert Pilot.objects.filter(call=call, status=Status.ENDORSED).count() == 2
    assert Opinion.objects.filter(decision=Decision.ENDORSE).count() == 2
