"""What every import step reports: the errors (each with its row and column, in Chinese),
what a workbook's validation gives back, and the reason an applied batch's changes carry in
history."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

IMPORT_REASON = "Excel导入"


def batch_reason(batch_pk: int) -> str:
    """The reason every change of an applied batch carries in history: "Excel导入（批次#12）",
    so that each changed field can be traced to the batch (and its file) that made it."""
    return f"{IMPORT_REASON}（批次#{batch_pk}）"


# At most this many errors are listed.
MAX_ERRORS = 2_000


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
class Result:
    rows: int = 0
    errors: list[dict] = field(default_factory=list)
    preview: list[dict] = field(default_factory=list)
    # What apply writes, per kind.
    items: list[Any] = field(default_factory=list)
    plan: dict[str, Any] = field(default_factory=dict)

    def error(self, row: int | None, column: str, message: str) -> None:
        self.errors.append(row_error(row, column, message))


def capped(errors: list[dict]) -> list[dict]:
    if len(errors) <= MAX_ERRORS:
        return errors
    rest = len(errors) - MAX_ERRORS
    return [*errors[:MAX_ERRORS], row_error(None, "", f"另有 {rest} 处错误未列出。")]
