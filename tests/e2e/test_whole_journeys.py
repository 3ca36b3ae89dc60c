"""The whole life of one pilot in the browser, page by page, from a county's draft to the
public list. Only the starting data (the personas, an open call, another county's draft) is
made without the browser; between the seasons of the pilot's life the clock is moved forward
with time_machine, and since that ends every session (idle timeout), each user signs in again.

1. Application and ledger: the county drafts an application in the open call and submits it;
   the prefecture endorses it; the office sends it to an expert, who scores it (N3: experts
   review endorsed applications, so the expert review has its place here); the lead
   department gives its field opinion (N2); the office reads the score and approves; the lead
   department files it with its plan (R2.2); the office confirms it into the ledger. After the
   quarter the department reports its progress (R2.3) and the office downloads the quarter's
   PDF ledger, which names the pilot.
2. The term ends: the department asks for an extension, the office approves, the end moves.
3. The new term ends with neither closure nor extension: the office runs the purge job from
   the jobs page, finds the pilot purged and restores it (R2.4).
4. The expert review: in step 1.
5. The office recognises the pilot's experience and publishes a list (R3.4); an anonymous
   visitor finds the pilot at /public/ and no draft: neither the list before it is published
   nor the county's draft application.

The screenshots are numbered in the journey's order:
artifacts/screenshots/test_whole_life_of_one_pilot-NN-<page>.png."""

from __future__ import annotations

import datetime as dt
import itertools
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from pypdf import PdfReader

from core.dates import format_cn_quarter
from core.models import JobRun, JobStatus
from ledger.constants import FilingStatus
from ledger.models import Filing, LedgerRender, QuarterlyReport
from pilots import calls, rules
from pilots.constants import Decision, Stage, Status, TermRequestStatus
from pilots.models import ExtensionRequest, Opinion, Pilot
from reviews.constants import ListStatus
from reviews.models import ExpertReview, PublishedList, Recognition

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

SHANGHAI = ZoneInfo("Asia/Shanghai")
NAME = "西湖区生态环境损害赔偿磋商制度改革试点"
DRAFT_NAME = "西湖区湿地保护修复资金统筹试点（草稿）"
DOC_NUMBER = "浙环函〔2026〕88号"
PROGRESS = "完成赔偿磋商规则起草，办理磋商案件5件，司法确认2件。"
EXPERIENCE = "建立赔偿磋商、司法确认和修复监督闭环，案件平均办理时间缩短40%。"
LIST_TITLE = "生态环境损害赔偿示范案例清单"


def _cn(day: dt.date) -> str:
    return f"{day.year}年{day.month}月{day.day}日"


@pytest.fixture
def shot(shot):
    """The screenshots numbered in the journey's order: shot("county-home") saves
    <test>-01-county-home.png, the next one 02, and so on."""
    taken = itertools.count(1)
    return lambda name: shot(f"{next(taken):02d}-{name}")


@pytest.fixture
def clock(time_machine):
    """clock(day): it is 10:00 in Hangzhou on `day`, and the clock runs on from there."""

    def _move(day: dt.date) -> None:
        time_machine.move_to(dt.datetime.combine(day, dt.time(10), tzinfo=SHANGHAI), tick=True)
        assert timezone.localdate() == day

    return _move


def test_whole_life_of_one_pilot(
    page, switch_to, shot, steps, clock, orgs, personas, make_application, tmp_path
):
    # The journey starts in the middle month of the next quarter, so that its quarter ends
    # well after the filing and the dates never straddle a midnight.
    this_quarter = rules.quarter_of(timezone.localdate())
    day0 = rules.quarter_end(*this_quarter) + dt.timedelta(days=45)
    clock(day0)
    call = calls.open_call(
        actor=personas["office"],
        title="生态环保领域改革试点申报",
        deadline=timezone.now() + dt.timedelta(days=30),
        prefecture_quota=2,
        description="县（市、区）提出建议项目，设区市把关后报送。",
    )
    # Another application the county keeps as a draft: nobody outside it ever sees it.
    draft = make_application(call, DRAFT_NAME, field="compensation", goal="统筹湿地保护修复资金。")
    start, end = day0, day0 + dt.timedelta(days=364)

    # === 1. application: the county drafts in the open call, then submits (N3, R1.1) ===
    switch_to("county")
    assert call.title in steps.section("正在申报的批次").inner_text()
    shot("county-home")
    steps.fill_application(
        call, name=NAME, region=orgs["county"], lead_department=orgs["dept"], start=start, end=end
    )
    shot("application-form")
    steps.submit(page.get_by_role("button", name="保存草稿"))
    pilot = Pilot.objects.get(name=NAME)
    assert page.url.endswith(f"/pilots/{pilot.code}/")
    assert f"申报 {pilot.code} 已保存为草稿。" in page.locator(".messages").inner_text()
    assert "草稿" in page.locator("h1 .badge").inner_text()
    assert pilot.status == Status.DRAFT and pilot.applicant == orgs["county"]
    shot("county-draft")
    steps.submit(page.get_by_role("button", name="提交设区市把关"))
    assert "已提交设区市把关。" in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").inner_text() == "已提交待把关"
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
    shot("county-submitted")

    # --- the prefecture screens and endorses it ---
    switch_to("hangzhou")
    to_screen = steps.section("待本局把关的申报")
    assert NAME in to_screen.inner_text() and DRAFT_NAME not in page.content()
    shot("prefecture-home")
    to_screen.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    steps.open_screening(pilot.code, "设区市把关")
    page.fill("#id_endorse-reason", "符合准入条件，同意推荐上报。")
    shot("prefecture-screen")
    steps.decide("推荐上报", pilot.code, flash="已推荐上报。", badge="设区市已推荐")
    pilot.refresh_from_db()
    assert (pilot.status, pilot.endorsing_prefecture) == (Status.ENDORSED, orgs["hangzhou"])
    shot("prefecture-endorsed")

    # === 4. expert review of the endorsed application (N3) ===
    switch_to("office")
    assert NAME in steps.section("待省办审定的申报").inner_text()
    shot("office-home")
    steps.section("待省办审定的申报").get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    page.get_by_role("link", name="专家评审").click()
    page.wait_for_url(f"**/reviews/pilots/{pilot.code}/experts/")
    steps.assign_expert(due=day0 + dt.timedelta(days=10))
    shot("office-assigns-expert")
    review = ExpertReview.objects.get(pilot=pilot)
    assert (review.expert, review.status) == (personas["expert"], ExpertReview.PENDING)

    switch_to("expert")
    assert NAME in steps.section("分配给我的评审任务").inner_text()
    shot("expert-home")
    page.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/reviews/expert/{review.pk}/")
    assert "前完成" in page.locator("h1 .badge").inner_text()
    steps.fill_expert_review(["27", "26", "17", "18"], "磋商与司法确认衔接清晰，建议立项。")
    shot("expert-scoring")
    steps.submit(page.get_by_role("button", name="提交评审"))
    assert "评审已提交。" in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").inner_text() == "已提交"
    assert page.get_by_text("88.00").is_visible()
    review.refresh_from_db()
    assert review.status == ExpertReview.SUBMITTED and review.total == 88
    shot("expert-submitted")

    # --- the lead department gives its field opinion (N2) ---
    switch_to("dept")
    page.goto(pilot.get_absolute_url())
    steps.open_screening(pilot.code, "牵头部门把关")
    page.get_by_label("同意", exact=True).check()
    page.fill("#id_opinion-reason", "属于制度创新，与现有试点不重复，同意。")
    shot("department-opinion")
    # the state stays: the office decides
    steps.decide("提出把关意见", pilot.code, flash="已提出把关意见。", badge="设区市已推荐")
    assert Opinion.objects.filter(
        pilot=pilot, stage=Stage.DEPARTMENT, decision=Decision.AGREE
    ).exists()
    shot("department-opinion-given")

    # --- the office reads the expert's score and approves ---
    switch_to("office")
    page.goto(pilot.get_absolute_url())
    steps.open_screening(pilot.code, "省办审定")
    experts_panel = steps.section("专家评审").inner_text()
    assert "已提交1/1" in experts_panel and "88" in experts_panel
    page.fill("#id_approve-authority", "浙江省生态环境厅")
    page.fill("#id_approve-doc_number", DOC_NUMBER)
    assert page.input_value("#id_approve-approval_date") == day0.isoformat()
    page.fill("#id_approve-reason", "同意开展试点，请于7日内备案。")
    shot("office-screen")
    steps.decide("批复同意", pilot.code, flash="已批复同意。", badge="已批复待备案")
    pilot.refresh_from_db()
    assert (pilot.status, pilot.approval_doc_number, pilot.approval_date) == (
        Status.APPROVED,
        DOC_NUMBER,
        day0,
    )
    assert list(pilot.checklists.values_list("stage", flat=True)) == [
        Stage.PREFECTURE,
        Stage.DEPARTMENT,
        Stage.OFFICE,
    ]
    shot("office-approved")

    # === filing within the week (R2.2) and confirmation into the ledger (R2.3) ===
    switch_to("dept")
    to_file = steps.section("待备案试点")
    assert NAME in to_file.inner_text() and _cn(day0 + dt.timedelta(days=7)) in to_file.inner_text()
    shot("department-home")
    to_file.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    page.click("a:has-text('报送备案')")
    page.wait_for_url(f"**/ledger/pilots/{pilot.code}/file/")
    assert page.input_value("#id_approval_doc_number") == DOC_NUMBER
    steps.fill_filing(milestone=f"{end:%Y-%m-%d} 形成赔偿磋商制度")
    shot("department-filing-form")
    steps.submit(page.locator("button:has-text('报送备案')"))
    assert page.url.endswith(f"/pilots/{pilot.code}/")
    assert "备案已报送，待省办确认。" in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").inner_text() == "备案待确认"
    filing = Filing.objects.get(pilot=pilot)
    assert (filing.status, filing.days_late, filing.filed_on) == (FilingStatus.SUBMITTED, 0, day0)
    assert filing.plan.name.endswith(".pdf")
    shot("department-filed")

    switch_to("office")
    assert NAME in steps.section("待确认的备案").inner_text()
    steps.nav("备案确认")
    page.wait_for_url("**/ledger/filings/")
    steps.confirm_filing(NAME, pilot.code, shot_as="office-filings")
    pilot.refresh_from_db()
    assert (pilot.status, pilot.ledger_since) == (Status.ACTIVE, day0)
    page.goto(pilot.get_absolute_url())
    assert page.locator("h1 .badge").inner_text() == "在册实施"
    shot("office-pilot-in-ledger")

    # === after the quarter: the quarterly report (R2.3) and the PDF ledger ===
    year, quarter = rules.quarter_of(day0)
    day1 = rules.quarter_end(year, quarter) + dt.timedelta(days=3)
    clock(day1)
    switch_to("dept")
    owed = steps.section("应报未报的季度进展")
    assert (
        NAME in owed.inner_text() and f"{format_cn_quarter(year, quarter)}进展" in owed.inner_text()
    )
    shot("department-home-report-owed")
    steps.nav("待办报送")
    page.wait_for_url("**/ledger/todo/")
    todo_row = page.locator("tr", has_text=NAME)
    assert f"{format_cn_quarter(year, quarter)}" in todo_row.inner_text()
    shot("department-todo")
    steps.report_quarter(todo_row, pilot.code, year, quarter, progress=PROGRESS)
    report = QuarterlyReport.objects.get(pilot=pilot)
    assert (report.year, report.quarter, report.version, report.progress) == (
        year,
        quarter,
        1,
        PROGRESS,
    )
    shot("department-reports")

    switch_to("office")
    page.goto("/ledger/?reset=1")
    page.wait_for_url("**/ledger/")
    ledger_row = page.locator("tr", has_text=NAME)
    assert f"{year}年Q{quarter}" in ledger_row.inner_text()
    assert PROGRESS[:15] in ledger_row.inner_text()
    shot("office-ledger")
    link = steps.render_ledger(year)
    assert "已提交生成" in page.locator(".messages").inner_text()
    shot("office-pdf-ledgers")
    download = steps.download(link, tmp_path / "ledger.pdf")
    assert download.suggested_filename.endswith(".pdf")
    assert (tmp_path / "ledger.pdf").read_bytes().startswith(b"%PDF-")
    text = "".join(p.extract_text() for p in PdfReader(tmp_path / "ledger.pdf").pages)
    assert pilot.code in text
    assert NAME[:6] in text.replace("\n", "")
    render = LedgerRender.objects.get()
    assert (render.status, render.year, render.quarter, render.rows) == (
        "done",
        year,
        quarter,
        1,
    )

    # === 2. the term ends: extension asked and approved (R2.4, R1.2) ===
    day2 = end + dt.timedelta(days=5)
    clock(day2)
    new_end = end + dt.timedelta(days=180)
    switch_to("dept")
    expiring = steps.section("到期或即将到期的试点")
    assert NAME in expiring.inner_text()
    shot("department-home-expired")
    expiring.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert page.locator("#term").get_by_text("已到期5天").is_visible()
    shot("department-pilot-expired")
    page.locator("#term").get_by_role("link", name="申请延期").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/extension/")
    steps.fill_extension(
        new_end=new_end, milestone=end + dt.timedelta(days=90), milestone_title="配套制度印发"
    )
    shot("department-extension-form")
    steps.submit(page.get_by_role("button", name="报送延期申请"))
    assert page.url.endswith(f"/pilots/{pilot.code}/")
    sent = f"延期申请（延至{_cn(new_end)}）已报送省办审批。"
    assert sent in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").first.inner_text() == "延期待审批"
    extension = ExtensionRequest.objects.get(pilot=pilot)
    assert (extension.status, extension.new_end_date) == (TermRequestStatus.SUBMITTED, new_end)
    shot("department-extension-sent")

    switch_to("office")
    assert _cn(new_end) in steps.approve_extension(NAME)
    page.goto(pilot.get_absolute_url())
    assert page.locator("h1 .badge").first.inner_text() == "在册实施"
    assert _cn(new_end) in page.locator("#term").inner_text()
    page.get_by_role("link", name="查看变更历史").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/history/")
    assert page.get_by_text(f"同意延期：结束日期由{_cn(end)}延至{_cn(new_end)}").is_visible()
    pilot.refresh_from_db()
    extension.refresh_from_db()
    assert (pilot.status, pilot.end_date) == (Status.ACTIVE, new_end)
    assert extension.status == TermRequestStatus.ACCEPTED
    shot("office-extended")

    # === 3. the new term ends, nobody acts: purged by the job, restored (R2.4) ===
    day3 = rules.purge_date(new_end)
    clock(day3)
    switch_to("office")
    steps.nav("定时任务")
    page.wait_for_url("**/pilots/jobs/")
    page.once("dialog", lambda dialog: dialog.accept())  # "确定立即运行到期清理出库？"
    steps.submit(page.get_by_role("button", name="立即运行：到期清理出库"))
    assert "已启动“到期清理出库”" in page.locator(".messages").inner_text()
    runs = page.locator("section", has=page.get_by_role("heading", name="运行记录"))
    run_row = runs.locator("tr", has_text="到期清理出库").filter(has_text=_cn(day3))
    assert run_row.locator(".badge").inner_text() == "完成"
    assert "清理出库 1" in run_row.inner_text()
    run = JobRun.objects.get(job="purge_expired")
    assert (run.status, run.today, run.counts) == (JobStatus.DONE, day3, {"purged": 1})
    pilot.refresh_from_db()
    assert (pilot.status, pilot.purged_on) == (Status.PURGED, day3)
    shot("office-jobs")
    page.goto("/pilots/purged/")
    purged_row = page.locator("tr", has_text=NAME)
    assert _cn(day3) in purged_row.inner_text()
    shot("office-purged-list")
    purged_row.get_by_role("link", name=NAME).click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert page.locator("h1 .badge").first.inner_text() == "已清理出库"
    term = page.locator("#term")
    assert f"本试点已于{_cn(day3)}清理出库" in term.inner_text()
    term.get_by_placeholder("恢复理由（必填）").fill("牵头部门已补报延期后进展，恢复入库")
    shot("office-purged-pilot")
    steps.submit(term.get_by_role("button", name="恢复入库"))
    assert f"{NAME}已恢复入库" in page.locator(".messages").inner_text()
    assert page.locator("h1 .badge").first.inner_text() == "在册实施"
    pilot.refresh_from_db()
    assert (pilot.status, pilot.restored_on, pilot.purged_on) == (Status.ACTIVE, day3, None)
    shot("office-restored")
    page.get_by_role("link", name="查看变更历史").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/history/")
    assert page.get_by_text("恢复入库：牵头部门已补报延期后进展，恢复入库").is_visible()
    page.get_by_role("link", name="返回试点").click()
    page.wait_for_url(f"**/pilots/{pilot.code}/")

    # === 5. promotion and the public list (R3.4) ===
    steps.recognise(kind="demonstration", summary=EXPERIENCE)
    assert page.get_by_text("已认定为示范案例。").is_visible()
    assert Recognition.objects.get(pilot=pilot).summary == EXPERIENCE
    shot("office-recognised")
    steps.open_list_form(LIST_TITLE)
    shot("office-list-form")
    steps.submit(page.get_by_role("button", name="生成清单草稿"))
    assert "/reviews/lists/" in page.url
    assert page.get_by_text("草稿，不公开").is_visible()
    edition = PublishedList.objects.get()
    assert edition.status == ListStatus.DRAFT
    shot("office-list-draft")

    steps.search_public("西湖区")  # the draft edition is not public yet
    assert page.get_by_text("暂无发布的清单。").is_visible()
    assert page.get_by_text("没有找到。").is_visible()
    assert LIST_TITLE not in page.content()
    shot("public-before-publishing")

    switch_to("office")
    steps.publish_list(edition.pk)
    edition.refresh_from_db()
    assert edition.status == ListStatus.PUBLISHED
    shot("office-list-published")

    steps.search_public("西湖区")  # the published pilot, not the county's draft application
    hits = steps.section("搜索").locator("tbody tr")
    assert hits.count() == 1 and NAME in hits.inner_text() and "示范案例" in hits.inner_text()
    shot("public-search")
    hits.get_by_role("link", name=LIST_TITLE).click()
    page.wait_for_url(f"**/public/lists/{edition.pk}/")
    assert page.get_by_text(NAME).is_visible()
    assert page.get_by_text(EXPERIENCE).is_visible()
    assert DRAFT_NAME not in page.content()
    shot("public-list")
    assert Pilot.objects.get(pk=draft.pk).status == Status.DRAFT
