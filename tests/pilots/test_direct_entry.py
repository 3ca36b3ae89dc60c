"""Direct entry of pilots by their lead department (R2.2) and later edits, through the
service functions every caller uses (pilots.services.enter_pilot / update_pilot)."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.constants import Role
from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.models import CodeSequence, Milestone, Pilot
from pilots.services import MilestoneData, enter_pilot, update_pilot
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' passwords are hashed once each; the default hasher makes that slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def in_2026(time_machine):
    """Codes carry the year of entry; pin the clock to a day in 2026."""
    time_machine.move_to(dt.datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def dept(personas):
    return personas["dept"]


@pytest.fixture
def other_dept_user(orgs):
    return UserFactory(username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)


def entry_data(orgs, **overrides) -> dict:
    """What a lead department types in for a ministry-deployed pilot."""
    data = {
        "name": "生态环境损害赔偿制度改革试点",
        "field": ReformField.GOVERNANCE,
        "kind": PilotKind.SINGLE,
        "origin": Origin.MINISTRY,
        "implementing_body": "杭州市生态环境局",
        "lead_department": orgs["dept"],
        "goal": "建立生态环境损害赔偿磋商机制。",
        "scope": "杭州市全域。",
        "start_date": D(2026, 6, 1),
        "end_date": D(2027, 5, 31),
        "responsible_body": "杭州市生态环境局",
        "measures": "建立磋商、诉讼衔接机制。",
        "expected_outcomes": "形成可复制的赔偿磋商制度。",
        "approval_authority": "生态环境部",
        "approval_doc_number": "环办法规〔2026〕12号",
        "approval_date": D(2026, 5, 10),
    }
    data.update(overrides)
    return data


def comprehensive_data(orgs, **overrides) -> dict:
    return entry_data(
        orgs,
        kind=PilotKind.COMPREHENSIVE,
        origin=Origin.PROVINCIAL,
        start_date=D(2026, 6, 1),
        end_date=D(2029, 5, 31),
        **overrides,
    )


MILESTONES = [
    MilestoneData(D(2027, 5, 31), "完成制度设计"),
    MilestoneData(D(2028, 5, 31), "全域推开"),
]


def history_count() -> int:
    return Pilot.history.count()


# --- enter_pilot ----------------------------------------------------------------------------


def test_lead_department_enters_ministry_pilot_at_approved_R2_2(dept, orgs):
    # given a lead department with a ministry's approval in hand
    # when it enters the pilot
    pilot = enter_pilot(actor=dept, data=entry_data(orgs), regions=[orgs["hangzhou"]])
    # then the pilot starts its life at "approved", waiting to be filed
    pilot.refresh_from_db()
    assert pilot.status == Status.APPROVED
    assert pilot.code == "ST-2026-0001"
    assert pilot.applicant == orgs["dept"]
    assert pilot.lead_department == orgs["dept"]
    assert list(pilot.regions.all()) == [orgs["hangzhou"]]
    # and must be filed within a week of the approval
    assert pilot.filing_due == D(2026, 5, 17)


def test_entered_pilots_are_numbered_in_sequence_per_year_R2_2(dept, orgs, time_machine):
    first = enter_pilot(actor=dept, data=entry_data(orgs))
    second = enter_pilot(actor=dept, data=entry_data(orgs, name="第二个试点"))
    assert (first.code, second.code) == ("ST-2026-0001", "ST-2026-0002")
    # a new year starts a new sequence
    time_machine.move_to(dt.datetime(2027, 1, 2, 9, 0, tzinfo=SHANGHAI), tick=False)
    third = enter_pilot(actor=dept, data=entry_data(orgs, name="第三个试点"))
    assert third.code == "ST-2027-0001"


def test_code_year_is_the_local_year_on_new_years_eve_utc_R2_2(dept, orgs, time_machine):
    # 31 December 17:00 UTC is already 1 January in Zhejiang
    time_machine.move_to(dt.datetime(2026, 12, 31, 17, 0, tzinfo=dt.UTC), tick=False)
    assert enter_pilot(actor=dept, data=entry_data(orgs)).code == "ST-2027-0001"


def test_filing_due_follows_the_setting_R2_2(dept, orgs, settings):
    settings.PILOT_FILING_DAYS = 10
    pilot = enter_pilot(actor=dept, data=entry_data(orgs, approval_date=D(2026, 5, 10)))
    assert pilot.filing_due == D(2026, 5, 20)


def test_office_enters_pilot_on_behalf_of_lead_department_R2_2(personas, orgs):
    pilot = enter_pilot(actor=personas["office"], data=entry_data(orgs, origin=Origin.CENTRAL))
    assert pilot.status == Status.APPROVED
    # the lead department is recorded as the entering unit when the office names none
    assert pilot.applicant == orgs["dept"]


def test_department_cannot_pose_as_another_applicant_R2_2(dept, orgs):
    # an applicant in the data is overwritten with the actor's own organisation
    pilot = enter_pilot(actor=dept, data=entry_data(orgs, applicant=orgs["hangzhou"]))
    assert pilot.applicant == orgs["dept"]


def test_department_may_enter_pilot_led_by_its_division_R2_2(dept, orgs):
    pilot = enter_pilot(actor=dept, data=entry_data(orgs, lead_department=orgs["division"]))
    assert pilot.lead_department == orgs["division"]


def test_department_cannot_enter_pilot_led_by_another_department_R2_2(dept, orgs):
    # given the environment department naming the water department as lead
    # then it is refused: only the lead department (or the office) enters its pilots
    with pytest.raises((PermissionDenied, ValidationError)):
        enter_pilot(actor=dept, data=entry_data(orgs, lead_department=orgs["other_dept"]))
    assert not Pilot.objects.exists()


@pytest.mark.parametrize("field", ["approval_authority", "approval_doc_number", "approval_date"])
def test_direct_entry_requires_approval_information_R2_2(dept, orgs, field):
    empty = None if field == "approval_date" else ""
    with pytest.raises(ValidationError) as excinfo:
        enter_pilot(actor=dept, data=entry_data(orgs, **{field: empty}))
    assert excinfo.value.message_dict[field] == [
        "直接录入的试点须填写批复信息（第二条第（二）项）。"
    ]
    assert not Pilot.objects.exists()


def test_pilot_from_a_call_cannot_be_entered_directly_R2_2(dept, orgs):
    with pytest.raises(ValidationError) as excinfo:
        enter_pilot(actor=dept, data=entry_data(orgs, origin=Origin.CALL))
    assert "申报流程" in excinfo.value.message_dict["origin"][0]
    assert not Pilot.objects.exists()


@pytest.mark.parametrize("name", ["hangzhou", "ningbo", "county", "expert"])
def test_only_lead_departments_and_office_enter_pilots_R2_2(personas, orgs, name):
    with pytest.raises(PermissionDenied):
        enter_pilot(actor=personas[name], data=entry_data(orgs))
    assert not Pilot.objects.exists()
    assert history_count() == 0


def test_anonymous_user_cannot_enter_pilots_R2_2(orgs):
    from django.contrib.auth.models import AnonymousUser

    with pytest.raises(PermissionDenied):
        enter_pilot(actor=AnonymousUser(), data=entry_data(orgs))


def test_entry_history_records_actor_and_reason_R2_2(dept, orgs):
    pilot = enter_pilot(actor=dept, data=entry_data(orgs), reason="部委批复后录入")
    (record,) = pilot.history.all()
    assert record.history_type == "+"
    assert record.history_user == dept
    assert record.history_change_reason == "部委批复后录入"
    assert record.status == Status.APPROVED


def test_entry_history_has_a_default_reason_R2_2(dept, orgs):
    pilot = enter_pilot(actor=dept, data=entry_data(orgs))
    assert pilot.history.get().history_change_reason == "直接录入试点（已批复，待备案）"


def test_comprehensive_pilot_is_entered_with_its_milestones_R1_2(dept, orgs):
    pilot = enter_pilot(actor=dept, data=comprehensive_data(orgs), milestones=MILESTONES)
    rows = list(pilot.milestones.values_list("due_date", "title", "is_removed"))
    assert rows == [(D(2027, 5, 31), "完成制度设计", False), (D(2028, 5, 31), "全域推开", False)]
    # each milestone has its own history row with the actor
    for milestone in pilot.milestones.all():
        assert milestone.history.get().history_user == dept


@pytest.mark.parametrize(
    ("overrides", "milestones", "error_key", "text"),
    [
        (
            {"end_date": D(2028, 6, 2)},  # start 2026-06-01 + 2 years + 1 day
            (),
            "end_date",
            "单项试点期限最长不超过2年",
        ),
        (
            {"kind": PilotKind.COMPREHENSIVE, "end_date": D(2031, 6, 2)},
            MILESTONES,
            "end_date",
            "综合性试点期限最长不超过5年",
        ),
        (
            {"kind": PilotKind.COMPREHENSIVE, "end_date": D(2029, 5, 31)},
            (),
            "__all__",
            "综合性试点须明确阶段性目标任务和时间节点",
        ),
        (
            {"kind": PilotKind.COMPREHENSIVE, "end_date": D(2029, 5, 31)},
            [MilestoneData(D(2030, 1, 1), "超出期限的节点")],
            "__all__",
            "时间节点须在试点期限内",
        ),
    ],
)
def test_entry_violating_term_rules_is_refused_and_leaves_nothing_R1_2(
    dept, orgs, overrides, milestones, error_key, text
):
    # when a pilot breaking R1.2 is entered
    with pytest.raises(ValidationError) as excinfo:
        enter_pilot(actor=dept, data=entry_data(orgs, **overrides), milestones=milestones)
    # then it is refused in Chinese
    assert any(text in m for m in excinfo.value.message_dict[error_key])
    # and nothing was stored: no pilot, no milestone, no history
    assert not Pilot.objects.exists()
    assert not Milestone.objects.exists()
    assert history_count() == 0


@pytest.mark.parametrize("end", [D(2026, 6, 1), D(2026, 5, 31)])
def test_entry_ending_before_it_starts_is_refused_in_chinese_R1_2(dept, orgs, end):
    # the same message the form shows, not the database constraint's internal name
    with pytest.raises(ValidationError) as excinfo:
        enter_pilot(actor=dept, data=entry_data(orgs, end_date=end))
    assert "试点结束日期必须晚于开始日期。" in excinfo.value.messages
    assert not any("pilot_end_after_start" in m for m in excinfo.value.messages)
    assert not Pilot.objects.exists()


def test_refused_entry_does_not_use_up_a_code_R2_2(dept, orgs):
    with pytest.raises(ValidationError):
        enter_pilot(actor=dept, data=entry_data(orgs, end_date=D(2030, 1, 1)))
    assert not CodeSequence.objects.filter(last__gt=0).exists()
    assert enter_pilot(actor=dept, data=entry_data(orgs)).code == "ST-2026-0001"


def test_entry_with_bad_document_number_is_refused_in_chinese_R2_2(dept, orgs):
    with pytest.raises(ValidationError) as excinfo:
        enter_pilot(actor=dept, data=entry_data(orgs, approval_doc_number="浙环函2018-123"))
    assert "文号格式不正确" in excinfo.value.message_dict["approval_doc_number"][0]
    assert not Pilot.objects.exists()


# --- update_pilot ---------------------------------------------------------------------------


@pytest.fixture
def entered(dept, orgs):
    """A single pilot the environment department entered and has not filed yet."""
    return enter_pilot(actor=dept, data=entry_data(orgs), regions=[orgs["hangzhou"]])


@pytest.fixture
def entered_comprehensive(dept, orgs):
    return enter_pilot(actor=dept, data=comprehensive_data(orgs), milestones=MILESTONES)


def test_update_writes_a_new_history_row_with_actor_and_reason(dept, entered):
    rows_before = entered.history.count()
    # when the department corrects the name before filing
    update_pilot(
        actor=dept, pilot=entered, data={"name": "更正后的试点名称"}, reason="按批复文件更正名称"
    )
    # then the change is stored, with one more history row saying who and why
    entered.refresh_from_db()
    assert entered.name == "更正后的试点名称"
    latest = entered.history.latest()
    assert entered.history.count() == rows_before + 1
    assert latest.history_type == "~"
    assert latest.history_user == dept
    assert latest.history_change_reason == "按批复文件更正名称"
    assert latest.history_object.name == "更正后的试点名称"


def test_update_has_a_default_reason(dept, entered):
    update_pilot(actor=dept, pilot=entered, data={"scope": "杭州市区。"})
    assert entered.history.latest().history_change_reason == "修改试点信息"


def test_office_may_update_an_approved_pilot(personas, entered):
    update_pilot(actor=personas["office"], pilot=entered, data={"scope": "杭州市区。"})
    assert entered.history.latest().history_user == personas["office"]


def test_department_may_update_approved_pilot_its_division_leads(dept, orgs, personas):
    # given an approved pilot the office entered for the department's division
    pilot = enter_pilot(
        actor=personas["office"], data=entry_data(orgs, lead_department=orgs["division"])
    )
    # then the department may still correct it before filing
    update_pilot(actor=dept, pilot=pilot, data={"scope": "杭州市区。"})
    pilot.refresh_from_db()
    assert pilot.scope == "杭州市区。"


@pytest.mark.parametrize(
    "status",
    [Status.FILING_SUBMITTED, Status.ACTIVE, Status.CLOSED, Status.PURGED, Status.ENDORSED],
)
def test_update_refused_once_the_pilot_is_no_longer_editable(dept, entered, status):
    # given the pilot has moved past "approved"
    Pilot.objects.filter(pk=entered.pk).update(status=status)
    before = history_count()
    # then its lead department can no longer edit its content
    with pytest.raises(PermissionDenied):
        update_pilot(actor=dept, pilot=entered, data={"name": "不应保存"})
    entered.refresh_from_db()
    assert entered.name != "不应保存"
    assert history_count() == before


@pytest.mark.parametrize("name", ["other_dept", "hangzhou", "ningbo", "county", "expert"])
def test_update_refused_for_other_organisations(personas, other_dept_user, entered, name):
    actor = other_dept_user if name == "other_dept" else personas[name]
    before = history_count()
    with pytest.raises(PermissionDenied):
        update_pilot(actor=actor, pilot=entered, data={"name": "不应保存"})
    entered.refresh_from_db()
    assert entered.name != "不应保存"
    assert history_count() == before


@pytest.mark.parametrize("field", ["code", "status", "applicant", "applicant_id"])
def test_update_cannot_change_code_status_or_applicant(dept, orgs, entered, field):
    value = {
        "code": "ST-2026-9999",
        "status": Status.ACTIVE,
        "applicant": orgs["hangzhou"],
        "applicant_id": orgs["hangzhou"].pk,
    }[field]
    with pytest.raises(ValidationError):
        update_pilot(actor=dept, pilot=entered, data={field: value})
    entered.refresh_from_db()
    assert (entered.code, entered.status, entered.applicant) == (
        "ST-2026-0001",
        Status.APPROVED,
        orgs["dept"],
    )


def test_update_cannot_hand_the_pilot_to_another_department(dept, orgs, entered):
    # the lead department is chosen among the department and its divisions only
    with pytest.raises((PermissionDenied, ValidationError)):
        update_pilot(actor=dept, pilot=entered, data={"lead_department": orgs["other_dept"]})
    entered.refresh_from_db()
    assert entered.lead_department == orgs["dept"]


@pytest.mark.parametrize(
    ("data", "milestones", "text"),
    [
        ({"end_date": D(2028, 6, 2)}, None, "单项试点期限最长不超过2年"),
        ({"end_date": D(2026, 5, 1)}, None, "试点结束日期必须晚于开始日期。"),
        ({"kind": PilotKind.COMPREHENSIVE}, None, "综合性试点须明确阶段性目标任务和时间节点"),
        (
            {"kind": PilotKind.COMPREHENSIVE},
            [MilestoneData(D(2025, 1, 1), "期限前的节点")],
            "时间节点须在试点期限内",
        ),
    ],
)
def test_update_violating_term_rules_changes_nothing_R1_2(dept, entered, data, milestones, text):
    before_history = history_count()
    before = Pilot.objects.values().get(pk=entered.pk)
    with pytest.raises(ValidationError) as excinfo:
        update_pilot(actor=dept, pilot=entered, data=data, milestones=milestones)
    assert any(text in m for m in excinfo.value.messages)
    assert Pilot.objects.values().get(pk=entered.pk) == before
    assert history_count() == before_history
    assert not Milestone.objects.exists()


def test_shortening_a_comprehensive_term_past_its_milestones_is_refused_R1_2(
    dept, entered_comprehensive
):
    # given milestones in 2027 and 2028, when the end is moved to the end of 2027
    before_history = history_count()
    with pytest.raises(ValidationError) as excinfo:
        update_pilot(actor=dept, pilot=entered_comprehensive, data={"end_date": D(2027, 12, 31)})
    assert "2028年5月31日" in excinfo.value.message_dict["__all__"][0]
    entered_comprehensive.refresh_from_db()
    assert entered_comprehensive.end_date == D(2029, 5, 31)
    assert history_count() == before_history


def test_replaced_milestones_are_marked_removed_never_deleted_R1_2(dept, entered_comprehensive):
    # when the department replaces one milestone and keeps the other
    update_pilot(
        actor=dept,
        pilot=entered_comprehensive,
        data={},
        milestones=[
            MilestoneData(D(2027, 5, 31), "完成制度设计"),
            MilestoneData(D(2028, 12, 31), "形成制度成果"),
        ],
        reason="调整时间节点",
    )
    # then the dropped milestone is still stored, marked removed
    rows = Milestone.objects.filter(pilot=entered_comprehensive).order_by("due_date")
    assert [(m.due_date, m.title, m.is_removed) for m in rows] == [
        (D(2027, 5, 31), "完成制度设计", False),
        (D(2028, 5, 31), "全域推开", True),
        (D(2028, 12, 31), "形成制度成果", False),
    ]
    removed = rows.get(is_removed=True)
    assert removed.history.latest().history_user == dept
    assert removed.history.latest().history_change_reason == "时间节点调整"
    # and the pilot's own history row carries the reason
    assert entered_comprehensive.history.latest().history_change_reason == "调整时间节点"


def test_update_without_milestones_keeps_the_current_ones_R1_2(dept, entered_comprehensive):
    update_pilot(actor=dept, pilot=entered_comprehensive, data={"scope": "全省。"})
    assert list(
        entered_comprehensive.milestones.filter(is_removed=False).values_list("title", flat=True)
    ) == ["完成制度设计", "全域推开"]
    assert not Milestone.objects.filter(is_removed=True).exists()


def test_marking_a_milestone_reached_updates_it_in_place(dept, entered_comprehensive):
    update_pilot(
        actor=dept,
        pilot=entered_comprehensive,
        data={},
        milestones=[
            MilestoneData(D(2027, 5, 31), "完成制度设计", reached_on=D(2027, 5, 20)),
            MilestoneData(D(2028, 5, 31), "全域推开"),
        ],
    )
    assert Milestone.objects.filter(pilot=entered_comprehensive).count() == 2
    done = Milestone.objects.get(title="完成制度设计")
    assert done.reached_on == D(2027, 5, 20)
    assert done.history.latest().history_change_reason == "更新节点完成情况"


def test_update_replaces_regions_and_participating_units(dept, orgs, entered):
    update_pilot(
        actor=dept,
        pilot=entered,
        data={},
        regions=[orgs["county"], orgs["ningbo"]],
        participating_units=[orgs["other_dept"]],
    )
    assert set(entered.regions.all()) == {orgs["county"], orgs["ningbo"]}
    assert list(entered.participating_units.all()) == [orgs["other_dept"]]
    # the history as it stands now knows the new regions, and who changed them
    latest = entered.history.latest()
    assert set(latest.regions.values_list("organisation", flat=True)) == {
        orgs["county"].pk,
        orgs["ningbo"].pk,
    }
    assert latest.history_user == dept


def test_every_history_row_of_an_entry_carries_actor_and_reason_R2_2(dept, orgs):
    pilot = enter_pilot(
        actor=dept,
        data=entry_data(orgs),
        regions=[orgs["hangzhou"]],
        participating_units=[orgs["other_dept"]],
        reason="部委批复后录入",
    )
    rows = list(pilot.history.all())
    assert rows
    assert {(r.history_user, r.history_change_reason) for r in rows} == {(dept, "部委批复后录入")}
    assert [r.organisation_id for r in pilot.history.latest().regions.all()] == [
        orgs["hangzhou"].pk
    ]


# --- the pilot page's history -------------------------------------------------------------


def detail_queries(client, pilot, page: str = "") -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    url = f"/pilots/{pilot.code}/{page}"
    client.get(url)  # the first visit fills the session's saved state
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200
    return len(captured.captured_queries)


def test_pilot_page_queries_do_not_grow_with_its_history(dept, orgs, entered, client_for):
    client = client_for("office")
    update_pilot(actor=dept, pilot=entered, data={}, regions=[orgs["county"]])
    short = detail_queries(client, entered)
    short_history = detail_queries(client, entered, "history/")
    # when the regions change eight more times (each change writes history rows with their
    # many-to-many sets)
    for i in range(8):
        regions = [orgs["hangzhou"]] if i % 2 == 0 else [orgs["county"], orgs["hangzhou"]]
        update_pilot(actor=dept, pilot=entered, data={}, regions=regions)
    assert entered.history.count() >= 10
    # then the pilot's page and its history page run the same number of queries
    assert detail_queries(client, entered) == short
    assert detail_queries(client, entered, "history/") == short_history


def test_pilot_history_names_regions_as_they_were_including_removed_ones(
    dept, orgs, entered, client_for
):
    # given the pilot moved from Hangzhou to the county (Hangzhou is no longer a region)
    update_pilot(actor=dept, pilot=entered, data={}, regions=[orgs["county"]], reason="调整地区")
    page = client_for("office").get(f"/pilots/{entered.code}/history/")
    entry = next(e for e in page.context["timeline"] if e.reason == "调整地区")
    change = next(c for c in entry.changes if c.label == "试点地区")
    # then the history names both as the places they are, not by ids nor as bureaus
    assert (change.old, change.new) == ("杭州市", "杭州市西湖区")


def test_pilot_history_shows_a_region_as_its_place_even_when_it_is_the_applicant(
    dept, orgs, entered, client_for
):
    # given the county bureau applied and its county is the region
    Pilot.objects.filter(pk=entered.pk).update(applicant=orgs["county"])
    entered.refresh_from_db()
    update_pilot(actor=dept, pilot=entered, data={}, regions=[orgs["county"]], reason="调整地区")
    page = client_for("office").get(f"/pilots/{entered.code}/history/")
    entry = next(e for e in page.context["timeline"] if e.reason == "调整地区")
    change = next(c for c in entry.changes if c.label == "试点地区")
    assert change.new == "杭州市西湖区"
    assert orgs["county"].name not in change.new  # the bureau is the applicant, not a region


def test_pilot_history_shows_a_file_by_its_own_name_and_an_empty_value_as_a_dash(
    dept, orgs, entered, client_for
):
    from django.core.files.base import ContentFile

    from core.history import save_with_history

    entered.plan_attachment.save("实施方案.pdf", ContentFile(b"%PDF-1.4"), save=False)
    save_with_history(entered, actor=dept, reason="上传方案", update_fields=["plan_attachment"])
    page = client_for("office").get(f"/pilots/{entered.code}/history/")
    entry = next(e for e in page.context["timeline"] if e.reason == "上传方案")
    change = next(c for c in entry.changes if c.label == "试点方案")
    assert change.old == "—"
    assert change.new.startswith("实施方案") and change.new.endswith(".pdf")
    assert "/" not in change.new
    assert f"pilots/{entered.code}/plan/" not in page.content.decode()


def test_a_pilot_approved_after_today_is_refused_R2_2(dept, orgs):
    """The filing week runs from the approval (R2.2): an approval dated after today would let
    a pilot escape it, so direct entry refuses it and nothing is written."""
    from django.utils import timezone

    future = timezone.localdate() + dt.timedelta(days=400)
    with pytest.raises(ValidationError) as refused:
        enter_pilot(actor=dept, data=entry_data(orgs, approval_date=future))
    assert "批复日期不能晚于今天" in str(refused.value.message_dict["approval_date"])
    assert not Pilot.objects.exists()
