"""The load test at the quarterly deadline, shortened: the same driver as `make load`
(bench/load/run.py: its own database, gunicorn, locust) with 40 users for 45 seconds. It needs
PostgreSQL and Redis, so it runs in CI's second pass (DATABASE_URL=postgres…, REDIS_URL set)
and is skipped on the embedded defaults. The driver's database (LOAD_DATABASE_URL, default
registry_load) is never the one pytest uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.load.services import ROOT, figure, needs_postgres_and_redis

pytestmark = needs_postgres_and_redis


def test_forty_users_at_the_deadline_pass_with_reports_written(tmp_path):
    env = {**os.environ}
    env.setdefault("LOAD_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_load")
    result = subprocess.run(
        [
            sys.executable,
            "bench/load/run.py",
            "--users",
            "40",
            "--spawn-rate",
            "2",
            "--run-time",
            "45s",
            "--pilots",
            "3000",
            "--workdir",
            str(tmp_path / "load"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=240,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.rstrip().endswith("PASS"), output
    assert figure(output, "requests/s") > 0
    assert figure(output, "p95") < 800
    assert figure(output, "errors") == 0
    submitted = re.search(
        r"^reports submitted: (\d+) accepted of (\d+) sent; (\d+) written to the database "
        r"for \d{4}Q\d, (\d+) with attachment",
        output,
        re.M,
    )
    assert submitted, output
    accepted, sent, written, attached = map(int, submitted.groups())
    assert accepted > 0
    assert accepted == sent == written == attached
