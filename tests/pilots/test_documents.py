"""The documents of a call (N3): the printed application form and the call's spreadsheet.

The PDF is checked for real Chinese text (extracted back with pypdf, so the glyphs are
there, not empty boxes), an embedded CJK font and the page footer; its URL fetcher refuses
everything but the product's static files. The spreadsheet is read back with openpyxl:
Chinese headers, date cells, one row per application, user text never a formula, and a
bounded number of queries whatever the number of applications.
"""

from __future__ import annotations

import datetime as dt
import io
from zoneinfo import ZoneInfo

import pytest
from django.http import HttpResponse
from openpyxl import load_workbook
from pypdf import PdfReader

from core.xlsx import XLSX_CONTENT_TYPE, safe_text, write_workbook
from pilots import documents
from pilots.constants import Decision, OverlapVerdict, PilotKind, Stage, Status
from pilots.models import Call, Milestone, Opinion, OverlapFlag

SHANGHAI = ZoneInfo("Asia/Shanghai")
PILOT_NAME = "西湖区生态环境损害赔偿磋商制度改革试点"


@pytest.fixture(autouse=True)
def fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


@pytest.fixture
def call(personas):
    """A call of 2026 (shadows the package's open call: these tests need a fixed title)."""
    return Call.objects.create(
        title="2026年度生态环保领域改革试点申报",
        deadline=dt.datetime(2026, 4, 16, 17, 0, tzinfo=SHANGHAI),
        opened_by=personas["office"],
    )


def _opinion(pilot, stage, decision, org, author, text=""):
    return Opinion.objects.create(
        pilot=pilot, stage=stage, decision=decision, text=text, organisation=org, author=author
    )


@pytest.fixture
def application(make_pilot, orgs, personas, call):
    """A county's comprehensive application, endorsed by its prefecture and agreed by the
    lead department, with two live milestones and one removed."""
    pilot = make_pilot(
        name=PILOT_NAME,
        kind=PilotKind.COMPREHENSIVE,
        status=Status.ENDORSED,
        applicant=orgs["county"],
        endorsing_prefecture=orgs["hangzhou"],
        endorsed_at=dt.datetime(2026, 4, 10, 9, 30, tzinfo=SHANGHAI),
        call=call,
        start_date=dt.date(2026, 6, 1),
        end_date=dt.date(2029, 5, 31),
        goal="建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。\n形成一套可复制的磋商规则。",
        work_foundation="2025年已办理赔偿案件12件。",
        contact_person="王明",
        contact_phone="0571-87654321",
        approval_authority="",
        approval_doc_number="",
        approval_date=None,
        regions=[orgs["county"]],
    )
    Milestone.objects.create(pilot=pilot, due_date=dt.date(2026, 12, 31), title="出台磋商办法")
    Milestone.objects.create(pilot=pilot, due_date=dt.date(2028, 6, 30), title="完成中期评估")
    Milestone.objects.create(
        pilot=pilot, due_date=dt.date(2027, 3, 31), title="已删除的节点", is_removed=True
    )
    _opinion(pilot, Stage.PREFECTURE, Decision.SUBMIT, orgs["county"], personas["county"])
    _opinion(
        pilot,
        Stage.PREFECTURE,
        Decision.ENDORSE,
        orgs["hangzhou"],
        personas["hangzhou"],
        "该试点符合准入条件，同意推荐。",
    )
    _opinion(
        pilot,
        Stage.DEPARTMENT,
        Decision.AGREE,
        orgs["dept"],
        personas["dept"],
        "同意作为省级改革试点。",
    )
    return pilot


# --- PDF --------------------------------------------------------------------------------


def _pdf_text(data: bytes) -> str:
    return "\n".join(page.extract_text() for page in PdfReader(io.BytesIO(data)).pages)


def _embedded_fonts(data: bytes) -> set[str]:
    """Base names of the fonts whose program is embedded in the PDF."""
    names = set()
    reader = PdfReader(io.BytesIO(data))
    for page in reader.pages:
        fonts = page["/Resources"].get_object().get("/Font", {})
        for ref in fonts.get_object().values():
            font = ref.get_object()
            for part in [font, *(d.get_object() for d in font.get("/DescendantFonts", []))]:
                descriptor = part.get("/FontDescriptor")
                if descriptor is None:
                    continue
                descriptor = descriptor.get_object()
                if any(k in descriptor for k in ("/FontFile", "/FontFile2", "/FontFile3")):
                    names.add(str(part["/BaseFont"]))
    return names


def test_n3_application_pdf_prints_the_form_with_chinese_text(application):
    data = documents.application_pdf(application)

    assert data.startswith(b"%PDF-")
    text = _pdf_text(data)
    assert PILOT_NAME in text
    assert "生态环保领域改革试点申报表" in text
    assert "申报表" in text
    assert "第 1 页 共" in text
    assert application.code in text
    # Dates as official documents print them; milestones in order, removed ones left out.
    assert "2026年6月1日至2029年5月31日" in text
    assert "出台磋商办法" in text and "完成中期评估" in text
    assert "已删除的节点" not in text
    # The prefecture's and the lead department's opinions, with their seal boxes.
    assert "该试点符合准入条件，同意推荐。" in text
    assert "同意作为省级改革试点。" in text
    assert "（盖章）" in text
    assert "杭州市生态环境局" in text


def test_n3_application_pdf_embeds_a_cjk_font(application):
    fonts = _embedded_fonts(documents.application_pdf(application))

    assert any("CJK" in name or "Noto" in name for name in fonts), fonts


def test_n3_application_pdf_without_opinions_leaves_blank_seal_boxes(make_pilot, orgs):
    pilot = make_pilot(status=Status.DRAFT, applicant=orgs["county"], work_foundation="")

    text = _pdf_text(documents.application_pdf(pilot))

    assert pilot.name in text
    assert "年 月 日" in text.replace("\u3000", " ").replace("  ", " ")
    assert "单项试点" in text


def test_n3_opinions_on_a_returned_version_are_not_printed(application, call, orgs, personas):
    """A prefecture's return, then the county's resubmission: the new version has no
    prefecture opinion yet, on the form or in the sheet."""
    Opinion.objects.filter(pilot=application).exclude(decision=Decision.SUBMIT).delete()
    _opinion(
        application,
        Stage.PREFECTURE,
        Decision.RETURN,
        orgs["hangzhou"],
        personas["hangzhou"],
        "请补充工作基础。",
    )
    _opinion(application, Stage.PREFECTURE, Decision.SUBMIT, orgs["county"], personas["county"])

    text = _pdf_text(documents.application_pdf(application))
    ws = _sheet(documents.call_applications_xlsx(call, call.applications.all()))

    assert "请补充工作基础" not in text
    assert "退回修改" not in text
    assert _rows_as_dicts(ws)[0]["设区市意见"].value is None


def test_n3_application_pdf_prints_markup_in_user_text_as_text(make_pilot, orgs):
    """Typed HTML is escaped: an <img> pointing at the network is printed, never fetched."""
    pilot = make_pilot(measures='<img src="http://example.invalid/x.png">按证监管')

    text = _pdf_text(documents.application_pdf(pilot))

    assert "<img" in text
    assert "按证监管" in text


def test_static_fetcher_serves_the_stylesheet():
    fetcher = documents.static_only_fetcher()
    url = (documents.STATIC_DIR / "css" / "pdf.css").resolve().as_uri()

    response = fetcher.fetch(url)

    assert response.content_type == "text/css"
    assert b"@page" in response.read()


@pytest.mark.parametrize(
    "url",
    [
        "http://example.invalid/style.css",
        "https://example.invalid/font.woff2",
        "ftp://example.invalid/x",
        "data:text/css,body{}",
        "file:///etc/passwd",
        "file://example.invalid/srv/static/css/pdf.css",
    ],
)
def test_static_fetcher_refuses_anything_else(url):
    fetcher = documents.static_only_fetcher()

    with pytest.raises(documents.FetchRefused):
        fetcher.fetch(url)


def test_static_fetcher_refuses_paths_escaping_static(tmp_path):
    settings_file = documents.STATIC_DIR.parent / "config" / "settings.py"
    escaping = documents.STATIC_DIR.resolve().as_uri() + "/../config/settings.py"
    assert settings_file.exists()
    (tmp_path / "static").mkdir()
    secret = tmp_path / "secret.txt"
    secret.write_text("secret")
    (tmp_path / "static" / "link.txt").symlink_to(secret)
    fetcher = documents.static_only_fetcher(tmp_path / "static")

    with pytest.raises(documents.FetchRefused):
        documents.static_only_fetcher().fetch(escaping)
    with pytest.raises(documents.FetchRefused):
        fetcher.fetch((tmp_path / "static" / "link.txt").as_uri())
    with pytest.raises(documents.FetchRefused):
        fetcher.fetch((tmp_path / "static").as_uri())


# --- Spreadsheet --------------------------------------------------------------------------


def _sheet(data: bytes):
    return load_workbook(io.BytesIO(data)).active


def _rows_as_dicts(ws) -> list[dict]:
    rows = list(ws.iter_rows())
    headers = [c.value for c in rows[0]]
    return [dict(zip(headers, row, strict=False)) for row in rows[1:]]


def test_n3_call_sheet_has_every_field_under_chinese_headers(application, call, make_pilot, orgs):
    other = make_pilot(call=call, status=Status.SUBMITTED, applicant=orgs["nb_county"])
    OverlapFlag.objects.create(pilot=application, other=other, score=0.83, reasons=["名称相近"])
    OverlapFlag.objects.create(
        pilot=application,
        other=make_pilot(),
        score=0.41,
        reasons=["范围重叠"],
        verdict=OverlapVerdict.DISTINCT,
    )

    ws = _sheet(documents.call_applications_xlsx(call, call.applications.all()))

    headers = [c.value for c in next(ws.iter_rows(max_row=1))]
    assert headers == [name for name, _ in documents.CALL_SHEET_COLUMNS]
    for name in ("编号", "试点名称", "所属设区市", "时间节点", "重复交叉提示", "推荐时间"):
        assert name in headers
    assert ws.freeze_panes == "A2"
    assert ws["A1"].font.b

    rows = _rows_as_dicts(ws)
    assert len(rows) == 2
    row = next(r for r in rows if r["编号"].value == application.code)
    assert row["试点名称"].value == PILOT_NAME
    assert row["试点类型"].value == "综合性试点"
    assert row["申报单位"].value == orgs["county"].name
    assert row["所属设区市"].value == orgs["hangzhou"].name
    # The region is the place (杭州市西湖区), the applying bureau has its own column.
    assert row["试点地区"].value == orgs["county"].place_name == "杭州市西湖区"
    assert row["试点地区"].value != row["申报单位"].value
    assert row["建议牵头部门"].value == orgs["dept"].name
    assert row["时间节点"].value == "2026年12月31日 出台磋商办法；2028年6月30日 完成中期评估"
    assert row["联系电话"].value == "0571-87654321"
    assert row["状态"].value == "设区市已推荐"
    assert "同意推荐" in row["设区市意见"].value
    assert "该试点符合准入条件" in row["设区市意见"].value
    assert orgs["hangzhou"].name in row["设区市意见"].value
    assert "同意作为省级改革试点" in row["牵头部门意见"].value
    assert row["重复交叉提示"].value.startswith("2项，最高相似度0.83")
    assert "1项待判定" in row["重复交叉提示"].value
    # Dates are date cells, not text.
    for name in ("开始日期", "结束日期", "推荐时间"):
        assert row[name].is_date, name
        assert row[name].data_type == "d" or isinstance(row[name].value, dt.datetime)
    assert row["开始日期"].value.date() == dt.date(2026, 6, 1)
    assert row["结束日期"].value.date() == dt.date(2029, 5, 31)
    # Shanghai time, without a time zone (Excel has none).
    assert row["推荐时间"].value == dt.datetime(2026, 4, 10, 9, 30, tzinfo=SHANGHAI).replace(
        tzinfo=None
    )
    other_row = next(r for r in rows if r["编号"].value == other.code)
    assert other_row["所属设区市"].value == orgs["ningbo"].name
    assert other_row["推荐时间"].value is None


@pytest.mark.parametrize("name", ["=1+1", "@SUM(A1)", "+cmd|' /C calc'!A0", "-2", "\t=1"])
def test_call_sheet_never_turns_user_text_into_a_formula(name, call, make_pilot):
    make_pilot(call=call, name=name, contact_person='=HYPERLINK("http://x")')

    ws = _sheet(documents.call_applications_xlsx(call, call.applications.all()))

    for cell in (ws["B2"], ws["S2"]):
        assert cell.data_type != "f"
        assert isinstance(cell.value, str)
        assert cell.value.startswith("'")
    assert ws["B2"].value == "'" + name


def test_call_sheet_of_200_applications_takes_a_bounded_number_of_queries(
    call, make_pilot, orgs, personas, django_assert_max_num_queries
):
    pilots = [
        make_pilot(call=call, status=Status.ENDORSED, applicant=orgs["county"]) for _ in range(200)
    ]
    for pilot in pilots:
        pilot.regions.add(orgs["county"])
    Milestone.objects.bulk_create(
        Milestone(pilot=p, due_date=dt.date(2026, 6, 30), title="完成方案") for p in pilots
    )
    Opinion.objects.bulk_create(
        Opinion(
            pilot=p,
            stage=Stage.PREFECTURE,
            decision=Decision.ENDORSE,
            organisation=orgs["hangzhou"],
            author=personas["hangzhou"],
        )
        for p in pilots
    )
    OverlapFlag.objects.bulk_create(
        OverlapFlag(pilot=p, other=pilots[0], score=0.5) for p in pilots[1:]
    )

    with django_assert_max_num_queries(8):
        data = documents.call_applications_xlsx(call, call.applications.all())

    assert len(_rows_as_dicts(_sheet(data))) == 200


def test_call_sheet_keeps_the_callers_order_across_batches(call, make_pilot, monkeypatch):
    monkeypatch.setattr(documents, "BATCH_SIZE", 3)
    pilots = [make_pilot(call=call) for _ in range(7)]
    expected = [p.code for p in sorted(pilots, key=lambda p: p.code, reverse=True)]

    ws = _sheet(documents.call_applications_xlsx(call, call.applications.order_by("-code")))

    assert [r[0].value for r in ws.iter_rows(min_row=2)] == expected


def test_call_sheet_accepts_a_list_or_a_sliced_queryset(call, make_pilot):
    pilots = [make_pilot(call=call) for _ in range(3)]

    from_list = _sheet(documents.call_applications_xlsx(call, pilots[::-1]))
    from_slice = _sheet(documents.call_applications_xlsx(call, call.applications.all()[:2]))

    assert [r[0].value for r in from_list.iter_rows(min_row=2)] == [p.code for p in pilots[::-1]]
    assert len(list(from_slice.iter_rows(min_row=2))) == 2


# --- The shared writer (core.xlsx) ------------------------------------------------------


@pytest.mark.parametrize(
    ("value", "stored"),
    [
        ("=1+1", "'=1+1"),
        ("+cmd", "'+cmd"),
        ("-2", "'-2"),
        ("@SUM(A1)", "'@SUM(A1)"),
        ("\t=1", "'\t=1"),
        ("\r=1", "'\r=1"),
        ("普通文本", "普通文本"),
        ("0571-87654321", "0571-87654321"),
        ("a\x0bb\x00c", "abc"),
    ],
)
def test_safe_text(value, stored):
    assert safe_text(value) == stored


def test_write_workbook_writes_types_widths_and_to_a_file(tmp_path):
    aware = dt.datetime(2026, 3, 31, 2, 0, tzinfo=dt.UTC)
    out = tmp_path / "x.xlsx"
    with out.open("wb") as fh:
        result = write_workbook(
            "名单:[2026]/第一批?",
            ["文本", "日期", "时间", "数字", "空"],
            iter([["甲", dt.date(2026, 3, 31), aware, 3, None], ["乙", None, None, 1.5, ""]]),
            [20, 14, 18, 8, 8],
        )
        assert isinstance(result, bytes)
        assert write_workbook("x", ["a"], [["b"]], out=fh) is None
    ws = _sheet(result)

    assert ws.title == "名单  2026  第一批"
    assert ws.column_dimensions["A"].width == 20
    assert ws["B2"].is_date and ws["B2"].number_format == 'yyyy"年"m"月"d"日"'
    # Local (Shanghai) time, without a time zone.
    assert ws["C2"].value == dt.datetime(2026, 3, 31, 10, 0, tzinfo=SHANGHAI).replace(tzinfo=None)
    assert ws["D2"].value == 3 and ws["D3"].value == 1.5
    assert ws["E2"].value is None and ws["E3"].value is None
    assert ws.auto_filter.ref == "A1:E3"
    assert load_workbook(out).active["A2"].value == "b"


def test_write_workbook_streams_into_an_http_response():
    response = HttpResponse(content_type=XLSX_CONTENT_TYPE)

    write_workbook("名单", ["名称"], (["甲"] for _ in range(3)), out=response)

    assert [c.value for c in _sheet(response.content)["A"]] == ["名称", "甲", "甲", "甲"]


def test_write_workbook_rejects_a_row_wider_than_the_headers():
    from openpyxl.worksheet._writer import ALL_TEMP_FILES

    before = list(ALL_TEMP_FILES)
    with pytest.raises(ValueError):
        write_workbook("x", ["a"], [["b"], ["b", "c"]])
    assert ALL_TEMP_FILES == before  # openpyxl's temporary file is gone
