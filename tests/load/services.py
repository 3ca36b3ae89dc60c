"""What the load checks share: they drive the product as it is deployed (gunicorn, Celery,
PostgreSQL, Redis), so they run only where those are (CI's second pass), and read the
driver's printed `label: value` lines."""

from __future__ import annotations

import os
import re
from pathlib import Path

import pytest

ROOT = Path(__file__).resolve().parents[2]

needs_postgres_and_redis = pytest.mark.skipif(
    not os.environ.get("DATABASE_URL", "").startswith(("postgres://", "postgresql://"))
    or not os.environ.get("REDIS_URL"),
    reason="needs PostgreSQL and Redis (DATABASE_URL=postgres://…, REDIS_URL); "
    "CI's second pass runs it",
)


def printed(output: str, label: str) -> str:
    """The value the driver printed on its `label: …` line."""
    match = re.search(rf"^{label}: (.+)$", output, re.M)
    assert match, f"no {label!r} line in:\n{output}"
    return match.group(1)


def figure(output: str, label: str) -> float:
    """The number that starts the driver's `label: …` line."""
    return float(re.match(r"[\d.]+", printed(output, label)).group())
