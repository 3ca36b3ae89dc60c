"""The ledger's Excel export (ledger.exports): exactly the ledger's pilots (R2.3) as the user
may see them, Chinese headers, date cells, user text never a formula, and a number of queries
that does not grow with the number of pilots. Read back with openpyxl and python-calamine."""

from __future__ import annotations

import datetime as dt
import io
import zipfile

import pytest
from django.db import connection
from django.http import HttpResponse
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from core.xlsx import XLSX_CONTENT_TYPE
from ledger import exports
from ledger.exports import LEDGER_SHEET_TITLE, export_ledger, ledger_filename, ledger_rows
from ledger.imports import read_sheet
from ledger.models import QuarterlyReport
from ledger.selectors import LEDGER_HEADERS, ledger_queryset
from pilots.constants import LEDGER_STATES, PilotKind, Status
from pilots.models import Pilot

D = dt.date


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def _rows(ws) -> list[dict]:
    rows = list(ws.iter_rows())
    headers = [c.value for c in rows[0]]
    return [dict(zip(headers, row, strict=False)) for row in rows[1:]]


def _report(pilot, year, quarter, progress, *, by, version=1, is_current=True):
    return QuarterlyReport.objects.create(
        pilot=pilot,
        year=year,
        quarter=quarter,
        version=version,
        is_current=is_current,
        progress=progress,
        due_date=D(year, 12, 31),
        organisation=pilot.lead_department,
        submitted_by=by,
    )


@pytest.mark.parametrize("status", sorted(Status.values))
def test_only_filed_pilots_still_in_the_library_are_exported_R2_3(status, make_pilot, personas):
    # given one pilot in each state of its life
    pilot = make_pilot(status=status)

    # when the office exports the ledger — through the ledger's queryset, or any wider one
    from_ledger = _rows(_sheet(export_ledger(ledger_queryset(personas["office"]))))
    from_all = _rows(_sheet(export_ledger(Pilot.objects.all())))

    # then only pilots in the ledger appear: never a draft, an approved pilot not yet filed,
    # a closed or a purged one
    expected = [pilot.code] if status in LEDGER_STATES else []
    assert [r["试点编号"].value for r in from_ledger] == expected
    assert [r["试点编号"].value for r in from_all] == expected


def test_the_ledger_export_has_exactly_the_ledger_pilots_R2_3(make_pilot, personas):
    in_ledger = {make_pilot(status=s).code for s in LEDGER_STATES}
    for status in set(Status.values) - LEDGER_STATES:
        make_pilot(status=status)

    rows = _rows(_sheet(export_ledger(ledger_queryset(personas["office"]))))

    assert sorted(r["试点编号"].value for r in rows) == sorted(in_ledger)


def test_the_export_keeps_the_users_restriction_R2_3(make_pilot, orgs, personas):
    ours = make_pilot(regions=[orgs["county"]])
    make_pilot(regions=[orgs["nb_county"]])
    make_pilot(status=Status.DRAFT, regions=[orgs["county"]])

    rows = _rows(_sheet(export_ledger(ledger_queryset(personas["county"]))))

    assert [r["试点编号"].value for r in rows] == [ours.code]


def test_headers_are_chinese_frozen_bold_and_filterable(make_pilot, personas):
    make_pilot()
    make_pilot()

    ws = _sheet(export_ledger(ledger_queryset(personas["office"])))

    assert ws.title == LEDGER_SHEET_TITLE
    assert [c.value for c in ws[1]] == LEDGER_HEADERS
    assert LEDGER_HEADERS[:3] == ["试点编号", "试点名称", "改革领域"]
    assert ws.freeze_panes == "A2"
    assert all(c.font.b for c in ws[1])
    assert ws.auto_filter.ref == "A1:Q3"
    assert ws.column_dimensions["B"].width == 36
    assert ws.column_dimensions["Q"].width == 50


def test_each_row_shows_the_ledger_columns(make_pilot, orgs, personas):
    pilot = make_pilot(
        name="西湖区生态环境损害赔偿磋商制度改革试点",
        kind=PilotKind.COMPREHENSIVE,
        status=Status.EXTENSION_REQUESTED,
        start_date=D(2026, 1, 1),
        end_date=D(2028, 12, 31),
        approval_doc_number="浙环函〔2025〕88号",
        approval_date=D(2025, 12, 20),
        ledger_since=D(2025, 12, 27),
        regions=[orgs["hangzhou"], orgs["county"]],
    )
    _report(pilot, 2026, 1, "旧的进展", by=personas["office"], is_current=False)
    _report(pilot, 2026, 1, "出台磋商办法。", by=personas["office"], version=2)
    _report(pilot, 2025, 4, "更早的季度", by=personas["office"])

    (row,) = _rows(_sheet(export_ledger(ledger_queryset(personas["office"]))))

    values = {k: c.value for k, c in row.items()}
    assert values["试点编号"] == pilot.code
    assert values["试点名称"] == "西湖区生态环境损害赔偿磋商制度改革试点"
    assert values["改革领域"] == "环境治理体系"
    assert values["试点类型"] == "综合性试点"
    assert values["试点来源"] == "省直有关部门开展"
    assert values["管理层级"] == "省生态文明体制改革专项小组统筹"
    assert set(values["试点地区"].split("、")) == {"杭州", "西湖区"}
    assert values["牵头部门"] == orgs["dept"].name
    assert values["状态"] == "延期待审批"
    assert values["批复文号"] == "浙环函〔2025〕88号"
    assert values["最新进展季度"] == "2026年第一季度"
    assert values["最新进展"] == "出台磋商办法。"


def test_dates_are_date_cells(make_pilot, personas):
    make_pilot(
        start_date=D(2026, 3, 1),
        end_date=D(2027, 2, 28),
        approval_date=D(2026, 2, 10),
        ledger_since=D(2026, 2, 14),
    )

    (row,) = _rows(_sheet(export_ledger(ledger_queryset(personas["office"]))))

    for header, day in (
        ("开始日期", D(2026, 3, 1)),
        ("结束日期", D(2027, 2, 28)),
        ("批复日期", D(2026, 2, 10)),
        ("列入台账日期", D(2026, 2, 14)),
    ):
        cell = row[header]
        assert cell.is_date, header
        assert cell.number_format == 'yyyy"年"m"月"d"日"'
        assert cell.value.date() == day


def test_a_pilot_not_yet_confirmed_in_the_ledger_has_an_empty_ledger_date(make_pilot, personas):
    make_pilot(ledger_since=None)

    (row,) = _rows(_sheet(export_ledger(ledger_queryset(personas["office"]))))

    assert row["列入台账日期"].value is None
    assert row["最新进展季度"].value is None


@pytest.mark.parametrize(
    "text", ["=1+1", "+cmd|' /C calc'!A0", "-2+3", "@SUM(A1:A9)", '=HYPERLINK("http://x","y")']
)
def test_text_that_looks_like_a_formula_is_never_one(text, make_pilot, personas):
    pilot = make_pilot(name=text, implementing_body=text)
    _report(pilot, 2026, 1, text, by=personas["office"])

    data = export_ledger(ledger_queryset(personas["office"]))

    (row,) = _rows(_sheet(data))
    for header in ("试点名称", "实施主体", "最新进展"):
        assert row[header].data_type == "s", header
        assert row[header].value == "'" + text
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        sheet_xml = archive.read("xl/worksheets/sheet1.xml").decode()
    assert "<f>" not in sheet_xml and "<f " not in sheet_xml
    # calamine (the importer's reader) reads the same text
    assert read_sheet(data)[1][1] == "'" + text


def _ledger_pilots(first: int, count: int, orgs, user) -> None:
    """`count` ledger pilots, each with two regions and a quarterly report."""
    for i in range(first, first + count):
        pilot = Pilot.objects.create(
            code=f"ST-2026-{i:04d}",
            name=f"排污许可制度改革试点{i}",
            field="governance",
            kind=PilotKind.SINGLE,
            origin="department",
            status=sorted(LEDGER_STATES)[i % 3],
            implementing_body="杭州市生态环境局",
            lead_department=orgs["dept"] if i % 2 else orgs["other_dept"],
            applicant=orgs["dept"],
            start_date=D(2026, 1, 1),
            end_date=D(2026, 12, 31),
            approval_doc_number=f"浙环函〔2026〕{i}号",
            approval_date=D(2025, 12, 20),
        )
        pilot.regions.set([orgs["county"], orgs["hangzhou"]])
        _report(pilot, 2026, 1 + i % 2, f"进展{i}", by=user)


def _count_queries(user) -> tuple[int, int]:
    with CaptureQueriesContext(connection) as ctx:
        data = export_ledger(ledger_queryset(user))
    return len(ctx.captured_queries), len(_rows(_sheet(data)))


def test_the_number_of_queries_does_not_grow_with_the_pilots(orgs, personas):
    _ledger_pilots(1, 10, orgs, personas["office"])
    queries_10, rows_10 = _count_queries(personas["office"])
    _ledger_pilots(11, 290, orgs, personas["office"])

    queries_300, rows_300 = _count_queries(personas["office"])

    assert (rows_10, rows_300) == (10, 300)
    # One query for the organisations (lead departments and regions), then per batch: the
    # batch's primary keys, those pilots with their latest report (annotated), their regions.
    assert queries_10 == queries_300 == 4


def test_the_export_walks_primary_key_batches(make_pilot, personas, monkeypatch):
    monkeypatch.setattr(exports, "BATCH_SIZE", 4)
    pilots = [make_pilot() for _ in range(10)]

    with CaptureQueriesContext(connection) as ctx:
        rows = list(ledger_rows(ledger_queryset(personas["office"]).order_by("-code")))

    assert [r[0] for r in rows] == [p.code for p in sorted(pilots, key=lambda p: p.pk)]
    # the organisations once, then three batches (4, 4, 2) of three queries each
    assert len(ctx.captured_queries) == 10


def test_the_export_streams_into_an_http_response(make_pilot, personas):
    pilot = make_pilot()
    response = HttpResponse(content_type=XLSX_CONTENT_TYPE)

    assert export_ledger(ledger_queryset(personas["office"]), response) is None

    assert _rows(_sheet(response.content))[0]["试点编号"].value == pilot.code


def test_an_empty_ledger_still_has_its_headers(personas):
    ws = _sheet(export_ledger(ledger_queryset(personas["office"])))

    assert [c.value for c in ws[1]] == LEDGER_HEADERS
    assert ws.max_row == 1


def test_the_file_is_named_after_the_ledger_and_the_day():
    assert ledger_filename(D(2026, 3, 31)) == "改革试点台账-20260331.xlsx"


def test_a_prefecture_without_ledger_pilots_exports_only_headers(personas, orgs, make_pilot):
    make_pilot(regions=[orgs["hangzhou"]])

    rows = _rows(_sheet(export_ledger(ledger_queryset(personas["ningbo"]))))

    assert rows == []


# --- the streaming writer (core.xlsx) --------------------------------------------------


# A naive date-time is written as it is (aware ones in local time, tests/pilots).
NAIVE_EVENING = dt.datetime(2026, 3, 31, 23, 59, 59)  # noqa: DTZ001


def test_the_writer_keeps_every_kind_of_value():
    from decimal import Decimal
    from xml.dom import minidom

    from core.xlsx import write_workbook

    values = [
        " 前后空格 ",
        "第一行\n第二行",
        '<a href="x">&amp;</a>',
        "控制\x01字符",
        True,
        10**15,
        1.25,
        Decimal("3.50"),
        float("nan"),
        D(1899, 12, 31),
        NAIVE_EVENING,
        None,
    ]
    headers = [f"列{i}" for i in range(len(values))]

    data = write_workbook("类型", headers, [values])

    cells = [c.value for c in _sheet(data)[2]]
    assert cells[:9] == [
        " 前后空格 ",
        "第一行\n第二行",
        '<a href="x">&amp;</a>',
        "控制字符",
        True,
        10**15,
        1.25,
        3.5,
        "nan",
    ]
    assert cells[9] == "1899-12-31"  # before Excel's calendar is safe: kept as text
    assert cells[10] == NAIVE_EVENING
    assert cells[11] is None
    assert read_sheet(data)[1][:2] == [" 前后空格 ", "第一行\n第二行"]
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        for name in archive.namelist():
            if name.endswith(".xml") or name.endswith(".rels"):
                minidom.parseString(archive.read(name))  # well-formed
