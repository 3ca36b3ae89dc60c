"""Excel imports (ledger.imports): the ledger's pilots (export = import format) and reform
implementation plans.

- round trip: export a ledger, import it into a database with only the organisations, and
  the ledger reads the same;
- every row is checked and a file with one bad row imports nothing, each error naming its
  row and column;
- hostile files (not a ZIP, a ZIP bomb, macros, truncated or corrupted, formula cells) get a
  Chinese message, store nothing and raise nothing;
- the sample reform plan (ledger/data/xinfu-reform-plan-2018.xlsx) imports with its 8 areas
  and 36 items once its units are in the directory, and names the units it cannot find when
  they are not.
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from pathlib import Path

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.core.management import call_command
from django.core.management.base import CommandError
from openpyxl import load_workbook

from accounts.models import Organisation
from accounts.orgdata import ensure_plan_units, plan_unit_rows
from core.xlsx import write_workbook
from demo.plan_fixture import parse_plan, plan_rows
from ledger.constants import ImportKind, ImportStatus
from ledger.exports import export_ledger
from ledger.imports import (
    apply_import,
    batch_reason,
    preview_pilot_import,
    preview_plan_import,
)
from ledger.models import ImportBatch, PlanItem, PlanTask, QuarterlyReport, ReformPlan
from ledger.selectors import LEDGER_HEADERS, ledger_queryset, ledger_row
from pilots.constants import PilotKind, ReformField, Status
from pilots.models import CodeSequence, Milestone, Pilot
from tests.factories import ledger_sheet_row as _row

D = dt.date
PLAN_FILE = Path(__file__).resolve().parents[2] / "ledger" / "data" / "xinfu-reform-plan-2018.xlsx"
CJK = re.compile(r"[\u4e00-\u9fff]")


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def office(personas):
    return personas["office"]


def _upload(data: bytes, name: str = "台账.xlsx") -> SimpleUploadedFile:
    return SimpleUploadedFile(name, data)


def _stored_files(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def _ledger(user) -> dict[str, list]:
    """The ledger as its rows, by code."""
    return {p.code: ledger_row(p) for p in ledger_queryset(user)}


def _empty_the_database() -> None:
    """Remove every pilot (and what hangs on it), keep the organisations and users."""
    QuarterlyReport.objects.all().delete()
    Milestone.objects.all().delete()
    Pilot.objects.all().delete()
    CodeSequence.objects.all().delete()


def _sheet(*rows: list) -> bytes:
    return write_workbook("改革试点台账", LEDGER_HEADERS, rows)


def _with_entries(data: bytes, replace: dict[str, bytes] | None = None, add=None) -> bytes:
    """The workbook with some ZIP entries replaced or added."""
    out = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = (replace or {}).get(info.filename, src.read(info.filename))
            dst.writestr(info.filename, content, zipfile.ZIP_DEFLATED)
        for name, content in (add or {}).items():
            dst.writestr(name, content, zipfile.ZIP_DEFLATED)
    return out.getvalue()


def _sheet_xml(data: bytes) -> str:
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        return archive.read("xl/worksheets/sheet1.xml").decode()


# --- round trip ----------------------------------------------------------------------------


@pytest.fixture
def ledger_pilots(make_pilot, orgs, personas):
    """Ledger pilots of every ledger state and kind, with regions, milestones, reports and
    text that looks like a formula."""
    single = make_pilot(
        name="西湖区排污许可“一证式”管理改革试点",
        status=Status.ACTIVE,
        regions=[orgs["county"]],
        ledger_since=D(2025, 12, 27),
    )
    comprehensive = make_pilot(
        name="=宁波市生态环境导向开发（EOD）综合改革试点",
        kind=PilotKind.COMPREHENSIVE,
        field=ReformField.MARKET,
        origin="central",
        status=Status.EXTENSION_REQUESTED,
        lead_department=orgs["division"],
        implementing_body="@宁波市人民政府",
        start_date=D(2026, 1, 1),
        end_date=D(2030, 12, 31),
        regions=[orgs["ningbo"], orgs["nb_county"]],
    )
    Milestone.objects.create(pilot=comprehensive, due_date=D(2027, 6, 30), title="中期评估")
    closing = make_pilot(
        status=Status.CLOSURE_REPORTED,
        field=ReformField.COMPENSATION,
        origin="ministry",
        lead_department=orgs["other_dept"],
        regions=[],
        approval_date=D(2025, 11, 30),
    )
    for pilot, quarter, text in (
        (single, 1, "完成排污许可证核发120张。"),
        (comprehensive, 2, "+项目库已入库项目8个，\n下步推进融资。"),
    ):
        QuarterlyReport.objects.create(
            pilot=pilot,
            year=2026,
            quarter=quarter,
            progress=text,
            due_date=D(2026, 7, 10),
            organisation=pilot.lead_department,
            submitted_by=personas["office"],
        )
    make_pilot(status=Status.DRAFT)  # not in the ledger: neither exported nor imported
    return [single, comprehensive, closing]


def test_round_trip_export_then_import_into_an_empty_database_gives_the_same_ledger(
    ledger_pilots, office
):
    # given the ledger exported, and a database with only the organisations
    data = export_ledger(ledger_queryset(office))
    before = _ledger(office)
    facts = {
        p.code: (p.kind, p.field, p.origin, p.status, p.lead_department_id) for p in ledger_pilots
    }
    regions = {p.code: {r.pk for r in p.regions.all()} for p in ledger_pilots}
    _empty_the_database()

    # when the file is previewed and applied
    batch = preview_pilot_import(actor=office, upload=_upload(data))
    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    assert [r["action"] for r in batch.preview] == ["create"] * 3
    batch = apply_import(actor=office, batch=batch)

    # then the ledger reads the same, column for column
    assert batch.status == ImportStatus.APPLIED
    assert batch.applied_at is not None
    assert _ledger(office) == before
    for pilot in Pilot.objects.all():
        assert (pilot.kind, pilot.field, pilot.origin, pilot.status, pilot.lead_department_id) == (
            facts[pilot.code]
        )
        assert {r.pk for r in pilot.regions.all()} == regions[pilot.code]
        assert pilot.applicant_id == pilot.lead_department_id
        record = pilot.history.get()
        assert (record.history_type, record.history_user, record.history_change_reason) == (
            "+",
            office,
            batch_reason(batch.pk),
        )
    assert Pilot.objects.get(name__startswith="=宁波").implementing_body == "@宁波市人民政府"
    # the codes taken are reserved: the next pilot of the year gets a new one
    assert CodeSequence.objects.get(year=2026).last >= 3


def test_importing_the_ledger_again_changes_nothing(ledger_pilots, office):
    data = export_ledger(ledger_queryset(office))
    history = Pilot.history.count()

    batch = preview_pilot_import(actor=office, upload=_upload(data))
    batch = apply_import(actor=office, batch=batch)

    assert batch.status == ImportStatus.APPLIED
    assert {r["action"] for r in batch.preview} == {"unchanged"}
    assert Pilot.history.count() == history


def test_an_edited_export_updates_the_pilot_with_history(ledger_pilots, office, orgs):
    pilot = ledger_pilots[0]
    wb = load_workbook(io.BytesIO(export_ledger(ledger_queryset(office))))
    ws = wb.active
    row = next(r for r in ws.iter_rows(min_row=2) if r[0].value == pilot.code)
    row[1].value = "西湖区排污许可“一证式”管理改革试点（调整）"
    row[6].value = "西湖区、杭州"
    row[10].value = D(2026, 10, 31)  # a shorter term is a correction; a longer one is not
    buffer = io.BytesIO()
    wb.save(buffer)

    batch = preview_pilot_import(actor=office, upload=_upload(buffer.getvalue()))

    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    preview = next(r for r in batch.preview if r["code"] == pilot.code)
    assert preview["action"] == "update"
    assert preview["changes"] == ["试点名称", "结束日期", "试点地区"]
    assert {r["action"] for r in batch.preview if r["code"] != pilot.code} == {"unchanged"}

    batch = apply_import(actor=office, batch=batch)

    pilot.refresh_from_db()
    assert pilot.name.endswith("（调整）")
    assert pilot.end_date == D(2026, 10, 31)
    assert set(pilot.regions.all()) == {orgs["county"], orgs["hangzhou"]}
    latest = pilot.history.order_by("-history_id").first()
    assert (latest.history_user, latest.history_change_reason) == (office, batch_reason(batch.pk))


def test_rows_without_a_code_get_the_next_codes_of_their_approval_year(office, make_pilot):
    make_pilot(code="ST-2025-0001")  # made outside the sequence: its code is skipped
    data = _sheet(_row(), _row(试点名称="第二个试点", 批复文号="浙环函〔2025〕102号"))

    batch = apply_import(
        actor=office, batch=preview_pilot_import(actor=office, upload=_upload(data))
    )

    assert batch.status == ImportStatus.APPLIED, batch.errors
    codes = set(Pilot.objects.filter(approval_date=D(2025, 12, 1)).values_list("code", flat=True))
    assert codes == {"ST-2025-0002", "ST-2025-0003"}
    assert CodeSequence.objects.get(year=2025).last == 3


def test_a_new_pilot_brings_its_latest_report_along(office):
    data = _sheet(_row(最新进展季度="2026年第一季度", 最新进展="完成首批许可证核发。"))

    batch = apply_import(
        actor=office, batch=preview_pilot_import(actor=office, upload=_upload(data))
    )

    report = QuarterlyReport.objects.get()
    assert (report.year, report.quarter, report.progress) == (2026, 1, "完成首批许可证核发。")
    assert report.organisation.name == "浙江省生态环境厅"
    assert report.history.get().history_change_reason == batch_reason(batch.pk)


def test_a_comprehensive_pilot_without_milestones_is_imported_with_a_note_R1_2(office):
    data = _sheet(_row(试点类型="综合性试点", 结束日期=D(2028, 12, 31)))

    batch = preview_pilot_import(actor=office, upload=_upload(data))

    assert batch.status == ImportStatus.PREVIEWED
    assert any("时间节点" in note for note in batch.preview[0]["notes"])


# --- row errors ----------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("cells", "column", "fragment"),
    [
        ({"试点名称": ""}, "试点名称", "请填写试点名称"),
        ({"结束日期": "明年年底"}, "结束日期", "日期格式不正确"),
        ({"开始日期": "2026-02-30"}, "开始日期", "日期不存在"),
        ({"结束日期": D(2028, 6, 30)}, "结束日期", "单项试点期限最长不超过2年"),
        ({"结束日期": D(2025, 6, 30)}, "结束日期", "必须晚于开始日期"),
        ({"改革领域": "大气污染防治"}, "改革领域", "不是可选项"),
        ({"试点类型": "重点试点"}, "试点类型", "单项试点、综合性试点"),
        ({"状态": "草稿"}, "状态", "台账中的试点状态只能为"),
        ({"批复文号": "浙环函2025-101"}, "批复文号", "文号格式不正确"),
        ({"批复日期": ""}, "批复日期", "请填写批复日期"),
        ({"批复日期": D(2099, 1, 1), "列入台账日期": ""}, "批复日期", "不能晚于今天"),
        ({"列入台账日期": D(2025, 11, 1)}, "列入台账日期", "不能早于批复日期"),
        ({"牵头部门": "浙江省不存在厅"}, "牵头部门", "单位名录中没有「浙江省不存在厅」"),
        ({"牵头部门": "杭州"}, "牵头部门", "不是"),
        ({"试点地区": "西湖区、火星"}, "试点地区", "单位名录中没有「火星」"),
        ({"管理层级": "省委改革办统筹"}, "管理层级", "与试点来源不一致"),
        ({"试点编号": "2026-1"}, "试点编号", "试点编号格式不正确"),
        ({"最新进展季度": "2026年第5季度", "最新进展": "x"}, "最新进展季度", "季度格式不正确"),
        ({"最新进展": "只有进展"}, "最新进展季度", "请同时填写其所属季度"),
    ],
)
def test_each_bad_cell_is_reported_with_its_row_and_column(cells, column, fragment, office):
    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(_row(), _row(**cells))))

    assert batch.status == ImportStatus.FAILED
    (error,) = batch.errors
    assert (error["row"], error["column"]) == (3, column)
    assert error["text"].startswith(f"第3行「{column}」：")
    assert fragment in error["message"]
    assert [r["action"] for r in batch.preview] == ["create", "error"]


def test_a_file_with_one_bad_row_imports_nothing(office, settings):
    rows = [_row(试点名称=f"试点{i}", 批复文号=f"浙环函〔2025〕{i}号") for i in range(1, 5)]
    rows.insert(3, _row(结束日期="2026年13月1日"))

    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(*rows)))

    assert batch.status == ImportStatus.FAILED
    assert [e["text"] for e in batch.errors] == ["第5行「结束日期」：日期不存在：2026年13月1日"]
    assert batch.rows == 5
    with pytest.raises(ValidationError):
        apply_import(actor=office, batch=batch)
    assert Pilot.objects.count() == 0


def test_every_error_of_every_row_is_listed(office):
    rows = [_row(试点名称="", 开始日期="昨天"), _row(), _row(牵头部门="", 状态="已销号")]

    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(*rows)))

    assert [(e["row"], e["column"]) for e in batch.errors] == [
        (2, "试点名称"),
        (2, "开始日期"),
        (4, "状态"),
        (4, "牵头部门"),
    ]


def test_a_code_twice_in_the_file_is_an_error(office):
    rows = [_row(试点编号="ST-2026-0100"), _row(试点编号="ST-2026-0100", 试点名称="另一个")]

    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(*rows)))

    assert [e["text"] for e in batch.errors] == ["第3行「试点编号」：与第2行的试点编号重复。"]


def test_an_import_changes_no_state_and_no_report_of_an_existing_pilot(ledger_pilots, office):
    pilot = ledger_pilots[0]
    wb = load_workbook(io.BytesIO(export_ledger(ledger_queryset(office))))
    row = next(r for r in wb.active.iter_rows(min_row=2) if r[0].value == pilot.code)
    row[11].value = "销号待审核"
    row[16].value = "改写的进展"
    buffer = io.BytesIO()
    wb.save(buffer)

    batch = preview_pilot_import(actor=office, upload=_upload(buffer.getvalue()))

    assert {e["column"] for e in batch.errors} == {"状态", "最新进展"}
    assert "须通过备案、销号或延期流程办理" in batch.errors[0]["message"]


def test_a_pilot_outside_the_ledger_cannot_be_changed_by_import_R2_3(make_pilot, office):
    draft = make_pilot(status=Status.APPROVED)

    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(_row(试点编号=draft.code))))

    assert batch.errors[0]["column"] == "试点编号"
    assert "不在台账中" in batch.errors[0]["message"]


def test_apply_checks_again_and_writes_nothing_when_the_data_changed(office, make_pilot):
    batch = preview_pilot_import(
        actor=office,
        upload=_upload(_sheet(_row(试点编号="ST-2026-0100"), _row(试点名称="另一个"))),
    )
    assert batch.status == ImportStatus.PREVIEWED
    # meanwhile the code is taken by a pilot not in the ledger
    make_pilot(code="ST-2026-0100", status=Status.DRAFT)

    batch = apply_import(actor=office, batch=batch)

    assert batch.status == ImportStatus.FAILED
    assert batch.errors[0]["row"] == 2
    assert Pilot.objects.count() == 1


def test_a_batch_is_applied_once(office):
    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(_row())))
    apply_import(actor=office, batch=batch)

    with pytest.raises(ValidationError):
        apply_import(actor=office, batch=batch)
    assert Pilot.objects.count() == 1


@pytest.mark.parametrize("who", ["dept", "hangzhou", "county", "expert"])
def test_only_the_office_imports(who, personas):
    with pytest.raises(PermissionDenied):
        preview_pilot_import(actor=personas[who], upload=_upload(_sheet(_row())))
    with pytest.raises(PermissionDenied):
        preview_plan_import(actor=personas[who], upload=_upload(_sheet(_row())))
    assert ImportBatch.objects.count() == 0


@pytest.mark.parametrize("ratio", [0, 1000], ids=["one by one", "rebuild"])
def test_the_imported_pilots_are_indexed_for_the_overlap_check_after_commit(
    ratio, office, make_pilot, monkeypatch, django_capture_on_commit_callbacks
):
    from ledger.imports import pilot_writes
    from pilots.models_overlap import OverlapFingerprint

    monkeypatch.setattr(pilot_writes, "REINDEX_COST_RATIO", ratio)
    make_pilot()  # not indexed yet: a rebuild indexes it too
    batch = preview_pilot_import(actor=office, upload=_upload(_sheet(_row())))
    with django_capture_on_commit_callbacks(execute=True):
        apply_import(actor=office, batch=batch)

    new = Pilot.objects.get(approval_date=D(2025, 12, 1))
    assert OverlapFingerprint.objects.filter(pilot=new).exists()
    assert OverlapFingerprint.objects.count() == (2 if ratio else 1)


# --- hostile files -------------------------------------------------------------------------


def _zip_bomb() -> bytes:
    out = io.BytesIO()
    with zipfile.ZipFile(out, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", "<Types/>")
        archive.writestr("xl/workbook.xml", "<workbook/>")
        archive.writestr("xl/worksheets/sheet1.xml", b"\0" * (50 * 1024 * 1024))
    return out.getvalue()


def _forged_size(data: bytes) -> bytes:
    """A valid workbook whose central directory declares 2 GB for one entry."""
    raw = bytearray(data)
    at = raw.index(b"PK\x01\x02")
    raw[at + 24 : at + 28] = (0x7FFF_FFFF).to_bytes(4, "little")
    return bytes(raw)


def _corrupted(data: bytes) -> bytes:
    """A workbook whose sheet's compressed bytes are damaged (its directory intact)."""
    raw = bytearray(data)
    name = b"xl/worksheets/sheet1.xml"
    at = raw.index(name)  # in the entry's local header, which comes first
    extra = int.from_bytes(raw[at - 2 : at], "little")
    start = at + len(name) + extra + 16
    for i in range(start, start + 32):
        raw[i] ^= 0x5A
    return bytes(raw)


def _hostile(kind: str) -> bytes:
    good = _sheet(_row())
    if kind == "not a zip":
        return "试点编号,试点名称\nST-2026-0001,排污许可\n".encode()
    if kind == "old xls":
        return b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 2048
    if kind == "zip bomb":
        return _zip_bomb()
    if kind == "forged size":
        return _forged_size(good)
    if kind == "xlsm":
        return _with_entries(good, add={"xl/vbaProject.bin": b"\xd0\xcf\x11\xe0macro"})
    if kind == "truncated":
        return good[: len(good) // 2]
    if kind == "corrupted":
        return _corrupted(good)
    if kind == "docx":
        return _with_entries(good, add={"word/document.xml": b"<w:document/>"}, replace={}).replace(
            b"xl/workbook.xml", b"xl/notebook.xml"
        )
    if kind == "empty":
        return b""
    if kind == "no header":
        return write_workbook("x", ["甲", "乙"], [["1", "2"]])
    raise AssertionError(kind)


@pytest.mark.parametrize(
    ("kind", "fragment"),
    [
        ("not a zip", "只接受 Excel 工作簿（.xlsx）"),
        ("old xls", "只接受 Excel 工作簿（.xlsx）"),
        ("zip bomb", "解压后体积异常"),
        ("forged size", "解压后体积异常"),
        ("xlsm", "不接受包含宏的文档"),
        ("truncated", "文件已损坏"),
        ("corrupted", "文件已损坏"),
        ("docx", "只接受 Excel 工作簿（.xlsx）"),
        ("empty", "文件为空"),
        ("no header", "未找到表头行"),
    ],
)
@pytest.mark.parametrize("preview", [preview_pilot_import, preview_plan_import])
def test_a_hostile_file_gets_a_chinese_message_and_nothing_is_stored(
    kind, fragment, preview, office, settings
):
    batch = preview(actor=office, upload=_upload(_hostile(kind), "台账.xlsx"))

    assert batch.status == ImportStatus.FAILED
    (error,) = batch.errors
    assert fragment in error["text"] and CJK.search(error["text"])
    assert error["row"] is None
    assert not batch.file
    assert _stored_files(settings) == []
    assert Pilot.objects.count() == 0 and ReformPlan.objects.count() == 0
    with pytest.raises(ValidationError):
        apply_import(actor=office, batch=batch)


def _with_formula_cells(data: bytes, cells: dict[str, str]) -> bytes:
    """Replace cells (by reference) of the sheet with raw XML: formula cells."""
    xml = _sheet_xml(data)
    for ref, cell_xml in cells.items():
        xml, count = re.subn(rf'<c r="{ref}"[^>]*>.*?</c>', cell_xml, xml)
        assert count == 1, ref
    return _with_entries(data, replace={"xl/worksheets/sheet1.xml": xml.encode()})


def test_a_formula_cell_is_read_as_its_cached_value_never_evaluated(office):
    data = _with_formula_cells(
        _sheet(_row()),
        {
            # The cached value is what Excel computed last; it is text here, not 1+1.
            "B2": '<c r="B2" t="str"><f>1+1</f><v>湖州市排污权交易改革试点</v></c>',
            "H2": '<c r="H2" t="str"><f>CONCATENATE("湖州市","人民政府")</f>'
            "<v>湖州市人民政府</v></c>",
        },
    )

    batch = apply_import(
        actor=office, batch=preview_pilot_import(actor=office, upload=_upload(data))
    )

    assert batch.status == ImportStatus.APPLIED, batch.errors
    pilot = Pilot.objects.get()
    assert pilot.name == "湖州市排污权交易改革试点"
    assert pilot.implementing_body == "湖州市人民政府"


def test_a_formula_cell_without_a_cached_value_is_empty_not_computed(office, settings):
    data = _with_formula_cells(_sheet(_row()), {"B2": '<c r="B2"><f>1+1</f></c>'})

    batch = preview_pilot_import(actor=office, upload=_upload(data))

    assert [e["text"] for e in batch.errors] == ["第2行「试点名称」：请填写试点名称。"]
    assert Pilot.objects.count() == 0


# --- reform plans --------------------------------------------------------------------------


def test_the_sample_plan_imports_with_8_areas_36_items_and_every_lead_unit(office):
    # given the plan's units in the directory
    units = ensure_plan_units()

    batch = preview_plan_import(
        actor=office, upload=_upload(PLAN_FILE.read_bytes(), PLAN_FILE.name)
    )

    assert batch.kind == ImportKind.REFORM_PLAN
    assert batch.status == ImportStatus.PREVIEWED, batch.errors[:5]
    assert batch.rows == 52
    batch = apply_import(actor=office, batch=batch)
    assert batch.status == ImportStatus.APPLIED

    plan = ReformPlan.objects.get()
    assert (plan.name, plan.region, plan.year) == (
        "忻府区生态文明体制改革实施方案",
        "忻州市忻府区",
        2018,
    )
    items = PlanItem.objects.filter(plan=plan)
    assert items.count() == 36
    assert list(items.values_list("number", flat=True)) == list(range(1, 37))
    assert set(items.values_list("area", flat=True)) == set(ReformField.values)
    tasks = PlanTask.objects.filter(item__plan=plan)
    assert tasks.count() == 52
    assert not tasks.filter(lead_unit__isnull=True).exists()
    assert set(tasks.values_list("lead_unit__parent", flat=True)) == {units["xinfu"].pk}

    first = items.get(number=1)
    assert first.title == "建立统一的确权登记系统"
    assert first.area == ReformField.PROPERTY_RIGHTS
    (task,) = first.tasks.all()
    assert task.lead_unit == units["xinfu-land"]
    assert task.participating_units.count() == 10
    # item 4 names 区发改局, 区财政局 and 区环保局 twice: each counts once
    (task,) = items.get(number=4).tasks.all()
    assert task.participating_units.count() == 6
    # item 11 (2) is led by two units: the first leads, the second leads jointly
    task = items.get(number=11).tasks.get(number=2)
    assert (task.lead_unit.short_name, [o.short_name for o in task.co_lead_units.all()]) == (
        "区经信局",
        ["区质监局"],
    )
    # collective mentions are kept as text
    (task,) = items.get(number=5).tasks.all()
    assert task.other_participants == "各乡镇（办）、各相关单位"
    assert task.participating_units.count() == 0
    assert items.get(number=9).tasks.count() == 3
    record = plan.history.get()
    assert (record.history_user, record.history_change_reason) == (office, batch_reason(batch.pk))


def test_without_its_units_the_plan_imports_nothing_and_names_the_unknown_units(office):
    batch = preview_plan_import(
        actor=office, upload=_upload(PLAN_FILE.read_bytes(), PLAN_FILE.name)
    )

    assert batch.status == ImportStatus.FAILED
    summary = batch.errors[0]["text"]
    for name in ("区发改局", "区财政局", "市国土局忻府分局", "区编办", "区纪委监委"):
        assert f"「{name}」" in " ".join(e["text"] for e in batch.errors)
        assert name in summary
    assert "各乡镇" not in summary
    first_row = [e for e in batch.errors if e["row"] == 2]
    assert first_row[0]["text"] == "第2行「牵头单位」：单位名录中没有「市国土局忻府分局」。"
    assert {e["column"] for e in first_row} == {"牵头单位", "参加单位"}
    with pytest.raises(ValidationError):
        apply_import(actor=office, batch=batch)
    assert ReformPlan.objects.count() == PlanItem.objects.count() == 0
    assert not Organisation.objects.filter(short_name="区发改局").exists()


def _plan_sheet(*rows: list, info: list | None = None) -> bytes:
    from openpyxl import Workbook

    wb = Workbook()
    ws = wb.active
    ws.title = "改革任务"
    ws.append(["领域", "序号", "改革事项", "事项内容", "主要任务", "牵头单位", "参加单位"])
    for row in rows:
        ws.append(row)
    if info is not None:
        sheet = wb.create_sheet("方案信息")
        for line in info:
            sheet.append(line)
    buffer = io.BytesIO()
    wb.save(buffer)
    return buffer.getvalue()


def test_plan_units_match_by_full_name_or_short_name_and_rows_continue_the_item(office):
    ensure_plan_units()
    data = _plan_sheet(
        [
            "空间规划体系",
            1,
            "编制空间规划",
            "",
            "(1)编制发展规划",
            "忻州市忻府区发展和改革局",
            "区住建局、区住建局",
        ],
        ["", "", "", "", "（2）开展评估", "区发改局", "忻州市国土资源局忻府分局"],
        info=[["方案名称", "测试方案"], ["地区", "忻州市忻府区"], ["年度", 2019]],
    )

    batch = apply_import(
        actor=office, batch=preview_plan_import(actor=office, upload=_upload(data))
    )

    assert batch.status == ImportStatus.APPLIED, batch.errors
    item = PlanItem.objects.get()
    assert (item.area, item.number, item.plan.name, item.plan.year) == (
        ReformField.SPATIAL_PLANNING,
        1,
        "测试方案",
        2019,
    )
    first, second = item.tasks.all()
    assert (first.number, first.text, second.number, second.text) == (
        1,
        "编制发展规划",
        2,
        "开展评估",
    )
    assert first.lead_unit == second.lead_unit
    assert first.participating_units.get().short_name == "区住建局"


def test_plan_rows_are_checked_row_by_row(office):
    ensure_plan_units()
    data = _plan_sheet(
        ["八项之外的领域", 1, "事项", "", "任务", "区发改局", ""],
        ["环境治理体系", "一", "事项", "", "任务", "区发改局", ""],
        ["环境治理体系", 2, "事项二", "", "", "各相关单位", "区气象局、区宣传部"],
        info=[["方案名称", "有错的方案"], ["年度", "二〇一八"]],
    )

    batch = preview_plan_import(actor=office, upload=_upload(data))

    texts = [e["text"] for e in batch.errors]
    assert any(t.startswith("第2行「领域」：") and "对应不到八项制度" in t for t in texts)
    assert "第3行「序号」：序号应为正整数，如“1”。" in texts
    assert "第4行「主要任务」：请填写主要任务。" in texts
    assert "第4行「牵头单位」：牵头单位须为具体单位，「各相关单位」不是。" in texts
    assert "第4行「参加单位」：单位名录中没有「区宣传部」。" in texts
    assert any(e["column"] == "方案信息·年度" for e in batch.errors)
    assert texts[0].startswith("以下 1 个单位在单位名录中未找到")
    assert ReformPlan.objects.count() == 0


def test_the_same_plan_is_not_imported_twice(office):
    ensure_plan_units()
    data = PLAN_FILE.read_bytes()
    apply_import(actor=office, batch=preview_plan_import(actor=office, upload=_upload(data)))

    batch = preview_plan_import(actor=office, upload=_upload(data))

    assert batch.status == ImportStatus.FAILED
    assert "已经导入过" in batch.errors[0]["text"]
    assert ReformPlan.objects.count() == 1


def test_ensure_plan_units_makes_a_county_and_its_local_units_once(db):
    units = ensure_plan_units()
    history = Organisation.history.count()

    again = ensure_plan_units()

    assert Organisation.history.count() == history
    assert set(again) == set(units) == {row["code"] for row in plan_unit_rows()}
    county = units["xinfu"]
    assert (county.name, county.kind, county.parent) == ("忻州市忻府区", "county", None)
    local = Organisation.objects.filter(parent=county)
    assert local.count() == len(units) - 1
    assert set(local.values_list("kind", flat=True)) == {"local"}
    for short in ("区发改局", "区财政局", "市国土局忻府分局", "区编办"):
        assert local.filter(short_name=short).exists()


PLAN_TEXT = """忻府区生态文明体制改革实施方案
一、总体要求
二、主要工作及分工安排
(一)健全自然资源资产产权制度
1.建立统一的确权登记系统。按照“四统一”要求,整合登记职责,
建立不动产统一登记制度。
主要任务:开展自然生态空间统一确权登记。
牵头单位:市国土局忻府分局
参加单位:区发改局、区财政局
(二)建立国土空间开发保护制度
2.健全国土空间用途管制制度。简化用地指标控制体系。
主要任务:
(1)建立自然生态空间用途管制制度。
率头单位:市国土局忻府分局
参加单位:区发改局、区住建局
(2)划定生态保护红线,
严守红线。
牵头单位:区环保局
参加单位:各乡镇(办)、各相关单位
三、保障措施
(一)加强组织领导。
"""


def test_the_plan_text_is_turned_into_one_row_per_task():
    rows = plan_rows(parse_plan(PLAN_TEXT))

    assert rows == [
        [
            "健全自然资源资产产权制度",
            1,
            "建立统一的确权登记系统",
            "按照“四统一”要求，整合登记职责，建立不动产统一登记制度。",
            "开展自然生态空间统一确权登记。",
            "市国土局忻府分局",
            "区发改局、区财政局",
        ],
        [
            "建立国土空间开发保护制度",
            2,
            "健全国土空间用途管制制度",
            "简化用地指标控制体系。",
            "建立自然生态空间用途管制制度。",
            "市国土局忻府分局",
            "区发改局、区住建局",
        ],
        [
            "建立国土空间开发保护制度",
            2,
            "健全国土空间用途管制制度",
            "简化用地指标控制体系。",
            "划定生态保护红线，严守红线。",
            "区环保局",
            "各乡镇（办）、各相关单位",
        ],
    ]


def test_the_committed_plan_file_has_every_item_and_task():
    from ledger.imports import read_sheet

    rows = read_sheet(PLAN_FILE.read_bytes(), "改革任务")[1:]

    assert len(rows) == 52
    assert sorted({int(r[1]) for r in rows}) == list(range(1, 37))
    assert len({r[0] for r in rows}) == 8
    assert all(r[4] and r[5] for r in rows)


# --- commands ------------------------------------------------------------------------------


def test_the_plan_command_checks_then_imports(office, tmp_path):
    ensure_plan_units()
    out = io.StringIO()

    call_command("import_plan", str(PLAN_FILE), "--user", "office", stdout=out)
    assert ReformPlan.objects.count() == 0
    assert "校验通过" in out.getvalue()

    call_command("import_plan", str(PLAN_FILE), "--user", "office", "--apply", stdout=out)
    assert PlanItem.objects.count() == 36
    assert "已导入" in out.getvalue()


def test_the_pilots_command_reports_errors_and_writes_nothing(office, tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(_sheet(_row(), _row(结束日期="明年")))
    err = io.StringIO()

    with pytest.raises(CommandError, match="校验未通过"):
        call_command("import_pilots", str(path), "--user", "office", "--apply", stderr=err)

    assert "第3行「结束日期」" in err.getvalue()
    assert Pilot.objects.count() == 0


def test_the_pilots_command_needs_an_office_account(personas, tmp_path):
    path = tmp_path / "台账.xlsx"
    path.write_bytes(_sheet(_row()))

    with pytest.raises(CommandError, match="只有省办"):
        call_command("import_pilots", str(path), "--user", "dept", "--apply")
