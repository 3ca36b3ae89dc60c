"""The call and application pages through the views (N3, R1.1, R2.2): the office opens a call,
a county fills and submits its 申报表, the prefecture screens it, the lead department gives its
opinion, the office approves; who may see which page; errors shown in Chinese, never a 500."""

from __future__ import annotations

import datetime as dt
import io
import re
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages

from accounts.models import Notification
from pilots.constants import Decision, Stage, Status
from pilots.models import Call, Pilot

SHANGHAI = ZoneInfo("Asia/Shanghai")
NOW = dt.datetime(2026, 3, 20, 10, 0, tzinfo=SHANGHAI)
TODAY = "2026-03-20"

CHECKLIST_YES = {
    "ck-ck_elements": "yes",
    "ck-ck_elements_note": "",
    "ck-ck_institutional": "yes",
    "ck-ck_institutional_note": "",
    "ck-ck_replicable": "yes",
    "ck-ck_replicable_note": "",
}


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def in_march_2026(time_machine):
    time_machine.move_to(NOW, tick=False)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def _text(response) -> str:
    return response.content.decode()


def form_data(orgs, **overrides) -> dict:
    """What a county types into the 申报表, as the browser posts it."""
    data = {
        "name": "西湖区生态环境损害赔偿磋商制度改革试点",
        "field": "governance",
        "kind": "single",
        "regions": [orgs["county"].pk],
        "implementing_body": "杭州市生态环境局西湖分局",
        "lead_department": orgs["dept"].pk,
        "goal": "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。",
        "scope": "西湖区全域。",
        "start_date": "2026-06-01",
        "end_date": "2027-05-31",
        "responsible_body": "杭州市生态环境局西湖分局",
        "measures": "建立磋商规则、司法确认衔接和修复效果评估机制。",
        "expected_outcomes": "形成可复制可推广的赔偿磋商制度。",
        "work_foundation": "2025年已办理赔偿案件12件。",
        "contact_person": "王明",
        "contact_phone": "0571-87654321",
        "ms-TOTAL_FORMS": "3",
        "ms-INITIAL_FORMS": "0",
        "ms-MIN_NUM_FORMS": "0",
        "ms-MAX_NUM_FORMS": "30",
    }
    for i in range(3):
        data.update({f"ms-{i}-due_date": "", f"ms-{i}-title": "", f"ms-{i}-reached_on": ""})
    data.update(overrides)
    return data


# --- the office opens a call ---------------------------------------------------------------


def test_office_opens_a_call(client_for):
    client = client_for("office")
    page = client.get("/pilots/calls/new/")
    assert page.status_code == 200
    assert "发布申报批次" in _text(page)
    response = client.post(
        "/pilots/calls/new/",
        {
            "title": "2026年度生态环保领域改革试点申报",
            "deadline": "2026-04-16T17:00",
            "prefecture_quota": "2",
            "fields_covered": ["governance", "market"],
            "description": "请各设区市于截止前报送。",
        },
    )
    call = Call.objects.get()
    assert response.status_code == 302
    assert response["Location"] == call.get_absolute_url()
    assert call.deadline == dt.datetime(2026, 4, 16, 17, 0, tzinfo=SHANGHAI)
    assert call.fields == ["governance", "market"]
    assert call.prefecture_quota == 2
    assert "已发布申报批次" in _messages(response)[0]
    detail = client.get(call.get_absolute_url())
    assert "每个设区市推荐不超过2项" in _text(detail)


@pytest.mark.parametrize(
    ("overrides", "field_error"),
    [
        ({"title": ""}, "请填写批次名称。"),
        ({"title": "   "}, "请填写批次名称。"),
        ({"deadline": "2026-03-01T09:00"}, "报送截止时间须晚于当前时间。"),
        ({"deadline": ""}, "请填写报送截止时间。"),
        ({"deadline": "下周五"}, "请输入有效的日期时间。"),
        ({"deadline": "2026-02-30T10:00"}, "请输入有效的日期时间。"),
        ({"prefecture_quota": "0"}, "推荐名额至少为1。"),
        ({"prefecture_quota": "两项"}, "请输入整数。"),
        (
            {"deadline": "9999-04-16T17:00"},
            "报送截止时间不能晚于2028年3月20日（申报批次的截止时间应在2年以内），请检查年份。",
        ),
        (
            {"deadline": "2028-03-21T09:00"},
            "报送截止时间不能晚于2028年3月20日（申报批次的截止时间应在2年以内），请检查年份。",
        ),
    ],
    ids=[
        "empty-title",
        "blank-title",
        "past-deadline",
        "no-deadline",
        "garbage-date",
        "impossible-date",
        "quota-0",
        "quota-text",
        "deadline-year-9999",
        "deadline-beyond-two-years",
    ],
)
def test_office_call_form_errors_in_chinese(client_for, overrides, field_error):
    data = {"title": "2026年度申报", "deadline": "2026-04-16T17:00", "prefecture_quota": "2"}
    data.update(overrides)
    response = client_for("office").post("/pilots/calls/new/", data)
    assert response.status_code == 200
    assert f'<div class="error">{field_error}</div>' in _text(response)
    assert not Call.objects.exists()


@pytest.mark.parametrize("name", ["dept", "hangzhou", "county", "expert"])
def test_only_the_office_opens_calls(client_for, name):
    client = client_for(name)
    assert client.get("/pilots/calls/new/").status_code == 403
    data = {"title": "批次", "deadline": "2026-04-16T17:00", "prefecture_quota": "2"}
    assert client.post("/pilots/calls/new/", data).status_code == 403
    assert not Call.objects.exists()


@pytest.mark.parametrize("name", ["hangzhou", "county", "ningbo", "dept"])
def test_open_calls_on_the_home_page(client_for, call, name):
    page = client_for(name).get("/")
    assert page.status_code == 200
    assert "正在申报的批次" in _text(page)
    assert call.title in _text(page)
    assert call.get_absolute_url() in _text(page)


def test_closed_call_not_on_the_home_page(client_for, call, time_machine):
    time_machine.move_to(call.deadline + dt.timedelta(minutes=1), tick=False)
    assert call.title not in _text(client_for("county").get("/"))


# --- the county fills and submits its application -------------------------------------------


def test_county_saves_a_draft_then_submits(client_for, orgs, call):
    client = client_for("county")
    detail = client.get(call.get_absolute_url())
    assert f"/pilots/calls/{call.pk}/apply/" in _text(detail)
    form = client.get(f"/pilots/calls/{call.pk}/apply/")
    assert form.status_code == 200
    assert "生态环保领域改革试点申报表" in _text(form)

    response = client.post(
        f"/pilots/calls/{call.pk}/apply/", form_data(orgs, goal="", save_draft="1")
    )
    pilot = Pilot.objects.get()
    assert response.status_code == 302
    assert response["Location"] == pilot.get_absolute_url()
    assert pilot.status == Status.DRAFT
    assert pilot.call == call
    assert pilot.applicant == orgs["county"]
    assert list(pilot.regions.all()) == [orgs["county"]]
    assert "已保存为草稿" in _messages(response)[0]
    assert not Notification.objects.filter(organisation=orgs["hangzhou"]).exists()

    response = client.post(f"/pilots/{pilot.code}/edit/", form_data(orgs, submit_now="1"))
    assert response.status_code == 302
    assert response["Location"] == pilot.get_absolute_url()
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
    assert pilot.goal.startswith("建立生态环境损害赔偿磋商")
    assert f"申报 {pilot.code} 已提交设区市把关。" in _messages(response)
    assert Notification.objects.filter(
        organisation=orgs["hangzhou"], subject__startswith="待把关"
    ).exists()


def test_county_saves_and_submits_at_once(client_for, orgs, call):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/", form_data(orgs, submit_now="1")
    )
    pilot = Pilot.objects.get()
    assert response.status_code == 302
    assert pilot.status == Status.SUBMITTED
    assert pilot.opinions.get().decision == Decision.SUBMIT


def test_incomplete_application_submitted_names_what_is_missing_beside_each_field(
    client_for, orgs, call
):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/",
        form_data(orgs, goal="", measures="", submit_now="1"),
    )
    assert response.status_code == 200
    assert not Pilot.objects.exists()
    text = _text(response)
    assert '<div class="error">请填写试点目标（第一条第（一）项：准入六要素）。</div>' in text
    assert '<div class="error">请填写推进措施（第一条第（一）项：准入六要素）。</div>' in text


def test_submitting_from_the_pilot_page_names_the_empty_fields_in_one_sentence_R1_1(
    client_for, orgs, call
):
    client = client_for("county")
    client.post(
        f"/pilots/calls/{call.pk}/apply/",
        form_data(orgs, name="", start_date="", end_date="", goal=""),
    )
    pilot = Pilot.objects.get()
    assert pilot.status == Status.DRAFT
    response = client.post(f"/pilots/{pilot.code}/submit/")
    message = _messages(response)[-1]
    assert message.startswith("尚不能提交。请先填写：")
    for label in ("试点名称", "起止日期", "试点目标"):
        assert label in message
    assert "此字段不能为空" not in message
    assert "。；" not in message and "。。" not in message
    pilot.refresh_from_db()
    assert pilot.status == Status.DRAFT


def test_application_form_errors_in_chinese(client_for, orgs, call):
    response = client_for("county").post(
        f"/pilots/calls/{call.pk}/apply/",
        form_data(orgs, name="", end_date="2028-06-02", contact_phone="call me", submit_now="1"),
    )
    assert response.status_code == 200
    text = _text(response)
    assert re.search(r'<div class="error">[^<]*必填项。</div>', text)
    assert "单项试点期限最长不超过2年" in text
    assert "联系电话格式不正确" in text
    assert not Pilot.objects.exists()


@pytest.mark.parametrize(("name", "status"), [("dept", 403), ("office", 403), ("expert", 403)])
def test_only_counties_and_prefectures_apply(client_for, call, name, status):
    assert client_for(name).get(f"/pilots/calls/{call.pk}/apply/").status_code == status


def test_closed_call_form_redirects_with_a_message(client_for, orgs, call, time_machine):
    time_machine.move_to(call.deadline + dt.timedelta(minutes=1), tick=False)
    response = client_for("county").post(f"/pilots/calls/{call.pk}/apply/", form_data(orgs))
    assert response.status_code == 302
    assert response["Location"] == call.get_absolute_url()
    assert "该申报批次已截止，不能再填报。" in _messages(response)
    assert not Pilot.objects.exists()


# --- screening ----------------------------------------------------------------------------------


def _screen(client, pilot, data):
    return client.post(f"/pilots/{pilot.code}/screen/", data)


def test_full_path_through_the_pages(client_for, orgs, call, make_application):
    pilot = make_application()

    client = client_for("hangzhou")
    detail = client.get(pilot.get_absolute_url())
    assert f"/pilots/{pilot.code}/screen/" in _text(detail)
    page = client.get(f"/pilots/{pilot.code}/screen/")
    assert page.status_code == 200
    assert "设区市把关" in _text(page)
    assert "准入审查表" in _text(page)
    response = _screen(
        client, pilot, {"action": "endorse", "endorse-reason": "同意推荐。", **CHECKLIST_YES}
    )
    assert response.status_code == 302
    assert response["Location"] == pilot.get_absolute_url()
    pilot.refresh_from_db()
    assert pilot.status == Status.ENDORSED
    assert pilot.endorsing_prefecture == orgs["hangzhou"]
    assert "已推荐上报。" in _messages(response)

    client = client_for("dept")
    assert "牵头部门把关" in _text(client.get(f"/pilots/{pilot.code}/screen/"))
    response = _screen(
        client,
        pilot,
        {
            "action": "opinion",
            "opinion-agree": "yes",
            "opinion-reason": "符合领域改革方向。",
            **CHECKLIST_YES,
        },
    )
    assert response.status_code == 302
    opinion = pilot.opinions.get(stage=Stage.DEPARTMENT)
    assert (opinion.decision, opinion.text) == (Decision.AGREE, "符合领域改革方向。")
    pilot.refresh_from_db()
    assert pilot.status == Status.ENDORSED

    client = client_for("office")
    assert "省办审定" in _text(client.get(f"/pilots/{pilot.code}/screen/"))
    response = _screen(
        client,
        pilot,
        {
            "action": "approve",
            "approve-authority": "浙江省生态环境厅",
            "approve-doc_number": "浙环函〔2026〕88号",
            "approve-approval_date": TODAY,
            "approve-reason": "同意开展试点。",
            **CHECKLIST_YES,
        },
    )
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.status == Status.APPROVED
    assert pilot.approval_doc_number == "浙环函〔2026〕88号"
    assert pilot.approval_date == dt.date(2026, 3, 20)
    assert "已批复待备案" in _text(client.get(pilot.get_absolute_url()))
    assert list(pilot.checklists.values_list("stage", flat=True)) == [
        Stage.PREFECTURE,
        Stage.DEPARTMENT,
        Stage.OFFICE,
    ]


def test_ningbo_gets_404_on_a_hangzhou_application(client_for, make_application):
    pilot = make_application()
    client = client_for("ningbo")
    assert client.get(f"/pilots/{pilot.code}/screen/").status_code == 404
    assert client.get(pilot.get_absolute_url()).status_code == 404
    response = _screen(
        client, pilot, {"action": "endorse", "endorse-reason": "同意。", **CHECKLIST_YES}
    )
    assert response.status_code == 404
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_county_gets_403_on_its_own_screen_page(client_for, make_application):
    pilot = make_application()
    client = client_for("county")
    assert client.get(pilot.get_absolute_url()).status_code == 200
    assert client.get(f"/pilots/{pilot.code}/screen/").status_code == 403
    response = _screen(
        client, pilot, {"action": "endorse", "endorse-reason": "同意。", **CHECKLIST_YES}
    )
    assert response.status_code == 403


def test_screen_page_only_at_the_party_s_turn(client_for, make_application, endorse):
    pilot = make_application()
    # the lead department does not even see an application before its endorsement
    assert client_for("dept").get(f"/pilots/{pilot.code}/screen/").status_code == 404
    assert client_for("office").get(f"/pilots/{pilot.code}/screen/").status_code == 403
    endorse(pilot)
    assert client_for("hangzhou").get(f"/pilots/{pilot.code}/screen/").status_code == 403


def test_office_screening_without_checklist_changes_nothing(client_for, make_application, endorse):
    pilot = endorse(make_application())
    response = _screen(
        client_for("office"),
        pilot,
        {
            "action": "approve",
            "approve-authority": "浙江省生态环境厅",
            "approve-doc_number": "浙环函〔2026〕88号",
            "approve-approval_date": TODAY,
        },
    )
    assert response.status_code == 200
    assert "请逐项填写准入审查。" in _text(response)
    pilot.refresh_from_db()
    assert pilot.status == Status.ENDORSED
    assert not pilot.checklists.filter(stage=Stage.OFFICE).exists()
    assert not pilot.opinions.filter(stage=Stage.OFFICE).exists()


def test_checklist_no_without_note_shown_on_the_page(client_for, make_application):
    pilot = make_application()
    response = _screen(
        client_for("hangzhou"),
        pilot,
        {
            "action": "reject",
            "reject-reason": "不属于体制机制改革。",
            **CHECKLIST_YES,
            "ck-ck_institutional": "no",
        },
    )
    assert response.status_code == 200
    assert "不符合的审查项须说明理由" in _text(response)
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_bad_doc_number_and_future_date_shown_on_the_page(client_for, make_application, endorse):
    pilot = endorse(make_application())
    response = _screen(
        client_for("office"),
        pilot,
        {
            "action": "approve",
            "approve-authority": "浙江省生态环境厅",
            "approve-doc_number": "浙环函2026-88",
            "approve-approval_date": "2026-03-21",
            **CHECKLIST_YES,
        },
    )
    assert response.status_code == 200
    assert "文号格式不正确" in _text(response)
    pilot.refresh_from_db()
    assert pilot.status == Status.ENDORSED
    response = _screen(
        client_for("office"),
        pilot,
        {
            "action": "approve",
            "approve-authority": "浙江省生态环境厅",
            "approve-doc_number": "浙环函〔2026〕88号",
            "approve-approval_date": "2026-03-21",
            **CHECKLIST_YES,
        },
    )
    assert response.status_code == 200
    assert "批复日期不能晚于今天。" in _text(response)
    pilot.refresh_from_db()
    assert pilot.status == Status.ENDORSED


def test_return_through_the_page_needs_no_checklist(client_for, orgs, make_application):
    pilot = make_application()
    response = _screen(
        client_for("hangzhou"), pilot, {"action": "return", "return-reason": "请补充工作基础。"}
    )
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.status == Status.RETURNED
    assert not pilot.checklists.exists()


def test_unknown_action_is_refused(client_for, make_application):
    pilot = make_application()
    response = _screen(client_for("hangzhou"), pilot, {"action": "approve", **CHECKLIST_YES})
    assert response.status_code == 302
    assert "未知的操作。" in _messages(response)
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED


def test_over_quota_endorsement_shows_the_quota_message(
    client_for, open_call_for, make_application, endorse
):
    small = open_call_for(quota=1, title="2026年度第二批申报")
    endorse(make_application(in_call=small))
    second = make_application(in_call=small)
    response = _screen(
        client_for("hangzhou"),
        second,
        {"action": "endorse", "endorse-reason": "同意推荐。", **CHECKLIST_YES},
    )
    assert response.status_code == 200
    assert "本批次每个设区市推荐不超过1项，贵局已推荐1项，不能再推荐（第三条）。" in _text(response)
    second.refresh_from_db()
    assert second.status == Status.SUBMITTED
    quota = client_for("hangzhou").get(small.get_absolute_url())
    assert "1/1" in _text(quota)


# --- documents --------------------------------------------------------------------------------


def test_call_export_xlsx_for_the_office(client_for, call, make_application):
    pytest.importorskip("pilots.documents", reason="pilots/documents.py is not written yet")
    openpyxl = pytest.importorskip("openpyxl")
    pilot = make_application()
    response = client_for("office").get(f"/pilots/calls/{call.pk}/export.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment; filename*=UTF-8''" in response["Content-Disposition"]
    book = openpyxl.load_workbook(io.BytesIO(response.content))
    cells = [str(c) for row in book.active.iter_rows(values_only=True) for c in row if c]
    assert pilot.code in cells
    assert pilot.name in cells


def test_application_pdf(client_for, make_application):
    pytest.importorskip("pilots.documents", reason="pilots/documents.py is not written yet")
    pilot = make_application()
    for name in ("county", "hangzhou"):
        response = client_for(name).get(f"/pilots/{pilot.code}/application.pdf")
        assert response.status_code == 200
        assert response["Content-Type"] == "application/pdf"
        assert response.content.startswith(b"%PDF")
    assert client_for("ningbo").get(f"/pilots/{pilot.code}/application.pdf").status_code == 404


# --- notifications ------------------------------------------------------------------------------


def test_notifications_page_and_unread_count(client_for, orgs, make_application):
    pilot = make_application()
    client = client_for("hangzhou")
    home = client.get("/")
    assert '<span class="count">1</span>' in _text(home)
    page = client.get("/accounts/notifications/")
    assert page.status_code == 200
    assert f"待把关：西湖区提交了申报“{pilot.name}”" in _text(page)
    assert pilot.get_absolute_url() in _text(page)
    response = client.post("/accounts/notifications/read/")
    assert response.status_code == 302
    assert '<span class="count">' not in _text(client.get("/"))
    # the county has nothing yet; ningbo never sees hangzhou's notices
    assert '<span class="count">' not in _text(client_for("county").get("/"))
    assert pilot.name not in _text(client_for("ningbo").get("/accounts/notifications/"))
