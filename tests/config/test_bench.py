"""make bench stays runnable: bench/run.sh at tiny sizes (BENCH_SMALL=1) runs every benchmark
on PostgreSQL and prints one table with a row per measure. The figures at these sizes mean
nothing; that every bench runs and reports does. PostgreSQL only, as make bench is."""

from __future__ import annotations

import json
import os
import subprocess
from pathlib import Path

import pytest
from django.conf import settings

ROOT = Path(__file__).resolve().parents[2]
GROUPS = ("页面", "重复检查", "PDF台账", "Excel", "定时任务")

pytestmark = pytest.mark.skipif(
    settings.DATABASES["default"]["ENGINE"] != "django.db.backends.postgresql",
    reason="make bench runs on PostgreSQL; this check runs in the PostgreSQL pass",
)


def test_make_bench_runs_every_benchmark_and_prints_one_table(tmp_path):
    db = settings.DATABASES["default"]
    server = f"postgres://{db['USER']}@{db['HOST'] or '127.0.0.1'}:{db['PORT'] or 5432}"
    env = {
        **os.environ,
        "BENCH_SMALL": "1",
        "BENCH_OUT": str(tmp_path),
        "BENCH_DATABASE_URL": f"{server}/registry_benchcheck",
    }
    env.pop("DATABASE_URL", None)
    done = subprocess.run(
        ["bash", "bench/run.sh"], cwd=ROOT, env=env, capture_output=True, text=True, timeout=900
    )
    output = done.stdout + done.stderr
    assert "Traceback" not in output, output[-4000:]
    rows = [
        json.loads(line)
        for path in sorted(tmp_path.glob("summary-*.jsonl"))
        for line in path.read_text().splitlines()
    ]
    # every bench reported, each measure with our figure, and a comparison where it has one
    for group in GROUPS:
        assert any(r["bench"].startswith(group) for r in rows), (group, output[-4000:])
    assert all(isinstance(r["ours"], int | float) for r in rows)
    compared = [r for r in rows if r["ratio"] is not None]
    assert len(compared) >= 10
    assert all(r["ratio"] == pytest.approx(r["ours"] / r["comparison"]) for r in compared)
    # one table, printed and kept with the machine's description
    table = (tmp_path / "summary.md").read_text()
    assert "| 基准 | 指标 | 本系统 |" in done.stdout
    assert table.count("\n| ") >= len(rows)
    assert "cores" in table and "PostgreSQL" in table
