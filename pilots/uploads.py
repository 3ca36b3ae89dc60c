"""Checks on uploaded attachments before anything stores or parses them.

Types are recognised by content, not by name: PDF by its header and end-of-file marker (a
truncated upload is refused), DOCX and XLSX as ZIP archives with the matching Office part and
no macros, inside limits on entries and on the declared uncompressed size (a ZIP bomb is
refused before it is opened for reading), with no XML entity or DOCTYPE declaration in their
parts (an XML bomb is refused before any parser sees it). The name must be a plain file name
whose extension matches the content.
"""

from __future__ import annotations

import re
import unicodedata
import zipfile
import zlib

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ZIP_ENTRIES = 2000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200

OFFICE_MARKERS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}
EXTENSIONS = {"pdf": {".pdf"}, "docx": {".docx"}, "xlsx": {".xlsx"}}
MAX_NAME = 150
# How much of each XML part is read to look for DTD declarations (they come first).
XML_HEAD = 4096
_DTD = re.compile(rb"<!(DOCTYPE|ENTITY)", re.IGNORECASE)


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
            names = {info.filename for info in infos}
    except zipfile.BadZipFile as exc:
        raise ValidationError("文件已损坏或不是有效的 Office 文档。") from exc
    finally:
        upload.seek(0)
    _refuse_xml_declarations(upload, names)
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise ValidationError("不接受包含宏的文档，请另存为不含宏的格式后上传。")
    for kind, marker in OFFICE_MARKERS.items():
        if marker in names:
            return kind
    raise ValidationError("只接受 PDF、DOCX 或 XLSX 文件。")


def _refuse_xml_declarations(upload, names) -> None:
    try:
        with zipfile.ZipFile(upload) as archive:
            for name in names:
                if name.lower().endswith((".xml", ".rels", ".vml")):
                    with archive.open(name) as part:
                        if _DTD.search(part.read(XML_HEAD)):
                            raise ValidationError(
                                "文件含有不允许的 XML 声明（DOCTYPE/ENTITY），已拒绝。"
                            )
    except (
        zipfile.BadZipFile,
        zlib.error,
        RuntimeError,
        NotImplementedError,
        OSError,
        EOFError,
        ValueError,
    ) as exc:
        raise ValidationError("文件已损坏或不是有效的 Office 文档。") from exc
    finally:
        upload.seek(0)


def _check_pdf_complete(upload) -> None:
    """A PDF ends with %%EOF (possibly followed by a few line breaks)."""
    upload.seek(max(0, upload.size - 1024))
    tail = upload.read()
    upload.seek(0)
    if b"%%EOF" not in tail:
        raise ValidationError("PDF 文件不完整（可能上传中断或文件已损坏），请重新上传。")


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
        _check_pdf_complete(upload)
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
