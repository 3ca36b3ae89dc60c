"""The PDF ledger (ledger.pdf, R2.3): who may ask for one, what it prints, how it is rendered
in the background, and how old files are cleaned up (ledger.jobs).

The PDF is read back with pypdf: the Chinese names must come out as text (real glyphs, not
empty boxes), the CJK font must be embedded, and every page must carry "第 i 页 共 N 页",
also when the ledger is rendered in parts and joined.
"""

from __future__ import annotations

import datetime as dt
import io
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
import time_machine
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from kombu.exceptions import OperationalError
from pypdf import PdfReader

from ledger import pdf
from ledger.constants import LedgerScope, RenderStatus
from ledger.models import LedgerRender, QuarterlyReport
from pilots.constants import Status

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
ISSUED = dt.datetime(2026, 10, 10, 9, 30, tzinfo=SHANGHAI)
TITLE = "浙江省生态文明领域改革试点台账（2026年第三季度）"

ACTIVE_NAME = "西湖区生态环境损害赔偿磋商制度改革试点"
DIVISION_NAME = "排污权有偿使用和交易制度改革试点"
EXTENDED_NAME = "千岛湖流域横向生态保护补偿试点"
APPROVED_NAME = "安吉县竹林碳汇收储交易机制试点"
DRAFT_NAME = "鄞州区绿色金融改革创新试点"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def pilots(make_pilot, orgs, personas):
    """Three ledger pilots (two of the department, one through its division; one of another
    department), one approved but never filed and one draft application."""
    made = {
        "active": make_pilot(
            name=ACTIVE_NAME,
            status=Status.ACTIVE,
            ledger_since=D(2026, 1, 5),
            regions=[orgs["county"]],
        ),
        "division": make_pilot(
            name=DIVISION_NAME,
            status=Status.CLOSURE_REPORTED,
            lead_department=orgs["division"],
            ledger_since=D(2026, 2, 1),
        ),
        "other": make_pilot(
            name=EXTENDED_NAME,
            status=Status.EXTENSION_REQUESTED,
            lead_department=orgs["other_dept"],
            ledger_since=D(2026, 3, 1),
        ),
        "approved": make_pilot(name=APPROVED_NAME, status=Status.APPROVED, ledger_since=None),
        "draft": make_pilot(
            name=DRAFT_NAME,
            status=Status.DRAFT,
            applicant=orgs["county"],
            approval_doc_number="",
            approval_date=None,
        ),
    }
    QuarterlyReport.objects.create(
        pilot=made["active"],
        year=2026,
        quarter=2,
        progress="已出台磋商办法，办结赔偿案件12件。",
        due_date=D(2026, 7, 10),
        organisation=orgs["dept"],
        submitted_by=personas["dept"],
    )
    return made


def _render(scope=LedgerScope.PROVINCE, department=None, **kwargs) -> LedgerRender:
    with time_machine.travel(ISSUED, tick=False):
        row = LedgerRender.objects.create(
            scope=scope, department=department, year=2026, quarter=3, **kwargs
        )
        return pdf.render_ledger(row.pk)


def _pages(render: LedgerRender) -> list[str]:
    with render.file.open("rb") as fh:
        data = fh.read()
    assert data.startswith(b"%PDF-")
    return [page.extract_text() for page in PdfReader(io.BytesIO(data)).pages]


def _compact(text: str) -> str:
    """The text without white space: a name wrapped over two lines of its cell reads whole."""
    return "".join(text.split())


def _embedded_fonts(render: LedgerRender) -> set[str]:
    names = set()
    with render.file.open("rb") as fh:
        reader = PdfReader(io.BytesIO(fh.read()))
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


# --- what is printed --------------------------------------------------------------------------


def test_province_ledger_prints_ledger_pilots_only_R2_3(pilots, private_media):
    render = _render()

    assert render.status == RenderStatus.DONE, render.error
    assert render.rows == 3
    assert render.progress == 100
    assert render.finished_at is not None
    pages = _pages(render)
    assert render.pages == len(pages) == 1
    text = _compact("\n".join(pages))
    for name in (ACTIVE_NAME, DIVISION_NAME, EXTENDED_NAME):
        assert name in text
    # R2.3: approved but not filed, and a draft application, are not in the ledger.
    assert APPROVED_NAME not in text
    assert DRAFT_NAME not in text
    assert pilots["approved"].code not in text
    assert _compact(TITLE) in text
    assert "浙江省生态文明体制改革专项小组办公室" in text
    assert "2026年10月10日" in text
    assert "2026年第二季度：已出台磋商办法" in text
    assert "第 1 页 共 1 页" in pages[0]
    # Stored privately under MEDIA_ROOT, through the FileField.
    path = Path(render.file.path)
    assert path.is_file() and path.is_relative_to(private_media)


def test_ledger_pdf_embeds_a_cjk_font(pilots):
    fonts = _embedded_fonts(_render())

    assert any("CJK" in name or "Noto" in name for name in fonts), fonts


def test_department_ledger_prints_its_and_its_divisions_pilots_R2_3(pilots, orgs):
    render = _render(LedgerScope.DEPARTMENT, orgs["dept"])

    assert render.status == RenderStatus.DONE, render.error
    assert render.rows == 2
    text = _compact("\n".join(_pages(render)))
    assert ACTIVE_NAME in text
    assert DIVISION_NAME in text  # led by the department's division
    assert EXTENDED_NAME not in text  # another department's pilot
    assert APPROVED_NAME not in text and DRAFT_NAME not in text
    assert "牵头部门：浙江省生态环境厅（含所属处室）" in text
    assert pdf.download_name(render) == f"{TITLE}-浙江省生态环境厅.pdf"


def test_an_empty_ledger_says_so(db, orgs):
    render = _render(LedgerScope.DEPARTMENT, orgs["other_dept"])

    assert render.status == RenderStatus.DONE
    assert render.rows == 0
    assert "本台账暂无试点" in _compact("".join(_pages(render)))


@pytest.fixture
def many(make_pilot):
    """45 ledger pilots: three pages."""
    return [
        make_pilot(name=f"第{i:02d}号生态环境导向开发模式改革试点", ledger_since=D(2026, 1, 5))
        for i in range(45)
    ]


def _assert_every_row_once_in_order(text: str, pilots) -> None:
    codes = sorted(p.code for p in pilots)
    assert [text.count(code) for code in codes] == [1] * len(codes)
    positions = [text.index(code) for code in codes]
    assert positions == sorted(positions)


def test_a_ledger_in_parts_numbers_its_pages_continuously(many, monkeypatch):
    # 45 pilots printed 5 rows a part: nine parts of one page each, joined, the footer
    # stamped on afterwards.
    monkeypatch.setattr(pdf, "PART_ROWS", 5)

    render = _render()

    assert render.status == RenderStatus.DONE, render.error
    assert render.rows == 45
    pages = _pages(render)
    total = len(pages)
    assert render.pages == total == 9
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 共 {total} 页" in page
        assert "试点名称" in page  # the table header is repeated on every page
        assert _compact(TITLE) in _compact(page)  # and the document named in every footer
    _assert_every_row_once_in_order(_compact("\n".join(pages)), many)
    assert any("CJK" in name or "Noto" in name for name in _embedded_fonts(render))


def test_parts_longer_than_a_page_join_without_half_empty_pages(many, monkeypatch, settings):
    # Given the ledger printed in one pass
    whole = _render()
    assert whole.pages >= 3
    # When it is printed in parts of more than a page, part after part in one process (each
    # part's unfilled last page is left out and its rows open the next part; the parts
    # printed on every core are tests/ledger/test_pdf_on_every_core.py)
    settings.LEDGER_PDF_PROCESSES = 1
    monkeypatch.setattr(pdf, "PART_ROWS", 25)
    left_over = []

    def spy(*args, **kwargs):
        result = write_part(*args, **kwargs)
        left_over.append(result[1])
        return result

    write_part = pdf.write_part
    monkeypatch.setattr(pdf, "write_part", spy)
    render = _render()

    # Then it has the same pages, every row once and in order, numbered throughout.
    assert any(left_over), left_over  # rows were carried over to the next part
    pages = _pages(render)
    assert render.pages == len(pages) == whole.pages
    for i, page in enumerate(pages, start=1):
        assert f"第 {i} 页 共 {len(pages)} 页" in page
    _assert_every_row_once_in_order(_compact("\n".join(pages)), many)
    assert [_compact(p)[:40] for p in pages] == [_compact(p)[:40] for p in _pages(whole)]


# --- requesting and running -------------------------------------------------------------------


def test_request_render_runs_to_done_when_tasks_run_eagerly(
    pilots, personas, django_capture_on_commit_callbacks
):
    with time_machine.travel(ISSUED, tick=False), django_capture_on_commit_callbacks(execute=True):
        render = pdf.request_render(
            actor=personas["office"], scope=LedgerScope.PROVINCE, year=2026, quarter=3
        )

    render.refresh_from_db()
    assert render.status == RenderStatus.DONE, render.error
    assert render.requested_by == personas["office"]
    assert render.file and render.rows == 3
    history = list(render.history.order_by("history_date", "history_id"))
    assert [h.status for h in history] == ["queued", "running", "done"]
    assert history[0].history_user == personas["office"]
    assert history[0].history_change_reason == "申请生成PDF台账"


def test_request_render_keeps_the_row_queued_when_the_broker_is_down(
    pilots, personas, django_capture_on_commit_callbacks, monkeypatch, caplog
):
    from config.celery import app
    from core.models import PendingTask
    from ledger import tasks

    def unreachable(*args, **kwargs):
        raise OperationalError("Error 111 connecting to localhost:6379. Connection refused.")

    monkeypatch.setattr(tasks.render_ledger_task, "apply_async", unreachable)
    app.conf.task_always_eager = False  # the conftest fixture restores it
    with django_capture_on_commit_callbacks(execute=True):
        render = pdf.request_render(
            actor=personas["office"], scope=LedgerScope.PROVINCE, year=2026, quarter=3
        )

    render.refresh_from_db()
    assert render.status == RenderStatus.QUEUED
    assert not render.file
    assert "未能加入队列" in caplog.text
    # The task itself is kept, to be sent when the broker is back.
    kept = PendingTask.objects.get()
    assert (kept.task, kept.args, kept.sent_at) == (
        tasks.render_ledger_task.name,
        [render.pk],
        None,
    )


def test_a_department_may_print_only_its_own_ledger(personas, orgs):
    dept = personas["dept"]
    with pytest.raises(PermissionDenied):
        pdf.request_render(actor=dept, scope=LedgerScope.PROVINCE, year=2026, quarter=3)
    with pytest.raises(PermissionDenied):
        pdf.request_render(
            actor=dept,
            scope=LedgerScope.DEPARTMENT,
            department=orgs["other_dept"],
            year=2026,
            quarter=3,
        )
    with pytest.raises(PermissionDenied):
        pdf.request_render(
            actor=personas["hangzhou"],
            scope=LedgerScope.DEPARTMENT,
            department=orgs["dept"],
            year=2026,
            quarter=3,
        )

    render = pdf.request_render(
        actor=dept, scope=LedgerScope.DEPARTMENT, department=orgs["dept"], year=2026, quarter=3
    )

    assert render.department == orgs["dept"]


def test_a_department_ledger_needs_a_department_and_a_real_quarter(personas):
    office = personas["office"]
    with pytest.raises(ValidationError):
        pdf.request_render(actor=office, scope=LedgerScope.DEPARTMENT, year=2026, quarter=3)
    with pytest.raises(ValidationError):
        pdf.request_render(actor=office, scope=LedgerScope.PROVINCE, year=2026, quarter=5)
    assert not LedgerRender.objects.exists()


def test_render_ledger_twice_does_not_render_again(pilots, monkeypatch):
    render = _render()
    name = render.file.name

    def must_not_run(*args, **kwargs):
        raise AssertionError("a finished ledger was rendered again")

    monkeypatch.setattr(pdf, "write_part", must_not_run)
    again = pdf.render_ledger(render.pk)

    assert again.status == RenderStatus.DONE
    assert again.file.name == name
    assert render.history.count() == 3  # queued (created), running, done — nothing more


def test_a_failed_render_is_marked_failed_with_its_reason_and_no_file(
    pilots, monkeypatch, private_media
):
    def broken(*args, **kwargs):
        raise RuntimeError("Pango 排版出错")

    monkeypatch.setattr(pdf, "write_part", broken)

    render = _render()

    render.refresh_from_db()
    assert render.status == RenderStatus.FAILED
    assert "PDF台账生成失败" in render.error
    assert "Pango 排版出错" in render.error
    assert not render.file
    assert not list(private_media.rglob("*.pdf"))
    assert render.history.latest().history_change_reason == "生成失败"


def test_a_failed_render_can_be_run_again(pilots, monkeypatch):
    monkeypatch.setattr(pdf, "write_part", lambda *a, **k: 1 / 0)
    failed = _render()
    monkeypatch.undo()

    render = pdf.render_ledger(failed.pk)

    assert render.status == RenderStatus.DONE
    assert render.error == ""
    assert render.file


# --- superseded ledgers: archived, never deleted (tests/ledger/test_render_archive.py) --------


# --- the renders page and downloads (through the gate) -----------------------------------------


def _finished_render(department=None) -> LedgerRender:
    scope = LedgerScope.DEPARTMENT if department else LedgerScope.PROVINCE
    row = LedgerRender.objects.create(
        scope=scope, department=department, year=2026, quarter=3, status=RenderStatus.DONE
    )
    row.file.save("ledger.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    return row


def test_a_done_render_downloads_under_its_document_title_R2_3(client_for, orgs):
    row = _finished_render(orgs["dept"])

    response = client_for("dept").get(f"/ledger/renders/{row.pk}/download/")

    assert response.status_code == 200
    assert b"".join(response.streaming_content).startswith(b"%PDF-")
    disposition = response["Content-Disposition"]
    assert "attachment" in disposition
    assert "%E5%8F%B0%E8%B4%A6" in disposition  # 台账, percent-encoded in filename*


@pytest.mark.parametrize("who", ["dept", "hangzhou", "county"])
def test_a_render_of_another_department_is_not_found_for_others_R2_3(client_for, orgs, who):
    row = _finished_render(orgs["other_dept"])

    response = client_for(who).get(f"/ledger/renders/{row.pk}/download/")

    assert response.status_code == 404


def test_the_province_render_is_for_the_office_only_R2_3(client_for):
    row = _finished_render()

    assert client_for("office").get(f"/ledger/renders/{row.pk}/download/").status_code == 200
    assert client_for("dept").get(f"/ledger/renders/{row.pk}/download/").status_code == 404


def test_a_render_still_running_cannot_be_downloaded(client_for):
    row = _finished_render()
    LedgerRender.objects.filter(pk=row.pk).update(status=RenderStatus.RUNNING)

    assert client_for("office").get(f"/ledger/renders/{row.pk}/download/").status_code == 404


def test_the_renders_page_lists_only_the_users_renders(client_for, orgs):
    mine = _finished_render(orgs["dept"])
    theirs = _finished_render(orgs["other_dept"])

    page = client_for("dept").get("/ledger/renders/")

    assert page.status_code == 200
    ids = {r.pk for r in page.context["renders"]}
    assert mine.pk in ids and theirs.pk not in ids


def test_prefectures_may_not_open_the_renders_page(client_for):
    assert client_for("hangzhou").get("/ledger/renders/").status_code == 403
