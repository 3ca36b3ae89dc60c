"""Half-year summaries (半年汇总, R2.3): each lead department summarises its ledger every half
year, due 15 days after it ends. The product drafts the summary from the department's quarterly
reports (the numbers checked here against a hand-counted fixture); the department edits and
submits it, late ones flagged; the office sees who has and has not submitted."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError

from accounts.constants import Role
from accounts.models import Notification
from core.dates import format_cn_quarter
from ledger.constants import SummaryStatus
from ledger.models import HalfYearSummary
from ledger.reports import submit_quarterly_report
from ledger.summaries import draft_half_year_summary, submit_half_year_summary, summary_figures
from pilots import rules
from pilots.constants import Status
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
EDIT_URL = "/ledger/summaries/2026/1/"


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)


@pytest.fixture
def today(time_machine):
    def _move(day: dt.date) -> None:
        time_machine.move_to(at(day), tick=False)

    return _move


@pytest.fixture(autouse=True)
def on_20_july_2026(today):
    today(D(2026, 7, 20))


@pytest.fixture
def water(orgs):
    return UserFactory(username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)


@pytest.fixture
def law_division(orgs):
    return UserFactory(username="lawdiv", organisation=orgs["division"], role=Role.LEAD_DEPARTMENT)


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


# --- due dates (R2.3) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "half", "due"),
    [(2026, 1, D(2026, 7, 15)), (2026, 2, D(2027, 1, 15)), (2025, 2, D(2026, 1, 15))],
)
def test_a_half_year_summary_is_due_fifteen_days_after_the_half_year_R2_3(year, half, due):
    assert rules.half_year_summary_due(year, half) == due


@pytest.mark.parametrize(("half", "due"), [(1, D(2026, 7, 30)), (2, D(2027, 1, 30))])
def test_the_half_year_period_is_a_setting_R2_3(settings, half, due):
    settings.PILOT_HALF_YEAR_DUE_DAYS = 30
    assert rules.half_year_summary_due(2026, half) == due


# --- the hand-counted department --------------------------------------------------------------


def report(personas, pilot, year, quarter, on, *, reason="", by="dept", **data):
    """Submit a quarterly report through the domain function as on day `on`."""
    data.setdefault("progress", f"{pilot.name}{format_cn_quarter(year, quarter)}工作进展。")
    data.setdefault("problems", "")
    return submit_quarterly_report(
        actor=personas[by] if isinstance(by, str) else by,
        pilot=pilot,
        year=year,
        quarter=quarter,
        data=data,
        correction_reason=reason,
        today=on,
    )


@pytest.fixture
def department(make_pilot, orgs, personas):
    """The environment department's pilots and reports, counted by hand.

    Pilots (the department's and its division's):
      在册实施 2 (A, B) · 销号待审核 1 (C) · 延期待审批 1 (E) · 已销号 1 · 已清理出库 1;
      not counted: approved, filing submitted, endorsed; another department's pilot.
    Current reports of the first half of 2026 on the four ledger pilots: 5 —
      A Q1 on time, A Q2 3 days late, B Q1 2 days late, C Q1 on time,
      C Q2 on time then corrected (one report, not late; the correction keeps that);
      not counted: B's report of Q4 2025, the other department's report.
    Late reports: 2.
    """
    p = {}
    common = {"start_date": D(2026, 1, 1), "end_date": D(2026, 12, 31)}
    p["a"] = make_pilot(
        code="ST-2026-9001",
        name="西湖区生态环境损害赔偿磋商改革试点",
        status=Status.ACTIVE,
        ledger_since=D(2026, 1, 15),
        **common,
    )
    p["b"] = make_pilot(
        code="ST-2025-0002",
        name="杭州市环境污染强制责任保险改革试点",
        status=Status.ACTIVE,
        lead_department=orgs["division"],
        start_date=D(2025, 10, 1),
        end_date=D(2026, 9, 30),
        ledger_since=D(2025, 10, 10),
    )
    p["c"] = make_pilot(
        code="ST-2025-0003",
        name="钱塘区区域环评改革深化试点",
        status=Status.CLOSURE_REPORTED,
        start_date=D(2025, 7, 1),
        end_date=D(2026, 6, 30),
        ledger_since=D(2025, 7, 3),
    )
    p["e"] = make_pilot(
        code="ST-2026-9004",
        name="景宁县生物多样性保护改革试点",
        status=Status.EXTENSION_REQUESTED,
        lead_department=orgs["division"],
        ledger_since=D(2026, 2, 1),
        **common,
    )
    p["closed"] = make_pilot(code="ST-2026-9005", status=Status.CLOSED, ledger_since=D(2025, 1, 5))
    p["purged"] = make_pilot(
        code="ST-2026-9006",
        status=Status.PURGED,
        lead_department=orgs["division"],
        ledger_since=D(2025, 1, 5),
    )
    p["approved"] = make_pilot(code="ST-2026-9007", status=Status.APPROVED)
    p["filing"] = make_pilot(code="ST-2026-9008", status=Status.FILING_SUBMITTED)
    p["endorsed"] = make_pilot(code="ST-2026-9010", status=Status.ENDORSED)
    p["water"] = make_pilot(
        code="ST-2026-9009",
        status=Status.ACTIVE,
        lead_department=orgs["other_dept"],
        ledger_since=D(2026, 1, 15),
        **common,
    )

    report(personas, p["a"], 2026, 1, D(2026, 4, 8), problems="磋商规则尚待法院会签。")
    report(personas, p["a"], 2026, 2, D(2026, 7, 13))
    report(personas, p["b"], 2025, 4, D(2026, 1, 9))
    report(personas, p["b"], 2026, 1, D(2026, 4, 12), next_steps="扩大投保企业范围。")
    report(personas, p["c"], 2026, 1, D(2026, 4, 10))
    report(personas, p["c"], 2026, 2, D(2026, 7, 5))
    report(
        personas,
        p["c"],
        2026,
        2,
        D(2026, 7, 18),
        reason="补充验收准备情况",
        progress="完成区域环评改革总结，启动销号准备。",
    )
    water = UserFactory(
        username="water-reporter", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT
    )
    report(personas, p["water"], 2026, 1, D(2026, 4, 20), by=water)
    return p


EXPECTED_COUNTS = {
    "by_state": {"在册实施": 2, "已销号": 1, "销号待审核": 1, "延期待审批": 1, "已清理出库": 1},
    "in_ledger": 4,
    "reports": 5,
    "late_reports": 2,
}


def test_the_figures_match_the_departments_quarterly_reports_R2_3(orgs, department):
    figures = summary_figures(orgs["dept"], 2026, 1)

    assert {k: v for k, v in figures.items() if k != "report_rows"} == EXPECTED_COUNTS
    assert [(r.pilot.code, r.quarter, r.version) for r in figures["report_rows"]] == [
        ("ST-2025-0002", 1, 1),
        ("ST-2025-0003", 1, 1),
        ("ST-2025-0003", 2, 2),
        ("ST-2026-9001", 1, 1),
        ("ST-2026-9001", 2, 1),
    ]


def test_the_second_half_of_2025_counts_its_own_reports_R2_3(orgs, department):
    figures = summary_figures(orgs["dept"], 2025, 2)
    # B's report of Q4 2025, a day before it was due
    assert (figures["reports"], figures["late_reports"]) == (1, 0)


def test_the_draft_states_the_departments_numbers_R2_3(personas, orgs, department):
    summary = draft_half_year_summary(
        actor=personas["dept"], organisation=orgs["dept"], year=2026, half=1
    )

    assert summary.status == SummaryStatus.DRAFT
    assert summary.counts == EXPECTED_COUNTS
    assert summary.due_date == D(2026, 7, 15)
    assert summary.prepared_by == personas["dept"]
    assert summary.overview == (
        "2026年上半年，浙江省生态环境厅牵头联系的改革试点列入台账4项"
        "（在册实施2项，已销号1项，销号待审核1项，延期待审批1项，已清理出库1项）。"
        "本半年共报送季度进展5份，其中逾期报送2份。"
    )
    lines = summary.progress.splitlines()
    assert len(lines) == 5
    assert (
        "钱塘区区域环评改革深化试点（2026年第二季度）：完成区域环评改革总结，启动销号准备。"
        in lines
    )
    assert summary.problems == "西湖区生态环境损害赔偿磋商改革试点：磋商规则尚待法院会签。"
    assert summary.next_steps == "杭州市环境污染强制责任保险改革试点：扩大投保企业范围。"
    history = summary.history.get()
    assert (history.history_user, history.history_change_reason) == (
        personas["dept"],
        "系统根据季度进展起草半年汇总",
    )


def test_the_draft_page_shows_the_numbers_and_the_drafted_texts_R2_3(client_for, department):
    response = client_for("dept").get(EDIT_URL)

    assert response.status_code == 200
    text = response.content.decode()
    assert "列入台账 <strong>4</strong> 项" in text
    assert "季度进展 <strong>5</strong> 份，其中逾期 <strong>2</strong> 份" in text
    assert "报送期限 2026年7月15日" in text
    form = response.context["form"]
    assert form["overview"].value().startswith("2026年上半年，浙江省生态环境厅")
    assert not HalfYearSummary.objects.exists()  # shown, not saved: a GET changes nothing


def test_refresh_redrafts_from_the_latest_reports_R2_3(client_for, personas, department):
    client = client_for("dept")
    client.post(EDIT_URL, {"refresh": "1"})  # the draft is saved
    report(personas, department["e"], 2026, 1, D(2026, 7, 19), progress="完成物种本底调查。")

    # coming back keeps the draft as it was
    client.get(EDIT_URL)
    summary = HalfYearSummary.objects.get()
    assert summary.counts["reports"] == 5

    response = client.post(EDIT_URL, {"refresh": "1"})

    assert response.status_code == 200
    summary.refresh_from_db()
    assert (summary.counts["reports"], summary.counts["late_reports"]) == (6, 3)
    assert "景宁县生物多样性保护改革试点（2026年第一季度）：完成物种本底调查。" in summary.progress
    assert summary.status == SummaryStatus.DRAFT
    assert summary.history.order_by("history_id").last().history_change_reason == (
        "根据最新季度进展重新起草"
    )


def form_data(**overrides) -> dict:
    data = {
        "overview": "上半年列入台账4项，报送季度进展5份。",
        "progress": "各试点按计划推进。",
        "problems": "个别试点季度进展报送不及时。",
        "next_steps": "督促按期报送。",
    }
    data.update(overrides)
    return data


@pytest.mark.parametrize(
    ("day", "days_late"), [(D(2026, 7, 15), 0), (D(2026, 7, 16), 1), (D(2026, 8, 1), 17)]
)
def test_submitting_marks_the_days_late_R2_3(client_for, orgs, department, today, day, days_late):
    client_for("dept").get(EDIT_URL)
    today(day)
    client = client_for("dept")  # a new day, a new session

    response = client.post(EDIT_URL, form_data())

    assert response.status_code == 302
    assert response["Location"] == "/ledger/summaries/"
    assert _messages(response) == ["已报送2026年上半年台账汇总。"]
    summary = HalfYearSummary.objects.get()
    assert (summary.status, summary.days_late) == (SummaryStatus.SUBMITTED, days_late)
    assert summary.overview == "上半年列入台账4项，报送季度进展5份。"
    assert summary.submitted_by.username == "dept"
    notice = Notification.objects.get(organisation=orgs["office"])
    assert notice.subject == "省生态环境厅报送了2026年上半年台账汇总"
    reason = summary.history.order_by("history_id").last().history_change_reason
    assert reason == ("报送半年汇总" + (f"（逾期{days_late}天）" if days_late else ""))


def test_a_half_year_summary_is_submitted_only_once_its_half_has_ended_R2_3(
    client_for, personas, orgs, department, today
):
    # On 6 December the second half of 2026 is still running: drafting is allowed,
    # submitting is not, or the department would owe nothing on 15 January.
    today(D(2026, 12, 6))
    summary = draft_half_year_summary(
        actor=personas["dept"], organisation=orgs["dept"], year=2026, half=2
    )
    with pytest.raises(ValidationError, match="半年结束后方可报送台账汇总"):
        submit_half_year_summary(actor=personas["dept"], summary=summary, data=form_data())
    response = client_for("dept").post("/ledger/summaries/2026/2/", form_data())
    assert response.status_code == 200
    assert "2026年下半年于2026年12月31日结束，半年结束后方可报送台账汇总" in (
        response.content.decode()
    )
    summary.refresh_from_db()
    assert summary.status == SummaryStatus.DRAFT and summary.submitted_at is None
    assert not Notification.objects.filter(organisation=orgs["office"]).exists()

    today(D(2026, 12, 31))  # the half's last day: still not over
    with pytest.raises(ValidationError, match="半年结束后方可报送台账汇总"):
        submit_half_year_summary(actor=personas["dept"], summary=summary, data=form_data())

    today(D(2027, 1, 1))
    response = client_for("dept").post("/ledger/summaries/2026/2/", form_data())
    assert response.status_code == 302
    summary.refresh_from_db()
    assert (summary.status, summary.days_late) == (SummaryStatus.SUBMITTED, 0)


def test_a_summary_needs_an_overview_and_progress_R2_3(client_for, department):
    client = client_for("dept")

    response = client.post(EDIT_URL, form_data(overview="", progress=""))

    assert response.status_code == 200
    assert response.content.decode().count("此项为必填项。") == 2
    assert HalfYearSummary.objects.get().status == SummaryStatus.DRAFT


def test_a_submitted_summary_is_neither_redrafted_nor_submitted_again_R2_3(
    client_for, personas, orgs, department
):
    client = client_for("dept")
    client.get(EDIT_URL)
    client.post(EDIT_URL, form_data())
    summary = HalfYearSummary.objects.get()
    before = HalfYearSummary.objects.values().get()

    with pytest.raises(ValidationError, match="该半年汇总已报送，不能重新起草。"):
        draft_half_year_summary(
            actor=personas["dept"], organisation=orgs["dept"], year=2026, half=1, refresh=True
        )
    with pytest.raises(ValidationError, match="该半年汇总已报送。"):
        submit_half_year_summary(
            actor=personas["dept"], summary=summary, data=form_data(overview="改写")
        )

    refresh = client.post(EDIT_URL, {"refresh": "1"})
    assert refresh.status_code == 302
    assert _messages(refresh)[-1] == "该半年汇总已报送，不能重新起草。"
    client.post(EDIT_URL, form_data(overview="改写"))
    assert HalfYearSummary.objects.values().get() == before
    assert Notification.objects.filter(organisation=orgs["office"]).count() == 1


def test_the_edit_page_of_a_submitted_summary_shows_it_read_only_R2_3(client_for, department):
    client = client_for("dept")
    client.get(EDIT_URL)
    client.post(EDIT_URL, form_data())

    for response in (client.get(EDIT_URL), client.post(EDIT_URL, form_data(overview="改写"))):
        assert response.status_code == 200
        assert "form" not in response.context  # the read-only view, not the form
        assert "上半年列入台账4项" in response.content.decode()
    assert HalfYearSummary.objects.get().overview == "上半年列入台账4项，报送季度进展5份。"


# --- the office's overview, and who may see what ----------------------------------------------


def test_the_office_sees_who_has_and_has_not_submitted_R2_3(client_for, orgs, department):
    client_for("dept").post(EDIT_URL, form_data())

    response = client_for("office").get("/ledger/summaries/")

    assert response.status_code == 200
    periods = [(p["year"], p["half"]) for p in response.context["table"]]
    assert periods == [(2026, 1), (2025, 2), (2025, 1), (2024, 2)]
    first = response.context["table"][0]
    assert first["due"] == D(2026, 7, 15)
    rows = {r["org"].code: r for r in first["rows"]}
    assert set(rows) == {"dept-env", "dept-water"}  # the departments leading ledger pilots
    assert (rows["dept-env"]["submitted"], rows["dept-env"]["overdue_days"]) == (True, 0)
    assert (rows["dept-water"]["submitted"], rows["dept-water"]["overdue_days"]) == (False, 5)
    assert first["done"] == 1
    text = response.content.decode()
    assert "已报送 1/2" in text
    assert "逾期5天" in text and "逾期5天报送" in text
    summary = HalfYearSummary.objects.get()
    assert f"/ledger/summaries/view/{summary.pk}/" in text

    detail = client_for("office").get(f"/ledger/summaries/view/{summary.pk}/")
    assert detail.status_code == 200
    assert "上半年列入台账4项" in detail.content.decode()


def test_a_department_sees_only_its_own_summaries_R2_3(client, water, department, client_for):
    client_for("dept").get(EDIT_URL)
    client.force_login(water)

    response = client.get("/ledger/summaries/")

    assert response.status_code == 200
    for period in response.context["table"]:
        assert [r["org"].code for r in period["rows"]] == ["dept-water"]


def test_another_department_can_neither_see_nor_edit_it_R2_3(
    client, client_for, personas, orgs, water, law_division, department
):
    client_for("dept").post(EDIT_URL, form_data())
    summary = HalfYearSummary.objects.get()

    for outsider in (water, law_division):
        client.force_login(outsider)
        assert client.get(f"/ledger/summaries/view/{summary.pk}/").status_code == 404
        with pytest.raises(PermissionDenied):
            draft_half_year_summary(actor=outsider, organisation=orgs["dept"], year=2026, half=1)
        with pytest.raises(PermissionDenied):
            submit_half_year_summary(actor=outsider, summary=summary, data=form_data())
    # the office reads but does not write a department's summary
    with pytest.raises(PermissionDenied):
        draft_half_year_summary(
            actor=personas["office"], organisation=orgs["dept"], year=2025, half=2
        )
    # the water department's own page is its own summary, never the other's
    client.force_login(water)
    client.post(EDIT_URL, {"refresh": "1"})
    assert set(HalfYearSummary.objects.values_list("organisation__code", flat=True)) == {
        "dept-env",
        "dept-water",
    }
    assert HalfYearSummary.objects.get(organisation=orgs["dept"]).overview == (
        "上半年列入台账4项，报送季度进展5份。"
    )


@pytest.mark.parametrize("who", ["county", "hangzhou", "expert"])
def test_a_county_or_prefecture_gets_403_R2_3(client_for, department, who):
    client = client_for(who)
    assert client.get("/ledger/summaries/").status_code == 403
    assert client.get(EDIT_URL).status_code == 403
    assert client.post(EDIT_URL, form_data()).status_code == 403
    assert not HalfYearSummary.objects.exists()


def test_the_office_does_not_draft_and_a_bad_half_is_not_found_R2_3(client_for, department):
    assert client_for("office").get(EDIT_URL).status_code == 403
    assert client_for("dept").get("/ledger/summaries/2026/3/").status_code == 404
    assert not HalfYearSummary.objects.exists()


def test_a_county_cannot_read_a_summary_R2_3(client_for, department):
    client_for("dept").post(EDIT_URL, {"refresh": "1"})
    summary = HalfYearSummary.objects.get()
    assert client_for("county").get(f"/ledger/summaries/view/{summary.pk}/").status_code == 404
