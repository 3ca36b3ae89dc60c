"""Filing keeps what was approved (R2.2): every time node is a date within the term or is refused
with its line; where the filing departs from the approval on record (term, approval date and
document number, time nodes) the department sees it before sending and it is recorded with the
filing; the form shows one deadline; the office reads what was filed on the filing's own page
and confirms or returns it there; the filed plan shows at once."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.exceptions import ValidationError

from accounts.models import Notification
from ledger.constants import FilingStatus
from ledger.filing import confirm_filing, parse_milestones
from ledger.models import Filing
from pilots.constants import Status
from pilots.models import Milestone
from tests.ledger.test_filing import (  # noqa: F401  (fixtures used by name)
    APPROVED,
    PDF,
    _messages,
    at,
    file_url,
    form_post,
    on_day_of_approval_plus_five,
    private_media,
    submit,
)

D = dt.date


@pytest.fixture(name="approved")
def approved_pilot(make_pilot, orgs):
    """An approved pilot of the environment department, in a county of Hangzhou (as in
    test_filing)."""
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
def as_filed(approved):
    """The approved pilot with the approval authority and time node the standard filing
    states: filed unchanged, it differs from the approval in nothing."""
    approved.approval_authority = "浙江省生态环境厅"
    approved.save()
    Milestone.objects.create(pilot=approved, due_date=D(2026, 9, 30), title="完成制度设计")
    return approved


def detail_url(filing) -> str:
    return f"/ledger/filings/{filing.pk}/"


def decide_url(filing) -> str:
    return f"/ledger/filings/{filing.pk}/decide/"


# --- time nodes: a date within the term, or refused with the line ------------------------------


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "2026-09-30 完成制度设计\n明年六月完成中期评估",
            "第2行“明年六月完成中期评估”：开头不是日期",
        ),
        ("2027-13-45 完成评估", "第1行“2027-13-45 完成评估”：2027年13月45日不是有效日期"),
        ("2027-06-30 全面推开", "第1行“2027-06-30 全面推开”：2027年6月30日不在试点期限"),
        ("2026-01-05 启动", "2026年1月5日不在试点期限（2026年3月10日至2027年3月9日）内"),
        ("2026-09-30", "第1行“2026-09-30”：日期后请写明阶段目标"),
    ],
    ids=["words", "impossible-date", "after-the-term", "before-the-term", "no-goal"],
)
def test_a_milestone_that_is_not_a_date_is_refused_with_its_line_R2_2(
    personas, approved, text, expected
):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, approved, milestones_text=text)

    assert any(expected in m for m in excinfo.value.message_dict["milestones_text"])
    assert not Filing.objects.exists()
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED
    assert not Notification.objects.exists()


def test_a_bad_milestone_line_is_shown_beside_the_field_and_nothing_is_filed_R2_2(
    client_for, approved
):
    response = client_for("dept").post(
        file_url(approved), form_post(milestones_text="2026-09-30 完成制度设计\n明年六月…")
    )

    assert response.status_code == 200
    errors = response.context["form"].errors["milestones_text"]
    assert errors == [
        "时间节点第2行“明年六月…”：开头不是日期，请按“2026-09-30 完成制度设计”的格式填写。"
    ]
    assert "时间节点第2行“明年六月…”" in response.content.decode()
    assert not Filing.objects.exists()


def test_milestone_dates_are_read_in_the_usual_ways_R2_2():
    text = "2026-09-30 完成制度设计\n\n2026年12月1日 开展中期评估\n2027/3/1：形成总结报告"

    assert parse_milestones(text, start=D(2026, 3, 10), end=D(2027, 3, 9)) == [
        (D(2026, 9, 30), "完成制度设计"),
        (D(2026, 12, 1), "开展中期评估"),
        (D(2027, 3, 1), "形成总结报告"),
    ]


def test_the_filed_milestones_become_the_pilots_when_confirmed_R2_2(client_for, personas, approved):
    old = Milestone.objects.create(pilot=approved, due_date=D(2026, 6, 30), title="完成方案")
    filing = submit(
        personas,
        approved,
        milestones_text="2026-06-30 完成方案\n2026-12-31 开展中期评估",
    )
    old.reached_on = D(2026, 3, 6)
    old.save()

    confirm_filing(actor=personas["office"], filing=filing)

    kept = list(approved.milestones.filter(is_removed=False).values_list("due_date", "title"))
    assert kept == [(D(2026, 6, 30), "完成方案"), (D(2026, 12, 31), "开展中期评估")]
    old.refresh_from_db()
    assert (old.is_removed, old.reached_on) == (False, D(2026, 3, 6))  # kept, with its completion
    page = client_for("office").get(approved.get_absolute_url()).content.decode()
    assert "开展中期评估" in page
    assert "未设置时间节点" not in page


def test_a_filing_that_leaves_the_milestones_blank_keeps_the_approved_ones_R2_2(personas, approved):
    Milestone.objects.create(pilot=approved, due_date=D(2026, 9, 30), title="完成制度设计")
    filing = submit(personas, approved, milestones_text="")

    assert filing.differences == []
    confirm_filing(actor=personas["office"], filing=filing)
    assert list(approved.milestones.filter(is_removed=False).values_list("title", flat=True)) == [
        "完成制度设计"
    ]


# --- differences from the approval: shown before sending, recorded with the filing -------------


def test_a_changed_term_is_shown_before_submitting_and_recorded_R2_2(client_for, as_filed):
    approved = as_filed
    client = client_for("dept")
    changed = {"start_date": "2026-04-01", "end_date": "2027-03-31", "approval_date": "2026-03-03"}

    first = client.post(file_url(approved), form_post(**changed))

    # not sent: the page lists what differs from the approval, approved against filed
    assert first.status_code == 200
    assert not Filing.objects.exists()
    text = first.content.decode()
    assert "与批复不一致" in text
    rows = {d["label"]: (d["approved"], d["filed"]) for d in first.context["differences"]}
    assert rows["开始日期"] == ("2026年3月10日", "2026年4月1日")
    assert rows["结束日期"] == ("2027年3月9日", "2027年3月31日")
    assert rows["批复日期"] == ("2026年3月2日", "2026年3月3日")
    assert "2026年4月1日" in text and 'name="confirm_differences"' in text
    approved.refresh_from_db()
    assert approved.status == Status.APPROVED

    # acknowledged, it is sent, and the differences are kept with the filing
    second = client.post(file_url(approved), form_post(confirm_differences="1", **changed))

    filing = Filing.objects.get(pilot=approved)
    assert second.status_code == 302
    assert second["Location"] == approved.get_absolute_url()
    assert [d["label"] for d in filing.differences] == ["批复日期", "开始日期", "结束日期"]
    assert filing.differences[1] == {
        "field": "start_date",
        "label": "开始日期",
        "approved": "2026年3月10日",
        "filed": "2026年4月1日",
    }
    assert "与批复不一致3处" in Notification.objects.get(subject__startswith="待确认备案").body
    page = client_for("office").get(detail_url(filing)).content.decode()
    assert "与批复不一致" in page and "2026年3月10日" in page and "2026年4月1日" in page


def test_a_changed_document_number_or_milestones_are_differences_too_R2_2(personas, approved):
    Milestone.objects.create(pilot=approved, due_date=D(2026, 9, 30), title="完成制度设计")

    filing = submit(
        personas,
        approved,
        approval_doc_number="浙环函〔2026〕32号",
        milestones_text="2026-10-31 完成制度设计",
    )

    assert [(d["label"], d["approved"], d["filed"]) for d in filing.differences] == [
        ("批复文号", "浙环函〔2026〕31号", "浙环函〔2026〕32号"),
        ("时间节点", "2026年9月30日 完成制度设计", "2026年10月31日 完成制度设计"),
    ]


def test_a_filing_as_approved_is_sent_without_a_question_R2_2(client_for, as_filed):
    approved = as_filed
    response = client_for("dept").post(file_url(approved), form_post())

    filing = Filing.objects.get(pilot=approved)
    assert response.status_code == 302
    assert filing.differences == []


def test_the_form_marks_the_approved_values_for_the_page_to_compare_R2_2(client_for, approved):
    text = client_for("dept").get(file_url(approved)).content.decode()

    assert 'data-approved="2026-03-10"' in text
    assert 'data-approved-shown="2026年3月10日"' in text
    assert "批复内容" in text


# --- one deadline -----------------------------------------------------------------------------


def test_the_filing_page_shows_one_deadline_R2_2(client_for, approved, time_machine):
    time_machine.move_to(at(D(2026, 3, 12)), tick=False)
    client = client_for("dept")

    for response in (
        client.get(file_url(approved)),
        # a different approval date typed into the form does not move the deadline shown
        client.post(file_url(approved), form_post(approval_date="2026-03-05")),
    ):
        text = re.sub(r"<[^>]+>", "", response.content.decode())
        assert text.count("备案期限") == 1
        assert "备案期限：2026年3月9日（批复后7日内 R2.2）" in text
        assert "已逾期3天，报送后将标记为逾期备案" in text


# --- the office reads and decides on the filing's page -----------------------------------------


def test_the_office_confirms_from_the_filing_page_that_shows_what_was_filed_R2_2(
    client_for, personas, approved, time_machine
):
    time_machine.move_to(at(D(2026, 3, 11)), tick=False)
    filing = submit(
        personas,
        approved,
        start_date=D(2026, 4, 1),
        milestones_text="2026-09-30 完成制度设计\n2027-01-31 开展中期评估",
        contact_person="李华",
    )
    client = client_for("office")

    listing = client.get("/ledger/filings/").content.decode()
    assert f'href="{detail_url(filing)}"' in listing
    assert 'value="confirm"' not in listing  # no decision from the list

    page = client.get(detail_url(filing))
    text = page.content.decode()
    assert page.status_code == 200
    for shown in (
        "浙环函〔2026〕31号",
        "2026年4月1日 至 2027年3月9日",
        "杭州市西湖区人民政府",
        "建立生态环境损害赔偿磋商",
        "形成可复制可推广的赔偿磋商制度",
        "李华 0571-87654321",
        "2027年1月31日",
        "开展中期评估",
        "逾期2天",
        f"/ledger/filings/{filing.pk}/plan/",
    ):
        assert shown in text, shown
    assert "开始日期" in text and "2026年3月10日" in text  # the difference, approved and filed
    confirm_button = re.search(r'<button[^>]*value="confirm"[^>]*>', text).group(0)
    assert "data-confirm=" in confirm_button and "列入台账" in confirm_button

    response = client.post(decide_url(filing), {"action": "confirm"})

    assert response["Location"] == detail_url(filing)
    assert _messages(response) == [f"已确认备案，{approved.code} 列入台账。"]
    filing.refresh_from_db()
    approved.refresh_from_db()
    assert (filing.status, approved.status) == (FilingStatus.CONFIRMED, Status.ACTIVE)
    after = client.get(detail_url(filing)).content.decode()
    assert 'value="confirm"' not in after and "已确认" in after


def test_the_office_returns_from_the_filing_page_with_a_reason_R2_2(client_for, personas, approved):
    filing = submit(personas, approved)
    client = client_for("office")

    empty = client.post(decide_url(filing), {"action": "return", "reason": " "})
    assert _messages(empty) == ["请填写退回理由。"]
    client.post(decide_url(filing), {"action": "return", "reason": "批复文号有误。"})

    filing.refresh_from_db()
    assert (filing.status, filing.return_reason) == (FilingStatus.RETURNED, "批复文号有误。")
    assert "批复文号有误。" in client.get(detail_url(filing)).content.decode()


@pytest.mark.parametrize(("who", "status"), [("dept", 200), ("county", 200), ("ningbo", 404)])
def test_the_filing_page_is_read_by_those_who_see_the_pilot_and_decided_by_the_office_R2_2(
    client_for, personas, approved, who, status
):
    filing = submit(personas, approved)

    response = client_for(who).get(detail_url(filing))

    assert response.status_code == status
    if status == 200:
        assert 'value="confirm"' not in response.content.decode()


# --- the filed plan ---------------------------------------------------------------------------


def test_the_uploaded_plan_is_shown_after_filing(client_for, as_filed):
    approved = as_filed
    client = client_for("dept")

    response = client.post(file_url(approved), form_post(), follow=True)

    # back on the pilot's page, its plan is the one just filed, not "未上传"
    filing = Filing.objects.get(pilot=approved)
    plan_link = f"/ledger/filings/{filing.pk}/plan/"
    pilot_page = response.content.decode()
    assert response.redirect_chain == [(approved.get_absolute_url(), 302)]
    assert "未上传" not in pilot_page
    assert plan_link in pilot_page and "第1版备案所附" in pilot_page
    assert plan_link in client.get(detail_url(filing)).content.decode()
    assert b"".join(client.get(plan_link).streaming_content) == PDF
