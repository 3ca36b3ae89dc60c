"""Filing (备案, R2.2): a lead department files an approved pilot within a week of its approval,
with the filing form and the pilot plan; the office confirms it (the pilot enters the ledger,
R2.3) or returns it for a new version. Through the domain functions and through the pages."""

from __future__ import annotations

import datetime as dt
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.constants import Role
from accounts.models import Notification
from ledger.constants import FilingStatus
from ledger.filing import confirm_filing, return_filing, submit_filing
from ledger.models import Filing
from pilots import rules
from pilots.constants import PilotKind, Status
from pilots.models import Milestone, Pilot
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
APPROVED = D(2026, 3, 2)
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def on_day_of_approval_plus_five(time_machine):
    time_machine.move_to(at(APPROVED + dt.timedelta(days=5)), tick=False)


def plan_pdf(name: str = "试点方案.pdf") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, PDF, content_type="application/pdf")


def filing_data(**overrides) -> dict:
    """What a lead department states in the 备案表, as the domain function takes it."""
    data = {
        "approval_authority": "浙江省生态环境厅",
        "approval_doc_number": "浙环函〔2026〕31号",
        "approval_date": APPROVED,
        "implementing_body": "杭州市西湖区人民政府",
        "start_date": D(2026, 3, 10),
        "end_date": D(2027, 3, 9),
        "goal": "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。",
        "measures": "1. 制定磋商规则；2. 建立司法确认衔接机制；3. 开展修复效果评估。",
        "expected_outcomes": "形成可复制可推广的赔偿磋商制度。",
        "milestones_text": "2026-09-30 完成制度设计",
        "contact_person": "王明",
        "contact_phone": "0571-87654321",
    }
    data.update(overrides)
    return data


def form_post(**overrides) -> dict:
    """The same, as the browser posts the filing form (dates as text, the plan a file)."""
    data = {k: v.isoformat() if isinstance(v, dt.date) else v for k, v in filing_data().items()}
    data["plan"] = plan_pdf()
    data.update(overrides)
    return {k: v for k, v in data.items() if v is not None}


@pytest.fixture
def approved(make_pilot, orgs):
    """An approved pilot of the environment department, in a county of Hangzhou."""
    return make_pilot(
        status=Status.APPROVED,
        approval_date=APPROVED,
        approval_doc_number="浙环函〔2026〕31号",
        start_date=D(2026, 3, 10),
        end_date=D(2027, 3, 9),
        ledger_since=None,
        regions=[orgs["county"]],
    )


@pytest.fixture
def water(orgs):
    return UserFactory(username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)


@pytest.fixture
def law_division(orgs):
    return UserFactory(username="lawdiv", organisation=orgs["division"], role=Role.LEAD_DEPARTMENT)


def submit(personas, pilot, *, by="dept", plan="default", **data):
    actor = personas[by] if isinstance(by, str) else by
    return submit_filing(
        actor=actor,
        pilot=pilot,
        data=filing_data(**data),
        plan=plan_pdf() if plan == "default" else plan,
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- the deadline (R2.2) --------------------------------------------------------------------


def test_filing_is_due_seven_days_after_approval_R2_2(personas, approved):
    assert rules.filing_due(APPROVED) == D(2026, 3, 9)
    assert approved.filing_due == D(2026, 3, 9)

    filing = submit(personas, approved)

    assert filing.due_date == D(2026, 3, 9)
    assert (filing.filed_on, filing.days_late) == (D(2026, 3, 7), 0)


@pytest.mark.parametrize(
    ("days_after_approval", "days_late"),
    [(0, 0), (7, 0), (8, 1), (30, 23)],
    ids=["same-day", "day-7-on-time", "day-8-one-day-late", "day-30"],
)
def test_filing_on_day_n_is_on_time_or_accepted_and_marked_late_R2_2(
    personas, approved, time_machine, days_after_approval, days_late
):
    filed_on = APPROVED + dt.timedelta(days=days_after_approval)
    time_machine.move_to(at(filed_on), tick=False)

    filing = submit(personas, approved)

    # a late filing is accepted all the same, and marked with its days late
    assert (filing.filed_on, filing.days_late) == (filed_on, days_late)
    approved.refresh_from_db()
    assert approved.status == Status.FILING_SUBMITTED
    # time stands still here: the newest record is the one written last
    reason = approved.history.order_by("history_id").last().history_change_reason
    assert reason == (f"报送备案（逾期{days_late}天）" if days_late else "报送备案")


def test_the_filing_period_is_a_setting_R2_2(personas, approved, settings, time_machine):
    settings.PILOT_FILING_DAYS = 10
    assert rules.filing_due(APPROVED) == D(2026, 3, 12)

    time_machine.move_to(at(D(2026, 3, 12)), tick=False)
    on_time = submit(personas, approved)
    assert (on_time.due_date, on_time.days_late) == (D(2026, 3, 12), 0)

    assert rules.filing_days_late(APPROVED, D(2026, 3, 13)) == 1


def test_lateness_counts_from_the_approval_on_record_R2_2(personas, approved, time_machine):
    time_machine.move_to(at(D(2026, 3, 20)), tick=False)
    assert approved.filing_due == D(2026, 3, 9)

    filing = submit(personas, approved, approval_date=D(2026, 3, 15))

    assert (filing.due_date, filing.days_late) == (D(2026, 3, 9), 11)


# --- what a filing must contain (R2.2, R1.2) --------------------------------------------------


@pytest.mark.parametrize("plan", [None, ""], ids=["none", "empty"])
def test_the_pilot_plan_must_be_attached_R2_2(personas, approved, plan):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, approved, plan=plan)

    assert "请上传试点方案" in excinfo.value.message_dict["plan"][0]
    assert not Filing.objects.exists()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED


def test_a_filing_over_the_R1_2_term_limit_is_refused_R2_2(personas, approved):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, approved, start_date=D(2026, 3, 10), end_date=D(2028, 3, 11))

    assert "单项试点期限最长不超过2年" in excinfo.value.message_dict["end_date"][0]
    assert not Filing.objects.exists()


def test_a_comprehensive_filing_keeps_the_milestones_within_the_term_R1_2_R2_2(
    personas, make_pilot, orgs
):
    pilot = make_pilot(
        status=Status.APPROVED,
        kind=PilotKind.COMPREHENSIVE,
        approval_date=APPROVED,
        start_date=D(2026, 3, 10),
        end_date=D(2029, 3, 9),
    )
    Milestone.objects.create(pilot=pilot, due_date=D(2028, 12, 31), title="全域推开")

    # the filed term would end before the pilot's milestone (time nodes left blank keep it)
    with pytest.raises(ValidationError) as excinfo:
        submit(
            personas, pilot, start_date=D(2026, 3, 10), end_date=D(2028, 6, 30), milestones_text=""
        )
    assert "时间节点须在试点期限内" in excinfo.value.message_dict["end_date"][0]

    filing = submit(
        personas, pilot, start_date=D(2026, 3, 10), end_date=D(2029, 3, 9), milestones_text=""
    )
    assert filing.end_date == D(2029, 3, 9)


@pytest.mark.parametrize(
    ("field", "value", "message"),
    [
        ("approval_doc_number", "环评第12号", "文号格式不正确"),
        ("contact_phone", "电话待定", "联系电话格式不正确"),
        ("approval_date", D(2026, 3, 8), "批复日期不能晚于今天"),
        ("goal", "  ", "此项为必填项"),
        ("end_date", D(2026, 3, 1), "试点结束日期必须晚于开始日期"),
    ],
)
def test_a_bad_filing_is_refused_in_chinese_and_changes_nothing_R2_2(
    personas, approved, field, value, message
):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, approved, **{field: value})

    assert message in " ".join(excinfo.value.message_dict[field])
    assert not Filing.objects.exists()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert not Notification.objects.exists()


def test_only_an_approved_pilot_is_filed_R2_2(personas, make_pilot):
    active = make_pilot(status=Status.ACTIVE, approval_date=APPROVED)
    with pytest.raises(ValidationError, match="不能报送备案"):
        submit(personas, active)


# --- who files (R2.2) -------------------------------------------------------------------------


def test_the_lead_department_files_its_pilot_R2_2(personas, approved):
    filing = submit(personas, approved)
    assert filing.submitted_by == personas["dept"]


def test_the_parent_department_or_the_division_files_a_division_led_pilot_R2_2(
    personas, make_pilot, orgs, law_division
):
    by_dept = make_pilot(
        status=Status.APPROVED, approval_date=APPROVED, lead_department=orgs["division"]
    )
    by_division = make_pilot(
        status=Status.APPROVED, approval_date=APPROVED, lead_department=orgs["division"]
    )

    assert submit(personas, by_dept, by="dept").submitted_by == personas["dept"]
    assert submit(personas, by_division, by=law_division).submitted_by == law_division


@pytest.mark.parametrize("who", ["water", "hangzhou", "ningbo", "county", "expert"])
def test_nobody_else_files_R2_2(personas, approved, water, who):
    actor = water if who == "water" else personas[who]

    with pytest.raises(PermissionDenied):
        submit(personas, approved, by=actor)

    assert not Filing.objects.exists()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED


def test_a_department_does_not_file_another_departments_pilot_R2_2(personas, make_pilot, orgs):
    theirs = make_pilot(
        status=Status.APPROVED, approval_date=APPROVED, lead_department=orgs["other_dept"]
    )
    with pytest.raises(PermissionDenied):
        submit(personas, theirs, by="dept")


# --- the office confirms or returns (R2.2 → R2.3) ---------------------------------------------


def test_submit_then_confirm_puts_the_pilot_in_the_ledger_with_the_filed_facts_R2_2(
    personas, approved, time_machine
):
    filing = submit(
        personas,
        approved,
        approval_doc_number="浙环函〔2026〕32号",
        implementing_body="杭州市西湖区人民政府（区生态环境分局具体实施）",
        start_date=D(2026, 4, 1),
        end_date=D(2027, 3, 31),
        contact_person="李华",
    )
    approved.refresh_from_db()
    assert approved.status == Status.FILING_SUBMITTED
    assert approved.ledger_since is None
    assert filing.status == FilingStatus.SUBMITTED
    assert filing.version == 1

    time_machine.move_to(at(D(2026, 3, 10)), tick=False)
    confirm_filing(actor=personas["office"], filing=filing)

    approved.refresh_from_db()
    filing.refresh_from_db()
    assert approved.status == Status.ACTIVE
    assert approved.ledger_since == D(2026, 3, 10)
    assert Pilot.objects.in_ledger().filter(pk=approved.pk).exists()
    # what was filed is now the pilot's record
    assert approved.approval_doc_number == "浙环函〔2026〕32号"
    assert approved.implementing_body == "杭州市西湖区人民政府（区生态环境分局具体实施）"
    assert (approved.start_date, approved.end_date) == (D(2026, 4, 1), D(2027, 3, 31))
    assert approved.contact_person == "李华"
    assert approved.plan_attachment.name == filing.plan.name
    assert filing.plan.name.startswith(f"filings/{approved.code}/v1/")
    assert (filing.status, filing.decided_by) == (FilingStatus.CONFIRMED, personas["office"])
    assert filing.decided_at is not None


def test_confirming_twice_is_refused_R2_2(personas, approved):
    filing = submit(personas, approved)
    confirm_filing(actor=personas["office"], filing=filing)

    with pytest.raises(ValidationError, match="不能重复确认"):
        confirm_filing(actor=personas["office"], filing=filing)


def test_a_returned_filing_is_filed_again_as_version_2_R2_2(personas, approved):
    first = submit(personas, approved)

    return_filing(
        actor=personas["office"], filing=first, reason="试点方案未明确阶段目标，请补充后重新报送。"
    )

    approved.refresh_from_db()
    first.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert first.status == FilingStatus.RETURNED
    assert first.return_reason == "试点方案未明确阶段目标，请补充后重新报送。"

    second = submit(personas, approved, goal="补充阶段目标后的试点目标。")
    assert second.version == 2
    assert second.plan.name.startswith(f"filings/{approved.code}/v2/")
    confirm_filing(actor=personas["office"], filing=second)

    approved.refresh_from_db()
    assert approved.status == Status.ACTIVE
    assert approved.goal == "补充阶段目标后的试点目标。"
    assert list(approved.filings.values_list("version", "status")) == [
        (2, FilingStatus.CONFIRMED),
        (1, FilingStatus.RETURNED),
    ]
    # version 1 stays readable with its plan
    assert Filing.objects.get(pk=first.pk).plan.read() == PDF


def test_a_return_needs_a_reason_R2_2(personas, approved):
    filing = submit(personas, approved)
    with pytest.raises(ValidationError) as excinfo:
        return_filing(actor=personas["office"], filing=filing, reason="  ")
    assert excinfo.value.message_dict["reason"] == ["请填写退回理由。"]
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED


@pytest.mark.parametrize("who", ["dept", "hangzhou", "county", "expert"])
def test_only_the_office_confirms_or_returns_R2_2(personas, approved, who):
    filing = submit(personas, approved)

    with pytest.raises(PermissionDenied):
        confirm_filing(actor=personas[who], filing=filing)
    with pytest.raises(PermissionDenied):
        return_filing(actor=personas[who], filing=filing, reason="不同意")

    filing.refresh_from_db()
    approved.refresh_from_db()
    assert (filing.status, approved.status) == (FilingStatus.SUBMITTED, Status.FILING_SUBMITTED)


def test_the_office_is_told_of_a_filing_and_the_department_of_the_decision_R2_2(
    personas, orgs, approved, make_pilot, time_machine
):
    filing = submit(personas, approved)
    to_office = Notification.objects.get(organisation=orgs["office"])
    assert to_office.subject == f"待确认备案：{approved.name}"
    assert "第1版" in to_office.body

    confirm_filing(actor=personas["office"], filing=filing)
    to_dept = Notification.objects.get(organisation=orgs["dept"])
    assert to_dept.subject == f"备案已确认：{approved.name}"
    assert "每季度结束后10日内报送进展" in to_dept.body

    late = make_pilot(status=Status.APPROVED, approval_date=APPROVED)
    time_machine.move_to(at(D(2026, 3, 12)), tick=False)
    late_filing = submit(personas, late)
    assert Notification.objects.filter(
        organisation=orgs["office"], subject=f"待确认备案：{late.name}（逾期3天）"
    ).exists()
    return_filing(actor=personas["office"], filing=late_filing, reason="方案缺少附件。")
    returned = Notification.objects.get(organisation=orgs["dept"], subject__startswith="备案被退回")
    assert (returned.subject, returned.body) == (f"备案被退回：{late.name}", "方案缺少附件。")


def test_the_department_that_filed_a_division_led_pilot_hears_of_the_decision_R2_2(
    personas, make_pilot, orgs
):
    confirmed = make_pilot(
        status=Status.APPROVED, approval_date=APPROVED, lead_department=orgs["division"]
    )
    returned = make_pilot(
        status=Status.APPROVED, approval_date=APPROVED, lead_department=orgs["division"]
    )
    confirm_filing(actor=personas["office"], filing=submit(personas, confirmed))
    return_filing(
        actor=personas["office"], filing=submit(personas, returned), reason="请补充附件。"
    )

    told = set(
        Notification.objects.filter(organisation=orgs["dept"]).values_list("subject", flat=True)
    )
    assert told == {f"备案已确认：{confirmed.name}", f"备案被退回：{returned.name}"}


def test_filing_confirming_and_returning_write_history_with_user_and_reason_R2_2(
    personas, approved
):
    first = submit(personas, approved)
    return_filing(actor=personas["office"], filing=first, reason="请补充联系人。")
    second = submit(personas, approved)
    confirm_filing(actor=personas["office"], filing=second)

    def trail(records):
        return [
            (getattr(h.history_user, "username", None), h.history_change_reason) for h in records
        ]

    assert trail(first.history.order_by("history_id")) == [
        ("dept", "报送备案表"),
        ("office", "退回备案：请补充联系人。"),
    ]
    assert trail(second.history.order_by("history_id")) == [
        ("dept", "报送备案表"),
        ("office", "省办确认备案"),
    ]
    assert trail(approved.history.order_by("history_id"))[-4:] == [
        ("dept", "报送备案"),
        ("office", "备案被退回：请补充联系人。"),
        ("dept", "报送备案"),
        ("office", "省办确认备案，列入台账"),
    ]
    statuses = list(approved.history.order_by("history_id").values_list("status", flat=True))
    assert statuses[-4:] == [
        Status.FILING_SUBMITTED,
        Status.APPROVED,
        Status.FILING_SUBMITTED,
        Status.ACTIVE,
    ]


# --- the filing form (views) ------------------------------------------------------------------


def file_url(pilot) -> str:
    return f"/ledger/pilots/{pilot.code}/file/"


def test_the_filing_form_is_prefilled_from_the_pilot_and_shows_the_deadline_R2_2(
    client_for, approved, time_machine
):
    time_machine.move_to(at(D(2026, 3, 12)), tick=False)

    response = client_for("dept").get(file_url(approved))

    assert response.status_code == 200
    text = response.content.decode()
    assert "生态文明领域新增改革试点项目备案表" in text
    assert "2026年3月9日" in text and "已逾期3天，报送后将标记为逾期备案" in text
    form = response.context["form"]
    assert form["approval_doc_number"].value() == "浙环函〔2026〕31号"
    assert form["implementing_body"].value() == approved.implementing_body


def test_filing_through_the_form_redirects_to_the_pilot_R2_2(client_for, approved, time_machine):
    time_machine.move_to(at(D(2026, 3, 11)), tick=False)

    # the form's time node differs from the approval: acknowledged before sending
    response = client_for("dept").post(file_url(approved), form_post(confirm_differences="1"))

    assert response.status_code == 302
    assert response["Location"] == approved.get_absolute_url()
    assert _messages(response) == ["备案已报送，逾期2天，已标记为逾期备案。"]
    filing = Filing.objects.get(pilot=approved)
    assert (filing.days_late, filing.plan.read()) == (2, PDF)
    approved.refresh_from_db()
    assert approved.status == Status.FILING_SUBMITTED


EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64


@pytest.mark.parametrize(
    ("overrides", "field", "message"),
    [
        ({"approval_doc_number": "浙环函2026-31"}, "approval_doc_number", "文号格式不正确"),
        ({"plan": None}, "plan", "请上传试点方案（备案须附试点方案）。"),
        (
            {"plan": SimpleUploadedFile("试点方案.pdf", EXE, content_type="application/pdf")},
            "plan",
            "只接受 PDF、DOCX 或 XLSX 文件。",
        ),
        (
            {"start_date": "2026-06-01", "end_date": "2026-05-01"},
            "end_date",
            "试点结束日期必须晚于开始日期。",
        ),
        ({"approval_date": "2026年3月2日"}, "approval_date", "请输入有效日期。"),
        ({"contact_person": ""}, "contact_person", "此项为必填项。"),
    ],
    ids=["doc-number", "no-plan", "renamed-exe", "end-before-start", "bad-date", "no-contact"],
)
def test_a_bad_filing_form_shows_chinese_errors_and_changes_nothing_R2_2(
    client_for, approved, overrides, field, message
):
    response = client_for("dept").post(file_url(approved), form_post(**overrides))

    assert response.status_code == 200
    assert any(message in error for error in response.context["form"].errors[field])
    assert message in response.content.decode()
    assert not Filing.objects.exists()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert not Notification.objects.exists()


def test_the_filing_form_of_a_pilot_not_awaiting_filing_sends_back_to_the_pilot_R2_2(
    client_for, personas, approved
):
    submit(personas, approved)

    response = client_for("dept").get(file_url(approved))

    assert response.status_code == 302
    assert _messages(response) == ["当前状态为“备案待确认”，不能报送备案。"]


@pytest.mark.parametrize(
    ("who", "status"),
    [
        ("ningbo", 404),  # outside Ningbo: it does not learn the pilot exists
        ("water", 404),  # another department's pilot
        ("expert", 404),
        ("hangzhou", 403),  # sees the approved pilot in its region, but does not file it
        ("county", 403),
        (None, 302),  # anonymous: to the login page
    ],
)
def test_the_filing_form_is_only_for_the_lead_department_R2_2(
    client, client_for, personas, water, approved, who, status
):
    if who == "water":
        client.force_login(water)
    else:
        client_for(who)

    assert client.get(file_url(approved)).status_code == status
    assert client.post(file_url(approved), form_post()).status_code == status
    assert not Filing.objects.exists()


def test_a_participating_department_sees_the_pilot_but_may_not_file_it_R2_2(
    client, personas, water, approved, orgs
):
    approved.participating_units.add(orgs["other_dept"])
    client.force_login(water)

    assert client.get(approved.get_absolute_url()).status_code == 200
    assert client.get(file_url(approved)).status_code == 403


# --- the office's confirmation page -----------------------------------------------------------


def decide_url(filing) -> str:
    return f"/ledger/filings/{filing.pk}/decide/"


def test_the_office_confirms_from_the_filing_page_linked_from_the_list_R2_2(
    client_for, personas, approved
):
    filing = submit(personas, approved)
    client = client_for("office")

    page = client.get("/ledger/filings/")
    assert page.status_code == 200
    assert list(page.context["pending"]) == [filing]
    assert f'href="/ledger/filings/{filing.pk}/"' in page.content.decode()
    assert "确认备案，列入台账" in client.get(f"/ledger/filings/{filing.pk}/").content.decode()

    response = client.post(decide_url(filing), {"action": "confirm"})

    assert response.status_code == 302
    assert response["Location"] == f"/ledger/filings/{filing.pk}/"
    assert _messages(response) == [f"已确认备案，{approved.code} 列入台账。"]
    approved.refresh_from_db()
    assert (approved.status, approved.ledger_since) == (Status.ACTIVE, D(2026, 3, 7))
    after = client.get("/ledger/filings/")
    assert list(after.context["pending"]) == []
    assert list(after.context["recent"]) == [filing]


def test_the_office_returns_on_the_filings_page_with_a_reason_R2_2(client_for, personas, approved):
    filing = submit(personas, approved)
    client = client_for("office")

    empty = client.post(decide_url(filing), {"action": "return", "reason": ""})
    assert _messages(empty) == ["请填写退回理由。"]
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED

    client.post(decide_url(filing), {"action": "return", "reason": "批复文号有误。"})
    filing.refresh_from_db()
    approved.refresh_from_db()
    assert (filing.status, filing.return_reason) == (FilingStatus.RETURNED, "批复文号有误。")
    assert approved.status == Status.APPROVED
    assert "批复文号有误。" in client.get("/ledger/filings/").content.decode()


def test_a_lead_department_cannot_confirm_its_own_filing_through_the_page_R2_2(
    client_for, personas, approved
):
    filing = submit(personas, approved)
    client = client_for("dept")

    page = client.get("/ledger/filings/")
    assert list(page.context["pending"]) == [filing]
    assert "确认，列入台账" not in page.content.decode()
    assert client.post(decide_url(filing), {"action": "confirm"}).status_code == 403
    assert client_for("ningbo").post(decide_url(filing), {"action": "confirm"}).status_code == 404
    filing.refresh_from_db()
    assert filing.status == FilingStatus.SUBMITTED


# --- the plan, only through the gate ----------------------------------------------------------


def test_the_plan_is_downloaded_only_by_those_who_see_the_pilot_R2_2(
    client_for, personas, make_pilot, orgs
):
    in_ningbo = make_pilot(
        status=Status.APPROVED,
        approval_date=APPROVED,
        start_date=D(2026, 3, 10),
        end_date=D(2027, 3, 9),
        regions=[orgs["ningbo"]],
    )
    filing = submit(personas, in_ningbo)
    url = f"/ledger/filings/{filing.pk}/plan/"

    for who in ("dept", "office", "ningbo"):
        response = client_for(who).get(url)
        assert response.status_code == 200, who
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Disposition"].startswith("attachment")
        assert response["X-Content-Type-Options"] == "nosniff"
    for who in ("hangzhou", "county", "expert"):
        assert client_for(who).get(url).status_code == 404, who
    # the stored file is not served under MEDIA_URL either
    assert client_for("hangzhou").get(f"/files/{filing.plan.name}").status_code == 404


def test_a_filings_page_is_marked_in_the_navigation_as_filing_confirmation(
    client_for, personas, approved
):
    filing = submit(personas, approved)
    page = client_for("office").get(f"/ledger/filings/{filing.pk}/").content.decode()
    current = re.findall(r'<a [^>]*aria-current="page"[^>]*>([^<]*)</a>', page)
    assert current == ["备案确认"]
