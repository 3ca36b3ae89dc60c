"""Scale-out (docs/deployment.md, 扩容): two web instances and two workers, each with a local
folder of its own as if on another host, and one beat, sharing PostgreSQL, Redis and an
S3-compatible object store. The driver, bench/load/scaleout.py, spreads a short quarterly-
deadline load over both instances, then reads every report's attachment and a PDF ledger a
worker rendered meanwhile from each instance. It needs PostgreSQL and Redis, so it runs in
CI's second pass and is skipped on the embedded defaults. Its database (SCALE_DATABASE_URL,
default registry_scale) is never the one pytest uses."""

from __future__ import annotations

import os
import re
import subprocess
import sys
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

pytestmark = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    or not os.environ.get("REDIS_URL"),
    reason="the scale-out check needs PostgreSQL and Redis (DATABASE_URL=postgres://…, "
    "REDIS_URL); CI's second pass runs it",
)


def _line(output: str, label: str) -> str:
    match = re.search(rf"^{label}: (.+)$", output, re.M)
    assert match, f"no {label!r} line in:\n{output}"
    return match.group(1)


def test_two_instances_two_workers_and_one_beat_share_every_file_without_an_error(tmp_path):
    env = {**os.environ}
    env.setdefault("SCALE_DATABASE_URL", "postgres://postgres@127.0.0.1:5432/registry_scale")
    result = subprocess.run(
        [
            sys.executable,
            "bench/load/scaleout.py",
            "--users",
            "16",
            "--run-time",
            "75s",
            "--pilots",
            "500",
            "--workdir",
            str(tmp_path / "scaleout"),
        ],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=600,
    )
    output = result.stdout + result.stderr
    assert result.returncode == 0, output
    assert output.rstrip().endswith("PASS"), output
    assert _line(output, "errors") == "0"
    served = re.search(r"\((\d+) answered by instance 1, (\d+) by instance 2\)", output)
    assert served and min(map(int, served.groups())) > 0, output
    attachments = _line(output, "attachments read from both instances")
    read, of = map(int, re.fullmatch(r"(\d+) of (\d+)", attachments).groups())
    assert read == of > 0
    assert "same bytes from both instances: yes" in output
    assert _line(output, "files kept in a local folder") == "0"
    assert _line(output, "second beat refused") == "yes"
