"""One table for every benchmark of `make bench`.

Each bench script calls `record()` for its headline figures; when `BENCH_SUMMARY` names a
file (bench/run.sh sets one per bench), the figure is appended to it as a JSON line. At the end,

    python bench/summary.py var/bench/summary-*.jsonl [--markdown OUT.md]

prints the table: for each measure our figure, the comparison measured in the same run, the
ratio ours ÷ comparison, the target and whether it is met.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

ENV = "BENCH_SUMMARY"


def record(
    bench: str,
    measure: str,
    ours: float,
    unit: str,
    *,
    comparison: float | None = None,
    against: str = "",
    limit: float | None = None,
    minimum: float | None = None,
    target: str = "",
    detail: str = "",
    valid: bool = True,
) -> None:
    """Append one measure. `limit` bounds the ratio ours ÷ comparison when there is a
    comparison, else our figure itself; `minimum` bounds our figure from below; `target`
    says it in words. `valid` is False when the run's own check failed (different results
    on the two sides, a time over its bound): never met then."""
    path = os.environ.get(ENV)
    if not path:
        return
    ratio = ours / comparison if comparison else None
    checked = ratio if comparison is not None else ours
    met = None
    if limit is not None and checked is not None:
        met = valid and checked <= limit
    if minimum is not None:
        met = (met is not False) and valid and ours >= minimum
    row = {
        "bench": bench,
        "measure": measure,
        "ours": ours,
        "unit": unit,
        "comparison": comparison,
        "against": against,
        "ratio": ratio,
        "target": target,
        "met": met,
        "detail": detail,
    }
    Path(path).parent.mkdir(parents=True, exist_ok=True)
    with open(path, "a", encoding="utf-8") as out:
        out.write(json.dumps(row, ensure_ascii=False) + "\n")


def _number(value: float | None, unit: str) -> str:
    if value is None:
        return "—"
    if unit == "":
        return f"{value:,.0f}" if value == int(value) else f"{value:,.3f}"
    digits = 0 if abs(value) >= 100 else 1 if abs(value) >= 10 else 2
    return f"{value:,.{digits}f} {unit}"


def table(rows: list[dict]) -> str:
    lines = [
        "| 基准 | 指标 | 本系统 | 对照（同次运行） | 对照值 | 比值 | 目标 | 达标 | 说明 |",
        "|---|---|---:|---|---:|---:|---|:-:|---|",
    ]
    for r in rows:
        ratio = "—" if r["ratio"] is None else f"{r['ratio']:.2f}×"
        met = {True: "✓", False: "✗", None: ""}[r["met"]]
        lines.append(
            f"| {r['bench']} | {r['measure']} | {_number(r['ours'], r['unit'])} | "
            f"{r['against'] or '—'} | {_number(r['comparison'], r['unit'])} | {ratio} | "
            f"{r['target']} | {met} | {r['detail']} |"
        )
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("summary", type=Path, nargs="+", help="JSON lines, read in this order")
    parser.add_argument("--markdown", type=Path, default=None, help="also write the table here")
    args = parser.parse_args(argv)
    rows = [
        json.loads(line)
        for path in args.summary
        if path.exists()
        for line in path.read_text("utf-8").splitlines()
        if line
    ]
    text = table(rows)
    print(text)
    targeted = [r for r in rows if r["met"] is not None]
    missed = [r for r in targeted if not r["met"]]
    print(f"\n{len(rows)} 项指标，{len(targeted)} 项有目标，其中 {len(missed)} 项未达标")
    if args.markdown:
        args.markdown.write_text(text + "\n", "utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
