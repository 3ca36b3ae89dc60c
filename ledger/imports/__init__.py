"""Excel imports (导入): the ledger's pilots, and reform implementation plans.

Both run in two steps, as NetBox's bulk import does:

1. `preview_pilot_import` / `preview_plan_import` take an upload, check it as a ZIP archive
   before any parser opens it (size, entries, declared uncompressed size and ratio, macros,
   and that every entry inflates to exactly what it declares), read it with python-calamine
   (which never evaluates a formula: a formula cell gives its cached value, or nothing), and
   validate every row. They return an ImportBatch holding a preview of what would change and
   every error, in Chinese, with its row number and column header ("第5行「结束日期」：日期
   格式不正确"). A file that is no workbook is refused with a message and is not kept.
2. Applying writes a previewed batch without errors: in one transaction it reads the
   stored file again (through the storage), validates it again against the data as it is
   now (rows locked), and either writes every row — with history by the acting user and the
   batch as the reason, "Excel导入（批次#12）" — or, if any row fails now, nothing at all.
   The pages queue it as a background job (`request_apply`, `jobs`) whose progress the
   batch's page shows; the management commands run it at once (`apply_import`). New pilots
   are written set-based (core.bulk); their overlap check (R1.3) follows as a job of its own
   once they are committed.

The pilots' layout is the ledger export's (ledger.exports): export, edit, import again. A row
whose 试点编号 exists updates that pilot through `pilots.services.correct_ledger_pilot`, the
domain function of the office's corrections, which the preview also asks: an end date later
than the approved one is an extension (R2.4) and is refused, and so are a changed lead
department or ledger date; a row with a new or empty 试点编号 creates a pilot in
the ledger state its 状态 names (an empty number gets the next code of its approval year).
What the ledger's columns do not carry (goal, scope, measures …) stays empty on a new pilot,
to be completed on its page; the preview says so. The office keeps the ledger, so only the
office imports (R2.2: a pilot enters the ledger when the office confirms its filing). An
import changes no pilot's state — that is done by filing, closure and extension — and adds no
quarterly report to an existing pilot; a new pilot may bring its latest report along, late
(R2.3) by the days between its due date and the optional column 进展报送日期 (or the day of the
import). A unit no longer in use (停用) is refused wherever a row names it anew.

A reform plan's layout is one row per main task: 领域, 序号, 改革事项, 事项内容, 主要任务,
牵头单位, 参加单位 (units separated by 、), and optionally a sheet 方案信息 with the plan's
name, region, issuer and year. Units are matched against the organisation directory by full
name or short name; unknown units are reported, never created.

Modules, by concept: `files` (reading and checking the upload), `cells` (a cell's value),
`directory` (units by name), `results` (errors, a validation's result, the history reason),
`batches` (an ImportBatch from preview to apply), `jobs` (the apply as a background job, lost
jobs), `progress` (the job's progress, readable while it writes), `pilot_columns`, `pilot_rows` and
`pilot_writes` (the ledger's pilots: their columns, rows checked, rows written), and `plans`
(reform implementation plans).
"""

from ledger.imports.batches import (
    apply_import,
    can_import,
    preview_pilot_import,
    preview_plan_import,
)
from ledger.imports.files import FileRejected, read_sheet
from ledger.imports.jobs import fail_stale_batches, request_apply, run_queued_apply
from ledger.imports.plans import PLAN_HEADERS, PLAN_INFO_FIELDS, PLAN_INFO_SHEET, PLAN_SHEET
from ledger.imports.results import IMPORT_REASON, batch_reason

__all__ = [
    "IMPORT_REASON",
    "PLAN_HEADERS",
    "PLAN_INFO_FIELDS",
    "PLAN_INFO_SHEET",
    "PLAN_SHEET",
    "FileRejected",
    "apply_import",
    "batch_reason",
    "can_import",
    "fail_stale_batches",
    "preview_pilot_import",
    "preview_plan_import",
    "read_sheet",
    "request_apply",
    "run_queued_apply",
]
