"""The ledger (台账, R2.3): exactly the filed and confirmed pilots still in the library, each
persona's slice of it, filters, search and sort, next deadlines and late flags, a constant
number of queries, and the Excel export."""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone

from accounts.constants import Role
from accounts.models import Organisation
from ledger.models import QuarterlyReport
from ledger.selectors import ledger_queryset
from pilots import rules
from pilots.constants import APPLICATION_STATES, LEDGER_STATES, PilotKind, ReformField, Status
from tests.factories import PilotFactory, UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = D(2026, 5, 20)


@pytest.fixture(autouse=True)
def on_20_may_2026(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 20, 10, 0, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def water(orgs):
    return UserFactory(username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)


def report(pilot, year, quarter, *, days_late=0, progress="按计划推进。", by=None):
    """A current quarterly report row, as submit_quarterly_report leaves it."""
    return QuarterlyReport.objects.create(
        pilot=pilot,
        year=year,
        quarter=quarter,
        progress=progress,
        due_date=rules.quarterly_report_due(year, quarter),
        days_late=days_late,
        organisation=pilot.lead_department.parent or pilot.lead_department,
        submitted_by=by,
    )


@pytest.fixture
def world(make_pilot, orgs, personas):
    """Five ledger pilots across departments and prefectures, and one pilot in each state that
    is not in the ledger (led by the department, in Hangzhou: visible to many)."""
    dept = personas["dept"]
    p = {}
    p["xihu"] = make_pilot(
        code="ST-2026-9001",
        name="西湖区生态环境损害赔偿磋商改革试点",
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
        regions=[orgs["county"]],
    )
    p["law"] = make_pilot(
        code="ST-2025-0002",
        name="杭州市环境污染强制责任保险改革试点",
        status=Status.CLOSURE_REPORTED,
        lead_department=orgs["division"],
        field=ReformField.ACCOUNTABILITY,
        start_date=D(2025, 5, 1),
        end_date=D(2026, 4, 30),
        ledger_since=D(2025, 5, 10),
        regions=[orgs["hangzhou"]],
    )
    for year, quarter in [(2025, 2), (2025, 3), (2025, 4)]:
        report(p["law"], year, quarter, by=dept)
    report(p["law"], 2026, 1, days_late=5, progress="完成保险条款修订，投保企业增至86家。", by=dept)
    p["nb_ext"] = make_pilot(
        code="ST-2025-0003",
        name="宁波市河（湖）长履职评价改革试点",
        status=Status.EXTENSION_REQUESTED,
        lead_department=orgs["other_dept"],
        field=ReformField.RESOURCE_QUOTA,
        start_date=D(2025, 6, 1),
        end_date=D(2026, 5, 31),
        ledger_since=D(2025, 6, 10),
        regions=[orgs["ningbo"]],
    )
    p["yinzhou"] = make_pilot(
        code="ST-2026-9004",
        name="鄞州区用水权有偿使用和交易改革试点",
        status=Status.ACTIVE,
        lead_department=orgs["other_dept"],
        field=ReformField.COMPENSATION,
        kind=PilotKind.COMPREHENSIVE,
        start_date=D(2026, 2, 1),
        end_date=D(2029, 1, 31),
        ledger_since=D(2026, 2, 5),
        regions=[orgs["nb_county"]],
    )
    p["hz"] = make_pilot(
        code="ST-2026-9005",
        name="杭州市排污权指标市场化配置改革试点",
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 10),
        regions=[orgs["hangzhou"]],
    )
    report(p["hz"], 2026, 1, by=dept)
    for n, status in enumerate(sorted(set(Status) - LEDGER_STATES), start=10):
        p[status] = make_pilot(
            code=f"ST-2026-{9000 + n:04d}",
            name=f"不在台账的试点（{Status(status).label}）",
            status=status,
            regions=[orgs["hangzhou"]],
            ledger_since=D(2025, 1, 10) if status in (Status.CLOSED, Status.PURGED) else None,
        )
    return p


def codes(response) -> list[str]:
    return [pilot.code for pilot in response.context["rows"]]


LEDGER = ["xihu", "law", "nb_ext", "yinzhou", "hz"]


# --- what is in the ledger (R2.3) -------------------------------------------------------------


def test_the_ledger_is_exactly_the_filed_and_confirmed_pilots_in_the_library_R2_3(
    client_for, world
):
    response = client_for("office").get("/ledger/", {"sort": "code"})

    assert response.status_code == 200
    assert codes(response) == sorted(world[k].code for k in LEDGER)
    assert {p.status for p in response.context["rows"]} == set(LEDGER_STATES)
    text = response.content.decode()
    assert "共 5 项" in text
    assert "不在台账的试点" not in text


@pytest.mark.parametrize(
    "status",
    [
        Status.DRAFT,
        Status.SUBMITTED,
        Status.ENDORSED,
        Status.APPROVED,
        Status.FILING_SUBMITTED,
        Status.CLOSED,
        Status.PURGED,
    ],
)
def test_a_pilot_not_filed_and_confirmed_or_no_longer_in_the_library_is_not_in_the_ledger_R2_3(
    personas, world, status
):
    for who in ("office", "dept", "hangzhou"):
        assert not ledger_queryset(personas[who]).filter(pk=world[status].pk).exists()


@pytest.mark.parametrize(
    ("who", "expected"),
    [
        ("office", LEDGER),
        ("dept", ["xihu", "law", "hz"]),  # its own and its division's pilots
        ("water", ["nb_ext", "yinzhou"]),
        ("hangzhou", ["xihu", "law", "hz"]),  # pilots in Hangzhou and its counties
        ("ningbo", ["nb_ext", "yinzhou"]),  # none of Hangzhou's
        ("county", ["xihu"]),  # pilots in its county
        ("expert", []),
    ],
)
def test_each_persona_sees_its_slice_of_the_ledger_R2_3(
    client, client_for, water, world, who, expected
):
    if who == "water":
        client.force_login(water)
    else:
        client_for(who)

    response = client.get("/ledger/", {"sort": "code", "per_page": 200})

    assert response.status_code == 200
    assert codes(response) == sorted(world[k].code for k in expected)
    text = response.content.decode()
    for key in set(LEDGER) - set(expected):
        assert world[key].name not in text


def test_the_ledger_needs_a_login_R2_3(client, world):
    response = client.get("/ledger/")
    assert response.status_code == 302
    assert response["Location"].startswith("/accounts/login/")


# --- filters, search and sort ---------------------------------------------------------------


@pytest.mark.parametrize(
    ("params", "expected"),
    [
        ({"status": "closure_reported"}, ["law"]),
        ({"status": "draft"}, []),  # a state outside the ledger finds nothing, not the draft
        ({"field": "compensation"}, ["yinzhou"]),
        ({"kind": "comprehensive"}, ["yinzhou"]),
        ({"lead": "div-law"}, ["law"]),
        ({"lead": "dept-env"}, ["xihu", "law", "hz"]),  # a department includes its divisions
        ({"prefecture": "ningbo"}, ["nb_ext", "yinzhou"]),  # includes its counties
        ({"prefecture": "hangzhou"}, ["xihu", "law", "hz"]),
        ({"q": "排污权"}, ["hz"]),
        ({"q": "ST-2025"}, ["law", "nb_ext"]),
        ({"q": "宁波", "status": "extension_requested"}, ["nb_ext"]),
    ],
)
def test_the_ledger_filters_and_searches_R2_3(client_for, world, params, expected):
    response = client_for("office").get("/ledger/", {**params, "sort": "code"})

    assert codes(response) == sorted(world[k].code for k in expected)


@pytest.mark.parametrize(
    ("sort", "expected"),
    [
        ("code", ["law", "nb_ext", "xihu", "yinzhou", "hz"]),
        ("-code", ["hz", "yinzhou", "xihu", "nb_ext", "law"]),
        ("end", ["law", "nb_ext", "xihu", "hz", "yinzhou"]),
        ("-end", ["yinzhou", "xihu", "hz", "nb_ext", "law"]),
        ("status", ["xihu", "yinzhou", "hz", "law", "nb_ext"]),
    ],
)
def test_the_ledger_sorts_R2_3(client_for, world, sort, expected):
    response = client_for("office").get("/ledger/", {"sort": sort})

    assert codes(response) == [world[k].code for k in expected]


def test_filters_are_remembered_and_reset_R2_3(client_for, world):
    client = client_for("office")
    client.get("/ledger/", {"status": "closure_reported"})

    back = client.get("/ledger/")
    assert back.status_code == 302
    assert "status=closure_reported" in back["Location"]

    cleared = client.get("/ledger/", {"reset": 1})
    assert cleared.status_code == 302
    assert len(codes(client.get("/ledger/"))) == 5


def test_a_bad_filter_is_ignored_with_a_warning_R2_3(client_for, world):
    response = client_for("office").get("/ledger/", {"status": "nonsense"})

    assert response.status_code == 200
    assert len(codes(response)) == 5
    assert "部分筛选条件无效，已忽略。" in response.content.decode()


# --- next deadline and late flags (R2.3, R2.4) ---------------------------------------------


def test_each_row_shows_its_next_deadline_and_overdue_flags_R2_3(client_for, world):
    response = client_for("office").get("/ledger/", {"sort": "code"})
    rows = {p.code: p for p in response.context["rows"]}

    # no report yet for the first quarter it was in the ledger: due 10 April, 40 days ago
    xihu = rows[world["xihu"].code]
    assert (xihu.next_deadline.what, xihu.next_deadline.due) == (
        "2026年第一季度进展",
        D(2026, 4, 10),
    )
    assert (xihu.next_deadline.clause, xihu.next_overdue) == ("R2.3", 40)
    # every quarter reported: next comes closure or extension at the end of the term (R2.4)
    hz = rows[world["hz"].code]
    assert (hz.next_deadline.what, hz.next_deadline.due) == ("到期销号或申请延期", D(2026, 12, 31))
    assert (hz.next_deadline.clause, hz.next_overdue) == ("R2.4", 0)
    # closure reported, all quarters of its term reported: nothing open
    law = rows[world["law"].code]
    assert law.next_deadline is None
    assert (law.latest_year, law.latest_quarter, law.latest_days_late) == (2026, 1, 5)
    # entered the ledger in February, its first quarter is reportable once ended
    yinzhou = rows[world["yinzhou"].code]
    assert yinzhou.next_deadline.what == "2026年第一季度进展"
    # its term ended on 31 May, which has not yet come: owes Q2 2025 … Q1 2026
    nb_ext = rows[world["nb_ext"].code]
    assert (nb_ext.next_deadline.what, nb_ext.next_overdue) == ("2025年第二季度进展", 314)


def test_the_page_shows_the_flags_R2_3(client_for, world):
    text = client_for("office").get("/ledger/", {"sort": "code"}).content.decode()

    assert "逾期40天" in text  # the unreported first quarter of the Xihu pilot
    assert "逾期5天报送" in text  # the late report of the division's pilot
    assert "完成保险条款修订" in text  # its latest progress
    assert "已到期" in text  # past its end date
    assert "尚无进展" in text
    assert text.count('class="row-overdue"') == 3  # xihu, nb_ext, yinzhou


# --- a constant number of queries -----------------------------------------------------------


def _many_ledger_pilots(orgs, personas, n: int) -> None:
    for i in range(n):
        pilot = PilotFactory(
            lead_department=orgs["division"] if i % 2 else orgs["dept"],
            status=Status.ACTIVE,
            start_date=D(2025, 7, 1),
            end_date=D(2027, 6, 30),
            ledger_since=D(2025, 7, 5),
            regions=[orgs["county"], orgs["hangzhou"]],
        )
        report(pilot, 2025, 3, by=personas["dept"])
        if i % 3:
            report(pilot, 2025, 4, days_late=i % 7, by=personas["dept"])


@pytest.mark.parametrize("n", [10, 200])
def test_the_ledger_page_runs_the_same_queries_for_10_and_200_pilots_R2_3(
    client_for, orgs, personas, django_assert_num_queries, n
):
    _many_ledger_pilots(orgs, personas, n)
    client = client_for("hangzhou")

    # 1. the session; 2. the user; 3. the user's organisation (for the access gate);
    # 4. the page count; 5. the page of pilots, with their lead department joined and their
    #    latest current report annotated by subqueries; 6. the page's regions (prefetched);
    # 7. the reported quarters of the page's pilots (for the next deadline);
    # 8. the unread notices in the header; 9.–10. the prefecture and lead-department choices
    #    of the filter form; 11.–13. remembering the filters: savepoint, session update,
    #    release.
    with django_assert_num_queries(13):
        response = client.get("/ledger/", {"per_page": 200, "sort": "code"})

    assert response.status_code == 200
    assert len(response.context["rows"]) == n


# --- the Excel export -----------------------------------------------------------------------


def _sheet_codes(content: bytes) -> set[str]:
    from openpyxl import load_workbook

    book = load_workbook(io.BytesIO(content), read_only=True)
    found = set()
    for sheet in book.worksheets:
        for row in sheet.iter_rows(values_only=True):
            found.update(v for v in row if isinstance(v, str) and v.startswith("ST-"))
    return found


def test_the_export_holds_the_users_ledger_as_filtered_R2_3(client_for, world):
    pytest.importorskip(
        "ledger.exports", reason="ledger/exports.py (the Excel export) is not written yet"
    )
    client = client_for("dept")

    response = client.get("/ledger/export.xlsx")

    assert response.status_code == 200
    assert response["Content-Type"] == (
        "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
    )
    assert "attachment" in response["Content-Disposition"]
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert _sheet_codes(content) == {world[k].code for k in ("xihu", "law", "hz")}

    filtered = client.get("/ledger/export.xlsx", {"status": "closure_reported"})
    content = b"".join(filtered.streaming_content) if filtered.streaming else filtered.content
    assert _sheet_codes(content) == {world["law"].code}

    nb = client_for("ningbo").get("/ledger/export.xlsx")
    content = b"".join(nb.streaming_content) if nb.streaming else nb.content
    assert _sheet_codes(content) == {world[k].code for k in ("nb_ext", "yinzhou")}


# --- the demo's ledger ------------------------------------------------------------------------


@pytest.mark.django_db
def test_the_demo_ledger_is_filed_reported_and_loads_only_once_R2_2_R2_3(settings, tmp_path):
    from django.core.management import call_command

    from ledger.constants import FilingStatus, SummaryStatus
    from ledger.models import Filing, HalfYearSummary
    from ledger.reports import owed_reports
    from ledger.selectors import owed_quarters
    from pilots.models import Pilot

    # the demo's dates are relative to the day it is loaded: here, 20 May 2026
    settings.MEDIA_ROOT = tmp_path
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    call_command("load_demo")

    def snapshot() -> dict:
        return {
            "filings": Filing.objects.count(),
            "filing history": Filing.history.count(),
            "reports": QuarterlyReport.objects.count(),
            "report history": QuarterlyReport.history.count(),
            "summaries": HalfYearSummary.objects.count(),
            "pilot history": Pilot.history.count(),
            "files": sorted(p.name for p in tmp_path.rglob("*") if p.is_file()),
        }

    first = snapshot()
    today = timezone.localdate()
    filed = Pilot.objects.exclude(status__in=[*APPLICATION_STATES, Status.WITHDRAWN])
    filed = filed.exclude(status=Status.APPROVED)
    for pilot in filed:
        filing = pilot.filings.order_by("-version").first()
        assert filing is not None, pilot.name
        if pilot.status == Status.FILING_SUBMITTED:
            assert (filing.status, pilot.ledger_since) == (FilingStatus.SUBMITTED, None)
        else:
            assert filing.status == FilingStatus.CONFIRMED, pilot.name
            assert pilot.ledger_since == timezone.localtime(filing.decided_at).date()
            assert pilot.plan_attachment.name == filing.plan.name
        assert filing.days_late == rules.filing_days_late(pilot.approval_date, filing.filed_on)
        assert filing.filed_on <= today
        with filing.plan.open("rb") as handle:
            assert handle.read(5) == b"%PDF-"
    assert not Filing.objects.filter(pilot__status=Status.APPROVED).exists()
    assert Filing.objects.filter(days_late__gt=0).count() >= 3
    assert Filing.objects.filter(status=FilingStatus.RETURNED, version=1).count() == 1
    assert Filing.objects.filter(days_late__gt=0, status=FilingStatus.SUBMITTED).exists()

    reports = QuarterlyReport.objects.select_related("pilot")
    assert reports.count() > 50
    for report in reports:
        assert report.pilot.status in LEDGER_STATES
        assert (report.year, report.quarter) in owed_quarters(report.pilot, today)
        assert report.due_date == rules.quarterly_report_due(report.year, report.quarter)
        assert timezone.localtime(report.submitted_at).date() <= today
    assert reports.filter(is_current=True, days_late__gt=0).count() >= 2
    corrected = reports.get(version=2)
    assert (
        reports.get(
            pilot=corrected.pilot, year=corrected.year, quarter=corrected.quarter, version=1
        ).is_current
        is False
    )
    assert corrected.correction_reason
    owed = owed_reports(Organisation.objects.get(code="dept-env"), today)
    assert len(owed) >= 2 and any(row["overdue_days"] for row in owed)
    assert {h.history_user_id is not None for h in QuarterlyReport.history.all()} == {True}
    assert {h.history_user_id is not None for h in Filing.history.all()} == {True}

    summaries = HalfYearSummary.objects.filter(organisation__code="dept-env")
    assert sorted(summaries.values_list("status", flat=True)) == [
        SummaryStatus.DRAFT,
        SummaryStatus.SUBMITTED,
    ]
    submitted = summaries.get(status=SummaryStatus.SUBMITTED)
    assert submitted.counts["reports"] > 0
    assert timezone.localtime(submitted.submitted_at).date() <= submitted.due_date

    call_command("load_demo")
    assert snapshot() == first


def test_an_unfiltered_export_is_not_filtered_by_an_earlier_export_R2_3(client_for, world):
    pytest.importorskip("ledger.exports", reason="ledger/exports.py is not written yet")
    client = client_for("dept")
    client.get("/ledger/export.xlsx", {"status": "closure_reported"})

    page = client.get("/ledger/", {"reset": 1}, follow=True)
    assert len(codes(page)) == 3
    assert 'href="/ledger/export.xlsx"' in page.content.decode()  # no filter on the page
    response = client.get("/ledger/export.xlsx")

    assert response.status_code == 200
    content = b"".join(response.streaming_content) if response.streaming else response.content
    assert _sheet_codes(content) == {world[k].code for k in ("xihu", "law", "hz")}
