"""A cell's value as the import uses it: text, a date, a choice from its Chinese label, the
names of several units in one cell; a value that cannot be used raises CellError."""

from __future__ import annotations

import datetime as dt
import re
import unicodedata
from collections.abc import Iterable
from typing import Any

from core.xlsx import FORMULA_TRIGGERS

# Separators of several units (or regions) in one cell.
_SEPARATORS = re.compile(r"[、，,；;\n/／]+")
# A date written as text: 2026-03-31, 2026/3/31, 2026年3月31日 (a midnight time allowed).
_DATE_TEXT = re.compile(
    r"^(\d{4})\s*(?:[-/.]|年)\s*(\d{1,2})\s*(?:[-/.]|月)\s*(\d{1,2})\s*日?"
    r"(?:\s+0?0:00(?::00)?)?$"
)


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


def name_key(text: str) -> str:
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


def choice_value(value: str, choices: type, allowed: Iterable[str] | None = None) -> str:
    """A choice's stored value from its Chinese label (or the value itself)."""
    allowed = list(allowed) if allowed is not None else list(choices.values)
    labels = {name_key(str(choices(v).label)): v for v in allowed}
    found = labels.get(name_key(value)) or (value if value in allowed else None)
    if found is None:
        options = "、".join(str(choices(v).label) for v in allowed)
        raise CellError(f"“{value}”不是可选项，应为：{options}。")
    return found
