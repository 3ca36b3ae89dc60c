"""The rows of a ledger workbook checked: each row's values, the pilot it updates (or a new
one) and its latest report, with every error of the row and the preview line it shows."""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

from django.core.exceptions import ValidationError
from django.utils import timezone

from accounts.constants import OrgKind
from accounts.models import Organisation
from core.dates import format_cn_quarter
from ledger.imports.cells import (
    CellError,
    cell_date,
    cell_text,
    choice_value,
    name_key,
    split_units,
)
from ledger.imports.directory import Directory
from ledger.imports.files import MAX_ROWS, FileRejected, data_rows, locate_header, read_sheet
from ledger.imports.pilot_columns import (
    C_APPROVED,
    C_BODY,
    C_CODE,
    C_DOC,
    C_END,
    C_FIELD,
    C_KIND,
    C_LEAD,
    C_NAME,
    C_ORIGIN,
    C_PROGRESS,
    C_QUARTER,
    C_REGIONS,
    C_REPORTED,
    C_SINCE,
    C_START,
    C_STATUS,
    C_TIER,
    FIELD_COLUMNS,
    PILOT_FIELDS,
    PILOT_HEADERS,
    PILOT_REQUIRED_HEADERS,
)
from ledger.imports.results import Result, row_error
from ledger.selectors import annotate_ledger
from pilots import rules
from pilots.codes import parse_code
from pilots.constants import LEDGER_STATES, Origin, PilotKind, ReformField, Status, Tier
from pilots.models import Milestone, Pilot
from pilots.validators import validate_doc_number

# Pilots are looked up and locked this many codes at a time.
LOOKUP_CHUNK = 500
# How often (in rows) the check reports its progress.
PROGRESS_EVERY = 500
# A quarter as written in 最新进展季度: 2026年第1季度, 2026Q1, 2026-Q1.
_QUARTER = re.compile(
    r"^(\d{4})\s*年?\s*第?\s*([1-4一二三四])\s*季度$|^(\d{4})\s*[-\s]?[Qq]([1-4])$"
)
_CN_DIGITS = {"一": 1, "二": 2, "三": 3, "四": 4}


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


_LEAD_KINDS = (OrgKind.DEPARTMENT, OrgKind.DIVISION, OrgKind.OFFICE)
_REGION_KINDS = (OrgKind.PREFECTURE, OrgKind.COUNTY)
_TEXT_LIMITS = {
    C_NAME: Pilot._meta.get_field("name").max_length,
    C_BODY: Pilot._meta.get_field("implementing_body").max_length,
    C_DOC: Pilot._meta.get_field("approval_doc_number").max_length,
}


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


def validate_pilot_workbook(
    data: bytes,
    *,
    filename: str = "",
    lock: bool = False,
    on_rows: Callable[[int], None] = lambda done: None,
) -> Result:
    """Every row of a ledger workbook checked; `items` holds a PilotRow per valid row.
    `on_rows(n)` is told every PROGRESS_EVERY rows how many are checked."""
    rows = read_sheet(data)
    header, columns = locate_header(rows, PILOT_HEADERS, PILOT_REQUIRED_HEADERS, C_NAME)
    body = list(data_rows(rows, header))
    if len(body) > MAX_ROWS:
        raise FileRejected(f"行数过多：一次最多导入 {MAX_ROWS} 行。")
    result = Result(rows=len(body))
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

    for done, ((number, cells), code) in enumerate(zip(body, codes, strict=True)):
        if done and done % PROGRESS_EVERY == 0:
            on_rows(done)
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
            return choice_value(text, choices, allowed)
        except CellError as exc:
            self.fail(column, str(exc))
            return None

    def check(self, code: str, existing: Pilot | None) -> PilotRow | None:
        self.code, self.existing = code, existing
        if code and existing is None and parse_code(code) is None:
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
                self.fail(FIELD_COLUMNS.get(name, ""), message)

    def _status(self) -> str | None:
        text = self.text(C_STATUS)
        if not text:
            return None
        if self.existing is not None:
            status = self.existing.status
            if name_key(text) not in (name_key(str(Status(status).label)), name_key(status)):
                self.fail(
                    C_STATUS,
                    f"状态变更须通过备案、销号或延期流程办理，不能通过导入修改"
                    f"（系统中为「{self.existing.get_status_display()}」）。",
                )
            return status
        try:
            return choice_value(text, Status, sorted(LEDGER_STATES))
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
            if name_key(text) not in (name_key(str(tier.label)), name_key(tier.value)):
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
            m = _QUARTER.match(name_key(quarter_text))
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
                    f"进展报送日期须在该季度结束之后（{format_cn_quarter(year, quarter)}止于"
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
            changes = [PILOT_FIELDS[f] for f in parsed.changed]
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
