"""What every part of the demo shares."""

from __future__ import annotations

# The change reason of every record the demo loader writes; the demo's pilots are found again
# by it (their creation record carries it).
DEMO_REASON = "演示数据"
# The department whose demo records show the rarer cases: a filing returned and filed again, a
# corrected quarterly report, and the half-year summaries.
SUMMARY_DEPARTMENT = "dept-env"
