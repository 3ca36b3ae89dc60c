"""Reading the upload: the checks a file passes before a parser opens it (size, a plain .xlsx
ZIP within limits, every entry inflating to what it declares), its sheets as python-calamine
reads them, and the header row located; a file that fails is refused as FileRejected."""

from __future__ import annotations

import io
import re
import zipfile
import zlib
from collections.abc import Iterable
from typing import Any

from django.conf import settings
from django.core.exceptions import ValidationError

from pilots.uploads import check_office_zip, sniff_kind

# At most this many data rows in one import, and this many columns in a sheet.
MAX_ROWS = 50_000
MAX_COLUMNS = 100
# The header row is looked for among the first rows (a title row may stand above it).
HEADER_SEARCH_ROWS = 10


class FileRejected(Exception):
    """The upload is not a workbook the import reads; the message says why, in Chinese."""


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


def header_key(value: Any) -> str:
    return re.sub(r"[\s*＊]+", "", str(value))


def locate_header(
    rows: list[list], headers: list[str], required: list[str], marker: str
) -> tuple[int, dict[str, int]]:
    """The header row (the first of the first rows that has `marker`) and header → column
    index. Missing required columns refuse the file; unknown columns are ignored."""
    for index, row in enumerate(rows[:HEADER_SEARCH_ROWS]):
        keys = [header_key(cell) for cell in row]
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


def data_rows(rows: list[list], header_index: int) -> Iterable[tuple[int, list]]:
    """(Excel row number, cells) of each non-empty row below the header."""
    for index in range(header_index + 1, len(rows)):
        cells = rows[index]
        if any(
            c != "" and c is not None and not (isinstance(c, str) and not c.strip()) for c in cells
        ):
            yield index + 1, cells
