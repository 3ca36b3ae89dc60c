"""Checks on uploaded attachments before anything stores or parses them.

Types are recognised by content, not by name.

A PDF must look like one: the header at the start, at least one object, a cross-reference
section or stream (or its trailer) and the end-of-file marker near the end (a truncated
upload is refused); a page of HTML behind a %PDF header is not one. A PDF that carries
JavaScript, automatic actions (/OpenAction, /AA), launch actions, embedded files or rich
media is refused, whether the name is written plainly, with #xx escapes (/J#61vaScript) or
inside a compressed object stream.

DOCX and XLSX are ZIP archives with the matching Office part, inside limits on entries and
on the declared uncompressed size (a ZIP bomb is refused before it is opened for reading).
Every entry is then read whole, whatever its name, size or encoding: no XML DOCTYPE or
ENTITY declaration anywhere (UTF-8, UTF-16 and UTF-32 alike; an XML bomb or external
entity is refused before any parser sees it), no XML part in an encoding other than
UTF-8/UTF-16 (ECMA-376 allows no other, and UTF-7 or EBCDIC would hide a declaration), no
macros whatever they are called (a vbaProject.bin part anywhere, a macro-enabled or VBA
content type in [Content_Types].xml, any part that is an OLE compound file). The name must
be a plain file name whose extension matches the content.
"""

from __future__ import annotations

import codecs
import re
import unicodedata
import zipfile
import zlib
from collections.abc import Iterator

import defusedxml.ElementTree as SafeET
from defusedxml import DefusedXmlException
from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ZIP_ENTRIES = 2000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200

OFFICE_MARKERS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
EXTENSIONS = {"pdf": {".pdf"}, "docx": {".docx"}, "xlsx": {".xlsx"}}
MAX_NAME = 150
# Parts are read in chunks of this size; a declaration split between two chunks is found in
# the overlap kept from the previous one (the longest pattern, in UTF-32, is 36 bytes).
CHUNK = 1 << 20
OVERLAP = 64
# [Content_Types].xml is parsed; no real one is near this size.
MAX_CONTENT_TYPES = 1024 * 1024
# An OLE compound file (a VBA project, an old .doc/.xls, an embedded object) starts so.
OLE_SIGNATURE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1"
# ECMA-376 Part 2, 8.1.4: XML parts are UTF-8 or UTF-16 (ASCII is a subset of UTF-8).
XML_ENCODINGS = {"utf-8", "utf-16", "utf-16-le", "utf-16-be", "ascii"}

MSG_DAMAGED = "文件已损坏或不是有效的 Office 文档。"
MSG_DTD = "文件含有不允许的 XML 声明（DOCTYPE/ENTITY），已拒绝。"
MSG_ENCODING = "文件中的 XML 部件使用了不允许的字符编码（只接受 UTF-8 或 UTF-16），已拒绝。"
MSG_MACRO = "不接受包含宏的文档，请另存为不含宏的格式后上传。"
MSG_OLE = "不接受包含宏或嵌入对象（OLE）的文档，请另存为不含宏的格式并删除嵌入对象后上传。"
MSG_DUPLICATE = "文件中有重名的条目，结构异常，已拒绝。"


def _dtd_pattern() -> re.Pattern[bytes]:
    """<!DOCTYPE or <!ENTITY, in any letter case, as UTF-8 (and every ASCII-compatible
    encoding), UTF-16 and UTF-32 of either byte order write them."""
    alternatives = []
    for encoding in ("ascii", "utf-16-le", "utf-16-be", "utf-32-le", "utf-32-be"):
        for word in ("<!DOCTYPE", "<!ENTITY"):
            parts = []
            for ch in word:
                forms = sorted({ch.lower(), ch.upper()})
                parts.append(
                    b"(?:" + b"|".join(re.escape(f.encode(encoding)) for f in forms) + b")"
                )
            alternatives.append(b"".join(parts))
    return re.compile(b"|".join(alternatives))


_DTD = _dtd_pattern()
_XML_DECLARATION = re.compile(r"^\s*<\?xml[^>]*?encoding\s*=\s*[\"']([^\"']*)[\"']")


def sniff_kind(upload) -> str | None:
    upload.seek(0)
    head = upload.read(8)
    upload.seek(0)
    if head.startswith(b"%PDF-"):
        return "pdf"
    if head.startswith(b"PK\x03\x04"):
        return "zip"
    return None


def check_office_zip(upload) -> str:
    """Returns 'docx' or 'xlsx' for a safe Office file; raises ValidationError otherwise."""
    try:
        with zipfile.ZipFile(upload) as archive:
            infos = archive.infolist()
            if len(infos) > MAX_ZIP_ENTRIES:
                raise ValidationError("文件包含的条目过多，已拒绝。")
            declared = sum(info.file_size for info in infos)
            compressed = sum(info.compress_size for info in infos) or 1
            if declared > MAX_UNCOMPRESSED or declared / compressed > MAX_RATIO:
                raise ValidationError("文件解压后体积异常，已拒绝。")
            names = [info.filename for info in infos]
    except zipfile.BadZipFile as exc:
        raise ValidationError(MSG_DAMAGED) from exc
    finally:
        upload.seek(0)
    # Two entries of one name: one parser reads the first, another the last.
    if len({name.lower() for name in names}) != len(names):
        raise ValidationError(MSG_DUPLICATE)
    if any(name.rsplit("/", 1)[-1].lower().endswith("vbaproject.bin") for name in names):
        raise ValidationError(MSG_MACRO)
    _check_parts(upload)
    for kind, marker in OFFICE_MARKERS.items():
        if marker in names:
            return kind
    raise ValidationError("只接受 PDF、DOCX 或 XLSX 文件。")


def _check_parts(upload) -> None:
    """Read every entry whole: no DTD, no XML outside UTF-8/UTF-16, no OLE (macros,
    embedded objects), no macro content type; entries must inflate to what they declare."""
    try:
        with zipfile.ZipFile(upload) as archive:
            for info in archive.infolist():
                if info.is_dir():
                    continue
                with archive.open(info) as part:
                    _check_part(part)
                if info.filename.lower() == "[content_types].xml":
                    _check_content_types(archive, info)
    except ValidationError:
        raise
    except NotImplementedError as exc:
        raise ValidationError(
            "文件使用了不支持的压缩方式，请在 Office 或 WPS 中重新保存。"
        ) from exc
    except (
        zipfile.BadZipFile,
        zlib.error,
        RuntimeError,
        OSError,
        EOFError,
        ValueError,
    ) as exc:
        raise ValidationError(MSG_DAMAGED) from exc
    finally:
        upload.seek(0)


def _check_part(part) -> None:
    head = part.read(CHUNK)
    if head.startswith(OLE_SIGNATURE):
        raise ValidationError(MSG_OLE)
    _check_xml_encoding(head)
    tail = b""
    chunk = head
    while chunk:
        window = tail + chunk
        if _DTD.search(window):
            raise ValidationError(MSG_DTD)
        tail = window[-OVERLAP:]
        chunk = part.read(CHUNK)


def _xml_encoding_of(head: bytes) -> str | None:
    """How an XML parser would read a part that starts so (the autodetection of the XML
    specification, appendix F): by its byte-order mark or the first characters."""
    if head.startswith((codecs.BOM_UTF32_LE, codecs.BOM_UTF32_BE)):
        return "utf-32"
    if head.startswith(codecs.BOM_UTF8):
        return "utf-8"
    if head.startswith((codecs.BOM_UTF16_LE, codecs.BOM_UTF16_BE)):
        return "utf-16"
    if head.startswith((b"<\0\0\0", b"\0\0\0<")):
        return "utf-32"
    if head.startswith(b"<\0?\0"):
        return "utf-16-le"
    if head.startswith(b"\0<\0?"):
        return "utf-16-be"
    if head.startswith(b"\x4c\x6f\xa7\x94"):  # "<?xm" in EBCDIC
        return "ebcdic"
    return None


def _check_xml_encoding(head: bytes) -> None:
    detected = _xml_encoding_of(head)
    if detected in ("utf-32", "ebcdic"):
        raise ValidationError(MSG_ENCODING)
    text = head[:1024].decode(detected or "utf-8", errors="ignore").lstrip("\ufeff")
    match = _XML_DECLARATION.match(text)
    if not match:
        return
    try:
        declared = codecs.lookup(match[1]).name
    except LookupError:
        declared = match[1].lower()
    if declared not in XML_ENCODINGS:
        raise ValidationError(MSG_ENCODING)


def _check_content_types(archive: zipfile.ZipFile, info: zipfile.ZipInfo) -> None:
    """A macro-enabled document declares itself in [Content_Types].xml, whatever its parts
    are called. Parsed with defusedxml: no DTD, no entity, no external reference."""
    if info.file_size > MAX_CONTENT_TYPES:
        raise ValidationError(MSG_DAMAGED)
    try:
        root = SafeET.fromstring(archive.read(info), forbid_dtd=True)
    except DefusedXmlException as exc:
        raise ValidationError(MSG_DTD) from exc
    except SafeET.ParseError as exc:
        raise ValidationError(MSG_DAMAGED) from exc
    for element in root.iter():
        content_type = (element.get("ContentType") or "").lower()
        if "macroenabled" in content_type or "vbaproject" in content_type:
            raise ValidationError(MSG_MACRO)


# PDF names that run code or act by themselves: scripts, actions on opening a document or
# page, launching programs, files and rich media carried inside.
ACTIVE_PDF_NAMES = {
    b"JavaScript",
    b"JS",
    b"OpenAction",
    b"AA",
    b"Launch",
    b"EmbeddedFile",
    b"EmbeddedFiles",
    b"RichMedia",
}
# A name ends at white space or a delimiter (ISO 32000-1, 7.2.2).
_NAME_CHAR = rb"[^\x00\t\n\x0c\r ()<>\[\]{}/%]"
_ACTIVE_NAME = re.compile(
    rb"/(?:"
    + b"|".join(sorted(ACTIVE_PDF_NAMES, key=len, reverse=True))
    + rb")(?!"
    + _NAME_CHAR
    + rb")"
)
_ESCAPED_NAME = re.compile(rb"/" + _NAME_CHAR + rb"*#[0-9A-Fa-f]{2}" + _NAME_CHAR + rb"*")
_HEX = re.compile(rb"#([0-9A-Fa-f]{2})")
_PDF_OBJECT = re.compile(rb"\d+\s+\d+\s+obj\b")
_PDF_MARKUP = re.compile(rb"<\s*(?:html|script)\b", re.IGNORECASE)
_PDF_STREAM = re.compile(rb"(?<!end)stream(?:\r\n|\n|\r)")
# The inflated size of a PDF's compressed streams that is scanned for active names; beyond it
# the file is refused rather than let through unread.
MAX_PDF_INFLATED = 256 * 1024 * 1024

MSG_PDF_INCOMPLETE = "PDF 文件不完整（可能上传中断或文件已损坏），请重新上传。"
MSG_PDF_STRUCTURE = "文件不是有效的 PDF（缺少对象或交叉引用表），请重新导出为 PDF 后上传。"
MSG_PDF_MARKUP = "文件不是 PDF：内容是网页代码，已拒绝。"
MSG_PDF_ACTIVE = (
    "不接受含有脚本、自动动作、启动程序或嵌入文件的 PDF（JavaScript、OpenAction、Launch 等），"
    "请重新导出为普通 PDF 后上传。"
)
MSG_PDF_BOMB = "PDF 文件解压后体积异常，已拒绝。"


def _check_pdf(upload) -> None:
    """A complete, plausible PDF without active content."""
    upload.seek(0)
    data = upload.read()
    upload.seek(0)
    if b"%%EOF" not in data[-1024:]:
        raise ValidationError(MSG_PDF_INCOMPLETE)
    if _PDF_MARKUP.search(data):
        raise ValidationError(MSG_PDF_MARKUP)
    has_xref = b"xref" in data or b"trailer" in data  # a table, a stream, or startxref
    if not (_PDF_OBJECT.search(data) and b"endobj" in data and has_xref):
        raise ValidationError(MSG_PDF_STRUCTURE)
    if _has_active_name(data):
        raise ValidationError(MSG_PDF_ACTIVE)
    budget = MAX_PDF_INFLATED
    for inflated in _inflated_streams(data):
        budget -= len(inflated)
        if budget < 0:
            raise ValidationError(MSG_PDF_BOMB)
        if _has_active_name(inflated):
            raise ValidationError(MSG_PDF_ACTIVE)


def _has_active_name(data: bytes) -> bool:
    if _ACTIVE_NAME.search(data):
        return True
    if b"#" not in data:
        return False
    return any(
        _HEX.sub(lambda m: bytes([int(m[1], 16)]), name[1:]) in ACTIVE_PDF_NAMES
        for name in _ESCAPED_NAME.findall(data)
    )


def _inflated_streams(data: bytes) -> Iterator[bytes]:
    """The content of every Flate-compressed stream, in pieces with an overlap (object
    streams hide dictionaries, /OpenAction included, from a scan of the raw file)."""
    for match in _PDF_STREAM.finditer(data):
        start = match.end()
        end = data.find(b"endstream", start)
        if end < 0:
            end = len(data)
        inflater = zlib.decompressobj()
        pending = data[start:end]
        tail = b""
        try:
            while pending:
                piece = inflater.decompress(pending, CHUNK)
                pending = inflater.unconsumed_tail
                if not piece:
                    break
                yield tail + piece
                tail = piece[-OVERLAP:]
        except zlib.error:
            continue  # not Flate (an image, a font, plain text): nothing to inflate


def validate_filename(name: str, kind: str) -> None:
    """A plain file name (no path, no control or direction characters, not over-long) whose
    extension says what the content is."""
    if not name or len(name) > MAX_NAME:
        raise ValidationError(f"文件名为空或过长（不超过{MAX_NAME}个字符）。")
    if any(unicodedata.category(ch) in ("Cc", "Cf") for ch in name):
        raise ValidationError("文件名含有控制字符或方向控制字符，请改名后上传。")
    if "/" in name or "\\" in name or name.startswith("."):
        raise ValidationError("文件名不能含有路径。")
    suffix = "." + name.rsplit(".", 1)[-1].lower() if "." in name else ""
    if suffix not in EXTENSIONS[kind]:
        wanted = "/".join(sorted(EXTENSIONS[kind]))
        raise ValidationError(
            f"文件扩展名与内容不符：内容是 {kind.upper()}，请使用 {wanted} 扩展名。"
        )


def validate_attachment(upload) -> str:
    """Validate an uploaded attachment; returns its kind ('pdf', 'docx' or 'xlsx')."""
    if upload.size > settings.UPLOAD_MAX_BYTES:
        raise ValidationError(
            f"文件过大，不能超过 {settings.UPLOAD_MAX_BYTES // (1024 * 1024)} MB。"
        )
    if upload.size == 0:
        raise ValidationError("文件为空。")
    kind = sniff_kind(upload)
    if kind == "pdf":
        _check_pdf(upload)
    elif kind == "zip":
        kind = check_office_zip(upload)
    else:
        raise ValidationError("只接受 PDF、DOCX 或 XLSX 文件。")
    validate_filename(getattr(upload, "name", "") or "", kind)
    return kind


def checked_attachment(upload):
    """A form's clean_<file> helper: the upload, checked by validate_attachment, or None."""
    if upload:
        validate_attachment(upload)
    return upload
