"""Quarterly progress (季度进展, R2.3): each ledger pilot reports every ended quarter of its term
from the quarter it entered the ledger, due 10 days after the quarter; late reports are flagged;
a correction is a new version and the old one stays readable; the lead department's to-do
list holds exactly what it owes."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.contrib.messages import get_messages
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.constants import Role
from ledger.models import QuarterlyReport
from ledger.reports import owed_reports, submit_quarterly_report
from pilots import rules
from pilots.constants import Status
from tests.factories import UserFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
EXE = b"MZ\x90\x00\x03\x00\x00\x00\x04\x00\x00\x00\xff\xff\x00\x00" + b"\x00" * 64
PROGRESS = {
    "progress": "完成磋商规则起草，召开专家论证会2次，办理赔偿磋商案件5件。",
    "milestones_reached": "制度设计阶段目标按期完成。",
    "problems": "司法确认衔接尚需与法院进一步协商。",
    "next_steps": "下季度印发磋商规则，开展修复效果评估。",
}


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


@pytest.fixture(autouse=True)
def on_20_may_2026(time_machine):
    time_machine.move_to(at(D(2026, 5, 20)), tick=False)


@pytest.fixture
def today(time_machine):
    """today(day) moves the clock to 10:00 on that day."""

    def _move(day: dt.date) -> None:
        time_machine.move_to(at(day), tick=False)

    return _move


@pytest.fixture
def water(orgs):
    return UserFactory(username="water", organisation=orgs["other_dept"], role=Role.LEAD_DEPARTMENT)


@pytest.fixture
def law_division(orgs):
    return UserFactory(username="lawdiv", organisation=orgs["division"], role=Role.LEAD_DEPARTMENT)


@pytest.fixture
def pilot(make_pilot, orgs):
    """The department's pilot for 2026, in the ledger since 15 January, in a Hangzhou county."""
    return make_pilot(
        code="ST-2026-9001",
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
        regions=[orgs["county"]],
    )


def submit(personas, pilot, year, quarter, *, by="dept", reason="", attachment=None, **data):
    actor = personas[by] if isinstance(by, str) else by
    return submit_quarterly_report(
        actor=actor,
        pilot=pilot,
        year=year,
        quarter=quarter,
        data={**PROGRESS, **data},
        attachment=attachment,
        correction_reason=reason,
    )


def _messages(response) -> list[str]:
    return [str(m) for m in get_messages(response.wsgi_request)]


def trail(records) -> list[tuple]:
    return [
        (getattr(h.history_user, "username", None), h.history_change_reason)
        for h in records.order_by("history_id")
    ]


# --- due dates (R2.3) -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("year", "quarter", "due"),
    [
        (2026, 1, D(2026, 4, 10)),
        (2026, 2, D(2026, 7, 10)),
        (2026, 3, D(2026, 10, 10)),
        (2026, 4, D(2027, 1, 10)),
        (2028, 1, D(2028, 4, 10)),  # a leap year's first quarter ends on 31 March all the same
    ],
)
def test_a_quarter_is_due_ten_days_after_it_ends_R2_3(year, quarter, due):
    assert rules.quarterly_report_due(year, quarter) == due


@pytest.mark.parametrize(
    ("days", "quarter", "due"),
    [(15, 1, D(2026, 4, 15)), (15, 4, D(2027, 1, 15)), (0, 4, D(2026, 12, 31))],
)
def test_the_quarterly_period_is_a_setting_R2_3(settings, days, quarter, due):
    settings.PILOT_QUARTERLY_DUE_DAYS = days
    assert rules.quarterly_report_due(2026, quarter) == due


def test_a_report_carries_its_due_date_R2_3(personas, pilot):
    report = submit(personas, pilot, 2026, 1)
    assert (report.due_date, report.version, report.is_current) == (D(2026, 4, 10), 1, True)
    assert report.organisation == personas["dept"].organisation
    assert report.submitted_by == personas["dept"]


# --- which quarters a pilot reports (R2.3) ------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "reportable"),
    [(D(2026, 3, 31), False), (D(2026, 4, 1), True)],
    ids=["last-day-of-the-quarter", "first-day-after"],
)
def test_a_quarter_is_reported_once_it_has_ended_R2_3(personas, pilot, today, day, reportable):
    today(day)
    if reportable:
        assert submit(personas, pilot, 2026, 1).days_late == 0
    else:
        with pytest.raises(ValidationError, match="不在该试点的报送期内"):
            submit(personas, pilot, 2026, 1)


def test_a_quarter_not_yet_ended_is_refused_with_the_reason_and_the_rule_in_force_R2_3(
    client_for, personas, pilot, today, settings
):
    settings.PILOT_QUARTERLY_DUE_DAYS = 20
    today(D(2026, 6, 30))  # the quarter's last day: not over yet

    with pytest.raises(ValidationError) as excinfo:
        submit(personas, pilot, 2026, 2)

    message = excinfo.value.messages[0]
    assert "该季度尚未结束，季度结束后方可报送" in message and "季度结束后20日内" in message
    response = client_for("dept").post(report_url(pilot, 2026, 2), PROGRESS)
    assert response.status_code == 200 and "该季度尚未结束" in response.content.decode()
    assert not QuarterlyReport.objects.filter(quarter=2).exists()
    today(D(2026, 7, 1))
    assert submit(personas, pilot, 2026, 2).due_date == D(2026, 7, 20)


@pytest.mark.parametrize(
    ("year", "quarter"),
    [(2026, 2), (2025, 4), (2027, 1), (2026, 5), (2026, 0)],
    ids=["not-yet-ended", "before-the-ledger", "after-the-term", "quarter-5", "quarter-0"],
)
def test_a_quarter_outside_the_ledger_period_is_refused_R2_3(personas, pilot, year, quarter):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, pilot, year, quarter)

    expected = "不在该试点的报送期内" if quarter in (1, 2, 3, 4) else "季度只能是第一季度至第四季度"
    assert expected in excinfo.value.messages[0]
    assert not QuarterlyReport.objects.exists()


def test_quarters_after_the_term_ended_are_refused_R2_3(personas, make_pilot, today):
    ended = make_pilot(
        status=Status.CLOSURE_REPORTED,
        start_date=D(2025, 4, 1),
        end_date=D(2026, 3, 31),
        ledger_since=D(2025, 4, 10),
    )
    today(D(2026, 8, 1))

    assert submit(personas, ended, 2026, 1).days_late > 0
    with pytest.raises(ValidationError, match="不在该试点的报送期内"):
        submit(personas, ended, 2026, 2)


@pytest.mark.parametrize(
    "status", [Status.APPROVED, Status.FILING_SUBMITTED, Status.CLOSED, Status.PURGED]
)
def test_only_ledger_pilots_report_R2_3(personas, make_pilot, status):
    outside = make_pilot(
        status=status,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15) if status in (Status.CLOSED, Status.PURGED) else None,
    )
    with pytest.raises(ValidationError, match="只有列入台账的试点报送季度进展"):
        submit(personas, outside, 2026, 1)


def test_progress_is_required_R2_3(personas, pilot):
    with pytest.raises(ValidationError) as excinfo:
        submit(personas, pilot, 2026, 1, progress="   ")
    assert excinfo.value.message_dict == {"progress": ["请填写工作进展。"]}


# --- late reports (R2.3) ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("day", "days_late"),
    [(D(2026, 4, 9), 0), (D(2026, 4, 10), 0), (D(2026, 4, 11), 1), (D(2026, 5, 20), 40)],
)
def test_a_late_report_is_accepted_and_flagged_with_its_days_late_R2_3(
    personas, pilot, today, day, days_late
):
    today(day)
    report = submit(personas, pilot, 2026, 1)
    assert report.days_late == days_late


# --- corrections: versions (R2.3) -------------------------------------------------------------


def test_a_correction_needs_a_reason_R2_3(personas, pilot):
    submit(personas, pilot, 2026, 1)

    with pytest.raises(ValidationError) as excinfo:
        submit(personas, pilot, 2026, 1, progress="更正后的进展。")

    assert excinfo.value.message_dict == {
        "correction_reason": ["该季度已报送，更正时请填写更正说明。"]
    }
    assert QuarterlyReport.objects.count() == 1


def test_a_correction_is_version_2_and_keeps_version_1_and_its_lateness_R2_3(
    personas, pilot, today
):
    today(D(2026, 4, 15))
    first = submit(personas, pilot, 2026, 1)
    assert first.days_late == 5

    today(D(2026, 5, 20))
    second = submit(
        personas,
        pilot,
        2026,
        1,
        reason="办理案件数统计有误",
        progress="完成磋商规则起草，召开专家论证会2次，办理赔偿磋商案件7件。",
    )

    first.refresh_from_db()
    assert (second.version, second.is_current) == (2, True)
    assert (first.version, first.is_current) == (1, False)
    # version 1 stays as it was submitted
    assert first.progress == PROGRESS["progress"]
    assert second.correction_reason == "办理案件数统计有误"
    # a correction keeps the lateness of the first submission, neither more nor less
    assert second.days_late == first.days_late == 5
    assert second.due_date == first.due_date
    current = QuarterlyReport.objects.get(pilot=pilot, year=2026, quarter=1, is_current=True)
    assert current == second

    third = submit(personas, pilot, 2026, 1, reason="补充节点完成情况")
    assert third.version == 3
    assert list(
        QuarterlyReport.objects.filter(pilot=pilot).values_list("version", "is_current")
    ) == [(3, True), (2, False), (1, False)]


def test_reports_and_corrections_write_history_on_both_versions_R2_3(personas, pilot):
    first = submit(personas, pilot, 2026, 1)
    second = submit(personas, pilot, 2026, 1, reason="办理案件数统计有误")

    assert trail(first.history) == [
        ("dept", "报送2026年第一季度进展"),
        ("dept", "被第2版更正"),
    ]
    assert trail(second.history) == [("dept", "更正2026年第一季度进展：办理案件数统计有误")]
    assert [h.is_current for h in first.history.order_by("history_id")] == [True, False]


# --- who reports (R2.3) -----------------------------------------------------------------------


@pytest.mark.parametrize("who", ["office", "hangzhou", "county", "expert", "water", "lawdiv"])
def test_only_the_lead_department_reports_R2_3(personas, pilot, water, law_division, who):
    actor = {"water": water, "lawdiv": law_division}.get(who) or personas[who]

    with pytest.raises(PermissionDenied):
        submit(personas, pilot, 2026, 1, by=actor)

    assert not QuarterlyReport.objects.exists()


def test_a_division_led_pilot_is_reported_by_the_division_or_its_department_R2_3(
    personas, make_pilot, orgs, law_division
):
    led = make_pilot(
        lead_department=orgs["division"],
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
    )
    by_division = submit(personas, led, 2026, 1, by=law_division)
    by_dept = submit(personas, led, 2026, 1, by="dept", reason="部门统一口径")

    assert (by_division.organisation, by_dept.organisation) == (orgs["division"], orgs["dept"])


# --- the to-do list (R2.2, R2.3) ----------------------------------------------------------------


@pytest.fixture
def owing(make_pilot, orgs, personas, today):
    """On 20 August 2026: the department's ledger pilots with what they reported, and pilots
    that do not belong on its to-do list."""
    dept = personas["dept"]
    p = {}
    # in the ledger since January; Q1 reported, Q2 owed
    p["a"] = make_pilot(
        code="ST-2026-9001",
        status=Status.ACTIVE,
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
    )
    # the division's: since October 2025; Q4 2025 and Q2 2026 owed, Q1 reported
    p["b"] = make_pilot(
        code="ST-2025-0002",
        status=Status.ACTIVE,
        lead_department=orgs["division"],
        start_date=D(2025, 10, 1),
        end_date=D(2026, 9, 30),
        ledger_since=D(2025, 10, 10),
    )
    # closure reported at the end of its term; Q2 2026 owed, the rest reported, one corrected
    p["c"] = make_pilot(
        code="ST-2025-0003",
        status=Status.CLOSURE_REPORTED,
        start_date=D(2025, 7, 1),
        end_date=D(2026, 6, 30),
        ledger_since=D(2025, 7, 3),
    )
    # none of these is on the department's list
    p["water"] = make_pilot(
        code="ST-2026-9004",
        status=Status.ACTIVE,
        lead_department=orgs["other_dept"],
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 15),
    )
    p["closed"] = make_pilot(
        code="ST-2025-0005",
        status=Status.CLOSED,
        start_date=D(2025, 1, 1),
        end_date=D(2025, 12, 31),
        ledger_since=D(2025, 1, 5),
    )
    p["filing"] = make_pilot(code="ST-2026-9006", status=Status.FILING_SUBMITTED)
    # to be filed: approved, the department's (and not another department's)
    p["to_file"] = make_pilot(
        code="ST-2026-9007", status=Status.APPROVED, approval_date=D(2026, 8, 3)
    )
    p["to_file_late"] = make_pilot(
        code="ST-2026-9008",
        status=Status.APPROVED,
        lead_department=orgs["division"],
        approval_date=D(2026, 7, 1),
    )
    p["water_to_file"] = make_pilot(
        code="ST-2026-9009",
        status=Status.APPROVED,
        lead_department=orgs["other_dept"],
        approval_date=D(2026, 7, 1),
    )
    today(D(2026, 4, 8))
    submit(personas, p["a"], 2026, 1)
    submit(personas, p["b"], 2026, 1)
    for year, quarter in [(2025, 3), (2025, 4), (2026, 1)]:
        submit(personas, p["c"], year, quarter, by=dept)
    submit(personas, p["c"], 2026, 1, reason="补充节点完成情况")
    today(D(2026, 8, 20))
    return p


def test_the_todo_list_holds_exactly_the_owed_reports_oldest_first_R2_3(client_for, owing):
    response = client_for("dept").get("/ledger/todo/")

    assert response.status_code == 200
    owed = [(r["pilot"].code, r["year"], r["quarter"]) for r in response.context["owed"]]
    assert owed == [
        ("ST-2025-0002", 2025, 4),  # due 10 January
        ("ST-2025-0002", 2026, 2),  # due 10 July, then by code
        ("ST-2025-0003", 2026, 2),
        ("ST-2026-9001", 2026, 2),
    ]
    assert [r["overdue_days"] for r in response.context["owed"]] == [222, 41, 41, 41]
    text = response.content.decode()
    assert "逾期222天" in text
    assert "/ledger/pilots/ST-2025-0002/reports/2025/4/" in text


def test_a_long_todo_list_is_paged_and_counted_R2_3(client_for, make_pilot, today):
    # given the department leads 60 ledger pilots, each owing its second quarter
    for i in range(60):
        make_pilot(
            code=f"ST-2026-{i + 1:04d}",
            status=Status.ACTIVE,
            start_date=D(2026, 4, 1),
            end_date=D(2027, 3, 31),
            ledger_since=D(2026, 4, 10),
        )
    today(D(2026, 8, 20))
    client = client_for("dept")
    # then the first page shows 50 of the 60, says how many there are, and links to the next
    first = client.get("/ledger/todo/")
    assert len(first.context["owed"]) == 50
    text = first.content.decode()
    assert "共 60 项" in text and "第 1 / 2 页" in text and "page=2" in text
    # and the second page the remaining 10, the last by code
    second = client.get("/ledger/todo/", {"page": 2})
    assert [r["pilot"].code for r in second.context["owed"]][-1] == "ST-2026-0060"
    assert len(second.context["owed"]) == 10
    # a page number that is not one falls back to the first page, never an error
    assert client.get("/ledger/todo/", {"page": "x"}).status_code == 200


def test_the_todo_list_holds_the_approved_pilots_to_file_R2_2(client_for, owing):
    response = client_for("dept").get("/ledger/todo/")

    assert [p.code for p in response.context["to_file"]] == ["ST-2026-9008", "ST-2026-9007"]
    text = response.content.decode()
    assert "/ledger/pilots/ST-2026-9007/file/" in text
    assert "已逾期" in text  # the division's pilot was due for filing on 8 July


def test_another_departments_todo_list_is_its_own_R2_3(client, water, owing):
    client.force_login(water)

    response = client.get("/ledger/todo/")

    assert [(r["pilot"].code, r["quarter"]) for r in response.context["owed"]] == [
        ("ST-2026-9004", 1),
        ("ST-2026-9004", 2),
    ]
    assert [p.code for p in response.context["to_file"]] == ["ST-2026-9009"]


def test_the_owed_reports_match_the_domain_function_R2_3(orgs, owing):
    owed = owed_reports(orgs["dept"], D(2026, 8, 20))
    assert [(r["pilot"].code, r["year"], r["quarter"], r["due"]) for r in owed] == [
        ("ST-2025-0002", 2025, 4, D(2026, 1, 10)),
        ("ST-2025-0002", 2026, 2, D(2026, 7, 10)),
        ("ST-2025-0003", 2026, 2, D(2026, 7, 10)),
        ("ST-2026-9001", 2026, 2, D(2026, 7, 10)),
    ]


@pytest.mark.parametrize("who", ["office", "hangzhou", "county", "expert"])
def test_the_todo_list_is_for_lead_departments_R2_3(client_for, who):
    assert client_for(who).get("/ledger/todo/").status_code == 403


# --- the pilot's report page and the report form ------------------------------------------------


def reports_url(pilot) -> str:
    return f"/ledger/pilots/{pilot.code}/reports/"


def report_url(pilot, year, quarter) -> str:
    return f"/ledger/pilots/{pilot.code}/reports/{year}/{quarter}/"


def test_the_report_page_shows_every_version_and_what_is_owed_R2_3(client_for, personas, pilot):
    submit(personas, pilot, 2026, 1)
    submit(personas, pilot, 2026, 1, reason="办理案件数统计有误", progress="办理赔偿磋商案件7件。")

    response = client_for("dept").get(reports_url(pilot))

    assert response.status_code == 200
    assert [(r.version, r.is_current) for r in response.context["reports"]] == [
        (2, True),
        (1, False),
    ]
    assert response.context["owed"] == []
    text = response.content.decode()
    assert "第2版" in text and "当前" in text
    assert "第1版" in text and "已更正" in text
    assert "更正：办理案件数统计有误" in text
    assert PROGRESS["progress"] in text and "办理赔偿磋商案件7件。" in text
    assert report_url(pilot, 2026, 1) in text  # the current version can be corrected


def test_the_report_page_lists_owed_quarters_and_only_the_lead_department_may_report_R2_3(
    client_for, pilot, today
):
    today(D(2026, 8, 20))

    dept = client_for("dept").get(reports_url(pilot))
    assert dept.context["owed"] == [(2026, 1), (2026, 2)]
    assert report_url(pilot, 2026, 2) in dept.content.decode()

    county = client_for("county").get(reports_url(pilot))
    assert county.status_code == 200
    assert county.context["owed"] == [(2026, 1), (2026, 2)]
    assert report_url(pilot, 2026, 2) not in county.content.decode()

    assert client_for("ningbo").get(reports_url(pilot)).status_code == 404


def test_reporting_through_the_form_R2_3(client_for, pilot, today):
    today(D(2026, 4, 12))
    client = client_for("dept")

    form = client.get(report_url(pilot, 2026, 1))
    assert form.status_code == 200
    assert "2026年4月10日" in form.content.decode()

    response = client.post(
        report_url(pilot, 2026, 1),
        {**PROGRESS, "attachment": SimpleUploadedFile("进展材料.pdf", PDF)},
    )

    assert response.status_code == 302
    assert response["Location"] == reports_url(pilot)
    assert _messages(response) == ["已报送2026年第一季度进展（逾期2天）。"]
    report = QuarterlyReport.objects.get(pilot=pilot)
    assert report.attachment.name.startswith(f"reports/{pilot.code}/2026Q1/v1/")
    assert report.attachment.read() == PDF


def test_correcting_through_the_form_needs_a_reason_R2_3(client_for, personas, pilot):
    submit(personas, pilot, 2026, 1)
    client = client_for("dept")

    form = client.get(report_url(pilot, 2026, 1))
    assert form.context["form"]["progress"].value() == PROGRESS["progress"]
    assert "报送更正" in form.content.decode()

    response = client.post(report_url(pilot, 2026, 1), {"progress": "更正后的进展。"})
    assert response.status_code == 200
    assert "该季度已报送，更正时请填写更正说明。" in response.content.decode()
    assert QuarterlyReport.objects.count() == 1

    response = client.post(
        report_url(pilot, 2026, 1), {"progress": "更正后的进展。", "correction_reason": "笔误"}
    )
    assert response.status_code == 302
    assert list(QuarterlyReport.objects.values_list("version", "is_current")) == [
        (2, True),
        (1, False),
    ]


@pytest.mark.parametrize(
    ("year", "quarter", "data", "message"),
    [
        (2026, 1, {"progress": ""}, "请填写工作进展。"),
        (
            2026,
            1,
            {"attachment": SimpleUploadedFile("进展材料.pdf", EXE)},
            "只接受 PDF、DOCX 或 XLSX 文件。",
        ),
        (2026, 1, {"attachment": SimpleUploadedFile("空.pdf", b"")}, "提交的是空文件"),
        (2026, 2, {}, "不在该试点的报送期内"),
    ],
    ids=["no-progress", "renamed-exe", "empty-file", "quarter-not-ended"],
)
def test_a_bad_report_shows_chinese_errors_and_saves_nothing_R2_3(
    client_for, pilot, year, quarter, data, message
):
    response = client_for("dept").post(report_url(pilot, year, quarter), {**PROGRESS, **data})

    assert response.status_code == 200
    assert message in response.content.decode()
    assert not QuarterlyReport.objects.exists()


@pytest.mark.parametrize(
    ("who", "status"), [("hangzhou", 403), ("county", 403), ("ningbo", 404), ("expert", 404)]
)
def test_the_report_form_is_only_for_the_lead_department_R2_3(client_for, pilot, who, status):
    client = client_for(who)
    assert client.get(report_url(pilot, 2026, 1)).status_code == status
    assert client.post(report_url(pilot, 2026, 1), PROGRESS).status_code == status
    assert not QuarterlyReport.objects.exists()


def test_the_attachment_is_downloaded_only_through_the_gate_R2_3(client_for, personas, pilot):
    report = submit(personas, pilot, 2026, 1, attachment=SimpleUploadedFile("进展材料.pdf", PDF))
    url = f"/ledger/reports/{report.pk}/attachment/"

    for who in ("dept", "office", "hangzhou", "county"):
        response = client_for(who).get(url)
        assert response.status_code == 200, who
        assert b"".join(response.streaming_content) == PDF
        assert response["Content-Disposition"].startswith("attachment")
    for who in ("ningbo", "expert"):
        assert client_for(who).get(url).status_code == 404, who
    assert client_for("ningbo").get(f"/files/{report.attachment.name}").status_code == 404

    without = submit(personas, pilot, 2026, 1, reason="去掉附件")
    assert client_for("dept").get(f"/ledger/reports/{without.pk}/attachment/").status_code == 404
