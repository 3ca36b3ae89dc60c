"""A reform implementation plan published as plain text, turned into the spreadsheet layout
that the plan import reads (manage.py build_plan_fixture PLAN.txt [--out FILE]).

The text is the usual shape of a county's 生态文明体制改革实施方案: under "二、主要工作及分工
安排", eight areas "(一)健全自然资源资产产权制度" …, numbered reform items
"1.建立统一的确权登记系统。按照…" (title up to the first 。, then the description), each with
"主要任务:" — one task on the same line, or several numbered "(1)…", "(2)…" — and for each
task the lines "牵头单位:" and "参加单位:". Lines broken in the middle of a sentence are joined.

The output is ledger.imports' plan layout: sheet 改革任务 with one row per task (领域, 序号,
改革事项, 事项内容, 主要任务, 牵头单位, 参加单位 — the item's columns repeated on each of its
rows) and sheet 方案信息 (方案名称, 地区, 印发单位, 年度).

Text is copied as published, with two kinds of changes, both listed here:
- ASCII punctuation that web publishing left between Chinese characters (, : ; ( )) becomes
  the full-width form official texts use;
- obvious slips in the published text are corrected through `CORRECTIONS` (a typo'd label,
  a unit name split by a stray separator), so that the import matches them.

ledger/data/xinfu-reform-plan-2018.xlsx was built with this command from 忻府区生态文明体制
改革实施方案 (2018):

    manage.py build_plan_fixture xinfu-reform-plan-2018.txt --name 忻府区生态文明体制改革实施方案 \\
        --region 忻州市忻府区 --year 2018
"""

from __future__ import annotations

import datetime as dt
import io
import re
import zipfile
from dataclasses import dataclass, field
from pathlib import Path

from ledger.imports.plans import PLAN_HEADERS, PLAN_INFO_FIELDS, PLAN_INFO_SHEET, PLAN_SHEET

# The sample plan stays with the ledger, whose import page offers it for download.
DEFAULT_OUT = (
    Path(__file__).resolve().parents[1] / "ledger" / "data" / "xinfu-reform-plan-2018.xlsx"
)

SECTION_START = "主要工作及分工安排"
SECTION_END = "保障措施"
# Slips in published plans, corrected before parsing: (what the text says, what it means).
CORRECTIONS: tuple[tuple[str, str], ...] = (
    # A typo of the label 牵头单位 (item 26 of the Xinfu plan).
    ("率头单位:", "牵头单位:"),
    # One body (纪委监委, the discipline commission and supervisory commission working as one)
    # split by a stray 、 and a comma for the separator (item 36 of the Xinfu plan).
    ("区纪委、监委,区委组织部", "区纪委监委、区委组织部"),
)

_AREA_RE = re.compile(r"^[(（]([一二三四五六七八九十]+)[)）](.+)$")
_ITEM_RE = re.compile(r"^(\d+)[.．、](.+)$")
_TASK_RE = re.compile(r"^[(（](\d+)[)）](.+)$")
_LABEL_RE = re.compile(r"^(主要任务|牵头单位|参加单位)[:：](.*)$")
_CJK = r"\u3000-\u303f\u4e00-\u9fff\uff00-\uffef"
_PUNCT = {",": "，", ":": "：", ";": "；", "(": "（", ")": "）"}


@dataclass
class Task:
    number: int
    text: str
    lead: str = ""
    participants: str = ""


@dataclass
class Item:
    area: str
    number: int
    title: str
    description: str
    tasks: list[Task] = field(default_factory=list)


def full_width(text: str) -> str:
    """ASCII , : ; ( ) next to Chinese text in their full-width forms."""

    def swap(match: re.Match) -> str:
        return _PUNCT[match.group(0)]

    text = re.sub(rf"(?<=[{_CJK}\d])[,:;]|[,:;](?=[{_CJK}])", swap, text)
    return re.sub(rf"\((?=[{_CJK}\d])|(?<=[{_CJK}\d])\)", swap, text)


def parse_plan(text: str) -> list[Item]:
    """The reform items of a plan's text, with their tasks (see the module docstring)."""
    for wrong, right in CORRECTIONS:
        text = text.replace(wrong, right)
    lines = [line.strip() for line in text.splitlines()]
    try:
        start = next(i for i, line in enumerate(lines) if SECTION_START in line)
        end = next(i for i, line in enumerate(lines) if i > start and SECTION_END in line)
    except StopIteration as exc:
        raise ValueError(f"找不到“{SECTION_START}”至“{SECTION_END}”部分。") from exc

    items: list[Item] = []
    area = ""
    # What a line that starts with no marker continues: "item", "task" or None.
    open_part: str | None = None
    in_tasks = False
    for lineno, line in enumerate(lines[start + 1 : end], start=start + 2):
        if not line:
            continue
        if m := _AREA_RE.match(line):
            area, open_part, in_tasks = m.group(2).strip(), None, False
            continue
        if m := _LABEL_RE.match(line):
            label, rest = m.group(1), m.group(2).strip()
            if not items:
                raise ValueError(f"第{lineno}行：“{label}”之前没有改革事项。")
            item = items[-1]
            if label == "主要任务":
                in_tasks = True
                if rest:
                    item.tasks.append(Task(number=1, text=rest))
                    open_part = "task"
                else:
                    open_part = None
                continue
            if not item.tasks:
                raise ValueError(f"第{lineno}行：“{label}”之前没有主要任务。")
            task = item.tasks[-1]
            if label == "牵头单位":
                task.lead = rest
            else:
                task.participants = rest
            open_part = None
            continue
        if in_tasks and (m := _TASK_RE.match(line)):
            item = items[-1]
            item.tasks.append(Task(number=len(item.tasks) + 1, text=m.group(2).strip()))
            open_part = "task"
            continue
        if m := _ITEM_RE.match(line):
            if not area:
                raise ValueError(f"第{lineno}行：改革事项之前没有领域标题。")
            title, _sep, description = m.group(2).partition("。")
            items.append(
                Item(area=area, number=int(m.group(1)), title=title, description=description)
            )
            open_part, in_tasks = "item", False
            continue
        # A line without a marker: the rest of a broken line, or the only task of an item
        # whose "主要任务:" stands alone on its line.
        if open_part == "item":
            items[-1].description += line
        elif open_part == "task":
            items[-1].tasks[-1].text += line
        elif in_tasks and not items[-1].tasks:
            items[-1].tasks.append(Task(number=1, text=line))
            open_part = "task"
        else:
            raise ValueError(f"第{lineno}行无法识别：{line[:40]}")

    for item in items:
        if not item.tasks:
            raise ValueError(f"改革事项 {item.number} 没有主要任务。")
        for task in item.tasks:
            if not task.lead:
                raise ValueError(f"改革事项 {item.number} 的任务 {task.number} 没有牵头单位。")
    numbers = [item.number for item in items]
    if numbers != list(range(1, len(items) + 1)):
        raise ValueError(f"改革事项序号不连续：{numbers}")
    return items


def plan_rows(items: list[Item]) -> list[list]:
    """One row per task in the columns of PLAN_HEADERS."""
    return [
        [
            full_width(item.area),
            item.number,
            full_width(item.title),
            full_width(item.description),
            full_width(task.text),
            full_width(task.lead),
            full_width(task.participants),
        ]
        for item in items
        for task in item.tasks
    ]


def write_plan_workbook(path: Path, rows: list[list], info: dict[str, object]) -> None:
    """The plan layout: sheet 改革任务 (the rows) and sheet 方案信息 (name, region, …)."""
    from openpyxl import Workbook
    from openpyxl.styles import Alignment, Font

    wb = Workbook()
    ws = wb.active
    ws.title = PLAN_SHEET
    ws.append(PLAN_HEADERS)
    for row in rows:
        ws.append(row)
    for cell in ws[1]:
        cell.font = Font(bold=True)
    for letter, width in zip("ABCDEFG", (28, 6, 30, 60, 60, 24, 60), strict=True):
        ws.column_dimensions[letter].width = width
    for row in ws.iter_rows(min_row=2):
        for cell in row:
            cell.alignment = Alignment(vertical="top", wrap_text=True)
    ws.freeze_panes = "A2"
    info_ws = wb.create_sheet(PLAN_INFO_SHEET)
    for label in PLAN_INFO_FIELDS.values():
        info_ws.append([label, info.get(label) or None])
    info_ws.column_dimensions["A"].width = 12
    info_ws.column_dimensions["B"].width = 40
    # A fixed timestamp, so that building twice gives the same file.
    stamp = dt.datetime(2018, 6, 28)  # noqa: DTZ001 - openpyxl takes naive times as UTC
    wb.properties.created = wb.properties.modified = stamp
    wb.properties.creator = "改革试点台账"
    buffer = io.BytesIO()
    wb.save(buffer)
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_reproducible(buffer.getvalue(), stamp))


def _reproducible(data: bytes, stamp: dt.datetime) -> bytes:
    """The same workbook with every ZIP entry dated `stamp` (openpyxl dates them now), and
    the document's modification time too, so that the committed file changes only when its
    content does."""
    out = io.BytesIO()
    iso = stamp.strftime("%Y-%m-%dT%H:%M:%SZ")
    with zipfile.ZipFile(io.BytesIO(data)) as src, zipfile.ZipFile(out, "w") as dst:
        for info in src.infolist():
            content = src.read(info.filename)
            if info.filename == "docProps/core.xml":
                content = re.sub(
                    rb"(<dcterms:modified[^>]*>)[^<]*(</dcterms:modified>)",
                    rb"\g<1>" + iso.encode() + rb"\g<2>",
                    content,
                )
            entry = zipfile.ZipInfo(info.filename, date_time=stamp.timetuple()[:6])
            entry.compress_type = zipfile.ZIP_DEFLATED
            dst.writestr(entry, content)
    return out.getvalue()
