"""The entry and edit pages (/pilots/new/, /pilots/<code>/edit/) under bad input, and the
pilot plan attachment (R2.2) through its permission-checked download."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from pilots.constants import Origin, PilotKind, ReformField, Status
from pilots.models import Milestone, Pilot
from pilots.services import enter_pilot

SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\ntrailer << /Root 1 0 R >>\n%%EOF\n"
CREATE = "/pilots/new/"


@pytest.fixture(autouse=True)
def fast_password_hashing(settings):
    """The personas' passwords are hashed once each; the default hasher makes that slow."""
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "private"
    return settings.MEDIA_ROOT


@pytest.fixture(autouse=True)
def in_2026(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def dept_client(client_for, personas):
    personas["dept"].display_name = "张明"
    personas["dept"].save()
    return client_for("dept")


def management(total: int = 3, prefix: str = "ms") -> dict:
    return {
        f"{prefix}-TOTAL_FORMS": str(total),
        f"{prefix}-INITIAL_FORMS": "0",
        f"{prefix}-MIN_NUM_FORMS": "0",
        f"{prefix}-MAX_NUM_FORMS": "1000",
    }


def form_data(orgs, **overrides) -> dict:
    """A complete, valid POST of the entry form as the department sends it."""
    data = {
        "name": "生态环境损害赔偿制度改革试点",
        "field": ReformField.GOVERNANCE,
        "kind": PilotKind.SINGLE,
        "origin": Origin.MINISTRY,
        "regions": [orgs["hangzhou"].pk, orgs["county"].pk],
        "implementing_body": "杭州市生态环境局",
        "lead_department": orgs["dept"].pk,
        "participating_units": [orgs["other_dept"].pk],
        "goal": "建立生态环境损害赔偿磋商机制。",
        "scope": "杭州市全域。",
        "start_date": "2026-06-01",
        "end_date": "2027-05-31",
        "responsible_body": "杭州市生态环境局",
        "measures": "建立磋商、诉讼衔接机制。",
        "expected_outcomes": "形成可复制的赔偿磋商制度。",
        "work_foundation": "",
        "contact_person": "李华",
        "contact_phone": "0571-87654321",
        "approval_authority": "生态环境部",
        "approval_doc_number": "环办法规〔2026〕12号",
        "approval_date": "2026-05-10",
        "reason": "部委批复后录入",
        **management(),
    }
    data.update(overrides)
    return data


def office_docx(*, declared_size: int | None = None) -> bytes:
    """A minimal DOCX; with `declared_size`, the central directory claims that many bytes
    uncompressed for word/document.xml (a ZIP bomb's signature)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("word/document.xml", "<w:document/>")
    raw = bytearray(buffer.getvalue())
    if declared_size is not None:
        # the central directory header of word/document.xml: name at +46, size at +24
        at = raw.find(b"PK\x01\x02")
        while raw[at + 46 : at + 46 + len(b"word/document.xml")] != b"word/document.xml":
            at = raw.find(b"PK\x01\x02", at + 4)
        raw[at + 24 : at + 28] = struct.pack("<I", declared_size)
    return bytes(raw)


def plain_zip() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("readme.txt", "not an office document")
    return buffer.getvalue()


def zip_of_zeros(size: int) -> bytes:
    """A DOCX whose document part compresses at a ratio no real document has."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("word/document.xml", b"\0" * size)
    return buffer.getvalue()


def upload(name: str, content: bytes, content_type: str = "application/pdf"):
    return SimpleUploadedFile(name, content, content_type=content_type)


def assert_refused(response, text: str) -> None:
    """The form comes back (200, never 500) with the Chinese error, and nothing was stored."""
    assert response.status_code == 200
    assert text in response.content.decode()
    assert not Pilot.objects.exists()
    assert not Pilot.history.exists()


# --- bad input to the entry form ------------------------------------------------------------


def test_empty_form_shows_required_field_errors_in_chinese(dept_client, orgs):
    # given the blank form as a browser submits it: every text field empty, nothing selected
    blank = {
        key: ""
        for key, value in form_data(orgs).items()
        if not key.startswith("ms-") and not isinstance(value, list)
    }
    response = dept_client.post(CREATE, {**blank, **management()})
    assert_refused(response, "请选择至少一个试点地区。")
    content = response.content.decode()
    assert "请选择省级牵头联系部门。" in content
    assert "必填" in content
    assert "This field is required" not in content


def test_post_of_only_the_milestone_management_form_shows_required_errors(dept_client):
    assert_refused(dept_client.post(CREATE, management()), "请选择至少一个试点地区。")


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"end_date": "2026-05-31"}, "试点结束日期必须晚于开始日期。"),
        ({"end_date": "2026-06-01"}, "试点结束日期必须晚于开始日期。"),
        # R1.2: start 2026-06-01, so 2028-06-01 is the last day a single pilot may end
        ({"end_date": "2028-06-02"}, "单项试点期限最长不超过2年"),
        ({"end_date": "2028-06-02"}, "结束日期最晚为2028年6月1日"),
        (
            {"kind": PilotKind.COMPREHENSIVE, "end_date": "2031-06-02"},
            "综合性试点期限最长不超过5年",
        ),
    ],
)
def test_term_errors_are_shown_on_the_form_R1_2(dept_client, orgs, overrides, text):
    assert_refused(dept_client.post(CREATE, form_data(orgs, **overrides)), text)


def test_comprehensive_pilot_without_milestones_is_refused_R1_2(dept_client, orgs):
    data = form_data(orgs, kind=PilotKind.COMPREHENSIVE, end_date="2029-05-31")
    assert_refused(dept_client.post(CREATE, data), "综合性试点须明确阶段性目标任务和时间节点")


def test_comprehensive_pilot_with_milestone_outside_term_is_refused_R1_2(dept_client, orgs):
    data = form_data(
        orgs,
        kind=PilotKind.COMPREHENSIVE,
        end_date="2029-05-31",
        **{"ms-0-due_date": "2030-01-01", "ms-0-title": "超出期限的节点"},
    )
    assert_refused(dept_client.post(CREATE, data), "时间节点须在试点期限内")
    assert not Milestone.objects.exists()


def test_milestone_without_date_is_refused(dept_client, orgs):
    data = form_data(orgs, **{"ms-0-title": "完成制度设计"})
    assert_refused(dept_client.post(CREATE, data), "请填写节点日期。")


def test_milestone_without_title_is_refused(dept_client, orgs):
    data = form_data(orgs, **{"ms-0-due_date": "2026-12-31"})
    assert_refused(dept_client.post(CREATE, data), "请填写阶段目标。")


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"approval_doc_number": "浙环函2018-123"}, "文号格式不正确"),
        ({"approval_doc_number": "浙环函[2018]123号"}, "文号格式不正确"),
        ({"approval_doc_number": ""}, "必填"),
        ({"approval_authority": ""}, "必填"),
        ({"approval_date": ""}, "必填"),
        ({"approval_date": "2026-02-30"}, "请输入有效日期。"),
        ({"start_date": "明年"}, "请输入有效日期。"),
        ({"contact_phone": "电话：一二三"}, "联系电话格式不正确"),
        ({"contact_phone": "<script>alert(1)</script>"}, "联系电话格式不正确"),
        ({"field": "nonsense"}, "请从列表中选择。"),
        ({"kind": "triple"}, "请从列表中选择。"),
        # pilots from a call go through the application process (R2.2)
        ({"origin": Origin.CALL}, "请从列表中选择。"),
    ],
)
def test_bad_field_values_are_refused_in_chinese(dept_client, orgs, overrides, text):
    assert_refused(dept_client.post(CREATE, form_data(orgs, **overrides)), text)


@pytest.mark.parametrize("phone", ["0571-1", "12345678", "0571-0123456", "1381234567", "0571-"])
def test_a_phone_that_is_neither_a_landline_with_area_code_nor_a_mobile_is_refused(
    dept_client, orgs, phone
):
    response = dept_client.post(CREATE, form_data(orgs, contact_phone=phone))
    assert_refused(response, "固定电话请带区号，如0571-87654321；手机号码为11位数字")


@pytest.mark.parametrize(
    "phone", ["0571-87654321", "(0571)87654321", "0570-3087415-802", "13812345678", "138 1234 5678"]
)
def test_landlines_with_area_code_and_mobiles_are_taken(dept_client, orgs, phone):
    response = dept_client.post(CREATE, form_data(orgs, contact_phone=phone))
    assert response.status_code == 302
    assert Pilot.objects.get().contact_phone == phone


@pytest.mark.parametrize(
    "lead",
    [
        "other_dept",  # exists, but the department may not name another department
        "hangzhou",  # not a department at all
        999999,  # does not exist
        "abc",  # not an id
    ],
)
def test_lead_department_outside_the_choices_is_refused(dept_client, orgs, lead):
    value = orgs[lead].pk if lead in orgs else lead
    response = dept_client.post(CREATE, form_data(orgs, lead_department=value))
    assert_refused(response, "请从列表中选择。")


@pytest.mark.parametrize("region", [999999, "abc"])
def test_nonexistent_region_is_refused(dept_client, orgs, region):
    response = dept_client.post(CREATE, form_data(orgs, regions=[region]))
    assert_refused(response, "请从列表中选择。")


def test_department_is_not_a_region(dept_client, orgs):
    response = dept_client.post(CREATE, form_data(orgs, regions=[orgs["dept"].pk]))
    assert_refused(response, "请从列表中选择。")


def test_units_of_another_provinces_plan_are_not_offered_as_regions(dept_client, orgs):
    from accounts.orgdata import ensure_plan_units

    xinfu = ensure_plan_units()["xinfu"]  # 忻州市忻府区, a county kind with no prefecture here
    page = dept_client.get(CREATE).content.decode()
    assert "忻府区" not in page
    assert orgs["county"].short_name in page
    response = dept_client.post(CREATE, form_data(orgs, regions=[xinfu.pk]))
    assert_refused(response, "请从列表中选择。")


def test_the_domain_refuses_a_unit_of_another_province_as_a_region(personas, approved):
    from django.core.exceptions import ValidationError

    from accounts.orgdata import ensure_plan_units
    from pilots.services import update_pilot

    xinfu = ensure_plan_units()["xinfu"]
    with pytest.raises(ValidationError) as refused:
        update_pilot(actor=personas["dept"], pilot=approved, data={}, regions=[xinfu])
    assert "不是本省的设区市或县（市、区）" in refused.value.message_dict["regions"][0]
    assert list(approved.regions.values_list("code", flat=True)) == ["hangzhou"]


@pytest.mark.parametrize(
    ("field", "limit"),
    [
        ("name", 200),
        ("implementing_body", 200),
        ("responsible_body", 200),
        ("approval_authority", 100),
        ("contact_person", 50),
        ("reason", 200),
    ],
)
def test_overlong_strings_are_refused(dept_client, orgs, field, limit):
    response = dept_client.post(CREATE, form_data(orgs, **{field: "试" * 100_000}))
    assert_refused(response, f"不能超过{limit}字")


def test_text_over_its_limit_is_refused(dept_client, orgs):
    # free text has a limit (试点目标 3,000 字): a plan summary, not the plan itself
    goal = "建立健全生态环境损害赔偿磋商机制。" * 2000
    response = dept_client.post(CREATE, form_data(orgs, goal=goal))
    assert_refused(response, f"不能超过3000字（现有{len(goal)}字）")
    goal = "建立健全生态环境损害赔偿磋商机制。" * 150
    response = dept_client.post(CREATE, form_data(orgs, goal=goal))
    assert response.status_code == 302
    assert Pilot.objects.get().goal == goal


@pytest.mark.parametrize(
    ("name", "content", "text"),
    [
        # a Windows program renamed to .pdf
        ("plan.pdf", b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff" * 64, "只接受 PDF"),
        ("plan.txt", "试点方案：建立赔偿磋商机制。".encode(), "只接受 PDF"),
        ("plan.docx", office_docx(declared_size=0xFFFFFFF0), "文件解压后体积异常"),
        ("plan.docx", zip_of_zeros(2 * 1024 * 1024), "文件解压后体积异常"),
        ("plan.docx", b"PK\x03\x04" + b"\0" * 200, "不是有效的 Office 文档"),
        ("plan.docx", plain_zip(), "只接受 PDF"),  # a ZIP that is no Office document
    ],
)
def test_unsafe_or_wrong_attachments_are_refused(dept_client, orgs, name, content, text):
    data = form_data(orgs, plan_attachment=upload(name, content))
    assert_refused(dept_client.post(CREATE, data), text)


def test_attachment_over_the_size_limit_is_refused(dept_client, orgs, settings):
    settings.UPLOAD_MAX_BYTES = 1024
    data = form_data(orgs, plan_attachment=upload("plan.pdf", PDF + b"\0" * 2048))
    assert_refused(dept_client.post(CREATE, data), "文件过大")


def test_macro_enabled_document_is_refused(dept_client, orgs):
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("word/document.xml", "<w:document/>")
        archive.writestr("word/vbaProject.bin", b"macro")
    data = form_data(orgs, plan_attachment=upload("plan.docx", buffer.getvalue()))
    assert_refused(dept_client.post(CREATE, data), "不接受包含宏的文档")


def test_refused_post_keeps_what_was_typed(dept_client, orgs):
    response = dept_client.post(CREATE, form_data(orgs, end_date="2030-01-01"))
    assert_refused(response, "单项试点期限最长不超过2年")
    assert "生态环境损害赔偿制度改革试点" in response.content.decode()


# --- a valid entry ----------------------------------------------------------------------------


def test_valid_entry_creates_pilot_and_redirects_to_its_page_R2_2(dept_client, orgs):
    # when the department posts a complete entry form
    response = dept_client.post(CREATE, form_data(orgs))
    # then the pilot exists at "approved", with the next code, and the browser goes to its page
    pilot = Pilot.objects.get()
    assert (pilot.code, pilot.status) == ("ST-2026-0001", Status.APPROVED)
    assert response.status_code == 302
    assert response["Location"] == reverse("pilots:detail", args=[pilot.code])
    assert set(pilot.regions.all()) == {orgs["hangzhou"], orgs["county"]}
    assert list(pilot.participating_units.all()) == [orgs["other_dept"]]
    assert pilot.applicant == orgs["dept"]
    # and the detail page links its history, which tells who entered it and why
    detail = dept_client.get(response["Location"])
    content = detail.content.decode()
    assert detail.status_code == 200
    assert "ST-2026-0001" in content
    history_url = reverse("pilots:history", args=[pilot.code])
    assert f'href="{history_url}"' in content
    history = dept_client.get(history_url).content.decode()
    assert "张明" in history
    assert "部委批复后录入" in history
    # with the filing deadline a week after the approval
    assert "2026年5月17日" in content


def test_valid_comprehensive_entry_stores_milestones_R1_2(dept_client, orgs):
    data = form_data(
        orgs,
        kind=PilotKind.COMPREHENSIVE,
        end_date="2029-05-31",
        **{
            "ms-0-due_date": "2027-05-31",
            "ms-0-title": "完成制度设计",
            "ms-1-due_date": "2028-05-31",
            "ms-1-title": "全域推开",
        },
    )
    response = dept_client.post(CREATE, data)
    assert response.status_code == 302
    pilot = Pilot.objects.get()
    assert list(pilot.milestones.values_list("title", flat=True)) == ["完成制度设计", "全域推开"]
    assert "全域推开" in dept_client.get(response["Location"]).content.decode()


def test_second_valid_entry_takes_the_next_code_R2_2(dept_client, orgs):
    dept_client.post(CREATE, form_data(orgs))
    dept_client.post(CREATE, form_data(orgs, name="第二个试点"))
    assert sorted(Pilot.objects.values_list("code", flat=True)) == [
        "ST-2026-0001",
        "ST-2026-0002",
    ]


# --- the edit page --------------------------------------------------------------------------


@pytest.fixture
def approved(personas, orgs):
    """A ministry pilot the department entered and has not filed yet."""
    data = {
        "name": "生态环境损害赔偿制度改革试点",
        "field": ReformField.GOVERNANCE,
        "kind": PilotKind.SINGLE,
        "origin": Origin.MINISTRY,
        "implementing_body": "杭州市生态环境局",
        "lead_department": orgs["dept"],
        "goal": "建立生态环境损害赔偿磋商机制。",
        "scope": "杭州市全域。",
        "start_date": dt.date(2026, 6, 1),
        "end_date": dt.date(2027, 5, 31),
        "responsible_body": "杭州市生态环境局",
        "measures": "建立磋商、诉讼衔接机制。",
        "expected_outcomes": "形成可复制的赔偿磋商制度。",
        "approval_authority": "生态环境部",
        "approval_doc_number": "环办法规〔2026〕12号",
        "approval_date": dt.date(2026, 5, 10),
    }
    return enter_pilot(actor=personas["dept"], data=data, regions=[orgs["hangzhou"]])


def edit_data(orgs, **overrides) -> dict:
    return form_data(
        orgs, **{"regions": [orgs["hangzhou"].pk], "participating_units": []} | overrides
    )


@pytest.mark.parametrize(
    ("overrides", "text"),
    [
        ({"end_date": "2028-06-02"}, "单项试点期限最长不超过2年"),
        ({"end_date": "2026-01-01"}, "试点结束日期必须晚于开始日期。"),
        ({"kind": PilotKind.COMPREHENSIVE, "end_date": "2029-05-31"}, "综合性试点须明确"),
        ({"approval_doc_number": "浙环函2018-123"}, "文号格式不正确"),
        ({"contact_phone": "phone"}, "联系电话格式不正确"),
        ({"regions": []}, "请选择至少一个试点地区。"),
        ({"lead_department": "999999"}, "请从列表中选择。"),
        ({"name": "试" * 5000}, "不能超过200字"),
    ],
)
def test_bad_edit_is_refused_and_changes_nothing(dept_client, orgs, approved, overrides, text):
    before = Pilot.objects.values().get(pk=approved.pk)
    history_before = approved.history.count()
    url = reverse("pilots:edit", args=[approved.code])
    response = dept_client.post(url, edit_data(orgs, **{"name": "修改后的名称"} | overrides))
    assert response.status_code == 200
    assert text in response.content.decode()
    assert Pilot.objects.values().get(pk=approved.pk) == before
    assert approved.history.count() == history_before


def test_valid_edit_saves_and_records_the_reason(dept_client, orgs, approved):
    url = reverse("pilots:edit", args=[approved.code])
    response = dept_client.post(
        url, edit_data(orgs, name="更正后的试点名称", reason="按批复文件更正名称")
    )
    assert response.status_code == 302
    assert response["Location"] == reverse("pilots:detail", args=[approved.code])
    approved.refresh_from_db()
    assert approved.name == "更正后的试点名称"
    latest = approved.history.latest()
    assert (latest.history_user.username, latest.history_change_reason) == (
        "dept",
        "按批复文件更正名称",
    )
    content = dept_client.get(reverse("pilots:history", args=[approved.code])).content.decode()
    assert "按批复文件更正名称" in content
    assert "张明" in content


def test_edit_form_shows_the_current_values(dept_client, approved):
    response = dept_client.get(reverse("pilots:edit", args=[approved.code]))
    content = response.content.decode()
    assert response.status_code == 200
    assert approved.name in content
    assert "2027-05-31" in content


# --- the pilot plan attachment (R2.2) -------------------------------------------------------


@pytest.fixture
def with_plan(dept_client, orgs):
    response = dept_client.post(
        CREATE, form_data(orgs, plan_attachment=upload("试点方案.pdf", PDF))
    )
    assert response.status_code == 302, response.content.decode()[:2000]
    return Pilot.objects.get()


def test_uploaded_plan_is_stored_privately_R2_2(with_plan, private_media):
    assert with_plan.plan_attachment.name.startswith(f"pilots/{with_plan.code}/plan/")
    stored = private_media / with_plan.plan_attachment.name
    assert stored.read_bytes() == PDF


def test_plan_downloads_as_attachment_to_those_who_see_the_pilot_R2_2(with_plan, client_for):
    # the department and Hangzhou (the pilot's region) both see the pilot
    for persona in ["dept", "hangzhou", "county", "office"]:
        response = client_for(persona).get(reverse("pilots:plan", args=[with_plan.code]))
        assert response.status_code == 200, persona
        assert response["Content-Disposition"].startswith("attachment;")
        assert ".pdf" in response["Content-Disposition"]
        assert response["X-Content-Type-Options"] == "nosniff"
        assert b"".join(response.streaming_content) == PDF


@pytest.mark.parametrize("persona", ["ningbo", "expert"])
def test_plan_is_404_to_those_who_do_not_see_the_pilot_R2_2(with_plan, client_for, persona):
    response = client_for(persona).get(reverse("pilots:plan", args=[with_plan.code]))
    assert response.status_code == 404


def test_plan_download_requires_login_R2_2(with_plan, client_for):
    response = client_for(None).get(reverse("pilots:plan", args=[with_plan.code]))
    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_pilot_without_plan_answers_404_R2_2(dept_client, approved):
    assert dept_client.get(reverse("pilots:plan", args=[approved.code])).status_code == 404


def test_plan_whose_file_vanished_answers_404_R2_2(with_plan, dept_client, private_media):
    (private_media / with_plan.plan_attachment.name).unlink()
    assert dept_client.get(reverse("pilots:plan", args=[with_plan.code])).status_code == 404


def test_valid_docx_plan_is_accepted_R2_2(dept_client, orgs):
    data = form_data(orgs, plan_attachment=upload("方案.docx", office_docx()))
    assert dept_client.post(CREATE, data).status_code == 302
    assert Pilot.objects.get().plan_attachment.name.endswith(".docx")
