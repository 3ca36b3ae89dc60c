"""Reform implementation plans (ReformPlan, PlanItem, PlanTask) from a workbook: its layout,
every row checked with its units matched against the directory, and the plan written."""

from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from pathlib import PurePath
from typing import Any

from accounts.models import Organisation
from core.history import save_with_history
from ledger.imports.cells import CellError, UnknownUnit, cell_text, name_key, split_units
from ledger.imports.directory import Directory
from ledger.imports.files import (
    MAX_ROWS,
    FileRejected,
    data_rows,
    header_key,
    locate_header,
    read_optional_sheet,
    read_sheet,
)
from ledger.imports.results import IMPORT_REASON, Result, row_error
from ledger.models import PlanItem, PlanTask, ReformPlan
from pilots.constants import ReformField

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

# A collective mention that names no unit: 各乡镇（办）, 各相关单位.
_COLLECTIVE = "各"
# A task's own number before its text: （1）, (2).
_TASK_NUMBER = re.compile(r"^[(（]\s*\d+\s*[)）]\s*")
# The areas' labels, for the preview.
_FIELD_LABELS = {value: label for value, label in ReformField.choices}


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
    key = name_key(text)
    for value, label in ReformField.choices:
        if key in (name_key(str(label)), value):
            return value
    contained = [
        (len(label), value) for value, label in ReformField.choices if name_key(str(label)) in key
    ]
    if contained:
        return max(contained)[1]
    labels = "、".join(str(label) for label in ReformField.labels)
    raise CellError(f"“{text}”对应不到八项制度中的任一项（{labels}）。")


def _plan_info(data: bytes, filename: str, result: Result) -> dict[str, Any]:
    """The plan's name, region, issuer and year from the sheet 方案信息 (the name defaults to
    the file's name)."""
    info: dict[str, Any] = {"name": "", "region": "", "issued_by": "", "year": None}
    rows = read_optional_sheet(data, PLAN_INFO_SHEET) or []
    labels = {label: name for name, label in PLAN_INFO_FIELDS.items()}
    for row in rows:
        if len(row) < 2:
            continue
        name = labels.get(header_key(row[0]))
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


def validate_plan_workbook(data: bytes, *, filename: str = "", lock: bool = False) -> Result:
    """Every row of a plan workbook checked; `items` holds the plan's items with their tasks
    when every row is valid, `plan` its name, region, issuer and year."""
    result = Result()
    result.plan = _plan_info(data, filename, result)
    rows = read_sheet(data, PLAN_SHEET)
    header, columns = locate_header(
        rows, PLAN_HEADERS, [P_AREA, P_NUMBER, P_TITLE, P_TASK, P_LEAD], P_TASK
    )
    body = list(data_rows(rows, header))
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
    result: Result,
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


def write_plan(
    actor, info: dict[str, Any], items: list[PlanItemRow], *, reason: str = IMPORT_REASON
) -> ReformPlan:
    """The plan, its items and their tasks (inside apply_import's transaction)."""
    plan = ReformPlan(
        name=info["name"],
        region=info["region"],
        issued_by=info["issued_by"],
        year=info["year"],
        created_by=actor,
    )
    save_with_history(plan, actor=actor, reason=reason)
    for item_row in items:
        item = PlanItem(
            plan=plan,
            area=item_row.area,
            number=item_row.number,
            title=item_row.title,
            description=item_row.description,
        )
        save_with_history(item, actor=actor, reason=reason)
        for task_row in item_row.tasks:
            task = PlanTask(
                item=item,
                number=task_row.number,
                text=task_row.text,
                lead_unit=task_row.lead,
                other_participants="、".join(task_row.others)[:200],
            )
            save_with_history(task, actor=actor, reason=reason)
            if task_row.co_leads:
                task.co_lead_units.set(task_row.co_leads)
            if task_row.units:
                task.participating_units.set(task_row.units)
    return plan
