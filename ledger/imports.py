"""Excel imports (导入): the ledger's pilots, and reform implementation plans.

Both run in two steps, as NetBox's bulk import does:

1. `preview_pilot_import` / `preview_plan_import` take an upload, check it as a ZIP archive
   before any parser opens it (size, entries, declared uncompressed size and ratio, macros,
   and that every entry inflates to exactly what it declares), read it with python-calamine
   (which never evaluates a formula: a formula cell gives its cached value, or nothing), and
   validate every row. They return an ImportBatch holding a preview of what would change and
   every error, in Chinese, with its row number and column header ("第5行「结束日期」：日期
   格式不正确"). A file that is no workbook is refused with a message and is not kept.
2. `apply_import` writes a previewed batch without errors: in one transaction it reads the
   stored file again, validates it again against the data as it is now (rows locked), and
   either writes every row — with history by the acting user and the batch as the reason,
   "Excel导入（批次#12）" — or, if any row fails now, nothing at all.

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
"""

from __future__ import annotations

import datetime as dt
import io
import re
import unicodedata
import uuid
import zipfile
import zlib
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from django.apps import apps
from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone
from simple_history.utils import bulk_create_with_history

from accounts.constants import OrgKind
from accounts.models import Organisation
from ledger.constants import ImportKind, ImportStatus
from ledger.models import ImportBatch, PlanItem, PlanTask, QuarterlyReport, ReformPlan
from ledger.selectors import LEDGER_HEADERS, annotate_ledger
from ledger.xlsx import FORMULA_TRIGGERS
from pilots import policy, rules
from pilots.constants import LEDGER_STATES, Origin, PilotKind, ReformField, Status, Tier
from pilots.models import CodeSequence, Milestone, Pilot
from pilots.uploads import check_office_zip, sniff_kind
from pilots.validators import validate_doc_number

IMPORT_REASON = "Excel导入"


def batch_reason(batch_pk: int) -> str:
    """The reason every change of an applied batch carries in history: "Excel导入（批次#12）",
    so that each changed field can be traced to the batch (and its file) that made it."""
    return f"{IMPORT_REASON}（批次#{batch_pk}）"


# At most this many data rows in one import; and at most this many errors are listed.
MAX_ROWS = 50_000
MAX_COLUMNS = 100
MAX_ERRORS = 2_000
# The header row is looked for among the first rows (a title row may stand above it).
HEADER_SEARCH_ROWS = 10
# Pilots are looked up and locked this many codes at a time.
LOOKUP_CHUNK = 500

# --- the layouts -----------------------------------------------------------------------------

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

PLAN_SHEET = "改革任务"
PLAN_INFO_SHEET = "方案信息"
P_AREA = "领域"
P_NUMBER = "序号"
P_TITLE = "改革事项"
P_DESCRIPTION = "事项内容"
P_TASK = "主要任务"
P_LEAD = "牵头单位"
P_UNITS = "参加单位"
PLAN_HEADERS = [P_AREA, P_NUMBER, P_TITLE, P_DESCRIPTION, P_TASK, P_LEAD, P_UNITS]
PLAN_INFO_FIELDS = {"name": "方案名称", "region": "地区", "issued_by": "印发单位", "year": "年度"}

# Separators of several units (or regions) in one cell.
_SEPARATORS = re.compile(r"[、，,；;\n/／]+")
# A collective mention that names no unit: 各乡镇（办）, 各相关单位.
_COLLECTIVE = "各"
_TASK_NUMBER = re.compile(r"^[(（]\s*\d+\s*[)）]\s*")
_QUARTER = re.compile(
    r"^(\d{4})\s*年?\s*第?\s*([1-4一二三四])\s*季度$|^(\d{4})\s*[-\s]?[Qq]([1-4])$"
)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?"
    r"(?:\s+0?0:00(?::00)?)?$"
)


# --- errors and results ----------------------------------------------------------------------


class FileRejected(Exception):
    """The upload is not a workbook the import reads; the message says why, in Chinese."""


class RowsRefused(Exception):
    """Rows a domain function refused while the batch was being written; `errors` as stored
    on ImportBatch.errors."""

    def __init__(self, errors: list[dict]):
        super().__init__(errors)
        self.errors = errors


def row_error(row: int | None, column: str, message: str) -> dict:
    """An error as stored on ImportBatch.errors: where it is and what is wrong, and the whole
    sentence for display ("第5行「结束日期」：日期格式不正确")."""
    where = (f"第{row}行" if row else "") + (f"「{column}」" if column else "")
    return {
        "row": row,
        "column": column,
        "message": message,
        "text": f"{where}：{message}" if where else message,
    }


@dataclass
class _Result:
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    # What apply writes, per kind.
    items: list[Any] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    def error(self, row: int | None, column: str, message: str) -> None:
        self.errors.append(row_error(row, column, message))


def _capped(errors: list[dict]) -> list[dict]:
    if len(errors) <= MAX_ERRORS:
        return errors
    rest = len(errors) - MAX_ERRORS
    return [*errors[:MAX_ERRORS], row_error(None, "", f"另有 {rest} 处错误未列出。")]


# --- reading the file ------------------------------------------------------------------------


def read_upload(upload) -> bytes:
    """The upload's bytes, refused when empty or larger than UPLOAD_MAX_BYTES."""
    limit = settings.UPLOAD_MAX_BYTES
    try:
        upload.seek(0)
        data = upload.read(limit + 1)
    except (OSError, ValueError) as exc:
        raise FileRejected("无法读取上传的文件。") from exc
    if not data:
        raise FileRejected("文件为空。")
    if len(data) > limit:
        raise FileRejected(f"文件过大，不能超过 {limit // (1024 * 1024)} MB。")
    return data


def check_workbook(data: bytes) -> None:
    """Refuse anything but a plain .xlsx before a parser sees it: not a ZIP (an old .xls, a
    renamed file), a ZIP over the limits on entries, declared size or ratio (a ZIP bomb), one
    with macros (.xlsm), one that is not a workbook, one whose entries do not inflate to what
    they declare (a truncated or forged file)."""
    stream = io.BytesIO(data)
    if sniff_kind(stream) != "zip":
        raise FileRejected(
            "只接受 Excel 工作簿（.xlsx）文件，请在 Excel 或 WPS 中另存为 .xlsx 格式后上传。"
        )
    try:
        kind = check_office_zip(stream)
    except ValidationError as exc:
        raise FileRejected(exc.messages[0]) from exc
    if kind != "xlsx":
        raise FileRejected("只接受 Excel 工作簿（.xlsx）文件。")
    # zipfile stops each entry at its declared size and checks its CRC, so an entry that
    # inflates to more (or less) than it declares fails here, before calamine reads it.
    try:
        with zipfile.ZipFile(stream) as archive:
            for info in archive.infolist():
                with archive.open(info) as member:
                    while member.read(1 << 20):
                        pass
    except (zipfile.BadZipFile, zlib.error, EOFError, OSError, RuntimeError, ValueError) as exc:
        raise FileRejected("文件已损坏或不是有效的 Excel 工作簿。") from exc
    except NotImplementedError as exc:
        raise FileRejected("文件使用了不支持的压缩方式，请在 Excel 或 WPS 中重新保存。") from exc


def read_sheet(data: bytes, sheet_name: str | None = None) -> list[list]:
    """Every row of one sheet (by name if it exists, else the first), from row 1 and column
    A, as python-calamine gives them: str, float, bool, date, datetime … and "" for an empty
    cell. A formula cell gives its cached value, or "" when the file has none: calamine has no
    formula engine."""
    return _read(data, sheet_name, required=True) or []


def read_optional_sheet(data: bytes, sheet_name: str) -> list[list] | None:
    """The rows of the sheet named so, or None when the workbook has none."""
    return _read(data, sheet_name, required=False)


def _read(data: bytes, sheet_name: str | None, *, required: bool) -> list[list] | None:
    from python_calamine import CalamineWorkbook

    try:
        with CalamineWorkbook.from_filelike(io.BytesIO(data)) as workbook:
            if sheet_name and sheet_name in workbook.sheet_names:
                sheet = workbook.get_sheet_by_name(sheet_name)
            elif required:
                sheet = workbook.get_sheet_by_index(0)
            else:
                return None
            # The grid is materialised from A1: a lone cell far away would make it huge.
            if sheet.total_height > MAX_ROWS + HEADER_SEARCH_ROWS:
                raise FileRejected(f"行数过多：一次最多导入 {MAX_ROWS} 行。")
            if sheet.total_width > MAX_COLUMNS:
                raise FileRejected(f"列数过多：工作表最多 {MAX_COLUMNS} 列。")
            return sheet.to_python(skip_empty_area=False)
    except FileRejected:
        raise
    except Exception as exc:  # calamine's own errors, and anything a malformed part raises
        raise FileRejected("无法读取工作表：文件已损坏或格式不受支持。") from exc


def _header_key(value: Any) -> str:
    return re.sub(r"[\s*＊]+", "", str(value))


def locate_header(
    rows: list[list], headers: list[str], required: list[str], marker: str
) -> tuple[int, dict[str, int]]:
    """The header row (the first of the first rows that has `marker`) and header → column
    index. Missing required columns refuse the file; unknown columns are ignored."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [_header_key(cell) for cell in row]
        if marker not in keys:
            continue
        columns: dict[str, int] = {}
        for col, key in enumerate(keys):
            if key in headers:
                if key in columns:
                    raise FileRejected(f"表头「{key}」出现了两次。")
                columns[key] = col
        missing = [h for h in required if h not in columns]
        if missing:
            raise FileRejected("缺少列：" + "、".join(f"「{h}」" for h in missing) + "。")
        return index, columns
    raise FileRejected(
        f"未找到表头行：前{HEADER_SEARCH_ROWS}行中没有「{marker}」列。请使用导出的模板格式。"
    )


def _data_rows(rows: list[list], header_index: int) -> Iterable[tuple[int, list]]:
    """(Excel row number, cells) of each non-empty row below the header."""
    for index in range(header_index + 1, len(rows)):
        cells = rows[index]
        if any(
            c != "" and c is not None and not (isinstance(c, str) and not c.strip()) for c in cells
        ):
            yield index + 1, cells


# --- cell values -----------------------------------------------------------------------------


def cell_text(value: Any) -> str:
    """A cell as text: trimmed; a number that is whole without its ".0"; the single quote
    that the export puts before text that looks like a formula taken off again."""
    if value is None or value == "":
        return ""
    if isinstance(value, bool):
        return "是" if value else "否"
    if isinstance(value, float) and value.is_integer():
        return str(int(value))
    if isinstance(value, dt.datetime):
        return value.isoformat(sep=" ")
    text = str(value).strip()
    if text.startswith("'") and text[1:].startswith(FORMULA_TRIGGERS):
        text = text[1:]
    return text


class CellError(ValueError):
    """A cell's value cannot be used; the message is in Chinese."""


class UnknownUnit(CellError):
    """The directory has no unit of that name."""


def cell_date(value: Any) -> dt.date | None:
    if value is None or value == "":
        return None
    if isinstance(value, dt.datetime):
        return value.date()
    if isinstance(value, dt.date):
        return value
    if isinstance(value, str):
        m = _DATE_TEXT.match(value.strip())
        if m:
            try:
                return dt.date(int(m.group(1)), int(m.group(2)), int(m.group(3)))
            except ValueError as exc:
                raise CellError(f"日期不存在：{value.strip()}") from exc
        if not value.strip():
            return None
    raise CellError("日期格式不正确，应为日期单元格或“2026-03-31”“2026年3月31日”。")


def _key(text: str) -> str:
    """A name as compared: full-width forms folded (（）→ ()), no whitespace."""
    return re.sub(r"\s+", "", unicodedata.normalize("NFKC", text))


def split_units(text: str) -> list[str]:
    """The names in a cell of several units, in order, each once."""
    seen: dict[str, None] = {}
    for part in _SEPARATORS.split(text):
        part = part.strip()
        if part:
            seen.setdefault(part, None)
    return list(seen)


class Directory:
    """The organisation directory, loaded once, to find units by full or short name."""

    def __init__(self, orgs: Iterable[Organisation]):
        self.by_name: dict[str, Organisation] = {}
        self.by_short: dict[str, list[Organisation]] = {}
        self.by_pk: dict[int, Organisation] = {}
        for org in orgs:
            self.by_pk[org.pk] = org
            self.by_name[_key(org.name)] = org
            self.by_short.setdefault(_key(org.short_name), []).append(org)

    @classmethod
    def load(cls) -> Directory:
        return cls(
            Organisation.objects.only("pk", "name", "short_name", "kind", "parent_id", "is_active")
        )

    def find(
        self,
        text: str,
        kinds: Iterable[str] | None = None,
        region: str = "",
        keep: Iterable[int] = (),
    ) -> Organisation:
        """The unit named `text` (full name first, then short name), among `kinds` if given;
        a short name shared by several units is settled by `region` (the unit whose parent
        is named so). A unit no longer in use (停用) is refused, unless it is one of `keep`
        (what an existing record already names and the row leaves as it is). Raises
        CellError in Chinese."""
        found = self._find(text, kinds, region)
        if not found.is_active and found.pk not in set(keep):
            raise CellError(f"「{found.name}」已停用，不能填写停用的单位。")
        return found

    def _find(self, text: str, kinds: Iterable[str] | None, region: str) -> Organisation:
        key = _key(text)
        kinds = set(kinds) if kinds else None
        org = self.by_name.get(key)
        candidates = [org] if org is not None else list(self.by_short.get(key, ()))
        if kinds is not None:
            fitting = [o for o in candidates if o.kind in kinds]
            if candidates and not fitting:
                labels = "、".join(OrgKind(k).label for k in sorted(kinds))
                raise CellError(f"「{text}」不是{labels}。")
            candidates = fitting
        if len(candidates) > 1 and region:
            region_key = _key(region)
            parents = {
                o.pk
                for o in self.by_pk.values()
                if region_key in (_key(o.name), _key(o.short_name))
            }
            candidates = [o for o in candidates if o.parent_id in parents] or candidates
        if not candidates:
            raise UnknownUnit(f"单位名录中没有「{text}」。")
        if len(candidates) > 1:
            # A short name shared with a unit no longer in use names the one in use.
            candidates = [o for o in candidates if o.is_active] or candidates
        if len(candidates) > 1:
            raise CellError(f"简称「{text}」对应多个单位，请填写全称。")
        return candidates[0]


def _choice(value: str, choices: type, allowed: Iterable[str] | None = None) -> str:
    """A choice's stored value from its Chinese label (or the value itself)."""
    allowed = list(allowed) if allowed is not None else list(choices.values)
    labels = {_key(str(choices(v).label)): v for v in allowed}
    found = labels.get(_key(value)) or (value if value in allowed else None)
    if found is None:
        options = "、".join(str(choices(v).label) for v in allowed)
        raise CellError(f"“{value}”不是可选项，应为：{options}。")
    return found


# --- access ----------------------------------------------------------------------------------


def can_import(user) -> bool:
    """The office keeps the ledger (R2.2: a pilot enters it when the office confirms its
    filing) and the registry's reference data, so only the office imports."""
    return policy.is_office(user)


def _require_importer(actor) -> None:
    if not can_import(actor):
        raise PermissionDenied("只有省办可以导入台账和改革实施方案。")


# --- the two steps ---------------------------------------------------------------------------


def preview_pilot_import(*, actor, upload) -> ImportBatch:
    """Step 1 for the ledger's pilots: check and validate the upload; return the batch (status
    "previewed" when every row is valid, else "failed" with every error)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.PILOTS)


def preview_plan_import(*, actor, upload) -> ImportBatch:
    """Step 1 for a reform implementation plan (one row per main task)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.REFORM_PLAN)


def _validator(kind: str) -> Callable[..., _Result]:
    return validate_pilot_workbook if kind == ImportKind.PILOTS else validate_plan_workbook


def _preview(*, actor, upload, kind: str) -> ImportBatch:
    _require_importer(actor)
    filename = PurePath(str(getattr(upload, "name", "") or "upload.xlsx")).name[:200]
    batch = ImportBatch(kind=kind, filename=filename, created_by=actor)
    try:
        data = read_upload(upload)
        check_workbook(data)
        result = _validator(kind)(data, filename=filename)
    except FileRejected as exc:
        # A file that is no workbook is not kept; the attempt is recorded with the reason.
        batch.status = ImportStatus.FAILED
        batch.errors = [row_error(None, "", str(exc))]
        _save_batch(batch, actor, "Excel导入：文件被拒绝")
        return batch
    batch.rows = result.rows
    batch.errors = _capped(result.errors)
    batch.preview = result.preview
    batch.status = ImportStatus.FAILED if result.errors else ImportStatus.PREVIEWED
    batch.file.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(data), save=False)
    _save_batch(batch, actor, "Excel导入：预览")
    return batch


def _save_batch(batch: ImportBatch, actor, reason: str) -> None:
    batch._history_user = actor
    batch._change_reason = reason
    batch.save()


def apply_import(*, actor, batch: ImportBatch) -> ImportBatch:
    """Step 2: write a previewed batch. The stored file is validated again, inside the
    transaction and against the data as it is now; if every row still holds, all rows are
    written and the batch is marked applied, else nothing is written and the batch is marked
    failed with the errors found now. Raises ValidationError for a batch that is not waiting
    to be applied (already applied, or failed)."""
    _require_importer(actor)
    try:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != ImportStatus.PREVIEWED or locked.errors:
                raise ValidationError(
                    "该批次已导入或存在错误，不能导入；请修改文件后重新上传。",
                    code="not_applicable",
                )
            try:
                with locked.file.open("rb") as fh:
                    data = fh.read()
            except (OSError, ValueError) as exc:
                raise FileRejected("上传的文件已不存在，请重新上传。") from exc
            result = _validator(locked.kind)(data, filename=locked.filename, lock=True)
            if result.errors:
                locked.status = ImportStatus.FAILED
                locked.errors = _capped(result.errors)
                locked.preview = result.preview
                _save_batch(locked, actor, "Excel导入：重新校验未通过")
                return locked
            reason = batch_reason(locked.pk)
            if locked.kind == ImportKind.PILOTS:
                try:
                    # All rows or none: a row the domain functions refuse now undoes the
                    # rows written before it.
                    with transaction.atomic():
                        _write_pilots(actor, result.items, reason=reason)
                except RowsRefused as refused:
                    locked.status = ImportStatus.FAILED
                    locked.errors = _capped(refused.errors)
                    _save_batch(locked, actor, "Excel导入：重新校验未通过")
                    return locked
                # New rows got their codes while being written: the preview records them.
                codes = {item.row: item.code for item in result.items}
                for line in result.preview:
                    line["code"] = codes.get(line["row"], line["code"])
            else:
                _write_plan(actor, result.plan, result.items, reason=reason)
            locked.status = ImportStatus.APPLIED
            locked.applied_at = timezone.now()
            locked.preview = result.preview
            _save_batch(locked, actor, reason)
            return locked
    except FileRejected as exc:
        return _record_failure(actor, batch, str(exc))
    except IntegrityError:
        # Another change got in between (a code taken meanwhile …): nothing was written.
        return _record_failure(actor, batch, "导入时数据已发生变化，未写入任何数据，请重新上传。")


def _record_failure(actor, batch: ImportBatch, message: str) -> ImportBatch:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        locked.status = ImportStatus.FAILED
        locked.errors = [row_error(None, "", message)]
        _save_batch(locked, actor, "Excel导入：导入失败")
    return locked


# --- pilots ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ImportedReport:
    """A new pilot's latest quarterly report, with its lateness (R2.3) as the report page
    counts it: days after `rules.quarterly_report_due` on which it was submitted."""

    year: int
    quarter: int
    progress: str
    due_date: dt.date
    days_late: int


@dataclass
class PilotRow:
    """One valid row: the pilot's values, and the pilot it updates (None: a new pilot)."""

    row: int
    code: str
    values: dict[str, Any]
    regions: list[Organisation]
    existing: Pilot | None = None
    changed: list[str] = field(default_factory=list)
    regions_changed: bool = False
    report: ImportedReport | None = None


_FIELD_LABELS = {value: label for value, label in ReformField.choices}
_LEAD_KINDS = (OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.OFFICE)
_REGION_KINDS = (OrgKind.PREFECTURE, OrgKind.COUNTY)
_TEXT_LIMITS = {
    C_NAME: Pilot._meta.get_field("name").max_length,
    C_BODY: Pilot._meta.get_field("implementing_body").max_length,
    C_DOC: Pilot._meta.get_field("approval_doc_number").max_length,
}
# The pilot's fields a ledger row sets, with their columns (for the preview's changes).
_PILOT_FIELDS = {
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
_CODE_RE = re.compile(rf"^{re.escape(settings.PILOT_CODE_PREFIX)}-(\d{{4}})-(\d{{4,6}})$")


def _existing_pilots(codes: list[str], *, lock: bool) -> dict[str, Pilot]:
    """The pilots with these codes, with what a ledger row shows (`import_region_ids`,
    `import_milestones`: their regions and live milestones' dates), looked up — and, when
    applying, locked — a chunk of codes at a time: three queries per chunk."""
    found: dict[str, Pilot] = {}
    through = Pilot.regions.through
    for start in range(0, len(codes), LOOKUP_CHUNK):
        chunk = codes[start : start + LOOKUP_CHUNK]
        qs = annotate_ledger(Pilot.objects.filter(code__in=chunk)).prefetch_related(None)
        if lock:
            qs = qs.select_for_update(of=("self",))
        pilots = {p.pk: p for p in qs}
        for pilot in pilots.values():
            pilot.import_region_ids, pilot.import_milestones = set(), []
        links = through.objects.filter(pilot_id__in=pilots).values_list(
            "pilot_id", "organisation_id"
        )
        for pilot_id, org_id in links:
            pilots[pilot_id].import_region_ids.add(org_id)
        dates = Milestone.objects.filter(pilot_id__in=pilots, is_removed=False).values_list(
            "pilot_id", "due_date"
        )
        for pilot_id, due in dates:
            pilots[pilot_id].import_milestones.append(due)
        found.update((p.code, p) for p in pilots.values())
    return found


def validate_pilot_workbook(data: bytes, *, filename: str = "", lock: bool = False) -> _Result:
    """Every row of a ledger workbook checked; `items` holds a PilotRow per valid row."""
    rows = read_sheet(data)
    header, columns = locate_header(rows, PILOT_HEADERS, PILOT_REQUIRED_HEADERS, C_NAME)
    body = list(_data_rows(rows, header))
    if len(body) > MAX_ROWS:
        raise FileRejected(f"行数过多：一次最多导入 {MAX_ROWS} 行。")
    result = _Result(rows=len(body))
    if not body:
        result.error(None, "", "文件中没有数据行。")
        return result

    def value(cells: list, header_name: str) -> Any:
        col = columns.get(header_name)
        return cells[col] if col is not None and col < len(cells) else ""

    codes = [cell_text(value(cells, C_CODE)) for _n, cells in body]
    existing = _existing_pilots(sorted({c for c in codes if c}), lock=lock)
    directory = Directory.load()
    today = timezone.localdate()
    first_row_of: dict[str, int] = {}

    for (number, cells), code in zip(body, codes, strict=True):
        checker = _PilotRowChecker(number, cells, value, directory, today)
        if code:
            if code in first_row_of:
                checker.fail(C_CODE, f"与第{first_row_of[code]}行的试点编号重复。")
            else:
                first_row_of[code] = number
        parsed = checker.check(code, existing.get(code))
        result.errors.extend(checker.errors)
        result.preview.append(checker.preview(parsed))
        if parsed is not None and not checker.errors:
            result.items.append(parsed)
    return result


class _PilotRowChecker:
    """Checks one ledger row, collecting every error of the row (not only the first)."""

    def __init__(self, number: int, cells: list, value, directory: Directory, today: dt.date):
        self.number = number
        self.cells = cells
        self._value = value
        self.directory = directory
        self.today = today
        self.errors: list[dict] = []
        self.notes: list[str] = []
        self.code = ""
        self.existing: Pilot | None = None

    def fail(self, column: str, message: str) -> None:
        self.errors.append(row_error(self.number, column, message))

    def text(self, column: str, *, required: bool = True) -> str:
        text = cell_text(self._value(self.cells, column))
        if required and not text:
            self.fail(column, f"请填写{column}。")
        limit = _TEXT_LIMITS.get(column)
        if limit and len(text) > limit:
            self.fail(column, f"不能超过{limit}个字（现有{len(text)}个）。")
        return text

    def date(self, column: str, *, required: bool = True) -> dt.date | None:
        try:
            day = cell_date(self._value(self.cells, column))
        except CellError as exc:
            self.fail(column, str(exc))
            return None
        if day is None and required:
            self.fail(column, f"请填写{column}。")
        return day

    def choice(self, column: str, choices: type, allowed=None) -> str | None:
        text = self.text(column)
        if not text:
            return None
        try:
            return _choice(text, choices, allowed)
        except CellError as exc:
            self.fail(column, str(exc))
            return None

    def check(self, code: str, existing: Pilot | None) -> PilotRow | None:
        self.code, self.existing = code, existing
        if code and existing is None and not _CODE_RE.match(code):
            self.fail(
                C_CODE, "试点编号格式不正确，应为“ST-2026-0001”；新增试点可留空，导入时自动编号。"
            )
        if existing is not None and existing.status not in LEDGER_STATES:
            self.fail(
                C_CODE,
                f"该试点当前为「{existing.get_status_display()}」，不在台账中，不能通过台账导入修改。",
            )
        values: dict[str, Any] = {
            "name": self.text(C_NAME),
            "field": self.choice(C_FIELD, ReformField),
            "kind": self.choice(C_KIND, PilotKind),
            "origin": self.choice(C_ORIGIN, Origin),
            "implementing_body": self.text(C_BODY),
            "start_date": self.date(C_START),
            "end_date": self.date(C_END),
            "approval_doc_number": self.text(C_DOC),
            "approval_date": self.date(C_APPROVED),
            "ledger_since": self.date(C_SINCE, required=False),
        }
        values["status"] = self._status()
        values["lead_department"] = self._lead()
        regions = self._regions()
        self._tier(values["origin"])
        self._doc_number(values["approval_doc_number"])
        self._dates(values)
        report = self._report()
        changed: list[str] = []
        regions_changed = False
        if existing is not None and existing.status in LEDGER_STATES:
            changed = [
                name
                for name, new in values.items()
                if new is not None and getattr(existing, name) != new
            ]
            regions_changed = {r.pk for r in regions} != existing.import_region_ids
            if changed or regions_changed:
                self._check_correction(values, changed, regions if regions_changed else None)
        if self.errors:
            return None
        parsed = PilotRow(
            row=self.number, code=code, values=values, regions=regions, existing=existing
        )
        if existing is None:
            parsed.report = report
            self.notes.append(
                "试点目标、范围、责任主体、推进措施、预期成果等未在台账中，导入后请在试点页面补充。"
            )
        else:
            parsed.changed, parsed.regions_changed = changed, regions_changed
        return parsed

    def _check_correction(
        self, values: dict, changed: list[str], regions: list[Organisation] | None
    ) -> None:
        """An existing pilot's changes are checked by the domain function that writes them
        (an end date later than the approved one is an extension, R2.4; the lead department
        and the ledger date are not corrected), so the preview refuses what apply would."""
        from pilots.services import ledger_correction_errors

        errors = ledger_correction_errors(
            pilot=self.existing,
            data={name: values[name] for name in changed},
            regions=regions,
            today=self.today,
            region_ids=self.existing.import_region_ids,
            milestone_dates=self.existing.import_milestones,
        )
        for name, messages in errors.items():
            for message in messages:
                self.fail(_FIELD_COLUMNS.get(name, ""), message)

    def _status(self) -> str | None:
        text = self.text(C_STATUS)
        if not text:
            return None
        if self.existing is not None:
            status = self.existing.status
            if _key(text) not in (_key(str(Status(status).label)), _key(status)):
                self.fail(
                    C_STATUS,
                    f"状态变更须通过备案、销号或延期流程办理，不能通过导入修改"
                    f"（系统中为「{self.existing.get_status_display()}」）。",
                )
            return status
        try:
            return _choice(text, Status, sorted(LEDGER_STATES))
        except CellError:
            labels = "、".join(str(Status(s).label) for s in sorted(LEDGER_STATES))
            self.fail(C_STATUS, f"台账中的试点状态只能为：{labels}。")
            return None

    def _lead(self) -> Organisation | None:
        text = self.text(C_LEAD)
        if not text:
            return None
        try:
            keep = [self.existing.lead_department_id] if self.existing else []
            return self.directory.find(text, _LEAD_KINDS, keep=keep)
        except CellError as exc:
            self.fail(C_LEAD, str(exc))
            return None

    def _regions(self) -> list[Organisation]:
        regions = []
        for name in split_units(self.text(C_REGIONS, required=False)):
            try:
                keep = self.existing.import_region_ids if self.existing else ()
                regions.append(self.directory.find(name, _REGION_KINDS, keep=keep))
            except CellError as exc:
                self.fail(C_REGIONS, str(exc))
        return regions

    def _tier(self, origin: str | None) -> None:
        text = self.text(C_TIER, required=False)
        if text and origin:
            tier = Tier(rules.managing_tier(origin))
            if _key(text) not in (_key(str(tier.label)), _key(tier.value)):
                self.fail(C_TIER, f"与试点来源不一致：应为「{tier.label}」（第二条第（一）项）。")

    def _doc_number(self, doc: str) -> None:
        if doc:
            try:
                validate_doc_number(doc)
            except ValidationError as exc:
                self.fail(C_DOC, exc.messages[0])

    def _dates(self, values: dict) -> None:
        if self.existing is not None:
            return  # an existing pilot's changes are checked by its domain function
        start, end, kind = values["start_date"], values["end_date"], values["kind"]
        approved, since = values["approval_date"], values["ledger_since"]
        if start and end and kind:
            milestones: list[dt.date] = []
            try:
                rules.validate_term(kind=kind, start=start, end=end, milestone_dates=milestones)
            except ValidationError as exc:
                for key, messages in exc.message_dict.items():
                    for message in messages:
                        if key == "__all__" and not milestones:
                            # The ledger has no milestones column: say what is missing.
                            self.notes.append(
                                message.replace("请至少填写一个节点。", "导入后请补充时间节点。")
                            )
                        else:
                            self.fail(C_START if key == "start_date" else C_END, message)
        if approved and approved > self.today:
            self.fail(C_APPROVED, "批复日期不能晚于今天。")
        if since:
            if since > self.today:
                self.fail(C_SINCE, "列入台账日期不能晚于今天。")
            elif approved and since < approved:
                self.fail(C_SINCE, "列入台账日期不能早于批复日期（先批复、后备案列入台账）。")

    def _report(self) -> ImportedReport | None:
        quarter_text = self.text(C_QUARTER, required=False)
        progress = cell_text(self._value(self.cells, C_PROGRESS))
        submitted = self.date(C_REPORTED, required=False)
        quarter = None
        if quarter_text:
            m = _QUARTER.match(_key(quarter_text))
            if m is None:
                self.fail(C_QUARTER, "季度格式不正确，应为“2026年第1季度”。")
                return None
            year = int(m.group(1) or m.group(3))
            q = m.group(2) or m.group(4)
            quarter = (year, _CN_DIGITS.get(q) or int(q))
            if quarter > rules.quarter_of(self.today):
                self.fail(C_QUARTER, "不能晚于本季度。")
                return None
        if self.existing is not None:
            e = self.existing
            current = (e.latest_year, e.latest_quarter) if e.latest_year else None
            if current != quarter or (e.latest_progress or "") != progress:
                self.fail(
                    C_PROGRESS,
                    "季度进展须通过季度进展报送填报，不能通过导入修改（与系统中的最新进展不一致）。",
                )
            return None
        if quarter and not progress:
            self.fail(C_PROGRESS, "填写了最新进展季度，请同时填写最新进展。")
        elif progress and not quarter:
            self.fail(C_QUARTER, "填写了最新进展，请同时填写其所属季度。")
        if submitted and not (quarter and progress):
            self.fail(C_REPORTED, "填写了进展报送日期，请同时填写最新进展季度和最新进展。")
        if not (quarter and progress):
            return None
        return self._lateness(quarter[0], quarter[1], progress, submitted)

    def _lateness(
        self, year: int, quarter: int, progress: str, submitted: dt.date | None
    ) -> ImportedReport | None:
        """R2.3: the report's days late, counted as the report page counts them (the days
        after `rules.quarterly_report_due` on which it came in), from its submitted date —
        or, when the row has none, from today, the day it reaches the registry."""
        due = rules.quarterly_report_due(year, quarter)
        if submitted is not None:
            if submitted > self.today:
                self.fail(C_REPORTED, "进展报送日期不能晚于今天。")
                return None
            if submitted <= rules.quarter_end(year, quarter):
                self.fail(
                    C_REPORTED,
                    f"进展报送日期须在该季度结束之后（{year}年第{quarter}季度止于"
                    f"{rules.format_cn_date(rules.quarter_end(year, quarter))}）。",
                )
                return None
        days_late = max(0, ((submitted or self.today) - due).days)
        if days_late:
            self.notes.append(
                f"最新进展逾期{days_late}天报送（应于{rules.format_cn_date(due)}前报送，"
                "第二条第（三）项）"
                + ("" if submitted else "；未填写进展报送日期，按导入当日计")
                + "。"
            )
        return ImportedReport(year, quarter, progress, due, days_late)

    def preview(self, parsed: PilotRow | None) -> dict:
        name = cell_text(self._value(self.cells, C_NAME))
        if parsed is None or self.errors:
            action = "error"
        elif parsed.existing is None:
            action = "create"
        elif parsed.changed or parsed.regions_changed:
            action = "update"
        else:
            action = "unchanged"
        changes = []
        if parsed is not None and parsed.existing is not None:
            changes = [_PILOT_FIELDS[f] for f in parsed.changed]
            if parsed.regions_changed:
                changes.append(C_REGIONS)
        return {
            "row": self.number,
            "action": action,
            "code": self.code,
            "name": name,
            "lead": cell_text(self._value(self.cells, C_LEAD)),
            "status": cell_text(self._value(self.cells, C_STATUS)),
            "changes": changes,
            "notes": self.notes,
        }


def _assign_codes(rows: list[PilotRow]) -> None:
    """Codes for the new pilots: their own, and for rows without one the next free codes of
    their approval year. Each year's CodeSequence (row locked) is moved past every code used,
    so that `pilots.services.next_code` never hands one out again; codes some pilot already
    holds (pilots made outside the sequence) are skipped."""
    prefix = settings.PILOT_CODE_PREFIX
    highest: dict[int, int] = {}
    wanted: dict[int, list[PilotRow]] = {}
    for row in rows:
        if row.code:
            m = _CODE_RE.match(row.code)
            year, serial = int(m.group(1)), int(m.group(2))
            highest[year] = max(highest.get(year, 0), serial)
        else:
            year = (row.values["approval_date"] or timezone.localdate()).year
            wanted.setdefault(year, []).append(row)
    in_file = {row.code for row in rows if row.code}
    for year in sorted(highest.keys() | wanted.keys()):
        CodeSequence.objects.get_or_create(year=year)
        seq = CodeSequence.objects.select_for_update().get(year=year)
        last = max(seq.last, highest.get(year, 0))
        if year in wanted:
            taken = in_file | set(
                Pilot.objects.filter(code__startswith=f"{prefix}-{year}-").values_list(
                    "code", flat=True
                )
            )
            for row in wanted[year]:
                last += 1
                while f"{prefix}-{year}-{last:04d}" in taken:
                    last += 1
                row.code = f"{prefix}-{year}-{last:04d}"
        if last != seq.last:
            seq.last = last
            seq.save(update_fields=["last"])


def _write_pilots(actor, rows: list[PilotRow], *, reason: str) -> None:
    """Create and update the pilots of valid rows (inside apply_import's transaction).

    New pilots are written in bulk, each with its creation record (by the actor, with the
    batch's reason) and the snapshot of its regions on that record, as simple-history keeps
    it for a save through the ORM. An existing pilot is changed only through the domain
    function the office's corrections go through (`pilots.services.correct_ledger_pilot`),
    which checks the change again and writes it to history with the batch's reason; rows it
    refuses are raised together as RowsRefused."""
    from pilots.services import correct_ledger_pilot

    new = [row for row in rows if row.existing is None]
    if new:
        _assign_codes(new)
        pilots = bulk_create_with_history(
            [
                Pilot(code=row.code, applicant=row.values["lead_department"], **row.values)
                for row in new
            ],
            Pilot,
            batch_size=LOOKUP_CHUNK,
            default_user=actor,
            default_change_reason=reason,
        )
        _write_regions(pilots, [row.regions for row in new])
        reports = [
            QuarterlyReport(
                pilot=pilot,
                year=row.report.year,
                quarter=row.report.quarter,
                progress=row.report.progress,
                due_date=row.report.due_date,
                days_late=row.report.days_late,
                organisation=pilot.lead_department,
                submitted_by=actor,
            )
            for row, pilot in zip(new, pilots, strict=True)
            if row.report
        ]
        if reports:
            bulk_create_with_history(
                reports,
                QuarterlyReport,
                batch_size=LOOKUP_CHUNK,
                default_user=actor,
                default_change_reason=reason,
            )
        pilot_ids = [p.pk for p in pilots]
        transaction.on_commit(lambda: _reindex(pilot_ids))
        from pilots import overlap  # R1.3 on import: flag once the reindex above has run

        overlap.check_ids_on_commit(pilot_ids)
    refused: list[dict] = []
    for row in rows:
        if row.existing is None or not (row.changed or row.regions_changed):
            continue
        try:
            correct_ledger_pilot(
                actor=actor,
                pilot=row.existing,
                data={name: row.values[name] for name in row.changed},
                regions=row.regions if row.regions_changed else None,
                reason=reason,
            )
        except ValidationError as exc:
            refused.extend(_domain_errors(row.row, exc))
    if refused:
        raise RowsRefused(refused)


# The columns of a domain function's fields, for its errors.
_FIELD_COLUMNS = {**_PILOT_FIELDS, "regions": C_REGIONS}


def _domain_errors(row: int, exc: ValidationError) -> list[dict]:
    """A domain function's ValidationError as the row's errors, each under its column."""
    if not hasattr(exc, "error_dict"):
        return [row_error(row, "", message) for message in exc.messages]
    return [
        row_error(row, _FIELD_COLUMNS.get(name, ""), message)
        for name, messages in exc.message_dict.items()
        for message in messages
    ]


def _write_regions(pilots: list[Pilot], regions: list[list[Organisation]]) -> None:
    """The new pilots' regions as bulk through rows, and their snapshot on each pilot's
    creation record (bulk rows send no m2m signal for simple-history to catch)."""
    through = Pilot.regions.through
    links = through.objects.bulk_create(
        [
            through(pilot_id=pilot.pk, organisation_id=org.pk)
            for pilot, orgs in zip(pilots, regions, strict=True)
            for org in orgs
        ],
        batch_size=LOOKUP_CHUNK * 2,
    )
    if not links:
        return
    historical = Pilot.history.model
    snapshot = apps.get_model("pilots", f"{historical.__name__}_regions")
    history_ids: dict[int, int] = {}
    ids = [p.pk for p in pilots]
    for start in range(0, len(ids), LOOKUP_CHUNK):
        history_ids.update(
            historical.objects.filter(
                id__in=ids[start : start + LOOKUP_CHUNK], history_type="+"
            ).values_list("id", "history_id")
        )
    snapshot.objects.bulk_create(
        [
            snapshot(
                history_id=history_ids[link.pilot_id],
                id=link.pk,
                pilot_id=link.pilot_id,
                organisation_id=link.organisation_id,
            )
            for link in links
        ],
        batch_size=LOOKUP_CHUNK * 2,
    )


# Indexing one pilot costs about as much as rebuilding the index for this many pilots
# (measured: index_pilot about 17 ms a pilot, overlap.reindex_all about 0.5 ms a pilot).
REINDEX_COST_RATIO = 35


def _reindex(pilot_ids: list[int]) -> None:
    """Keep the overlap index (R1.3) in step with the imported pilots' text, after commit:
    one by one in a single transaction for a few, else by the set-based rebuild when that is
    cheaper (a large import)."""
    from pilots import overlap

    if len(pilot_ids) * REINDEX_COST_RATIO > Pilot.objects.count():
        overlap.reindex_all()
        return
    with transaction.atomic():
        for pilot in Pilot.objects.filter(pk__in=pilot_ids).only(
            "pk", "name", "goal", "measures", "scope", "kind", "origin"
        ):
            overlap.index_pilot(pilot)


# --- reform plans ----------------------------------------------------------------------------


@dataclass
class PlanTaskRow:
    row: int
    number: int
    text: str
    lead: Organisation
    co_leads: list[Organisation]
    units: list[Organisation]
    others: list[str]


@dataclass
class PlanItemRow:
    row: int
    area: str
    number: int
    title: str
    description: str
    tasks: list[PlanTaskRow] = field(default_factory=list)


def area_of(text: str) -> str:
    """One of the eight areas (ReformField) from a cell: its label or value, or a heading
    that contains its label ("健全自然资源资产产权制度")."""
    key = _key(text)
    for value, label in ReformField.choices:
        if key in (_key(str(label)), value):
            return value
    contained = [
        (len(label), value) for value, label in ReformField.choices if _key(str(label)) in key
    ]
    if contained:
        return max(contained)[1]
    labels = "、".join(str(label) for label in ReformField.labels)
    raise CellError(f"“{text}”对应不到八项制度中的任一项（{labels}）。")


def _plan_info(data: bytes, filename: str, result: _Result) -> dict[str, Any]:
    """The plan's name, region, issuer and year from the sheet 方案信息 (the name defaults to
    the file's name)."""
    info: dict[str, Any] = {"name": "", "region": "", "issued_by": "", "year": None}
    rows = read_optional_sheet(data, PLAN_INFO_SHEET) or []
    labels = {label: name for name, label in PLAN_INFO_FIELDS.items()}
    for row in rows:
        if len(row) < 2:
            continue
        name = labels.get(_header_key(row[0]))
        if name is None:
            continue
        text = cell_text(row[1])
        if name == "year" and text:
            if not text.isdigit() or not 1949 <= int(text) <= 2100:
                result.error(None, f"{PLAN_INFO_SHEET}·年度", "年度应为四位数字，如“2018”。")
                continue
            info["year"] = int(text)
        else:
            info[name] = text
    if not info["name"]:
        info["name"] = PurePath(filename).stem
    limits = {f: ReformPlan._meta.get_field(f).max_length for f in ("name", "region", "issued_by")}
    for name, limit in limits.items():
        if len(info[name]) > limit:
            result.error(
                None, f"{PLAN_INFO_SHEET}·{PLAN_INFO_FIELDS[name]}", f"不能超过{limit}个字。"
            )
    if (
        info["name"]
        and ReformPlan.objects.filter(name=info["name"], region=info["region"]).exists()
    ):
        result.error(None, "", f"方案「{info['name']}」已经导入过，不能重复导入。")
    return info


def validate_plan_workbook(data: bytes, *, filename: str = "", lock: bool = False) -> _Result:
    """Every row of a plan workbook checked; `items` holds the plan's items with their tasks
    when every row is valid, `plan` its name, region, issuer and year."""
    result = _Result()
    result.plan = _plan_info(data, filename, result)
    rows = read_sheet(data, PLAN_SHEET)
    header, columns = locate_header(
        rows, PLAN_HEADERS, [P_AREA, P_NUMBER, P_TITLE, P_TASK, P_LEAD], P_TASK
    )
    body = list(_data_rows(rows, header))
    result.rows = len(body)
    if len(body) > MAX_ROWS:
        raise FileRejected(f"行数过多：一次最多导入 {MAX_ROWS} 行。")
    if not body:
        result.error(None, "", "文件中没有数据行。")
        return result
    directory = Directory.load()
    region = result.plan["region"]
    unknown: dict[str, None] = {}
    items: dict[int, PlanItemRow] = {}
    current: PlanItemRow | None = None
    area = ""
    title_limit = PlanItem._meta.get_field("title").max_length

    def text(cells: list, column: str) -> str:
        col = columns.get(column)
        return cell_text(cells[col]) if col is not None and col < len(cells) else ""

    for number, cells in body:
        errors_before = len(result.errors)
        area_text, number_text = text(cells, P_AREA), text(cells, P_NUMBER)
        # An empty area, number or title continues the row above (as merged cells read).
        if area_text:
            try:
                area = area_of(area_text)
            except CellError as exc:
                result.error(number, P_AREA, str(exc))
        elif not area:
            result.error(number, P_AREA, "请填写领域。")
        item = current
        if number_text:
            item_number = _item_number(number_text)
            if item_number is None:
                result.error(number, P_NUMBER, "序号应为正整数，如“1”。")
                item = None
            else:
                title = text(cells, P_TITLE)
                description = text(cells, P_DESCRIPTION)
                item = items.get(item_number)
                if item is None:
                    if not title:
                        result.error(number, P_TITLE, "请填写改革事项。")
                    elif len(title) > title_limit:
                        result.error(number, P_TITLE, f"不能超过{title_limit}个字。")
                    item = PlanItemRow(number, area, item_number, title, description)
                    items[item_number] = item
                elif (title and title != item.title) or (area_text and area != item.area):
                    result.error(
                        number, P_TITLE, f"序号{item_number}的改革事项与第{item.row}行不一致。"
                    )
                elif description and not item.description:
                    item.description = description
        elif item is None:
            result.error(number, P_NUMBER, "请填写序号。")
        current = item

        task_text = _TASK_NUMBER.sub("", text(cells, P_TASK))
        if not task_text:
            result.error(number, P_TASK, "请填写主要任务。")
        leads = _plan_units(text(cells, P_LEAD), P_LEAD, number, directory, region, result, unknown)
        units = _plan_units(
            text(cells, P_UNITS), P_UNITS, number, directory, region, result, unknown
        )
        lead_names = split_units(text(cells, P_LEAD))
        if not lead_names:
            result.error(number, P_LEAD, "请填写牵头单位。")
        if len(result.errors) == errors_before and item is not None:
            lead_orgs, _ = leads
            unit_orgs, others = units
            lead_ids = {o.pk for o in lead_orgs}
            item.tasks.append(
                PlanTaskRow(
                    row=number,
                    number=len(item.tasks) + 1,
                    text=task_text,
                    lead=lead_orgs[0],
                    co_leads=lead_orgs[1:],
                    units=[o for o in unit_orgs if o.pk not in lead_ids],
                    others=others,
                )
            )
        result.preview.append(
            {
                "row": number,
                "action": "error" if len(result.errors) > errors_before else "create",
                "area": str(_FIELD_LABELS.get(area, "")),
                "number": number_text or (str(item.number) if item else ""),
                "title": item.title if item else text(cells, P_TITLE),
                "task": task_text,
                "lead": "、".join(lead_names),
                "units": len(split_units(text(cells, P_UNITS))),
            }
        )
    if unknown:
        result.errors.insert(
            0,
            row_error(
                None,
                "",
                f"以下 {len(unknown)} 个单位在单位名录中未找到，请先在单位名录中添加，"
                f"或改用名录中的全称或简称：{'、'.join(unknown)}。",
            ),
        )
    if not result.errors:
        result.items = sorted(items.values(), key=lambda i: i.number)
    return result


def _item_number(text: str) -> int | None:
    text = text.rstrip(".．、")
    return int(text) if text.isdigit() and 0 < int(text) < 10_000 else None


def _plan_units(
    cell: str,
    column: str,
    row: int,
    directory: Directory,
    region: str,
    result: _Result,
    unknown: dict[str, None],
) -> tuple[list[Organisation], list[str]]:
    """The units of a 牵头单位 or 参加单位 cell, each once; collective mentions ("各相关单位")
    apart. Each unknown unit is an error of this row and column."""
    orgs: list[Organisation] = []
    others: list[str] = []
    seen: set[int] = set()
    for name in split_units(cell):
        if name.startswith(_COLLECTIVE):
            if column == P_LEAD:
                result.error(row, column, f"牵头单位须为具体单位，「{name}」不是。")
            else:
                others.append(
                    unicodedata.normalize("NFKC", name).replace("(", "（").replace(")", "）")
                )
            continue
        try:
            org = directory.find(name, region=region)
        except UnknownUnit as exc:
            result.error(row, column, str(exc))
            unknown.setdefault(name, None)
            continue
        except CellError as exc:
            result.error(row, column, str(exc))
            continue
        if org.pk not in seen:
            seen.add(org.pk)
            orgs.append(org)
    return orgs, others


def _write_plan(
    actor, info: dict[str, Any], items: list[PlanItemRow], *, reason: str = IMPORT_REASON
) -> ReformPlan:
    """The plan, its items and their tasks (inside apply_import's transaction)."""

    def save(obj) -> None:
        obj._history_user = actor
        obj._change_reason = reason
        obj.save()

    plan = ReformPlan(
        name=info["name"],
        region=info["region"],
        issued_by=info["issued_by"],
        year=info["year"],
        created_by=actor,
    )
    save(plan)
    for item_row in items:
        item = PlanItem(
            plan=plan,
            area=item_row.area,
            number=item_row.number,
            title=item_row.title,
            description=item_row.description,
        )
        save(item)
        for task_row in item_row.tasks:
            task = PlanTask(
                item=item,
                number=task_row.number,
                text=task_row.text,
                lead_unit=task_row.lead,
                other_participants="、".join(task_row.others)[:200],
            )
            save(task)
            if task_row.co_leads:
                task.co_lead_units.set(task_row.co_leads)
            if task_row.units:
                task.participating_units.set(task_row.units)
    return plan
