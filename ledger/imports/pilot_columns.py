"""The columns of a ledger workbook: the ledger export's headers (ledger.exports), each with
the pilot's field it sets, and the format of a pilot's code."""

from __future__ import annotations

from ledger.selectors import LEDGER_HEADERS

# The pilots' columns: the ledger export's headers (ledger.selectors.LEDGER_HEADERS).
C_CODE = "试点编号"
C_NAME = "试点名称"
C_FIELD = "改革领域"
C_KIND = "试点类型"
C_ORIGIN = "试点来源"
C_TIER = "管理层级"
C_REGIONS = "试点地区"
C_BODY = "实施主体"
C_LEAD = "牵头部门"
C_START = "开始日期"
C_END = "结束日期"
C_STATUS = "状态"
C_DOC = "批复文号"
C_APPROVED = "批复日期"
C_SINCE = "列入台账日期"
C_QUARTER = "最新进展季度"
C_PROGRESS = "最新进展"
# Optional, not in the export: when the latest report was submitted (R2.3 lateness). Without
# it a new pilot's report counts as submitted on the day of the import.
C_REPORTED = "进展报送日期"
PILOT_HEADERS: list[str] = [*LEDGER_HEADERS, C_REPORTED]
if set(LEDGER_HEADERS) != {
    C_CODE, C_NAME, C_FIELD, C_KIND, C_ORIGIN, C_TIER, C_REGIONS, C_BODY, C_LEAD, C_START,
    C_END, C_STATUS, C_DOC, C_APPROVED, C_SINCE, C_QUARTER, C_PROGRESS,
}:  # fmt: skip
    raise ImportError("ledger.imports does not know every column of LEDGER_HEADERS")
PILOT_REQUIRED_HEADERS = [
    h for h in PILOT_HEADERS if h not in (C_TIER, C_QUARTER, C_PROGRESS, C_REPORTED)
]


# The pilot's fields a ledger row sets, with their columns (for the preview's changes).
PILOT_FIELDS = {
    "name": C_NAME,
    "field": C_FIELD,
    "kind": C_KIND,
    "origin": C_ORIGIN,
    "implementing_body": C_BODY,
    "lead_department": C_LEAD,
    "start_date": C_START,
    "end_date": C_END,
    "status": C_STATUS,
    "approval_doc_number": C_DOC,
    "approval_date": C_APPROVED,
    "ledger_since": C_SINCE,
}


# The columns of a domain function's fields, for its errors.
FIELD_COLUMNS = {**PILOT_FIELDS, "regions": C_REGIONS}
