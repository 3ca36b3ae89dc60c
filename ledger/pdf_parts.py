"""The PDF ledger's parts printed on every core (ledger.pdf uses this module).

Printed part after part (`ledger.pdf`), a part's partly filled last page is left out and its
rows open the next part, so that no page is half empty: where a part starts depends on where
the pages of the part before it broke, which depends on the heights of its rows. To print
the parts side by side, those breaks are planned first, then checked:

1. plan: each row's height is its tallest cell in lines, the cells' texts broken into lines
   by WeasyPrint's own line breaker with the styles and widths of the ledger's columns (in
   the workers, the rows shared out among them). A short document of empty rows, one of
   each height and then enough for two pages more, with the ledger's head, table and page
   rules, gives a row's height for each number of lines and where a page's rows start and
   end; the parts and their pages are then counted as the printing part after part would
   break them (the calibration's own pages counted the same way as a check);
2. print: each part is printed by a worker, all at once, with the first row of the next
   part when its last page is full (that row must open a page of its own, which is
   dropped), while the footer document ("第 X 页 共 Y 页", the total known from the plan)
   is laid out beside them; the progress moves as each finishes, in any order;
3. check: each part's pages must hold the rows planned for them; then the parts are joined
   in order and the footer stamped. If a part's pages differ (a text broken otherwise than
   planned), the ledger is printed again part after part in the process itself.

The workers are forked from a fork server (Python's "forkserver", "spawn" where it is
missing) that has imported Django and WeasyPrint once (`ledger.pdf_worker_boot`) and stays for
the life of the process that asked (a Celery worker: for every later render too). They share
nothing with the process that asked (no database connection, no Celery state), receive HTML
and texts, and write PDF files to a temporary folder. Each is limited to
LEDGER_PDF_PROCESS_MEMORY_MB of address space beyond what it holds once started (RLIMIT_AS):
a part that needs more, or that fails otherwise, fails the render.
"""

from __future__ import annotations

import contextlib
import dataclasses
import gc
import logging
import multiprocessing
import os
import resource
import tempfile
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import FIRST_COMPLETED, Future, ProcessPoolExecutor, wait
from concurrent.futures.process import BrokenProcessPool
from pathlib import Path

from django.conf import settings

logger = logging.getLogger(__name__)

# Empty rows of the tallest height laid out after one of each height to plan the pages: more
# than a page holds, so that the rows start on a second page.
CALIBRATION_ROWS = 80


class PartFailed(RuntimeError):
    """A worker could not print its part (the message is in Chinese)."""


# --- WeasyPrint (in whichever process prints) -------------------------------------------------


def html_document(html: str):
    from weasyprint import HTML

    from pilots.documents import STATIC_DIR, static_only_fetcher

    return HTML(
        string=html, base_url=STATIC_DIR.resolve().as_uri() + "/", url_fetcher=static_only_fetcher()
    )


def layout(html: str):
    """Lay out an HTML document with the cyclic garbage collector paused: the layout is
    hundreds of thousands of live objects, which every full collection walks again, for no
    memory saved (the layout is alive until written). The caller collects once it is done."""
    was_enabled = gc.isenabled()
    gc.disable()
    try:
        return html_document(html).render()
    finally:
        if was_enabled:
            gc.enable()


def rows_on(page) -> int:
    """The table body rows laid out on a page (0 when WeasyPrint's page tree, which is not
    public API, cannot be read)."""
    from weasyprint.formatting_structure.boxes import TableRowGroupBox

    box = getattr(page, "_page_box", None)
    if box is None:
        return 0
    return sum(
        len(group.children)
        for group in box.descendants()
        if isinstance(group, TableRowGroupBox) and not (group.is_header or group.is_footer)
    )


def write_part(html: str, path: Path, *, keep_last_page: bool = True) -> tuple[int, int]:
    """Lay out one HTML document and write it to `path`; returns (pages written, rows left
    over). With keep_last_page=False (a part that more rows follow) the last, partly filled
    page is left out and the table rows it held are counted as left over, to open the next
    part: so parts join without a half-empty page between them."""
    try:
        document = layout(html)
        pages, left_over = document.pages, 0
        if not keep_last_page and len(pages) > 1:
            left_over = rows_on(pages[-1])
            if left_over:
                pages = pages[:-1]
        document.copy(pages).write_pdf(str(path))
        written = len(pages)
        del document, pages
    finally:
        gc.collect()
    return written, left_over


def stamp(parts: Sequence[Path], footer: Path, out: Path, *, metadata: dict) -> None:
    """Join the parts, then lay page i of `footer` over page i of the result."""
    from pypdf import PdfReader, PdfWriter

    writer = PdfWriter()
    for part in parts:
        writer.append(str(part), import_outline=False)
    stamps = PdfReader(str(footer))
    for page, numbers in zip(writer.pages, stamps.pages, strict=True):
        page.merge_page(numbers)
        page.compress_content_streams()
    writer.add_metadata(metadata)
    with open(out, "wb") as fh:
        writer.write(fh)


# --- the workers' tasks -----------------------------------------------------------------------


def _start_worker(memory_mb: int) -> None:
    """Runs once in each new worker: Django's settings and apps (templates and static files;
    the database is never opened), WeasyPrint imported, then the memory limit."""
    import django

    django.setup()
    logging.getLogger("weasyprint").setLevel(logging.ERROR)
    import weasyprint  # noqa: F401 - before the limit: the libraries' own mappings

    if memory_mb:
        with open("/proc/self/statm") as fh:
            mapped = int(fh.read().split()[0]) * os.sysconf("SC_PAGE_SIZE")
        limit = mapped + memory_mb * 2**20
        resource.setrlimit(resource.RLIMIT_AS, (limit, limit))


def count_lines(probe_html: str, rows: list[list[str]]) -> list[int]:
    """Each row's height in lines: its tallest cell, each cell's text broken into lines as
    WeasyPrint breaks it (`probe_html` is the ledger with one row, giving each column's text
    style and width)."""
    from weasyprint.formatting_structure.boxes import TableRowGroupBox, TextBox
    from weasyprint.text.line_break import split_first_line

    document = layout(probe_html)
    row = next(
        group.children[0]
        for group in document.pages[0]._page_box.descendants()
        if isinstance(group, TableRowGroupBox) and not group.is_header
    )
    columns = [
        (next(b for b in cell.descendants() if isinstance(b, TextBox)).style, cell.width)
        for cell in row.children
    ]
    seen: dict[tuple[int, str], int] = {}

    def lines(column: int, text: str) -> int:
        key = (column, text)
        if key not in seen:
            style, width = columns[column]
            count = 0
            for segment in text.split("\n"):
                while True:
                    count += 1
                    resume = split_first_line(segment, style, None, width, 0)[2]
                    if resume is None:
                        break
                    segment = segment.encode()[resume:].decode()
            seen[key] = count
        return seen[key]

    try:
        return [max(lines(n, text) for n, text in enumerate(cells)) for cells in rows]
    finally:
        del document
        gc.collect()


def plan_parts(
    calibration_html: str, calibration: list[int], heights: list[int], part_rows: int
) -> list[tuple[int, int, list[int], bool]]:
    """The parts `ledger.pdf` prints part after part, planned for rows of `heights` (in
    lines): (first row, stop, rows on each page, whether its last page is full) of each, the
    rows of a part's dropped last page opening the next one.

    `calibration_html` is the ledger's first part with empty rows of the heights
    `calibration` (every height of the ledger, then enough rows for two pages more): laid
    out, it gives a row's height for each number of lines, where the rows start on the first
    page and on the next ones, and where a page ends. The ledger's pages are then counted as
    WeasyPrint breaks a table (a row that would end below the page's end opens the next
    page), and the calibration's own pages are counted the same way as a check: [] if they
    differ."""
    from weasyprint.formatting_structure.boxes import TableBox

    document = layout(calibration_html)
    try:
        firsts, row_height, expected, limit = [], {}, [], 0.0
        for page in document.pages:
            box, rows = page._page_box, _body_rows(page)
            table = next(b for b in box.descendants() if isinstance(b, TableBox))
            # a row fits on the page while it ends above the table's bottom border
            limit = box.content_box_y() + box.height - table.border_bottom_width
            limit -= table.padding_bottom
            if rows:
                firsts.append(rows[0].position_y)
            start = sum(expected)
            for n, row in zip(calibration[start : start + len(rows)], rows, strict=True):
                row_height.setdefault(n, row.height)
            expected.append(len(rows))
        if len(firsts) < 2:
            return []
    finally:
        del document
        gc.collect()

    def pages_of(lines: list[int], *, first: bool = True) -> list[int]:
        pages, count, y = [], 0, firsts[0] if first else firsts[1]
        for n in lines:
            bottom = y + row_height[n]
            if count and bottom > limit * (1 + 1e-9):
                pages.append(count)
                count, y = 0, firsts[1]
                bottom = y + row_height[n]
            count, y = count + 1, bottom
        return [*pages, count] if count else pages

    if pages_of(calibration) != expected or not set(heights) <= row_height.keys():
        return []
    parts, start = [], 0
    while start < len(heights):
        stop = min(start + part_rows, len(heights))
        pages = pages_of(heights[start:stop], first=start == 0)
        full = stop < len(heights) and len(pages) > 1
        if full:
            stop -= pages.pop()
        parts.append((start, stop, pages, full))
        start = stop
    return parts


def _body_rows(page) -> list:
    from weasyprint.formatting_structure.boxes import TableRowGroupBox

    return [
        row
        for group in page._page_box.descendants()
        if isinstance(group, TableRowGroupBox) and not (group.is_header or group.is_footer)
        for row in group.children
    ]


def print_part(html: str, path: str, *, extra: bool) -> list[int]:
    """Print one part to `path`; returns the rows on each page written. With `extra`, the
    part holds one row more (the first of the next part), which must open a page of its
    own: that page is dropped."""
    try:
        document = layout(html)
        pages = document.pages
        rows = [rows_on(page) for page in pages]
        if extra:
            if len(pages) < 2 or rows[-1] != 1:
                return rows + [-1]  # does not end where planned: the caller prints again
            pages, rows = pages[:-1], rows[:-1]
        document.copy(pages).write_pdf(path)
        del document, pages
        return rows
    finally:
        gc.collect()


def write_footer(html: str, path: str) -> int:
    return write_part(html, Path(path))[0]


# --- the process that asked -------------------------------------------------------------------


def process_count() -> int:
    """LEDGER_PDF_PROCESSES, or every core this process may use when it is 0."""
    wanted = getattr(settings, "LEDGER_PDF_PROCESSES", 0)
    if wanted:
        return max(1, wanted)
    if hasattr(os, "process_cpu_count"):  # Python 3.13
        return max(1, os.process_cpu_count() or 1)
    if hasattr(os, "sched_getaffinity"):
        return max(1, len(os.sched_getaffinity(0)))
    return max(1, os.cpu_count() or 1)


@contextlib.contextmanager
def pool(processes: int) -> Iterator[ProcessPoolExecutor]:
    """`processes` workers, started at once (each takes a second or so to import Django and
    WeasyPrint: meanwhile the caller reads the rows), shut down on leaving.

    A Celery worker runs its tasks in daemonic processes, which Python's multiprocessing
    forbids to start children, so that none outlives a daemon killed with its parent. These
    children do not: the pool is shut down before the task returns, and a worker whose parent
    dies reads the end of its queue and exits. The flag is lifted for the pool's life only."""
    me = multiprocessing.current_process()
    daemonic = me._config.get("daemon", False)
    me._config["daemon"] = False
    try:
        workers = ProcessPoolExecutor(
            max_workers=processes,
            mp_context=_start_method(),
            initializer=_start_worker,
            initargs=(getattr(settings, "LEDGER_PDF_PROCESS_MEMORY_MB", 400),),
        )
        with workers:
            for _ in range(processes):
                workers.submit(gc.collect)
            yield workers
    finally:
        me._config["daemon"] = daemonic


# The process that started the fork server: Python's server serves the process that started
# it, not a process forked from that one later (a test's daemon, a pool's child).
_FORK_SERVER_OF: int | None = None


def _start_method():
    """The fork server, its imports preloaded (they are taken once, when it starts); spawn
    where the platform has none, or in a process forked after its parent started one."""
    global _FORK_SERVER_OF
    if _FORK_SERVER_OF is None:
        _FORK_SERVER_OF = os.getpid()
    if "forkserver" not in multiprocessing.get_all_start_methods() or (
        _FORK_SERVER_OF != os.getpid()
    ):
        return multiprocessing.get_context("spawn")
    context = multiprocessing.get_context("forkserver")
    context.set_forkserver_preload(["ledger.pdf_worker_boot"])
    return context


def result(future: Future, what: str):
    """A task's result, or PartFailed saying in Chinese what could not be printed."""
    try:
        return future.result()
    except MemoryError as exc:
        raise PartFailed(f"{what}超出单个进程的内存上限") from exc
    except BrokenProcessPool as exc:
        raise PartFailed(f"{what}的进程意外退出（可能超出内存上限）") from exc
    except Exception as exc:
        raise PartFailed(f"{what}失败（{type(exc).__name__}: {exc}）") from exc


def wait_all(futures: dict[Future, str], on_done: Callable[[Future], None]) -> None:
    """Wait for every task, calling on_done as each finishes; the first failure cancels the
    rest and is raised."""
    pending = set(futures)
    while pending:
        done, pending = wait(pending, return_when=FIRST_COMPLETED)
        for future in done:
            if future.exception() is not None:
                for other in pending:
                    other.cancel()
                result(future, futures[future])
            on_done(future)


def cell_texts(line) -> list[str]:
    """The texts of a printed row's cells (a `ledger.pdf.LedgerLine`), line breaks included,
    as the template writes them."""
    progress = "尚未报送"
    if line.latest_quarter:
        progress = f"{line.latest_quarter}：{line.latest_progress}"
    return [
        str(line.seq),
        line.code,
        line.name,
        f"{line.field}\n{line.kind}",
        f"{line.origin}\n{line.tier}",
        line.regions,
        f"{line.implementing_body}\n{line.lead_department}",
        f"{line.start}\n至{line.end}",
        f"{line.status}\n{line.ledger_since}",
        f"{line.doc_number}\n{line.approval_date}",
        progress,
    ]


def print_on_every_core(
    lines, html, out: Path, *, part_rows: int, workers, processes, on_progress, metadata, share
) -> int | None:
    """Plan the pages, then print the parts by the `processes` `workers` (a `pool`) at once;
    returns the pages, or None when a part's pages are not those planned. `html(lines,
    **flags)` renders the ledger's template; progress runs on to `share` percent as the parts
    finish."""
    rows = [cell_texts(line) for line in lines]
    step = -(-len(rows) // processes)
    with tempfile.TemporaryDirectory(prefix="ledger-pdf-") as tmp:
        # one row with text in every cell, for each column's text style and width
        first = lines[0]
        filled = {f.name: getattr(first, f.name) or "一" for f in dataclasses.fields(first)}
        probe = html([dataclasses.replace(first, **filled)])
        counting = [
            workers.submit(count_lines, probe, rows[i : i + step])
            for i in range(0, len(rows), step)
        ]
        heights = [n for task in counting for n in result(task, "台账排版预估")]
        on_progress(5)
        calibration = sorted(set(heights)) + [max(heights)] * CALIBRATION_ROWS
        calibration_html = html([], first_part=True, row_lines=calibration)
        planning = workers.submit(plan_parts, calibration_html, calibration, heights, part_rows)
        plan = result(planning, "台账分页预估")
        if not plan:
            return None
        on_progress(10)
        pages = sum(len(planned) for _, _, planned, _ in plan)
        footer = Path(tmp) / "stamp.pdf"
        footer_html = html([], stamp_pages=range(pages), numbered=True)
        tasks = {workers.submit(write_footer, footer_html, str(footer)): "台账页码"}
        parts = []
        for n, (start, stop, planned, extra) in enumerate(plan):
            # with the first row of the next part when this part's last page is full
            path = Path(tmp) / f"part-{n:04d}.pdf"
            part_html = html(lines[start : stop + extra], first_part=start == 0)
            task = workers.submit(print_part, part_html, str(path), extra=extra)
            tasks[task] = f"台账第 {n + 1} 部分（第 {start + 1}—{stop} 行）"
            parts.append((task, path, planned))
        finished = []

        def done(task: Future) -> None:
            finished.append(task)
            on_progress(10 + (share - 10) * len(finished) // len(tasks))

        wait_all(tasks, done)
        if any(task.result() != planned for task, _, planned in parts):
            return None
        stamp([path for _, path, _ in parts], footer, out, metadata=metadata)
    return pages
