"""XlsxWriter (constant_memory mode) against the registry's own streaming writer, core.xlsx,
on the ledger export.

    python bench/xlsx_lib_bench.py [--sizes 10000 50000] [--repeat 2] [--seed 2018]

Generates ledger pilots as bench/excel_bench.py does (its `generate`: the ledger's states,
regions, a latest quarterly report for three in four, texts shaped like real ones), then for
each size writes the ledger of the first N pilots with

- ours: ledger.exports.export_ledger, i.e. ledger_rows through core.xlsx.write_workbook;
- xlsxwriter: the same rows through XlsxWriter in constant_memory mode, the same sheet: bold
  shaded header with a rule beneath, frozen, filterable, repeated on every printed page; the
  same column widths, long text wrapped, dates as date cells, A4 landscape fitted to the page
  width, text neutralised by core.xlsx.safe_text; inline strings (constant_memory writes no
  shared-string table either), no formulas, URLs or numbers read into text;
- rows only: ledger_rows alone (the queries and ledger_row, no writing), what both share.

Each engine runs in a fresh Python process (Django set up and the libraries imported first),
twice:

- export: the streaming export as a download or the export task runs it; wall time and peak
  resident set size above the process's size before it (VmHWM − VmRSS, Linux);
- writer: the rows fetched into a list first, then only the writing timed; then written once
  more under tracemalloc for the Python heap peak of the writing (XlsxWriter's temporary
  file is on disk and in neither figure).

The best of --repeat runs is kept for each time. Both files are read back with
python-calamine and compared cell by cell (dates as dates). Runs on DATABASE_URL; when it is
not set, on a temporary SQLite file removed at the end. It refuses a database that already
holds pilots.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import shutil
import subprocess
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

import excel_bench
from summary import record

ENGINES = ("rows_only", "ours", "xlsxwriter")
SHOWN = {"rows_only": "rows only (no file)", "ours": "core.xlsx (ours)", "xlsxwriter": "XlsxWriter"}


# --- the two writers -----------------------------------------------------------------------------


def write_ours(rows, path: str) -> None:
    from core.xlsx import write_workbook
    from ledger.exports import LEDGER_SHEET_TITLE, LEDGER_WIDTHS
    from ledger.selectors import LEDGER_HEADERS

    with open(path, "wb") as out:
        write_workbook(LEDGER_SHEET_TITLE, LEDGER_HEADERS, rows, LEDGER_WIDTHS, out=out)


def write_xlsxwriter(rows, path: str) -> None:
    import xlsxwriter

    from core.xlsx import DATE_FORMAT, MAX_WIDTH, MIN_WIDTH, WRAP_WIDTH, safe_text
    from ledger.exports import LEDGER_SHEET_TITLE, LEDGER_WIDTHS
    from ledger.selectors import LEDGER_HEADERS

    options = {
        "constant_memory": True,
        "strings_to_formulas": False,
        "strings_to_urls": False,
        "strings_to_numbers": False,
    }
    wb = xlsxwriter.Workbook(path, options)
    ws = wb.add_worksheet(LEDGER_SHEET_TITLE)
    header = wb.add_format(
        {"bold": True, "bg_color": "#E7ECF2", "bottom": 1, "bottom_color": "#7F8C9A",
         "align": "center", "valign": "vcenter", "text_wrap": True}
    )  # fmt: skip
    widths = [min(max(w, MIN_WIDTH), MAX_WIDTH) for w in LEDGER_WIDTHS]
    text = [wb.add_format({"valign": "top", "text_wrap": w >= WRAP_WIDTH}) for w in widths]
    dated = [
        wb.add_format({"valign": "top", "text_wrap": w >= WRAP_WIDTH, "num_format": DATE_FORMAT})
        for w in widths
    ]
    for c, width in enumerate(widths):
        ws.set_column(c, c, width)
    ws.freeze_panes(1, 0)
    ws.repeat_rows(0)
    ws.set_landscape()
    ws.set_paper(9)  # A4
    ws.fit_to_pages(1, 0)
    for c, title in enumerate(LEDGER_HEADERS):
        ws.write_string(0, c, title, header)
    write_string, write_datetime, write_number = ws.write_string, ws.write_datetime, ws.write_number
    r = 0
    for r, row in enumerate(rows, start=1):
        for c, value in enumerate(row):
            if value is None or value == "":
                continue
            if isinstance(value, str):
                write_string(r, c, safe_text(value), text[c])
            elif isinstance(value, dt.date):
                write_datetime(r, c, value, dated[c])
            else:
                write_number(r, c, value, text[c])
    ws.autofilter(0, 0, r, len(LEDGER_HEADERS) - 1)
    wb.close()


WRITERS = {"ours": write_ours, "xlsxwriter": write_xlsxwriter}


def _rows(size: int):
    from ledger.exports import ledger_rows
    from pilots.models import Pilot

    last = Pilot.objects.order_by("pk").values_list("pk", flat=True)[size - 1]
    return ledger_rows(excel_bench.ledger_qs().filter(pk__lte=last))


# --- one engine in a fresh process --------------------------------------------------------------


def child_main(engine: str, mode: str, size: int, path: str) -> None:
    """Run one engine in this process and print its figures on the last line:
    export → "seconds peak_rss_mb file_bytes"; writer → "seconds heap_peak_mb file_bytes"."""
    import importlib

    excel_bench._setup_django()
    for module in ("ledger.exports", "core.xlsx", *(["xlsxwriter"] * (engine == "xlsxwriter"))):
        importlib.import_module(module)
    excel_bench.ledger_qs().exists()  # connect
    if mode == "export":
        try:
            Path("/proc/self/clear_refs").write_text("5")  # reset the peak (VmHWM) to now
        except OSError:
            pass
        base = excel_bench._status_kb("VmRSS")
        t0 = time.perf_counter()
        if engine == "rows_only":
            sum(1 for _row in _rows(size))
        else:
            WRITERS[engine](_rows(size), path)
        seconds = time.perf_counter() - t0
        peak = max(0, excel_bench._status_kb("VmHWM") - base) / 1024
    else:
        rows = list(_rows(size))
        t0 = time.perf_counter()
        WRITERS[engine](rows, path)
        seconds = time.perf_counter() - t0
        tracemalloc.start()
        WRITERS[engine](rows, path + ".traced")
        peak = tracemalloc.get_traced_memory()[1] / 2**20
        tracemalloc.stop()
        os.unlink(path + ".traced")
    size_bytes = os.path.getsize(path) if os.path.exists(path) else 0
    print(f"{seconds} {peak} {size_bytes}")


def run_isolated(engine: str, mode: str, size: int, path: str) -> tuple[float, float, int]:
    out = subprocess.run(
        [sys.executable, __file__, "--child", engine, mode, str(size), path],
        check=True,
        capture_output=True,
        text=True,
        env=os.environ.copy(),
    ).stdout.split()
    return float(out[-3]), float(out[-2]), int(out[-1])


def best(engine: str, mode: str, size: int, path: str, repeat: int) -> tuple[float, float, int]:
    """The fastest of `repeat` runs, with the highest memory peak seen."""
    runs = [run_isolated(engine, mode, size, path) for _ in range(repeat)]
    return min(r[0] for r in runs), max(r[1] for r in runs), runs[-1][2]


def same_cells(first: str, second: str) -> tuple[int, int]:
    """(rows, differing cells) of two workbooks read with python-calamine."""
    from python_calamine import CalamineWorkbook

    def grid(path: str) -> list[list]:
        with CalamineWorkbook.from_path(path) as book:
            rows = book.get_sheet_by_index(0).to_python(skip_empty_area=False)
        return [[v.date() if isinstance(v, dt.datetime) else v for v in row] for row in rows]

    a, b = grid(first), grid(second)
    differing = abs(len(a) - len(b)) + sum(
        x != y
        for row_a, row_b in zip(a, b, strict=False)
        for x, y in zip(row_a, row_b, strict=True)
    )
    return len(a), differing


# --- main ---------------------------------------------------------------------------------------


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[10_000, 50_000])
    parser.add_argument("--repeat", type=int, default=2)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--child", nargs=4, help=argparse.SUPPRESS)
    args = parser.parse_args(argv)
    if args.child:
        engine, mode, size, path = args.child
        child_main(engine, mode, int(size), path)
        return 0
    try:
        import xlsxwriter
    except ImportError:
        print("xlsxwriter is not installed (it is in the dev extras: make setup).")
        return 2

    temp_file = excel_bench._setup_django()
    from django.core.management import call_command
    from django.db import connection

    from pilots.models import Pilot

    workdir = Path(tempfile.mkdtemp(prefix="xlsx-lib-bench-"))
    results: dict[tuple[int, str, str], tuple[float, float, int]] = {}
    checks: dict[int, tuple[int, int]] = {}
    try:
        call_command("migrate", verbosity=0)
        if Pilot.objects.exists():
            print("The database already holds pilots; the bench needs an empty one.")
            return 2
        t0 = time.perf_counter()
        excel_bench.generate(max(args.sizes), args.seed)
        print(
            f"database: {connection.vendor}; {Pilot.objects.count():,} ledger pilots generated "
            f"in {time.perf_counter() - t0:.1f} s; XlsxWriter {xlsxwriter.__version__}",
            flush=True,
        )
        connection.close()
        for size in sorted(args.sizes):
            for engine in ENGINES:
                modes = ("export",) if engine == "rows_only" else ("export", "writer")
                for mode in modes:
                    path = str(workdir / f"{engine}-{size}.xlsx")
                    results[size, engine, mode] = best(engine, mode, size, path, args.repeat)
                    seconds, peak, _ = results[size, engine, mode]
                    print(f"  {size:,} {engine} {mode}: {seconds:.2f} s, {peak:.1f} MB", flush=True)
            checks[size] = same_cells(
                str(workdir / f"ours-{size}.xlsx"), str(workdir / f"xlsxwriter-{size}.xlsx")
            )
    finally:
        connection.close()
        shutil.rmtree(workdir, ignore_errors=True)
        if temp_file:
            Path(temp_file).unlink(missing_ok=True)

    print()
    print(f"Ledger export, 17 columns, best of {args.repeat} (a fresh process each run)")
    header = (
        f"{'rows':>7} {'engine':<20} {'export s':>9} {'peak RSS MB':>12} {'writer s':>9} "
        f"{'heap MB':>8} {'file MB':>8}"
    )
    print(header)
    print("-" * len(header))
    ok = True
    for size in sorted(args.sizes):
        for engine in ENGINES:
            e_s, e_mb, e_bytes = results[size, engine, "export"]
            w_s, w_mb, _ = results.get((size, engine, "writer"), (None, None, 0))
            shown = SHOWN[engine]
            writer = f"{w_s:>9.2f} {w_mb:>8.1f}" if w_s is not None else f"{'—':>9} {'—':>8}"
            file_mb = f"{e_bytes / 2**20:>8.1f}" if e_bytes else f"{'—':>8}"
            print(f"{size:>7,} {shown:<20} {e_s:>9.2f} {e_mb:>12.1f} {writer} {file_mb}")
        rows, differing = checks[size]
        ok &= differing == 0
        print(f"{'':>7} same cells in both files: {'yes' if not differing else 'NO'} "
              f"({rows:,} rows read back, {differing} differing)")  # fmt: skip
    print()
    for size in sorted(args.sizes):
        ours_w, lib_w = results[size, "ours", "writer"], results[size, "xlsxwriter", "writer"]
        ours_e, lib_e = results[size, "ours", "export"], results[size, "xlsxwriter", "export"]
        print(
            f"  {size:,} rows: writing {lib_w[0] / ours_w[0]:.2f}× ours' time with XlsxWriter, "
            f"export {lib_e[0] / ours_e[0]:.2f}×; heap {ours_w[1]:.1f} MB ours, "
            f"{lib_w[1]:.1f} MB XlsxWriter; file {ours_e[2] / 2**20:.1f} MB ours, "
            f"{lib_e[2] / 2**20:.1f} MB XlsxWriter"
        )
        group = f"Excel 写出库对比（{size:,} 行）"
        record(group, "写出 时间（不含查询）", ours_w[0], "s", comparison=lib_w[0],
               against="XlsxWriter constant_memory", limit=1.0, target="不慢于库",
               detail=f"含查询的导出 {ours_e[0]:.1f} s 对 {lib_e[0]:.1f} s", valid=ok)  # fmt: skip
        record(group, "写出 内存峰值（Python 堆）", ours_w[1], "MB", comparison=lib_w[1],
               against="XlsxWriter constant_memory", detail=f"导出进程 RSS 峰值 "
               f"{ours_e[1]:.0f} MB 对 {lib_e[1]:.0f} MB", valid=ok)  # fmt: skip
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
