"""A PDF ledger of several parts printed by worker processes (ledger.pdf_parts): the same
pages as printed part after part in one process, page numbers continuous across parts that
finish in any order, progress that moves while the parts finish, and a part that cannot be
printed failing the render with its reason in Chinese.

The PDF is read back with pypdf, page by page."""

from __future__ import annotations

import datetime as dt
import io
import logging
from zoneinfo import ZoneInfo

import pytest
import time_machine
from pypdf import PdfReader

from ledger import pdf
from ledger.constants import LedgerScope, RenderStatus
from ledger.models import LedgerRender

ISSUED = dt.datetime(2026, 10, 10, 9, 30, tzinfo=ZoneInfo("Asia/Shanghai"))
TOPIC = "生态环境导向开发模式"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


@pytest.fixture
def ledger_of_five_pages(make_pilot, monkeypatch):
    """75 ledger pilots whose names take one to three lines (rows of different heights),
    printed 20 rows a part: a part's partly filled last page is left out, its rows opening
    the next part, so most parts are one full page."""
    monkeypatch.setattr(pdf, "PART_ROWS", 20)
    return [
        make_pilot(
            name=f"第{i:02d}号{TOPIC * (1 + i % 3)}改革试点", ledger_since=dt.date(2026, 1, 5)
        )
        for i in range(75)
    ]


def _render(settings, processes: int) -> LedgerRender:
    settings.LEDGER_PDF_PROCESSES = processes
    with time_machine.travel(ISSUED, tick=False):
        row = LedgerRender.objects.create(scope=LedgerScope.PROVINCE, year=2026, quarter=3)
        return pdf.render_ledger(row.pk)


def _pages(render: LedgerRender) -> list[str]:
    with render.file.open("rb") as fh:
        return [page.extract_text() for page in PdfReader(io.BytesIO(fh.read())).pages]


def _compact(text: str) -> str:
    return "".join(text.split())


def test_two_processes_print_the_pages_one_process_prints(ledger_of_five_pages, settings, caplog):
    caplog.set_level(logging.WARNING, logger="ledger.pdf")
    alone = _render(settings, processes=1)
    shared = _render(settings, processes=2)

    assert alone.status == shared.status == RenderStatus.DONE, (alone.error, shared.error)
    assert shared.rows == alone.rows == 75
    one, two = _pages(alone), _pages(shared)
    assert shared.pages == alone.pages == len(two) == len(one) >= 5
    # every page full but the last, numbered throughout, the same rows on the same pages
    for i, page in enumerate(two, start=1):
        assert f"第 {i} 页 共 {len(two)} 页" in page
        assert "试点名称" in page
    assert [_compact(p) for p in two] == [_compact(p) for p in one]
    text = _compact("\n".join(two))
    codes = sorted(p.code for p in ledger_of_five_pages)
    assert [text.count(code) for code in codes] == [1] * len(codes)
    assert [text.index(code) for code in codes] == sorted(text.index(code) for code in codes)
    # the pages were planned right: no part was printed again part after part
    assert "改为逐部分生成" not in caplog.text


def test_progress_rises_as_the_parts_finish(ledger_of_five_pages, tmp_path):
    row = LedgerRender.objects.create(scope=LedgerScope.PROVINCE, year=2026, quarter=3)
    seen: list[int] = []

    rows, pages = pdf.print_ledger(
        row, tmp_path / "ledger.pdf", processes=2, on_progress=seen.append
    )

    assert (rows, pages) == (75, len(PdfReader(tmp_path / "ledger.pdf").pages))
    assert seen == sorted(seen)
    assert seen[0] < 10 and seen[-1] == 90
    # the parts and the footer moving the bar, step by step, as each finishes
    moves = [p for p in seen if 10 < p <= 90]
    assert len(moves) >= 4
    assert moves == sorted(set(moves))


def test_a_part_that_cannot_be_printed_fails_the_render_in_chinese(
    ledger_of_five_pages, settings, private_media
):
    # Each worker may grow by 1 MB only: no part can be laid out.
    settings.LEDGER_PDF_PROCESS_MEMORY_MB = 1

    render = _render(settings, processes=2)

    render.refresh_from_db()
    assert render.status == RenderStatus.FAILED
    assert "PDF台账生成失败" in render.error
    assert "内存上限" in render.error
    assert not render.file
    assert not list(private_media.rglob("*.pdf"))
    assert render.history.latest().history_change_reason == "生成失败"


def _workers_from_a_daemon(answers) -> None:
    from ledger import pdf_parts

    try:
        with pdf_parts.pool(2) as workers:
            answers.put(sorted(workers.map(abs, [-1, -2, -3])))
    except BaseException as exc:  # the answer the test reads, whatever it is
        answers.put(repr(exc))


def test_a_celery_worker_process_prints_on_every_core():
    """Celery runs tasks in daemonic processes, which Python forbids to start children:
    the render's workers still start there, and the process is a daemon again after."""
    import multiprocessing

    context = multiprocessing.get_context("fork")
    answers = context.Queue()
    daemon = context.Process(target=_workers_from_a_daemon, args=(answers,), daemon=True)
    daemon.start()
    try:
        assert answers.get(timeout=120) == [1, 2, 3]
    finally:
        daemon.join(30)
    assert daemon.exitcode == 0
