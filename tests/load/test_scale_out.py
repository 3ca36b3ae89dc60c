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

from tests.load.services import ROOT, needs_postgres_and_redis, printed

pytestmark = needs_postgres_and_redis


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
    assert printed(output, "errors") == "0"
    served = re.search(r"\((\d+) answered by instance 1, (\d+) by instance 2\)", output)
    assert served and min(map(int, served.groups())) > 0, output
    attachments = printed(output, "attachments read from both instances")
    read, of = map(int, re.fullmatch(r"(\d+) of (\d+)", attachments).groups())
    assert read == of > 0
    assert "same bytes from both instances: yes" in output
    assert printed(output, "files kept in a local folder") == "0"
    assert printed(output, "second beat refused") == "yes"
