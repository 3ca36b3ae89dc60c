"""Benchmark of the PDF ledger (ledger.pdf.render_ledger): its parts printed on every core,
against the same template laid out as one WeasyPrint document in one process.

    python bench/pdf_bench.py [--sizes 2000 10000] [--compare-sizes 2000] [--part-rows 500]
                              [--repeat 3 [--repeat-max 2000]] [--keep DIR]

For each size, fills a database with that many ledger pilots (plus 10% that are not in the
ledger, R2.3) with plausible Chinese names, bodies, regions and a latest quarterly report,
then measures, each in a fresh child process so that its peak resident memory
(getrusage ru_maxrss) is its own:

- ledger:   `render_ledger` itself, as a worker runs it: the pages planned, the parts of
            --part-rows rows or more printed by one worker process per core
            (LEDGER_PDF_PROCESSES=0), joined, the footer stamped — including the queries, the
            file written through the FileField and the row updates;
- sequence: `render_ledger` with LEDGER_PDF_PROCESSES=1: the same parts printed one after
            the other in the process itself (what it did before it used every core);
- single:   the comparison — the same template and stylesheet laid out as ONE WeasyPrint
            document in one process, footer and all (`print_ledger` with one part).

At the --compare-sizes the three are measured one after the other in the same run (with
--repeat, in turns), and must give the same number of pages. Times are wall-clock and CPU
seconds (user + system, the worker processes' included, and the fork server's that starts
them: its imports are part of the render) of the rendering alone (Django and WeasyPrint are
imported in this process before the clock starts). "peak" is the highest resident memory of
any one process: the child itself or, for `ledger`, one of its worker processes (whose peak
is also shown alone); "base" is the child's resident memory before rendering.

Runs on a temporary SQLite file (or DATABASE_URL with --database-url), with MEDIA_ROOT in a
temporary folder; both are removed at the end unless --keep is given.
"""

from __future__ import annotations

import argparse
import datetime as dt
import json
import os
import random
import resource
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

from summary import record

ROOT = Path(__file__).resolve().parent.parent

# --- synthetic pilots -------------------------------------------------------------------------
PLACES = {
    "杭州市": ["西湖区", "余杭区", "临安区", "桐庐县", "淳安县", "建德市"],
    "宁波市": ["鄞州区", "北仑区", "象山县", "宁海县", "余姚市", "慈溪市"],
    "温州市": ["鹿城区", "瓯海区", "乐清市", "瑞安市", "永嘉县", "泰顺县"],
    "湖州市": ["吴兴区", "南浔区", "德清县", "长兴县", "安吉县"],
    "嘉兴市": ["南湖区", "秀洲区", "嘉善县", "海盐县", "海宁市", "平湖市", "桐乡市"],
    "绍兴市": ["越城区", "柯桥区", "上虞区", "新昌县", "诸暨市", "嵊州市"],
    "金华市": ["婺城区", "金东区", "武义县", "浦江县", "磐安县", "兰溪市", "义乌市"],
    "衢州市": ["柯城区", "衢江区", "常山县", "开化县", "龙游县", "江山市"],
    "舟山市": ["定海区", "普陀区", "岱山县", "嵊泗县"],
    "台州市": ["椒江区", "黄岩区", "路桥区", "三门县", "天台县", "仙居县", "温岭市"],
    "丽水市": ["莲都区", "青田县", "缙云县", "遂昌县", "松阳县", "云和县", "龙泉市"],
}
TOPICS = [
    ("property_rights", "自然资源统一确权登记"),
    ("property_rights", "集体林地三权分置和林权流转"),
    ("spatial_protection", "生态保护红线勘界定标和监管"),
    ("spatial_protection", "自然保护地统一管理体制"),
    ("spatial_planning", "“多规合一”县域空间规划"),
    ("resource_quota", "用水定额管理和节水评价"),
    ("resource_quota", "固体废物分类收集和资源化利用"),
    ("resource_quota", "“亩均论英雄”资源要素差别化配置"),
    ("compensation", "上下游横向生态保护补偿"),
    ("compensation", "生态产品价值核算和市场化实现"),
    ("governance", "以排污许可为核心的固定污染源监管"),
    ("governance", "生态环境损害赔偿磋商"),
    ("market", "排污权有偿使用和交易"),
    ("market", "林业碳汇收储交易"),
    ("accountability", "领导干部自然资源资产离任审计"),
    ("accountability", "生态文明建设目标评价考核"),
]
DEPARTMENTS = [
    ("dept-env", "浙江省生态环境厅", "省生态环境厅"),
    ("dept-nr", "浙江省自然资源厅", "省自然资源厅"),
    ("dept-water", "浙江省水利厅", "省水利厅"),
    ("dept-forest", "浙江省林业局", "省林业局"),
    ("dept-drc", "浙江省发展和改革委员会", "省发展改革委"),
    ("dept-finance", "浙江省财政厅", "省财政厅"),
]
PROGRESS = [
    "已印发实施方案，成立由分管副县长任组长的工作专班，完成基础数据调查和底数核实。",
    "完成年度目标任务的{pct}%，累计办理相关业务{n}件，形成制度文件{m}项，",
    "召开现场推进会{m}次，组织第三方评估，总结提炼可复制可推广经验做法并报送省级主管部门。",
    "存在部门数据共享不畅、基层专业力量不足等问题，下一步将加强督导和培训。",
]


class Corpus:
    """Organisations, ledger pilots and their latest reports, written in bulk (no history:
    this is bench data only)."""

    def __init__(self, seed: int) -> None:
        from accounts.constants import OrgKind, Role
        from accounts.models import Organisation, User

        self.rng = random.Random(seed)
        self.count = 0  # pilots written
        self.ledger_rows = 0  # of which in the ledger
        self.serials: dict[int, int] = {}  # last code serial of each year
        self.depts = []
        for code, name, short in DEPARTMENTS:
            dept = Organisation.objects.create(
                code=code, name=name, short_name=short, kind=OrgKind.DEPARTMENT
            )
            division = Organisation.objects.create(
                code=f"{code}-div",
                name=f"{name}改革处",
                short_name="改革处",
                kind=OrgKind.DIVISION,
                parent=dept,
            )
            self.depts += [dept, division]
        self.regions = []
        for p_no, (pref, counties) in enumerate(PLACES.items()):
            po = Organisation.objects.create(
                code=f"p{p_no}", name=f"{pref}生态环境局", short_name=pref, kind=OrgKind.PREFECTURE
            )
            for c_no, county in enumerate(counties):
                co = Organisation.objects.create(
                    code=f"p{p_no}-c{c_no}",
                    name=f"{pref}生态环境局{county}分局",
                    short_name=county,
                    kind=OrgKind.COUNTY,
                    parent=po,
                )
                self.regions.append((pref, county, co.pk))
        self.user = User.objects.create(
            username="bench", organisation=self.depts[0], role=Role.LEAD_DEPARTMENT
        )

    def grow(self, ledger_rows: int) -> None:
        """Add `ledger_rows` ledger pilots, 10% more that are not in the ledger, and a latest
        quarterly report for four in five ledger pilots."""
        from ledger.models import QuarterlyReport
        from pilots.constants import Origin, PilotKind, Status
        from pilots.models import Pilot

        rng = self.rng
        in_ledger = [Status.ACTIVE] * 8 + [Status.CLOSURE_REPORTED, Status.EXTENSION_REQUESTED]
        not_in_ledger = [Status.APPROVED, Status.FILING_SUBMITTED, Status.DRAFT, Status.CLOSED]
        origins = [Origin.DEPARTMENT] * 5 + [Origin.CALL] * 3 + [Origin.MINISTRY, Origin.CENTRAL]
        suffix = {PilotKind.SINGLE: "改革试点", PilotKind.COMPREHENSIVE: "综合改革试点"}
        pilots, regions = [], []
        for n in range(ledger_rows + ledger_rows // 10):
            self.count += 1
            pref, county, region = rng.choice(self.regions)
            field, topic = rng.choice(TOPICS)
            kind = PilotKind.COMPREHENSIVE if rng.random() < 0.1 else PilotKind.SINGLE
            start = dt.date(2024, 1, 1) + dt.timedelta(days=rng.randrange(700))
            status = rng.choice(in_ledger) if n < ledger_rows else rng.choice(not_in_ledger)
            filed = status in in_ledger
            self.serials[start.year] = serial = self.serials.get(start.year, 0) + 1
            pilots.append(
                Pilot(
                    code=f"ST-{start.year}-{serial:04d}",
                    name=f"{county}{topic}{suffix[kind]}",
                    field=field,
                    kind=kind,
                    origin=rng.choice(origins),
                    status=status,
                    implementing_body=f"{pref}{county}人民政府",
                    lead_department=rng.choice(self.depts),
                    applicant=self.depts[0],
                    goal=f"建立{topic}制度。",
                    scope=f"{county}全域。",
                    start_date=start,
                    end_date=start + dt.timedelta(days=rng.choice([365, 730, 1095])),
                    responsible_body=f"{pref}{county}人民政府",
                    measures="健全制度，强化监管，数字赋能。",
                    expected_outcomes="形成可复制可推广的经验。",
                    approval_authority="浙江省生态环境厅",
                    approval_doc_number=f"浙环函〔{start.year}〕{rng.randrange(1, 400)}号",
                    approval_date=start - dt.timedelta(days=20),
                    ledger_since=(start + dt.timedelta(days=10)) if filed else None,
                )
            )
            regions.append(region)
        created = Pilot.objects.bulk_create(pilots, batch_size=2000)
        through = Pilot.regions.through
        through.objects.bulk_create(
            [
                through(pilot_id=p.pk, organisation_id=r)
                for p, r in zip(created, regions, strict=True)
            ],
            batch_size=5000,
        )
        reports = []
        for p in created[:ledger_rows]:
            if rng.random() < 0.8:
                text = "".join(PROGRESS).format(
                    pct=rng.randrange(30, 100), n=rng.randrange(5, 300), m=rng.randrange(1, 9)
                )
                reports.append(
                    QuarterlyReport(
                        pilot=p,
                        year=2026,
                        quarter=2,
                        progress=text,
                        due_date=dt.date(2026, 7, 10),
                        organisation=self.depts[0],
                        submitted_by=self.user,
                    )
                )
        QuarterlyReport.objects.bulk_create(reports, batch_size=2000)
        self.ledger_rows += ledger_rows


# --- one measurement, in a child process -----------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    usage = [resource.getrusage(who) for who in (resource.RUSAGE_SELF, resource.RUSAGE_CHILDREN)]
    return sum(u.ru_utime + u.ru_stime for u in usage)


def _stop_fork_server() -> None:
    """The render's workers are forked by a fork server that outlives the render
    (ledger.pdf_parts): stop it and wait for it, so that its CPU time and its workers' (which
    it has reaped) and their peak memory count among this process's children, as getrusage
    reads them. Python's own multiprocessing tests stop it the same way."""
    from multiprocessing import forkserver

    forkserver._forkserver._stop()


def child(kind: str, render_id: int, out_dir: Path, part_rows: int) -> dict:
    _setup_django()
    import weasyprint  # noqa: F401 - imported before the clock starts
    from django.conf import settings

    from ledger import pdf, pdf_parts
    from ledger.models import LedgerRender

    render = LedgerRender.objects.select_related("department").get(pk=render_id)
    base = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    if kind in ("ledger", "sequence"):
        pdf.PART_ROWS = part_rows
        settings.LEDGER_PDF_PROCESSES = 0 if kind == "ledger" else 1
        render = pdf.render_ledger(render_id)
        if render.status != "done":
            raise SystemExit(render.error)
        rows, pages, size = render.rows, render.pages, render.file.size
        with render.file.open("rb") as src, open(out_dir / f"{kind}-{rows}.pdf", "wb") as dst:
            shutil.copyfileobj(src, dst)
    elif kind == "single":
        path = out_dir / f"single-{render_id}.pdf"
        rows, pages = pdf.print_ledger(render, path, part_rows=10**9)
        size = path.stat().st_size
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = time.perf_counter() - start
    _stop_fork_server()
    cpu = _cpu_seconds() - cpu_start
    own = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    workers = resource.getrusage(resource.RUSAGE_CHILDREN).ru_maxrss / 1024
    return {
        "kind": kind,
        "rows": rows,
        "pages": pages,
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "base_mb": round(base),
        "peak_mb": round(max(own, workers)),
        "workers_mb": round(workers) if kind == "ledger" else None,
        "processes": pdf_parts.process_count() if kind == "ledger" else 1,
        "size_mb": round(size / 2**20, 2),
    }


def measure(kind: str, render_id: int, out_dir: Path, part_rows: int) -> dict:
    cmd = [sys.executable, __file__, "--child", kind, "--render-id", str(render_id)]
    cmd += ["--out", str(out_dir), "--part-rows", str(part_rows)]
    done = subprocess.run(cmd, capture_output=True, text=True, env=os.environ.copy())
    if done.returncode:
        sys.stderr.write(done.stderr)
        raise SystemExit(f"{kind} failed")
    return json.loads(done.stdout.strip().splitlines()[-1])


# --- set-up -----------------------------------------------------------------------------------
def _setup_django() -> None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    import django

    django.setup()
    import logging

    from django.conf import settings

    settings.DEBUG = False  # no query log
    logging.getLogger("weasyprint").setLevel(logging.ERROR)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", type=int, nargs="+", default=[2000, 10000])
    parser.add_argument(
        "--compare-sizes",
        type=int,
        nargs="*",
        default=[2000],
        help="也测一次排版整个文档和逐部分单进程的规模",
    )
    parser.add_argument("--part-rows", type=int, default=None, help="默认为 ledger.pdf.PART_ROWS")
    parser.add_argument("--repeat", type=int, default=1, help="每种方式重复运行次数，取最短时间")
    parser.add_argument(
        "--repeat-max", type=int, default=2000, help="只重复不超过此规模的测量（默认 2000）"
    )
    parser.add_argument("--seed", type=int, default=7)
    parser.add_argument("--database-url", default=None)
    parser.add_argument("--keep", type=Path, default=None, help="保留数据库和PDF的文件夹")
    parser.add_argument("--child", default=None, help=argparse.SUPPRESS)
    parser.add_argument("--render-id", type=int, default=None, help=argparse.SUPPRESS)
    parser.add_argument("--out", type=Path, default=None, help=argparse.SUPPRESS)
    args = parser.parse_args()

    if args.child:
        print(json.dumps(child(args.child, args.render_id, args.out, args.part_rows)))
        return

    work = args.keep or Path(tempfile.mkdtemp(prefix="pdf-bench-"))
    work.mkdir(parents=True, exist_ok=True)
    os.environ["PRIVATE_MEDIA_ROOT"] = str(work / "media")
    os.environ["DATABASE_URL"] = args.database_url or f"sqlite:///{work / 'bench.sqlite3'}"
    os.environ["LOG_LEVEL"] = "WARNING"
    _setup_django()
    from django.core.management import call_command

    from ledger import pdf
    from ledger.constants import LedgerScope
    from ledger.models import LedgerRender
    from pilots.models import Pilot

    call_command("migrate", verbosity=0)
    if Pilot.objects.exists():
        raise SystemExit("数据库中已有试点：请使用空数据库。")
    part_rows = args.part_rows or pdf.PART_ROWS
    corpus = Corpus(args.seed)
    results: list[dict] = []
    try:
        for size in sorted(args.sizes):
            corpus.grow(size - corpus.ledger_rows)
            kinds = ["ledger"]
            kinds += ["single", "sequence"] if size in args.compare_sizes else []
            best: dict[str, dict] = {}
            for turn in range(args.repeat if size <= args.repeat_max else 1):
                # in turns, the order reversed every other turn: the three share the
                # machine's conditions as far as they can
                for kind in kinds if turn % 2 == 0 else kinds[::-1]:
                    # A finished render is never rendered again: each run gets a new row.
                    row = LedgerRender.objects.create(
                        scope=LedgerScope.PROVINCE, year=2026, quarter=3
                    )
                    result = measure(kind, row.pk, work, part_rows)
                    seconds, peak, pages = result["seconds"], result["peak_mb"], result["pages"]
                    print(
                        f"{size:>6} {kind:<8} {seconds:>7.1f} s  峰值 {peak:>5} MB  {pages} 页",
                        flush=True,
                    )
                    best[kind] = _best(best.get(kind), result)
            for kind in kinds:
                results.append({**best[kind], "size": size})
    finally:
        _report(results, part_rows)
        _record(results)
        if args.keep is None:
            shutil.rmtree(work, ignore_errors=True)
        else:
            print(f"\n数据库和PDF保留在 {work}")


def _best(previous: dict | None, result: dict) -> dict:
    """Of repeated runs: the shortest times (the least disturbed by other work on the
    machine), the highest peak memory, and how many runs."""
    if previous is None:
        return {**result, "runs": 1}
    return {
        **result,
        "seconds": min(previous["seconds"], result["seconds"]),
        "cpu": min(previous["cpu"], result["cpu"]),
        "peak_mb": max(previous["peak_mb"], result["peak_mb"]),
        "runs": previous["runs"] + 1,
    }


def _report(results: list[dict], part_rows: int) -> None:
    """A Markdown table; "×" is the time over that of the one-document render of the same
    size (single), by wall-clock time and by CPU time."""
    print(f"\nPDF台账基准（每部分至少 {part_rows} 行）\n")
    head = "| 试点数 | 方式 | 进程 | 次数 | 页数 | 秒 | CPU秒 | 基础MB | 峰值MB | 文件MB |"
    print(head + " × 秒 | × CPU |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    single = {r["size"]: r for r in results if r["kind"] == "single"}
    for r in results:
        base = single.get(r["size"])
        wall = f"{r['seconds'] / base['seconds']:.2f}" if base else ""
        cpu = f"{r['cpu'] / base['cpu']:.2f}" if base else ""
        print(
            f"| {r['rows']} | {r['kind']} | {r['processes']} | {r['runs']} | {r['pages']} "
            f"| {r['seconds']:.1f} | {r['cpu']:.1f} | {r['base_mb']} | {r['peak_mb']} "
            f"| {r['size_mb']:.2f} | {wall} | {cpu} |"
        )


AGAINST = "同一模板一次排版整个文档（单进程）"
MEMORY_MB = 400


def _record(results: list[dict]) -> None:
    """For make bench's table: at the largest compared size, the time against the
    one-document render; at every size, the highest peak of any one process."""
    by = {(r["size"], r["kind"]): r for r in results}
    compared = [r["size"] for r in results if r["kind"] == "single"]
    for r in results:
        if r["kind"] != "ledger":
            continue
        single, sequence = by.get((r["size"], "single")), by.get((r["size"], "sequence"))
        if single and sequence:
            if r["size"] != max(compared):
                continue
            group = f"PDF台账（{r['rows']:,} 行，{r['pages']:,} 页）"
            same = r["pages"] == single["pages"] == sequence["pages"]
            record(
                group,
                f"生成时间（{r['processes']} 个进程）",
                r["seconds"],
                "s",
                comparison=single["seconds"],
                against=AGAINST,
                limit=0.6,
                target="≤ 对照的 0.6 倍，页数相同",
                valid=same,
                detail=(
                    f"逐部分单进程 {sequence['seconds']:.1f} s"
                    f"（{sequence['seconds'] / single['seconds']:.2f}×）；"
                    f"CPU {r['cpu']:.1f} / {single['cpu']:.1f} / {sequence['cpu']:.1f} s；"
                    f"页数 {r['pages']} / {single['pages']} / {sequence['pages']}"
                ),
            )
            detail = (
                f"一次排版整个文档 {single['peak_mb']} MB；逐部分单进程 {sequence['peak_mb']} MB"
            )
        else:
            group = f"PDF台账（{r['rows']:,} 行）"
            record(
                group,
                f"生成时间（{r['processes']} 个进程）",
                r["seconds"],
                "s",
                target="（记录）",
                detail=f"{r['pages']:,} 页；CPU {r['cpu']:.1f} s；文件 {r['size_mb']:.1f} MB",
            )
            detail = f"{r['pages']:,} 页"
        record(
            group,
            "每个进程的内存峰值",
            r["peak_mb"],
            "MB",
            limit=MEMORY_MB,
            target=f"≤ {MEMORY_MB} MB",
            detail=f"其中工作进程 {r['workers_mb']} MB；{detail}",
        )


if __name__ == "__main__":
    main()
