"""Screening an application through its domain functions (pilots.screening): the R1.1
checklist every decision but a return needs, overlap verdicts (R1.3), and the office's
approval that starts the filing clock (R2.2)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.models import Notification
from pilots import calls, screening
from pilots.constants import OverlapVerdict, Stage, Status
from pilots.models import OverlapFlag, ScreeningChecklist
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
    pilot = screening.office_approve(
        actor=kwargs.pop("actor", personas["office"]), pilot=pilot, **kwargs
    )
    pilot.refresh_from_db()
    return pilot


# --- R1.1: entry elements and the screening checklist ---------------------------------------


def test_r1_1_draft_saved_incomplete_submission_lists_missing_elements(personas, make_application):
    draft = make_application(submit=False, goal="", scope="", measures="")
    assert draft.status == Status.DRAFT
    with pytest.raises(ValidationError) as exc:
        calls.submit_application(actor=personas["county"], pilot=draft)
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
        calls.submit_application(actor=personas["county"], pilot=draft)
    assert exc.value.message_dict["regions"] == ["请选择至少一个试点地区。"]


@pytest.fixture
def endorsed(make_application, endorse):
    return endorse(make_application())


def _step(name, personas, pilot, checklist):
    if name == "prefecture_endorse":
        return screening.prefecture_endorse(
            actor=personas["hangzhou"], pilot=pilot, opinion="同意推荐。", checklist=checklist
        )
    if name == "prefecture_reject":
        return screening.prefecture_reject(
            actor=personas["hangzhou"], pilot=pilot, reason="不予推荐。", checklist=checklist
        )
    if name == "department_opinion":
        return screening.department_opinion(
            actor=personas["dept"], pilot=pilot, agree=True, text="同意。", checklist=checklist
        )
    if name == "office_approve":
        return screening.office_approve(
            actor=personas["office"],
            pilot=pilot,
            authority="浙江省生态环境厅",
            doc_number=DOC_NUMBER,
            approval_date=TODAY,
            checklist=checklist,
        )
    assert name == "office_reject"
    return screening.office_reject(
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
        screening.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="  ")
    assert exc.value.message_dict["reason"] == ["请填写退回理由。"]
    screening.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充推进措施。")
    pilot.refresh_from_db()
    assert pilot.status == Status.RETURNED
    assert not pilot.checklists.exists()

    pilot = endorse(calls.submit_application(actor=personas["county"], pilot=pilot))
    with pytest.raises(ValidationError, match="请填写退回理由"):
        screening.office_return(actor=personas["office"], pilot=pilot, reason="")
    screening.office_return(actor=personas["office"], pilot=pilot, reason="请细化预期成果。")
    pilot.refresh_from_db()
    assert pilot.status == Status.RETURNED


@pytest.mark.parametrize("reason", ["", "   "])
def test_r1_1_reject_and_endorse_need_a_reason(
    personas, make_application, complete_checklist, reason
):
    pilot = make_application()
    with pytest.raises(ValidationError, match="请填写不予推荐的理由"):
        screening.prefecture_reject(
            actor=personas["hangzhou"], pilot=pilot, reason=reason, checklist=complete_checklist()
        )
    with pytest.raises(ValidationError, match="请填写推荐意见"):
        screening.prefecture_endorse(
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
    screening.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.DISTINCT)
    flag.refresh_from_db()
    assert flag.decided_by == personas["hangzhou"]
    assert flag.decided_at is not None
    assert endorse(pilot).status == Status.ENDORSED


def test_r1_3_pending_flag_blocks_approval(personas, endorsed, existing):
    flag = _flag(endorsed, existing)
    with pytest.raises(ValidationError, match="未判定的重复交叉提示"):
        approve(personas, endorsed)
    screening.decide_overlap(
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
    screening.decide_overlap(
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
        screening.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=verdict, note=" ")
    assert exc.value.message_dict["note"] == ["判定为重复的，请说明理由。"]
    flag.refresh_from_db()
    assert flag.verdict == OverlapVerdict.PENDING


@pytest.mark.parametrize("verdict", [OverlapVerdict.PENDING, "maybe"])
def test_r1_3_verdict_must_be_a_decision(personas, make_application, existing, verdict):
    flag = _flag(make_application(), existing)
    with pytest.raises(ValidationError, match="请选择判定结果"):
        screening.decide_overlap(actor=personas["hangzhou"], flag=flag, verdict=verdict)


@pytest.mark.parametrize("name", ["county", "ningbo", "dept", "expert"])
def test_r1_3_only_the_screening_party_decides_while_submitted(
    personas, make_application, existing, name
):
    flag = _flag(make_application(), existing)
    with pytest.raises(PermissionDenied):
        screening.decide_overlap(actor=personas[name], flag=flag, verdict=OverlapVerdict.DISTINCT)
    screening.decide_overlap(actor=personas["office"], flag=flag, verdict=OverlapVerdict.DISTINCT)


@pytest.mark.parametrize("name", ["county", "hangzhou", "ningbo"])
def test_r1_3_only_office_or_lead_department_decides_once_endorsed(
    personas, endorsed, existing, name
):
    flag = _flag(endorsed, existing)
    with pytest.raises(PermissionDenied):
        screening.decide_overlap(actor=personas[name], flag=flag, verdict=OverlapVerdict.DISTINCT)
    screening.decide_overlap(actor=personas["dept"], flag=flag, verdict=OverlapVerdict.DISTINCT)


def test_r1_3_verdict_writes_history(personas, make_application, existing):
    flag = _flag(make_application(), existing)
    screening.decide_overlap(
        actor=personas["hangzhou"], flag=flag, verdict=OverlapVerdict.MERGE, note="建议合并。"
    )
    record = flag.history.first()
    assert record.history_user == personas["hangzhou"]
    assert "重复交叉判定" in record.history_change_reason


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


def test_r1_3_a_prefecture_is_told_a_flag_it_may_not_see_is_not_its_to_judge(
    personas, make_application, make_pilot, orgs, client_for
):
    """A flag against another prefecture's pilot is the office's: the screening page tells the
    prefecture it need not judge it and that it does not hold its decision up."""
    pilot = make_application()
    elsewhere = make_pilot(
        code="ST-2025-0902", name="宁波市生态环境损害赔偿制度改革试点", regions=[orgs["ningbo"]]
    )
    _flag(pilot, elsewhere)
    page = client_for("hangzhou").get(f"/pilots/{pilot.code}/screen/").content.decode()
    assert "此项无需您判定，不影响您判定其他提示和把关决定" in page
    assert "由省办核实" not in page and "待省办判定" not in page
    assert elsewhere.name not in page
