"""Checks on uploaded attachments before anything stores or parses them.

Types are recognised by content, not by name: PDF by its header, DOCX and XLSX as ZIP
archives with the matching Office part and no macros, inside limits on entries and on the
declared uncompressed size (a ZIP bomb is refused before it is opened for reading).
"""

from __future__ import annotations

import zipfile

from django.conf import settings
from django.core.exceptions import ValidationError

MAX_ZIP_ENTRIES = 2000
MAX_UNCOMPRESSED = 200 * 1024 * 1024
MAX_RATIO = 200

OFFICE_MARKERS = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}


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
    if any(name.lower().endswith("vbaproject.bin") for name in names):
        raise ValidationError("不接受包含宏的文档，请另存为不含宏的格式后上传。")
    for kind, marker in OFFICE_MARKERS.items():
        if marker in names:
            return kind
    raise ValidationError("只接受 PDF、DOCX 或 XLSX 文件。")


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
        return "pdf"
    if kind == "zip":
        return check_office_zip(upload)
    raise ValidationError("只接受 PDF、DOCX 或 XLSX 文件。")


def checked_attachment(upload):
    """A form's clean_<file> helper: the upload, checked by validate_attachment, or None."""
    if upload:
        validate_attachment(upload)
    return upload
