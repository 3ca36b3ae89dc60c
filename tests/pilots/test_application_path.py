"""Who may act at each step of the application path (pilots.calls, pilots.screening), and the
trail each step leaves: history, opinions, notices and e-mail."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.constants import Role
from accounts.models import Notification
from pilots import calls, screening
from pilots.constants import Decision, Stage, Status
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


@pytest.fixture
def endorsed(make_application, endorse):
    return endorse(make_application())


# --- roles ----------------------------------------------------------------------------------------


@pytest.mark.parametrize("name", ["county", "dept", "office", "expert"])
def test_roles_only_the_prefecture_endorses(personas, make_application, complete_checklist, name):
    pilot = make_application()
    with pytest.raises(PermissionDenied):
        screening.prefecture_endorse(
            actor=personas[name], pilot=pilot, opinion="同意。", checklist=complete_checklist()
        )


def test_roles_ningbo_cannot_act_on_a_hangzhou_county_application(
    personas, make_application, complete_checklist
):
    pilot = make_application()
    ningbo = personas["ningbo"]
    with pytest.raises(PermissionDenied):
        screening.prefecture_endorse(
            actor=ningbo, pilot=pilot, opinion="同意。", checklist=complete_checklist()
        )
    with pytest.raises(PermissionDenied):
        screening.prefecture_return(actor=ningbo, pilot=pilot, reason="退回。")
    with pytest.raises(PermissionDenied):
        screening.prefecture_reject(
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
            screening.department_opinion(
                actor=actor,
                pilot=endorsed,
                agree=True,
                text="同意。",
                checklist=complete_checklist(),
            )
    opinion = screening.department_opinion(
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
    opinion = screening.department_opinion(
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
        screening.department_opinion(
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
        screening.office_reject(
            actor=actor, pilot=endorsed, reason="不予通过。", checklist=complete_checklist()
        )
    with pytest.raises(PermissionDenied):
        screening.office_return(actor=actor, pilot=endorsed, reason="退回。")
    endorsed.refresh_from_db()
    assert endorsed.status == Status.ENDORSED


@pytest.mark.parametrize("name", ["hangzhou", "ningbo", "office", "dept"])
def test_roles_only_the_applicant_submits_and_withdraws(personas, make_application, name):
    draft = make_application(submit=False)
    with pytest.raises(PermissionDenied):
        calls.submit_application(actor=personas[name], pilot=draft)
    with pytest.raises(PermissionDenied):
        calls.withdraw_application(actor=personas[name], pilot=draft)
    draft.refresh_from_db()
    assert draft.status == Status.DRAFT


def test_roles_another_county_cannot_submit(make_application, nb_county_user):
    draft = make_application(submit=False)
    with pytest.raises(PermissionDenied):
        calls.submit_application(actor=nb_county_user, pilot=draft)


@pytest.mark.parametrize("name", ["office", "dept", "expert"])
def test_roles_only_counties_and_prefectures_apply(personas, call, application_data, name):
    with pytest.raises(PermissionDenied):
        calls.create_application(actor=personas[name], call=call, data=application_data())


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
    assert screening.endorsed_count(call, orgs["hangzhou"]) == 1


def test_roles_withdraw_keeps_the_record(personas, make_application):
    pilot = make_application()
    calls.withdraw_application(actor=personas["county"], pilot=pilot, reason="另行申报。")
    pilot.refresh_from_db()
    assert pilot.status == Status.WITHDRAWN
    assert pilot.opinions.filter(decision=Decision.WITHDRAW, text="另行申报。").exists()
    assert "撤回申报：另行申报。" in pilot.history.first().history_change_reason
    with pytest.raises(ValidationError, match="不能提交"):
        calls.submit_application(actor=personas["county"], pilot=pilot)


def test_roles_steps_check_the_state(personas, endorsed, complete_checklist):
    with pytest.raises(ValidationError, match="不能推荐"):
        screening.prefecture_endorse(
            actor=personas["hangzhou"],
            pilot=endorsed,
            opinion="再推荐。",
            checklist=complete_checklist(),
        )
    with pytest.raises(ValidationError, match="不能撤回"):
        calls.withdraw_application(actor=personas["county"], pilot=endorsed)


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
    screening.prefecture_endorse(
        actor=personas["hangzhou"],
        pilot=pilot,
        opinion="同意推荐。",
        checklist=complete_checklist(),
    )
    screening.department_opinion(
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
    screening.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充工作基础。")
    assert _reasons(pilot)[-1] == ("设区市退回修改：请补充工作基础。", personas["hangzhou"])
    calls.submit_application(actor=personas["county"], pilot=pilot)
    endorse(pilot)
    screening.office_return(actor=personas["office"], pilot=pilot, reason="请细化措施。")
    assert _reasons(pilot)[-1] == ("省办退回修改：请细化措施。", personas["office"])
    calls.submit_application(actor=personas["county"], pilot=pilot)
    endorse(pilot)
    screening.office_reject(
        actor=personas["office"],
        pilot=pilot,
        reason="属于常规工作。",
        checklist=complete_checklist(),
    )
    assert _reasons(pilot)[-1] == ("省办不予通过：属于常规工作。", personas["office"])

    other = make_application()
    screening.prefecture_reject(
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

    screening.office_return(actor=personas["office"], pilot=pilot, reason="请细化措施。")
    assert "被省办退回修改" in _subjects(orgs["county"])[0]
    assert "被省办退回修改" in _subjects(orgs["hangzhou"])[0]

    calls.submit_application(actor=personas["county"], pilot=pilot)
    screening.prefecture_return(actor=personas["hangzhou"], pilot=pilot, reason="请补充。")
    assert _subjects(orgs["county"])[0] == f"申报“{pilot.name}”被退回修改"

    calls.submit_application(actor=personas["county"], pilot=pilot)
    screening.prefecture_reject(
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
    screening.office_reject(
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
        screening.prefecture_return(
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
        calls.submit_application(actor=personas["county"], pilot=draft)
    assert [m.to for m in mailoutbox] == [["hangzhou@example.gov.cn"]]
    assert mailoutbox[0].subject == f"【改革试点台账】待把关：西湖区提交了申报“{draft.name}”"


def test_email_not_sent_when_the_step_is_refused(
    personas, make_application, django_capture_on_commit_callbacks, mailoutbox
):
    pilot = make_application()
    with django_capture_on_commit_callbacks(execute=True) as callbacks:
        with pytest.raises(ValidationError):
            screening.prefecture_endorse(
                actor=personas["hangzhou"], pilot=pilot, opinion="同意。", checklist=None
            )
    assert callbacks == []
    assert mailoutbox == []
