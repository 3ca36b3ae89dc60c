"""Benchmark of the PDF ledger (ledger.pdf.render_ledger) against a naive WeasyPrint table.

    python bench/pdf_bench.py [--sizes 1000 10000] [--naive-sizes 1000 10000]
                              [--single-sizes 1000] [--part-rows 500]
                              [--repeat 3 [--repeat-max 1000]] [--keep DIR]

For each size, fills a database with that many ledger pilots (plus 10% that are not in the
ledger, R2.3) with plausible Chinese names, bodies, regions and a latest quarterly report,
then measures, each in a fresh child process so that its peak resident memory
(getrusage ru_maxrss) is its own:

- naive:  the same rows and columns in one plain WeasyPrint document, as a first version
          would write it — automatic table layout, `border-collapse: collapse`, descendant
          selectors, <br> between a cell's lines, footer with counter(pages);
- single: the ledger template and stylesheet in one pass (no parts);
- ledger: `render_ledger` itself — parts of --part-rows rows, joined, footer stamped —
          including the queries, the file written through the FileField and the row updates.

Times are wall-clock and CPU seconds (user + system) of the rendering alone (Django and
WeasyPrint are imported before the clock starts); CPU time is the steadier figure when
other work shares the machine. With --repeat, each size up to --repeat-max is measured that
many times and the shortest times are kept (the highest peak). "base" is the child's
resident memory before rendering.

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


# --- the naive baseline -----------------------------------------------------------------------
# The same rows and columns as the ledger, laid out the way a first version would be: an
# automatic table layout (every cell measured to size the columns), collapsed borders on
# every cell, descendant selectors, the footer with counter(pages), all in one document.
NAIVE_TEMPLATE = """<!doctype html>
<html lang="zh-Hans"><head><meta charset="utf-8"><title>{{ title }}</title>
<style>
@page { size: A4 landscape; margin: 14mm 12mm 15mm 12mm;
  @bottom-right { content: "第 " counter(page) " 页 共 " counter(pages) " 页";
    font-family: "Noto Sans CJK SC", sans-serif; font-size: 9pt; } }
html { font-family: "Noto Sans CJK SC", sans-serif; font-size: 8pt; line-height: 1.3; }
h1 { font-family: "Noto Serif CJK SC", serif; font-size: 18pt; text-align: center; }
table.ledger { width: 100%; border-collapse: collapse; }
table.ledger th, table.ledger td { border: 0.6pt solid #000; padding: 0.8mm 1mm;
  vertical-align: top; }
table.ledger thead th { background: #ececec; font-weight: normal; }
table.ledger tbody tr { break-inside: avoid; }
</style></head><body>
<h1>{{ title }}</h1>
<p>编制单位：{{ issuer }}　制表日期：{{ date_text }}　共 {{ count }} 项试点</p>
<table class="ledger"><thead><tr><th>序号</th><th>试点编号</th><th>试点名称</th>
<th>改革领域<br>试点类型</th><th>试点来源<br>管理层级</th><th>试点地区</th>
<th>实施主体<br>牵头部门</th><th>试点期限</th><th>状态<br>列入台账日期</th>
<th>批复文号<br>批复日期</th><th>最新进展</th></tr></thead><tbody>
{% for r in lines %}<tr><td>{{ r.seq }}</td><td>{{ r.code }}</td><td>{{ r.name }}</td>
<td>{{ r.field }}<br>{{ r.kind }}</td><td>{{ r.origin }}<br>{{ r.tier }}</td>
<td>{{ r.regions }}</td><td>{{ r.implementing_body }}<br>{{ r.lead_department }}</td>
<td>{{ r.start }}至<br>{{ r.end }}</td><td>{{ r.status }}<br>{{ r.ledger_since }}</td>
<td>{{ r.doc_number }}<br>{{ r.approval_date }}</td>
<td>{% if r.latest_quarter %}{{ r.latest_quarter }}：{{ r.latest_progress }}{% endif %}</td>
</tr>{% endfor %}</tbody></table></body></html>"""


def _all_lines(render) -> list:
    from ledger import pdf
    from pilots.models import Pilot

    ids = list(pdf.ledger_pilots(render).order_by("code").values_list("pk", flat=True))
    by_pk = {p.pk: p for p in pdf.annotate_ledger(Pilot.objects.filter(pk__in=ids))}
    return [pdf.ledger_line(n + 1, by_pk[pk]) for n, pk in enumerate(ids)]


# --- one measurement, in a child process -----------------------------------------------------
def _rss_mb() -> float:
    with open("/proc/self/status") as fh:
        for line in fh:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def _cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_SELF)
    return usage.ru_utime + usage.ru_stime


def child(kind: str, render_id: int, out_dir: Path, part_rows: int) -> dict:
    _setup_django()
    import weasyprint  # noqa: F401 - imported before the clock starts
    from django.template import engines

    from ledger import pdf
    from ledger.models import LedgerRender

    render = LedgerRender.objects.select_related("department").get(pk=render_id)
    base = _rss_mb()
    cpu_start = _cpu_seconds()
    start = time.perf_counter()
    if kind == "ledger":
        pdf.PART_ROWS = part_rows
        render = pdf.render_ledger(render_id)
        if render.status != "done":
            raise SystemExit(render.error)
        rows, pages, size = render.rows, render.pages, render.file.size
        shutil.copyfile(render.file.path, out_dir / f"ledger-{rows}.pdf")
    elif kind == "single":
        path = out_dir / f"single-{render_id}.pdf"
        rows, pages = pdf.print_ledger(render, path, part_rows=10**9)
        size = path.stat().st_size
    elif kind == "naive":
        lines = _all_lines(render)
        context = {**pdf._context(render, len(lines)), "lines": lines}
        html = engines["django"].from_string(NAIVE_TEMPLATE).render(context)
        path = out_dir / f"naive-{len(lines)}.pdf"
        pages, _ = pdf.write_part(html, path)
        rows, size = len(lines), path.stat().st_size
    else:
        raise SystemExit(f"unknown kind {kind}")
    seconds = time.perf_counter() - start
    cpu = _cpu_seconds() - cpu_start
    peak = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024
    return {
        "kind": kind,
        "rows": rows,
        "pages": pages,
        "seconds": round(seconds, 2),
        "cpu": round(cpu, 2),
        "base_mb": round(base),
        "peak_mb": round(peak),
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
    parser.add_argument("--sizes", type=int, nargs="+", default=[1000, 10000])
    parser.add_argument("--naive-sizes", type=int, nargs="*", default=[1000, 10000])
    parser.add_argument("--single-sizes", type=int, nargs="*", default=[1000])
    parser.add_argument("--part-rows", type=int, default=None, help="默认为 ledger.pdf.PART_ROWS")
    parser.add_argument("--repeat", type=int, default=1, help="每种方式重复运行次数，取最短时间")
    parser.add_argument(
        "--repeat-max", type=int, default=1000, help="只重复不超过此规模的测量（默认 1000）"
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
            kinds += ["single"] if size in args.single_sizes else []
            kinds += ["naive"] if size in args.naive_sizes else []
            best: dict[str, dict] = {}
            for _ in range(args.repeat if size <= args.repeat_max else 1):
                for kind in kinds:
                    # A finished render is never rendered again: each run gets a new row.
                    row = LedgerRender.objects.create(
                        scope=LedgerScope.PROVINCE, year=2026, quarter=3
                    )
                    result = measure(kind, row.pk, work, part_rows)
                    seconds, peak, pages = result["seconds"], result["peak_mb"], result["pages"]
                    print(
                        f"{size:>6} {kind:<7} {seconds:>7.1f} s  峰值 {peak:>5} MB  {pages} 页",
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
    """A Markdown table; "×" is how many times faster than the naive document of that size,
    by wall-clock time and by CPU time (steadier when other work shares the machine)."""
    print(f"\nPDF台账基准（ledger 每部分 {part_rows} 行）\n")
    print("| 试点数 | 方式 | 次数 | 页数 | 秒 | CPU秒 | 基础MB | 峰值MB | 文件MB | × 秒 | × CPU |")
    print("|---:|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|")
    naive = {r["size"]: r for r in results if r["kind"] == "naive"}
    for r in results:
        base = naive.get(r["size"])
        wall = f"{base['seconds'] / r['seconds']:.2f}" if base and r is not base else ""
        cpu = f"{base['cpu'] / r['cpu']:.2f}" if base and r is not base else ""
        print(
            f"| {r['rows']} | {r['kind']} | {r['runs']} | {r['pages']} | {r['seconds']:.1f} "
            f"| {r['cpu']:.1f} | {r['base_mb']} | {r['peak_mb']} | {r['size_mb']:.2f} "
            f"| {wall} | {cpu} |"
        )


def _record(results: list[dict]) -> None:
    """The largest size's ledger against the naive document, for make bench's table."""
    naive = {r["size"]: r for r in results if r["kind"] == "naive"}
    for r in results:
        base = naive.get(r["size"])
        if r["kind"] != "ledger" or base is None or r["size"] != max(naive):
            continue
        group = f"PDF台账（{r['rows']:,} 行，{r['pages']:,} 页）"
        record(
            group,
            "生成时间",
            r["seconds"],
            "s",
            comparison=base["seconds"],
            against="WeasyPrint 一次排版整张表",
            limit=1.0,
            target="快于对照",
            detail=f"CPU {r['cpu']:.1f} s 对 {base['cpu']:.1f} s；文件 {r['size_mb']:.1f} MB",
        )
        record(
            group,
            "内存峰值",
            r["peak_mb"],
            "MB",
            comparison=base["peak_mb"],
            against="WeasyPrint 一次排版整张表",
            limit=1.0,
            target="低于对照",
            detail=f"进程基础 {r['base_mb']} MB",
        )


if __name__ == "__main__":
    main()
