"""The end of a term in the browser's pages (R2.4, R1.2, R3.2): the pilot page's 到期管理 panel,
the closure, extension and acceptance forms, the office's decisions and restore, the overdue
list with its export, the purged list, the jobs page, the pilot list's overdue filter and the
home page's overdue and upcoming sections."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse
from openpyxl import load_workbook

from accounts.constants import Role
from core.models import JobRun
from core.xlsx import XLSX_CONTENT_TYPE
from pilots import jobs, term
from pilots.constants import EvaluatorType, JobName, PilotKind, Status, TermRequestStatus
from pilots.models import AcceptanceReport, ClosureReport, ExtensionRequest, OverdueEvent, Pilot
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
END = D(2026, 12, 31)


def on(time_machine, day: dt.date) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=False)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"
    settings.PRIVATE_MEDIA_ROOT = tmp_path / "private"


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(
        regions=[orgs["county"]],
        code="ST-2026-0901",
        name="生态环境损害赔偿磋商试点",
        start_date=D(2026, 1, 1),
        end_date=END,
        ledger_since=D(2026, 1, 10),
    )


def _closure_post(**overrides):
    data = {
        "results": "出台磋商办法2项，办结案件12件。",
        "milestones_reached": "全部节点按期完成。",
        "experience": "磋商前置、司法确认、修复监督闭环。",
    }
    data.update(overrides)
    return data


def _extension_post(new_end: str, milestones=(("2027-06-30", "配套制度印发"),), **overrides):
    data = {
        "reason": "配套制度尚未出台，需延长试点期限。",
        "new_end_date": new_end,
        "stage_targets": "完成配套制度并开展评估。",
        "ms-TOTAL_FORMS": "3",
        "ms-INITIAL_FORMS": "0",
        "ms-MIN_NUM_FORMS": "0",
        "ms-MAX_NUM_FORMS": "30",
    }
    for i, (due, title) in enumerate(milestones):
        data[f"ms-{i}-due_date"] = due
        data[f"ms-{i}-title"] = title
    data.update(overrides)
    return data


# --- closure (R2.4) -------------------------------------------------------------------------


def test_closure_is_offered_from_30_days_before_the_end_R2_4(pilot, client_for, time_machine):
    on(time_machine, D(2026, 11, 30))
    client = client_for("dept")
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert "到期管理" in page
    assert "/closure/" not in page
    assert "自2026年12月1日起可报告销号" in page
    refused = client.get(f"/pilots/{pilot.code}/closure/")
    assert refused.status_code == 403
    assert "自2026年12月1日起方可报告销号" in refused.content.decode()

    on(time_machine, D(2026, 12, 1))
    client = client_for("dept")  # the next day's session
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert f"/pilots/{pilot.code}/closure/" in page
    assert client.get(f"/pilots/{pilot.code}/closure/").status_code == 200


# A minimal PDF with the structure the upload check asks for (object, trailer, end marker).
CLOSURE_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


def test_closure_reported_in_the_form_and_accepted_by_the_office_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2026, 12, 20))
    client = client_for("dept")
    attachment = SimpleUploadedFile("总结.pdf", CLOSURE_PDF, content_type="application/pdf")
    response = client.post(
        f"/pilots/{pilot.code}/closure/", {**_closure_post(), "attachment": attachment}
    )
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.status == Status.CLOSURE_REPORTED
    report = ClosureReport.objects.get(pilot=pilot)
    assert report.attachment.name.endswith(".pdf")
    download = client.get(f"/pilots/term-files/closure/{report.pk}/")
    assert download.status_code == 200
    assert b"".join(download.streaming_content) == CLOSURE_PDF

    office = client_for("office")
    queue = office.get("/pilots/term/").content.decode()
    assert pilot.name in queue and f"/pilots/closures/{report.pk}/decide/" in queue
    response = office.post(
        f"/pilots/closures/{report.pk}/decide/",
        {"decision": "accept", "note": "成果符合预期。", "next": "/pilots/term/"},
    )
    assert response.status_code == 302 and response["Location"] == "/pilots/term/"
    pilot.refresh_from_db()
    report.refresh_from_db()
    assert pilot.status == Status.CLOSED
    assert report.status == TermRequestStatus.ACCEPTED
    assert report.decision_note == "成果符合预期。"
    # The closed pilot stays readable, with its report and the acceptance report to come.
    page = client_for("dept").get(pilot.get_absolute_url()).content.decode()
    assert "已通过" in page and "报送总结验收报告" in page and "2027年2月28日前" in page


def test_closure_form_with_nothing_filled_shows_chinese_errors_and_changes_nothing_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2026, 12, 20))
    response = client_for("dept").post(f"/pilots/{pilot.code}/closure/", {})
    assert response.status_code == 200
    page = response.content.decode()
    assert "请填写完成情况（对照预期成果）。" in page
    assert "请填写可复制推广的经验。" in page
    assert not ClosureReport.objects.exists()
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE


def test_a_bad_attachment_is_refused_and_changes_nothing_R2_4(pilot, client_for, time_machine):
    on(time_machine, D(2026, 12, 20))
    bad = SimpleUploadedFile("run.exe", b"MZ\x90\x00", content_type="application/octet-stream")
    response = client_for("dept").post(
        f"/pilots/{pilot.code}/closure/", {**_closure_post(), "attachment": bad}
    )
    assert response.status_code == 200
    assert not ClosureReport.objects.exists()


def test_returning_a_closure_needs_a_reason_R2_4(pilot, personas, client_for, time_machine):
    on(time_machine, D(2026, 12, 20))
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验"
    )
    office = client_for("office")
    response = office.post(f"/pilots/closures/{report.pk}/decide/", {"decision": "return"})
    assert response.status_code == 302
    report.refresh_from_db()
    assert report.status == TermRequestStatus.SUBMITTED
    page = office.get(pilot.get_absolute_url()).content.decode()
    assert "退回或不同意时须写明理由。" in page

    office.post(f"/pilots/closures/{report.pk}/decide/", {"decision": "return", "note": "材料不全"})
    report.refresh_from_db()
    pilot.refresh_from_db()
    assert report.status == TermRequestStatus.RETURNED
    assert pilot.status == Status.ACTIVE


def test_a_decided_closure_cannot_be_decided_again_R2_4(pilot, personas, client_for, time_machine):
    on(time_machine, D(2026, 12, 20))
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验"
    )
    office = client_for("office")
    office.post(f"/pilots/closures/{report.pk}/decide/", {"decision": "accept"})
    response = office.post(
        f"/pilots/closures/{report.pk}/decide/", {"decision": "return", "note": "再议"}, follow=True
    )
    assert response.status_code == 200
    assert "该销号报告已审核。" in response.content.decode()
    pilot.refresh_from_db()
    assert pilot.status == Status.CLOSED


# --- extension (R2.4, R1.2) -----------------------------------------------------------------


def test_an_extension_beyond_r1_2_from_the_original_start_is_refused_R1_2_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2026, 12, 10))
    client = client_for("dept")
    form = client.get(f"/pilots/{pilot.code}/extension/").content.decode()
    assert "结束日期最晚为 <strong>2028年1月1日</strong>" in form
    response = client.post(
        f"/pilots/{pilot.code}/extension/",
        _extension_post("2028-06-30", milestones=[("2028-03-31", "评估")]),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "自原开始日期2026年1月1日起算" in page
    assert "结束日期最晚为2028年1月1日" in page
    assert not ExtensionRequest.objects.exists()
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE and pilot.end_date == END


def test_an_extension_is_offered_only_from_30_days_before_the_end_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2026, 11, 30))
    client = client_for("dept")
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert f"/pilots/{pilot.code}/extension/" not in page
    assert "自2026年12月1日起可报告销号或申请延期" in page
    for refused in (
        client.get(f"/pilots/{pilot.code}/extension/"),
        client.post(f"/pilots/{pilot.code}/extension/", _extension_post("2027-06-30")),
    ):
        assert refused.status_code == 403
        assert "本试点自2026年12月1日起方可申请延期（到期前30天，R2.4）" in (
            refused.content.decode()
        )
    assert not ExtensionRequest.objects.exists()

    on(time_machine, D(2026, 12, 1))
    client = client_for("dept")
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert f"/pilots/{pilot.code}/extension/" in page
    assert client.get(f"/pilots/{pilot.code}/extension/").status_code == 200


def test_an_extension_needs_dated_milestones_R2_4(pilot, client_for, time_machine):
    on(time_machine, D(2026, 12, 10))
    response = client_for("dept").post(
        f"/pilots/{pilot.code}/extension/", _extension_post("2027-06-30", milestones=[])
    )
    assert response.status_code == 200
    assert "请至少填写一个节点" in response.content.decode()
    assert not ExtensionRequest.objects.exists()


def test_an_empty_extension_form_shows_every_error_at_once_R2_4(pilot, client_for, time_machine):
    on(time_machine, D(2026, 12, 10))
    empty = _extension_post("", milestones=[], reason="", stage_targets="")
    response = client_for("dept").post(f"/pilots/{pilot.code}/extension/", empty)
    assert response.status_code == 200
    form = response.context["form"]
    assert {"reason", "new_end_date", "stage_targets"} <= set(form.errors)
    assert "请至少填写一个节点" in " ".join(form.non_field_errors())
    assert not ExtensionRequest.objects.exists()


def test_a_control_character_in_the_reason_keeps_the_milestone_error_beside_it_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2026, 12, 10))
    data = _extension_post(
        "2027-06-30", milestones=[("2027-09-30", "评估")], reason="配套制度\x1b尚未出台。"
    )
    response = client_for("dept").post(f"/pilots/{pilot.code}/extension/", data)
    assert response.status_code == 200
    form = response.context["form"]
    assert "控制字符" in form.errors["reason"][0]
    assert "2027年9月30日 不在期限内" in " ".join(form.non_field_errors())
    assert not ExtensionRequest.objects.exists()
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE


def test_an_extension_approved_moves_the_end_date_and_history_says_why_R2_4(
    pilot, client_for, time_machine
):
    on(time_machine, D(2027, 1, 5))  # after expiry: still allowed
    response = client_for("dept").post(
        f"/pilots/{pilot.code}/extension/",
        _extension_post("2027-09-30", milestones=[("2027-06-30", "配套制度印发")]),
    )
    assert response.status_code == 302
    pilot.refresh_from_db()
    assert pilot.status == Status.EXTENSION_REQUESTED
    ext = ExtensionRequest.objects.get(pilot=pilot)

    office = client_for("office")
    assert f"/pilots/extensions/{ext.pk}/decide/" in office.get("/pilots/term/").content.decode()
    office.post(f"/pilots/extensions/{ext.pk}/decide/", {"decision": "accept"})
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE
    assert pilot.end_date == D(2027, 9, 30)
    page = office.get(pilot.get_absolute_url()).content.decode()
    history = office.get(reverse("pilots:history", args=[pilot.code])).content.decode()
    assert "同意延期：结束日期由2026年12月31日延至2027年9月30日" in history
    assert "配套制度印发" in page


def test_a_rejected_extension_keeps_the_end_date_R2_4(pilot, client_for, time_machine):
    on(time_machine, D(2026, 12, 10))
    client_for("dept").post(f"/pilots/{pilot.code}/extension/", _extension_post("2027-06-30"))
    ext = ExtensionRequest.objects.get(pilot=pilot)
    client_for("office").post(
        f"/pilots/extensions/{ext.pk}/decide/", {"decision": "return", "note": "理由不充分"}
    )
    pilot.refresh_from_db()
    ext.refresh_from_db()
    assert ext.status == TermRequestStatus.RETURNED and ext.decision_note == "理由不充分"
    assert pilot.status == Status.ACTIVE and pilot.end_date == END


# --- acceptance report (R3.2) ---------------------------------------------------------------


def test_acceptance_report_names_the_third_party_and_is_flagged_late_R3_2(
    pilot, personas, client_for, time_machine
):
    on(time_machine, D(2026, 12, 20))
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验"
    )
    term.accept_closure(actor=personas["office"], report=report)
    on(time_machine, D(2027, 3, 5))  # due 2027-02-28: 5 days late
    client = client_for("dept")
    response = client.post(
        f"/pilots/{pilot.code}/acceptance/",
        {"summary": "试点目标全部完成。", "evaluator": EvaluatorType.THIRD_PARTY},
    )
    assert response.status_code == 200
    assert "请填写第三方评估机构名称" in response.content.decode()
    assert not AcceptanceReport.objects.exists()

    response = client.post(
        f"/pilots/{pilot.code}/acceptance/",
        {
            "summary": "试点目标全部完成。",
            "evaluator": EvaluatorType.THIRD_PARTY,
            "third_party": "浙江省环境科学研究院",
        },
    )
    assert response.status_code == 302
    first = AcceptanceReport.objects.get(pilot=pilot)
    assert first.days_late == 5 and first.third_party == "浙江省环境科学研究院"

    form = client.get(f"/pilots/{pilot.code}/acceptance/").content.decode()
    assert "试点目标全部完成。" in form  # a correction starts from the current version
    client.post(
        f"/pilots/{pilot.code}/acceptance/",
        {"summary": "更正：补充评估结论。", "evaluator": EvaluatorType.SELF},
    )
    page = client.get(pilot.get_absolute_url()).content.decode()
    assert "第2版" in page and "第1版" in page and "逾期5天" in page
    assert AcceptanceReport.objects.filter(pilot=pilot).count() == 2


# --- who may do what ------------------------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "hangzhou", "county"])
def test_only_the_lead_department_reports_closure_or_extension_in_the_pages_R2_4(
    pilot, client_for, time_machine, who
):
    on(time_machine, D(2026, 12, 20))
    client = client_for(who)
    for url in (f"/pilots/{pilot.code}/closure/", f"/pilots/{pilot.code}/extension/"):
        response = client.get(url)
        assert response.status_code == 403
        assert "只有该试点的省级牵头联系部门" in response.content.decode()
        assert client.post(url, _closure_post()).status_code == 403
    assert not ClosureReport.objects.exists() and not ExtensionRequest.objects.exists()


def test_only_the_office_decides_and_restores_R2_4(pilot, personas, client_for, time_machine):
    on(time_machine, D(2026, 12, 20))
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验"
    )
    dept = client_for("dept")
    assert (
        dept.post(f"/pilots/closures/{report.pk}/decide/", {"decision": "accept"}).status_code
        == 403
    )
    assert dept.post(f"/pilots/{pilot.code}/restore/", {"reason": "x"}).status_code == 403
    assert dept.get("/pilots/jobs/").status_code == 403
    assert client_for("county").get("/pilots/term/").status_code == 403
    # A decision is a POST.
    assert client_for("office").get(f"/pilots/closures/{report.pk}/decide/").status_code == 405
    report.refresh_from_db()
    assert report.status == TermRequestStatus.SUBMITTED


def test_unknown_records_are_404_not_500(pilot, client_for):
    office = client_for("office")
    assert office.post("/pilots/closures/999999/decide/", {"decision": "accept"}).status_code == 404
    assert office.get("/pilots/term-files/other/1/").status_code == 404
    assert office.get("/pilots/term-files/closure/999999/").status_code == 404
    assert office.get("/pilots/NOPE-0000/closure/").status_code == 404


# --- purge and restore (R2.4) ---------------------------------------------------------------


def test_purged_pilots_are_listed_and_the_office_restores_one_with_a_reason_R2_4(
    pilot, client_for, time_machine
):
    jobs.purge_expired(D(2027, 2, 1))
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED

    dept_page = client_for("dept").get("/pilots/purged/").content.decode()
    assert pilot.name in dept_page and "恢复入库</button>" not in dept_page

    on(time_machine, D(2027, 2, 3))
    office = client_for("office")
    page = office.get("/pilots/purged/").content.decode()
    assert pilot.name in page and "2027年2月1日" in page
    office.post(f"/pilots/{pilot.code}/restore/", {"reason": "", "next": "/pilots/purged/"})
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED

    response = office.post(
        f"/pilots/{pilot.code}/restore/", {"reason": "部门已说明情况", "next": "/pilots/purged/"}
    )
    assert response["Location"] == "/pilots/purged/"
    pilot.refresh_from_db()
    assert pilot.status == Status.ACTIVE and pilot.restored_on == D(2027, 2, 3)
    detail = office.get(pilot.get_absolute_url()).content.decode()
    history = office.get(reverse("pilots:history", args=[pilot.code])).content.decode()
    assert "恢复入库：部门已说明情况" in history
    assert "2027年3月6日起" in detail  # a new grace of 30 days from the restore


# --- overdue events -------------------------------------------------------------------------


@pytest.fixture
def overdue(make_pilot, orgs):
    """Overdue items of two departments, flagged by the job on 2027-01-05."""
    mine = make_pilot(code="ST-2026-0911", name="本厅试点", end_date=D(2026, 12, 31))
    theirs = make_pilot(
        code="ST-2026-0912",
        name="水利试点",
        end_date=D(2026, 12, 31),
        lead_department=orgs["other_dept"],
    )
    jobs.flag_overdue(D(2027, 1, 5))
    return mine, theirs


def test_the_overdue_list_shows_each_side_its_own_R2_4(overdue, orgs, client_for, client):
    mine, theirs = overdue
    office = client_for("office").get("/pilots/overdue/").content.decode()
    assert mine.name in office and theirs.name in office
    dept = client_for("dept").get("/pilots/overdue/").content.decode()
    assert mine.name in dept and theirs.name not in dept
    water = UserFactory(organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)
    client.force_login(water)
    page = client.get("/pilots/overdue/").content.decode()
    assert theirs.name in page and mine.name not in page


def test_the_overdue_list_filters_and_shows_resolved_items(
    overdue, personas, client_for, time_machine
):
    mine, _theirs = overdue
    office = client_for("office")
    page = office.get("/pilots/overdue/?kind=term_end&q=0911").content.decode()
    assert mine.name in page and "水利试点" not in page
    assert "R2.4" in page

    on(time_machine, D(2027, 1, 6))
    term.report_closure(actor=personas["dept"], pilot=mine, results="完成", experience="经验")
    jobs.flag_overdue(D(2027, 1, 6))
    office = client_for("office")  # the next day's session
    open_page = office.get("/pilots/overdue/").content.decode()
    assert mine.name not in open_page
    resolved = office.get("/pilots/overdue/?state=resolved").content.decode()
    assert mine.name in resolved and "2027年1月6日解除" in resolved
    # A bad filter value is ignored with a message, never a 500.
    response = office.get("/pilots/overdue/?kind=nonsense&org=nobody")
    assert response.status_code == 200
    assert "部分筛选条件无效，已忽略。" in response.content.decode()


def test_the_overdue_list_issues_the_same_queries_for_3_and_30_events(make_pilot, client_for):
    office = client_for("office")

    def count() -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert office.get("/pilots/overdue/?per_page=50").status_code == 200
        return len(ctx)

    for i in range(3):
        make_pilot(end_date=D(2026, 12, 31), name=f"试点甲{i}")
    jobs.flag_overdue(D(2027, 1, 5))
    few = count()
    for i in range(27):
        make_pilot(end_date=D(2026, 12, 30), name=f"试点乙{i}")
    jobs.flag_overdue(D(2027, 1, 5))
    assert OverdueEvent.objects.filter(resolved_on__isnull=True).count() == 30
    assert count() == few


def test_the_overdue_export_opens_in_excel_with_the_filtered_rows(overdue, client_for):
    mine, theirs = overdue
    response = client_for("office").get("/pilots/overdue/export.xlsx?q=0911")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert "filename*=UTF-8''" in response["Content-Disposition"]
    sheet = load_workbook(io.BytesIO(response.content)).active
    rows = list(sheet.iter_rows(values_only=True))
    assert rows[0][:5] == ("事项", "试点编号", "内容", "责任单位", "期限")
    assert [r[1] for r in rows[1:]] == [mine.code]
    assert rows[1][6] == "R2.4"


def test_the_pilot_list_filters_pilots_with_open_overdue_items(overdue, make_pilot, client_for):
    mine, theirs = overdue
    fine = make_pilot(name="按期试点", end_date=D(2027, 12, 31))
    client = client_for("office")
    page = client.get("/pilots/?overdue=on").content.decode()
    assert mine.name in page and theirs.name in page and fine.name not in page
    assert 'title="有未解除的逾期事项"' in page
    everything = client.get("/pilots/?reset=1", follow=True).content.decode()
    assert fine.name in everything


def test_home_shows_overdue_items_and_deadlines_of_the_next_week(
    make_pilot, client_for, time_machine
):
    late = make_pilot(name="逾期未销号试点", end_date=D(2026, 12, 31))
    soon = make_pilot(
        name="待备案试点",
        status=Status.APPROVED,
        approval_date=D(2027, 1, 2),
        ledger_since=None,
    )
    jobs.flag_overdue(D(2027, 1, 5))
    on(time_machine, D(2027, 1, 5))
    page = client_for("dept").get("/").content.decode()
    assert "逾期事项" in page and late.name in page and "逾期5天" in page
    assert "即将到期（7日内）" in page and soon.name in page and "剩4天" in page
    assert "R2.2" in page
    # A county answers for no deadline: no upcoming section.
    assert "即将到期（7日内）" not in client_for("county").get("/").content.decode()


def test_office_home_lists_closures_and_extensions_waiting_for_it_R2_4(
    pilot, personas, client_for, time_machine
):
    on(time_machine, D(2026, 12, 20))
    term.report_closure(actor=personas["dept"], pilot=pilot, results="完成", experience="经验")
    page = client_for("office").get("/").content.decode()
    assert "待审核的销号与延期" in page and pilot.name in page and "审核销号" in page


# --- the jobs page --------------------------------------------------------------------------


def test_the_office_runs_a_job_now_and_reads_its_run_log(make_pilot, client_for):
    make_pilot(name="到期试点", end_date=D(2020, 12, 31), start_date=D(2020, 1, 1))
    office = client_for("office")
    page = office.get("/pilots/jobs/").content.decode()
    assert "逾期标记" in page and "立即运行" in page
    response = office.post("/pilots/jobs/", {"job": JobName.FLAG_OVERDUE}, follow=True)
    run = JobRun.objects.get(job=JobName.FLAG_OVERDUE)
    assert "手动运行" in run.triggered_by
    assert run.counts["flagged"] >= 1
    page = response.content.decode()
    assert "新增逾期" in page and "已启动“逾期标记”" in page
    response = office.post("/pilots/jobs/", {"job": "drop_tables"}, follow=True)
    assert "未知的定时任务。" in response.content.decode()
    assert JobRun.objects.count() == 1


def test_a_comprehensive_pilot_extension_keeps_five_years_from_the_start_R1_2(
    make_pilot, client_for, time_machine
):
    pilot = make_pilot(
        kind=PilotKind.COMPREHENSIVE,
        start_date=D(2024, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2024, 1, 10),
    )
    on(time_machine, D(2026, 12, 10))
    client = client_for("dept")
    ok = client.post(
        f"/pilots/{pilot.code}/extension/",
        _extension_post("2028-12-31", milestones=[("2028-06-30", "总结评估")]),
    )
    assert ok.status_code == 302
    assert Pilot.objects.get(pk=pilot.pk).status == Status.EXTENSION_REQUESTED


# --- bad input -------------------------------------------------------------------------------


def test_bad_values_in_the_term_forms_get_chinese_messages_and_change_nothing(
    pilot, personas, client_for, time_machine
):
    on(time_machine, D(2026, 12, 10))
    dept = client_for("dept")
    response = dept.post(
        f"/pilots/{pilot.code}/extension/",
        _extension_post("明年六月", milestones=[("2027-13-45", "节点")]),
    )
    assert response.status_code == 200
    page = response.content.decode()
    assert "请输入有效日期" in page
    assert not ExtensionRequest.objects.exists()

    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验"
    )
    office = client_for("office")
    response = office.post(
        f"/pilots/closures/{report.pk}/decide/", {"decision": "drop table"}, follow=True
    )
    assert response.status_code == 200
    assert "选择一个有效的选项" in response.content.decode()
    report.refresh_from_db()
    assert report.status == TermRequestStatus.SUBMITTED

    term.accept_closure(actor=personas["office"], report=report)
    response = client_for("dept").post(
        f"/pilots/{pilot.code}/acceptance/", {"summary": "总结", "evaluator": "myself"}
    )
    assert response.status_code == 200
    assert not AcceptanceReport.objects.exists()
    # A restore of a pilot that is not purged says why.
    office = client_for("office")
    response = office.post(f"/pilots/{pilot.code}/restore/", {"reason": "误操作"}, follow=True)
    assert "不能恢复入库" in response.content.decode()
    pilot.refresh_from_db()
    assert pilot.status == Status.CLOSED
