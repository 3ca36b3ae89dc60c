"""One streaming spreadsheet writer for every export of the registry.

`write_workbook` writes a single-sheet .xlsx by hand: the sheet's XML is produced row by row
and deflated straight into the ZIP container (into `out`, or a buffer), so memory stays flat
whatever the number of rows and no temporary file is made. It writes what the registry's
exports need and nothing more: a bold, frozen, filterable header row that repeats on every
printed page; fixed column widths; dates and date-times as real date cells (sortable and
filterable in Excel and WPS); long text wrapped; A4 landscape, fitted to the page width.

Cells are written as inline strings (no shared-string table, which would have to be held in
memory until the end); Excel, WPS, LibreOffice, openpyxl and calamine all read them. The
writer is several times faster than openpyxl's write-only mode — bench/excel_bench.py measures
both on the ledger's 100,000-row export.

Text that users typed is never evaluated as a formula: a value starting with = + - @ (or a
tab or carriage return) is written with a leading single quote (OWASP's advice against
formula injection), control characters that the xlsx format forbids are dropped, and text
longer than a cell holds is cut. The writer never writes a formula element at all.
"""

from __future__ import annotations

import datetime as dt
import io
import math
import re
import unicodedata
import zipfile
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import IO, Any
from xml.sax.saxutils import quoteattr

from django.utils import timezone

XLSX_CONTENT_TYPE = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"

# Dates print as in official documents (2026年3月31日), in every workbook the product writes.
DATE_FORMAT_CN = 'yyyy"年"m"月"d"日"'
DATETIME_FORMAT_CN = 'yyyy"年"m"月"d"日" hh:mm'
DATE_FORMAT = DATE_FORMAT_CN
DATETIME_FORMAT = DATETIME_FORMAT_CN

# A column at least this wide wraps its text instead of running over its neighbours.
WRAP_WIDTH = 30
MIN_WIDTH, MAX_WIDTH = 8, 80
# Excel keeps at most this many characters in one cell.
MAX_CELL_CHARS = 32_767
# Excel's sheet limits.
MAX_ROWS, MAX_COLUMNS = 1_048_576, 16_384
# Characters that make Excel or WPS read a cell as a formula (or DDE command).
FORMULA_TRIGGERS = ("=", "+", "-", "@", "\t", "\r")
# Characters XML 1.0 (and so the xlsx format) does not allow in text.
ILLEGAL_CHARACTERS_RE = re.compile(r"[\000-\010\013\014\016-\037\ufffe\uffff]")
# Deflate level of the ZIP entries. On the ledger's 100,000 rows (125 MB of sheet XML) level 6
# takes 1.7 s and gives 11.3 MB, level 1 takes 0.6 s and gives 15.3 MB: the smaller download
# is worth the second.
COMPRESS_LEVEL = 6
# Rows of XML gathered before one write into the ZIP stream.
_CHUNK_ROWS = 256

_SHEET_TITLE_FORBIDDEN = re.compile(r"[\[\]:*?/\\]")
# Day 0 of Excel's 1900 date system (serial 1 is 1900-01-01; 1900-02-29 never existed, so
# serials from 61 on, i.e. from 1900-03-01, count from 1899-12-30).
_EPOCH_ORDINAL = dt.date(1899, 12, 30).toordinal()
_FIRST_SAFE_SERIAL = 61
_WHITESPACE = (" ", "\n", "\t", "\r", "\u3000")


def safe_text(value: str) -> str:
    """User text as a literal cell value: never a formula, no forbidden characters."""
    value = ILLEGAL_CHARACTERS_RE.sub("", value)
    if value.startswith(FORMULA_TRIGGERS):
        value = "'" + value
    return value[:MAX_CELL_CHARS]


def display_width(text: str) -> int:
    """Width of `text` in Excel's column units: a Chinese character takes two."""
    return sum(2 if unicodedata.east_asian_width(ch) in "WF" else 1 for ch in text)


def clean_sheet_title(title: str) -> str:
    """A title Excel accepts: no []:*?/\\ and at most 31 characters."""
    title = _SHEET_TITLE_FORBIDDEN.sub(" ", title).strip().strip("'")
    return title[:31] or "Sheet1"


def column_letter(index: int) -> str:
    """Excel's name of the 1-based column `index`: 1 → A, 27 → AA."""
    if not 1 <= index <= MAX_COLUMNS:
        raise ValueError(f"column {index} is outside 1–{MAX_COLUMNS}")
    letters = ""
    while index:
        index, rest = divmod(index - 1, 26)
        letters = chr(65 + rest) + letters
    return letters


def _widths(headers: Sequence[str], widths: Sequence[float] | None) -> list[float]:
    if widths is None:
        widths = [display_width(h) + 4 for h in headers]
    if len(widths) != len(headers):
        raise ValueError(f"{len(headers)} headers but {len(widths)} widths")
    return [min(max(w, MIN_WIDTH), MAX_WIDTH) for w in widths]


def write_workbook(
    sheet_title: str,
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    widths: Sequence[float] | None = None,
    *,
    out: IO[bytes] | None = None,
    date_format: str = DATE_FORMAT,
    datetime_format: str = DATETIME_FORMAT,
) -> bytes | None:
    """Write one sheet: `headers`, then each of `rows` (any iterable, consumed once).

    Cell values: None is an empty cell; numbers and booleans stay numbers; a date becomes a
    date cell in `date_format`; a datetime (aware ones in the local time zone) a date-time
    cell; anything else becomes text, neutralised by `safe_text`. `widths` are Excel column
    widths (a Chinese character is about 2); without them each column fits its header.

    Returns the .xlsx file as bytes, or writes it to `out` (a binary file-like, such as an
    HttpResponse or an open file; it need not be seekable) and returns None. The file is
    streamed: if a row fails (a row wider than the headers, an error while producing rows),
    the error propagates and `out` holds an unfinished file that must be discarded.
    """
    if not headers:
        raise ValueError("a sheet needs at least one column")
    if len(headers) > MAX_COLUMNS:
        raise ValueError(f"a sheet holds at most {MAX_COLUMNS} columns")
    title = clean_sheet_title(sheet_title)
    col_widths = _widths(headers, widths)
    buffer = io.BytesIO() if out is None else None
    target = out if out is not None else buffer
    styles = _Styles(date_format, datetime_format)
    with zipfile.ZipFile(
        target, "w", compression=zipfile.ZIP_DEFLATED, compresslevel=COMPRESS_LEVEL
    ) as archive:
        for name, text in _static_parts(styles):
            archive.writestr(name, text)
        with archive.open("xl/worksheets/sheet1.xml", "w") as sheet:
            count = _write_sheet(sheet, headers, rows, col_widths, styles)
        archive.writestr("xl/workbook.xml", _workbook_xml(title, len(headers), count))
    if buffer is not None:
        return buffer.getvalue()
    return None


# --- styles -------------------------------------------------------------------------------

# Cell formats (the `s` attribute) in the order of <cellXfs> below.
_XF_HEADER = 1
# Body formats: 2 + 2 * kind + wrap, kind 0 = general, 1 = date, 2 = date-time.
_XF_BODY = 2
_KIND_GENERAL, _KIND_DATE, _KIND_DATETIME = 0, 1, 2


class _Styles:
    """The few cell formats an export uses: a bold shaded header with a rule beneath, and body
    cells aligned to the top, maybe wrapped, maybe in the date or date-time format."""

    def __init__(self, date_format: str, datetime_format: str):
        self.date_format = date_format
        self.datetime_format = datetime_format

    @staticmethod
    def body(kind: int, wrap: bool) -> int:
        return _XF_BODY + 2 * kind + int(wrap)

    def xml(self) -> str:
        formats = [self.date_format, self.datetime_format]
        num_fmts = "".join(
            f"<numFmt numFmtId={quoteattr(str(164 + i))} formatCode={quoteattr(code)}/>"
            for i, code in enumerate(formats)
        )
        body = []
        for num_fmt in (0, 164, 165):
            for wrap in (False, True):
                wrap_attr = ' wrapText="1"' if wrap else ""
                apply_num = ' applyNumberFormat="1"' if num_fmt else ""
                body.append(
                    f'<xf numFmtId="{num_fmt}" fontId="0" fillId="0" borderId="0" xfId="0"'
                    f'{apply_num} applyAlignment="1">'
                    f'<alignment vertical="top"{wrap_attr}/></xf>'
                )
        return (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<styleSheet xmlns="{_NS_MAIN}">'
            f'<numFmts count="2">{num_fmts}</numFmts>'
            '<fonts count="2">'
            '<font><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            '<font><b/><sz val="11"/><name val="Calibri"/><family val="2"/></font>'
            "</fonts>"
            '<fills count="3">'
            '<fill><patternFill patternType="none"/></fill>'
            '<fill><patternFill patternType="gray125"/></fill>'
            '<fill><patternFill patternType="solid"><fgColor rgb="FFE7ECF2"/>'
            '<bgColor indexed="64"/></patternFill></fill>'
            "</fills>"
            '<borders count="2">'
            "<border><left/><right/><top/><bottom/><diagonal/></border>"
            '<border><left/><right/><top/><bottom style="thin"><color rgb="FF7F8C9A"/>'
            "</bottom><diagonal/></border>"
            "</borders>"
            '<cellStyleXfs count="1">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0"/>'
            "</cellStyleXfs>"
            f'<cellXfs count="{2 + len(body)}">'
            '<xf numFmtId="0" fontId="0" fillId="0" borderId="0" xfId="0"/>'
            '<xf numFmtId="0" fontId="1" fillId="2" borderId="1" xfId="0" applyFont="1"'
            ' applyFill="1" applyBorder="1" applyAlignment="1">'
            '<alignment horizontal="center" vertical="center" wrapText="1"/></xf>'
            f"{''.join(body)}"
            "</cellXfs>"
            '<cellStyles count="1"><cellStyle name="Normal" xfId="0" builtinId="0"/>'
            "</cellStyles>"
            "</styleSheet>"
        )


# --- package parts ------------------------------------------------------------------------

_NS_MAIN = "http://schemas.openxmlformats.org/spreadsheetml/2006/main"
_NS_REL = "http://schemas.openxmlformats.org/officeDocument/2006/relationships"
_NS_PKG_REL = "http://schemas.openxmlformats.org/package/2006/relationships"
_CT_MAIN = "application/vnd.openxmlformats-officedocument.spreadsheetml"


def _static_parts(styles: _Styles) -> list[tuple[str, str]]:
    header = '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
    content_types = (
        f"{header}"
        '<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
        '<Default Extension="rels" ContentType="application/vnd.openxmlformats-package.'
        'relationships+xml"/>'
        '<Default Extension="xml" ContentType="application/xml"/>'
        f'<Override PartName="/xl/workbook.xml" ContentType="{_CT_MAIN}.sheet.main+xml"/>'
        '<Override PartName="/xl/worksheets/sheet1.xml"'
        f' ContentType="{_CT_MAIN}.worksheet+xml"/>'
        f'<Override PartName="/xl/styles.xml" ContentType="{_CT_MAIN}.styles+xml"/>'
        '<Override PartName="/docProps/app.xml" ContentType="application/vnd.'
        'openxmlformats-officedocument.extended-properties+xml"/>'
        "</Types>"
    )
    root_rels = (
        f'{header}<Relationships xmlns="{_NS_PKG_REL}">'
        '<Relationship Id="rId1" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/officeDocument" Target="xl/workbook.xml"/>'
        '<Relationship Id="rId2" Type="http://schemas.openxmlformats.org/officeDocument/2006/'
        'relationships/extended-properties" Target="docProps/app.xml"/>'
        "</Relationships>"
    )
    app = (
        f"{header}"
        '<Properties xmlns="http://schemas.openxmlformats.org/officeDocument/2006/'
        'extended-properties"><Application>改革试点台账</Application></Properties>'
    )
    workbook_rels = (
        f'{header}<Relationships xmlns="{_NS_PKG_REL}">'
        f'<Relationship Id="rId1" Type="{_NS_REL}/worksheet" Target="worksheets/sheet1.xml"/>'
        f'<Relationship Id="rId2" Type="{_NS_REL}/styles" Target="styles.xml"/>'
        "</Relationships>"
    )
    return [
        ("[Content_Types].xml", content_types),
        ("_rels/.rels", root_rels),
        ("docProps/app.xml", app),
        ("xl/_rels/workbook.xml.rels", workbook_rels),
        ("xl/styles.xml", styles.xml()),
    ]


def _workbook_xml(title: str, columns: int, rows: int) -> str:
    """The workbook part, written last: the filter's range needs the number of rows."""
    quoted = "'" + title.replace("'", "''") + "'"
    last = column_letter(columns)
    return (
        '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
        f'<workbook xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
        "<workbookPr/>"
        '<bookViews><workbookView activeTab="0"/></bookViews>'
        f'<sheets><sheet name={quoteattr(title)} sheetId="1" r:id="rId1"/></sheets>'
        "<definedNames>"
        '<definedName name="_xlnm._FilterDatabase" localSheetId="0" hidden="1">'
        f"{_escape(quoted)}!$A$1:${last}${rows + 1}</definedName>"
        '<definedName name="_xlnm.Print_Titles" localSheetId="0">'
        f"{_escape(quoted)}!$1:$1</definedName>"
        "</definedNames>"
        "</workbook>"
    )


# --- the sheet ----------------------------------------------------------------------------


def _escape(text: str) -> str:
    if "&" in text:
        text = text.replace("&", "&amp;")
    if "<" in text:
        text = text.replace("<", "&lt;")
    if ">" in text:
        text = text.replace(">", "&gt;")
    if "\r" in text:
        # A bare carriage return would be normalised away by the XML parser.
        text = text.replace("\r", "&#13;")
    return text


def _write_sheet(
    sheet: IO[bytes],
    headers: Sequence[str],
    rows: Iterable[Sequence[Any]],
    col_widths: list[float],
    styles: _Styles,
) -> int:
    """Stream the worksheet part; returns the number of body rows written."""
    ncols = len(headers)
    letters = [column_letter(i) for i in range(1, ncols + 1)]
    cols = "".join(
        f'<col min="{i}" max="{i}" width="{w:g}" customWidth="1"/>'
        for i, w in enumerate(col_widths, start=1)
    )
    head = "".join(
        f'<c r="{letters[i]}1" s="{_XF_HEADER}" t="inlineStr"><is>{_text_xml(safe_text(str(h)))}'
        "</is></c>"
        for i, h in enumerate(headers)
    )
    sheet.write(
        (
            '<?xml version="1.0" encoding="UTF-8" standalone="yes"?>\n'
            f'<worksheet xmlns="{_NS_MAIN}" xmlns:r="{_NS_REL}">'
            '<sheetPr><pageSetUpPr fitToPage="1"/></sheetPr>'
            '<sheetViews><sheetView tabSelected="1" workbookViewId="0">'
            '<pane ySplit="1" topLeftCell="A2" activePane="bottomLeft" state="frozen"/>'
            '<selection pane="bottomLeft" activeCell="A2" sqref="A2"/>'
            "</sheetView></sheetViews>"
            '<sheetFormatPr defaultRowHeight="15"/>'
            f"<cols>{cols}</cols>"
            f'<sheetData><row r="1">{head}</row>'
        ).encode()
    )

    wraps = [w >= WRAP_WIDTH for w in col_widths]
    # Per column: the style of a text/number cell, of a date cell, of a date-time cell.
    general = [styles.body(_KIND_GENERAL, wrap) for wrap in wraps]
    dates = [styles.body(_KIND_DATE, wrap) for wrap in wraps]
    datetimes = [styles.body(_KIND_DATETIME, wrap) for wrap in wraps]
    str_, date_, datetime_, int_, float_, bool_ = str, dt.date, dt.datetime, int, float, bool

    count = 0
    chunk: list[str] = []
    for row in rows:
        if len(row) > ncols:
            raise ValueError(f"row has {len(row)} values, the sheet has {ncols} columns")
        count += 1
        if count >= MAX_ROWS:
            raise ValueError(f"a sheet holds at most {MAX_ROWS - 1} rows below its header")
        r = count + 1
        cells = [f'<row r="{r}">']
        for i, value in enumerate(row):
            if value is None:
                continue
            kind = type(value)
            if kind is str_:
                if not value:
                    continue
                if not value.isprintable() or value.startswith(FORMULA_TRIGGERS):
                    value = safe_text(value)
                    if not value:
                        continue
                elif len(value) > MAX_CELL_CHARS:
                    value = value[:MAX_CELL_CHARS]
                cells.append(
                    f'<c r="{letters[i]}{r}" s="{general[i]}" t="inlineStr"><is>'
                    f"{_text_xml(value)}</is></c>"
                )
            elif kind is date_:
                serial = value.toordinal() - _EPOCH_ORDINAL
                if serial < _FIRST_SAFE_SERIAL:
                    cells.append(_inline(letters[i], r, general[i], value.isoformat()))
                else:
                    cells.append(f'<c r="{letters[i]}{r}" s="{dates[i]}"><v>{serial}</v></c>')
            elif kind is int_ or kind is float_ or isinstance(value, int_ | float_ | Decimal):
                if isinstance(value, bool_):
                    cells.append(
                        f'<c r="{letters[i]}{r}" s="{general[i]}" t="b"><v>{int(value)}</v></c>'
                    )
                elif not _finite(value):
                    cells.append(_inline(letters[i], r, general[i], str(value)))
                else:
                    number = repr(value) if isinstance(value, float_) else str(value)
                    cells.append(f'<c r="{letters[i]}{r}" s="{general[i]}"><v>{number}</v></c>')
            elif isinstance(value, datetime_):
                if timezone.is_aware(value):
                    value = timezone.localtime(value).replace(tzinfo=None)
                serial = value.toordinal() - _EPOCH_ORDINAL
                if serial < _FIRST_SAFE_SERIAL:
                    cells.append(_inline(letters[i], r, general[i], value.isoformat(" ")))
                    continue
                seconds = value.hour * 3600 + value.minute * 60 + value.second
                fraction = (seconds + value.microsecond / 1e6) / 86400
                cells.append(
                    f'<c r="{letters[i]}{r}" s="{datetimes[i]}"><v>{serial + fraction!r}</v></c>'
                )
            elif isinstance(value, date_):
                serial = value.toordinal() - _EPOCH_ORDINAL
                cells.append(f'<c r="{letters[i]}{r}" s="{dates[i]}"><v>{serial}</v></c>')
            else:
                text = safe_text(str(value))
                if text:
                    cells.append(_inline(letters[i], r, general[i], text))
        cells.append("</row>")
        chunk.append("".join(cells))
        if len(chunk) >= _CHUNK_ROWS:
            sheet.write("".join(chunk).encode())
            chunk.clear()
    if chunk:
        sheet.write("".join(chunk).encode())

    sheet.write(
        (
            "</sheetData>"
            f'<autoFilter ref="A1:{letters[-1]}{count + 1}"/>'
            '<pageMargins left="0.5" right="0.5" top="0.75" bottom="0.75" header="0.3"'
            ' footer="0.3"/>'
            '<pageSetup paperSize="9" orientation="landscape" fitToWidth="1" fitToHeight="0"/>'
            "</worksheet>"
        ).encode()
    )
    return count


def _finite(number: int | float | Decimal) -> bool:
    if isinstance(number, float):
        return math.isfinite(number)
    if isinstance(number, Decimal):
        return number.is_finite()
    return True


def _text_xml(text: str) -> str:
    if not text:
        return "<t></t>"
    if text[0] in _WHITESPACE or text[-1] in _WHITESPACE:
        return f'<t xml:space="preserve">{_escape(text)}</t>'
    return f"<t>{_escape(text)}</t>"


def _inline(letter: str, r: int, style: int, text: str) -> str:
    return f'<c r="{letter}{r}" s="{style}" t="inlineStr"><is>{_text_xml(text)}</is></c>'
