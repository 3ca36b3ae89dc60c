"""Uploaded files are judged by their whole content: every part of an Office archive is read
for XML declarations (whatever its name, size or encoding) and macros (whatever they are
called); a PDF must have a PDF's structure and no active content. Each hostile file is
generated here and sent through the quarterly report page and the REST API: the page shows
the Chinese reason, the API answers 400 with it, and nothing is stored."""

from __future__ import annotations

import datetime as dt
import io
import struct
import zipfile
import zlib
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_token
from ledger.models import ImportBatch, QuarterlyReport

MSG_DTD = "不允许的 XML 声明"
MSG_ENCODING = "不允许的字符编码"
MSG_MACRO = "不接受包含宏的文档"
MSG_OLE = "嵌入对象（OLE）"
MSG_DAMAGED = "文件已损坏"
MSG_DUPLICATE = "重名的条目"
MSG_PDF_ACTIVE = "不接受含有脚本、自动动作"
MSG_PDF_STRUCTURE = "不是有效的 PDF"
MSG_PDF_MARKUP = "内容是网页代码"

CONTENT_TYPES = (
    b'<?xml version="1.0" encoding="UTF-8"?>'
    b'<Types xmlns="http://schemas.openxmlformats.org/package/2006/content-types">'
    b'<Default Extension="xml" ContentType="application/xml"/></Types>'
)
DOCTYPE = '<!DOCTYPE d [<!ENTITY e SYSTEM "file:///etc/passwd">]>'
OLE = b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1" + b"\0" * 504


def office(extra: dict[str, bytes] | None = None, document: bytes = b"<w:document/>") -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", document)
        for name, data in (extra or {}).items():
            archive.writestr(name, data)
    return buffer.getvalue()


def with_content_type(content_type: str, part: str = "/word/document.xml") -> bytes:
    types = CONTENT_TYPES.replace(
        b"</Types>", f'<Override PartName="{part}" ContentType="{content_type}"/></Types>'.encode()
    )
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        archive.writestr("[Content_Types].xml", types)
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/custom.dat", b"data")
    return buffer.getvalue()


def duplicated() -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive, pytest.warns(UserWarning):
        archive.writestr("[Content_Types].xml", CONTENT_TYPES)
        archive.writestr("word/document.xml", b"<w:document/>")
        archive.writestr("word/document.xml", ("<?xml version='1.0'?>" + DOCTYPE).encode())
    return buffer.getvalue()


def understated() -> bytes:
    """A DOCX whose image declares fewer bytes than it inflates to (a forged size)."""
    raw = bytearray(office({"word/media/image1.png": b"\x89PNG" + b"x" * 5000}))
    name = b"word/media/image1.png"
    at = raw.find(b"PK\x01\x02")
    while raw[at + 46 : at + 46 + len(name)] != name:
        at = raw.find(b"PK\x01\x02", at + 4)
    raw[at + 24 : at + 28] = struct.pack("<I", 100)
    return bytes(raw)


def xml_declaring(encoding: str) -> bytes:
    return f'<?xml version="1.0" encoding="{encoding}"?><w:document/>'.encode("ascii")


PDF_HEAD = b"%PDF-1.7\n"
PDF_TAIL = b"xref\n0 1\n0000000000 65535 f \ntrailer<</Root 1 0 R>>\nstartxref\n9\n%%EOF\n"


def pdf(catalog: bytes = b"<</Type/Catalog/Pages 2 0 R>>", extra: bytes = b"") -> bytes:
    return (
        PDF_HEAD
        + b"1 0 obj" + catalog + b"endobj\n"
        + b"2 0 obj<</Type/Pages/Kids[]/Count 0>>endobj\n"
        + extra
        + PDF_TAIL
    )  # fmt: skip


def object_stream(content: bytes) -> bytes:
    body = zlib.compress(content)
    return (
        b"3 0 obj<</Type/ObjStm/N 1/First 4/Filter/FlateDecode/Length %d>>stream\n" % len(body)
        + body
        + b"\nendstream\nendobj\n"
    )


HOSTILE_OFFICE = {
    # a DOCTYPE after the first 4 KiB of a part
    "late_doctype": (
        office(document=b"<w:document>" + b" " * 10_000 + DOCTYPE.encode() + b"</w:document>"),
        MSG_DTD,
    ),
    # a DOCTYPE in a part whose name is no XML name
    "odd_part_name": (office({"customXml/item1.dat": DOCTYPE.encode()}), MSG_DTD),
    # UTF-16 with and without a byte-order mark
    "utf16_le_bom": (
        office(document=("\ufeff<?xml version='1.0'?>" + DOCTYPE + "<d/>").encode("utf-16-le")),
        MSG_DTD,
    ),
    "utf16_be": (
        office(document=("<?xml version='1.0' encoding='UTF-16'?>" + DOCTYPE).encode("utf-16-be")),
        MSG_DTD,
    ),
    "utf16_lowercase": (
        office({"word/styles.xml": "<!doctype x>".encode("utf-16-le")}),
        MSG_DTD,
    ),
    "utf32": (office(document="<w:document/>".encode("utf-32")), MSG_ENCODING),
    "utf7": (office(document=xml_declaring("UTF-7")), MSG_ENCODING),
    "ebcdic": (office(document="<?xml version='1.0'?><d/>".encode("cp037")), MSG_ENCODING),
    # macros under any name: by content type, by the OLE signature
    "macro_content_type": (
        with_content_type("application/vnd.ms-word.document.macroEnabled.main+xml"),
        MSG_MACRO,
    ),
    "vba_content_type": (
        with_content_type("application/vnd.ms-office.vbaProject", "/word/custom.dat"),
        MSG_MACRO,
    ),
    "ole_part": (office({"word/macros/project.dat": OLE}), MSG_OLE),
    "ole_bin": (office({"word/embeddings/oleObject1.bin": OLE}), MSG_OLE),
    # two entries of one name, an entry that inflates beyond its declared size
    "duplicate": (duplicated(), MSG_DUPLICATE),
    "understated": (understated(), MSG_DAMAGED),
}
HOSTILE_PDF = {
    "javascript": (pdf(b"<</Type/Catalog/Names<</JavaScript 3 0 R>>>>"), MSG_PDF_ACTIVE),
    "js": (pdf(extra=b"3 0 obj<</S/JavaScript/JS(app.alert(1))>>endobj\n"), MSG_PDF_ACTIVE),
    "open_action": (pdf(b"<</Type/Catalog/OpenAction 3 0 R>>"), MSG_PDF_ACTIVE),
    "additional_actions": (pdf(b"<</Type/Catalog/AA<<>>>>"), MSG_PDF_ACTIVE),
    "launch": (pdf(extra=b"3 0 obj<</S/Launch/F(cmd.exe)>>endobj\n"), MSG_PDF_ACTIVE),
    "embedded_file": (
        pdf(extra=b"3 0 obj<</Type/EmbeddedFile>>stream\nx\nendstream endobj\n"),
        MSG_PDF_ACTIVE,
    ),  # fmt: skip
    "rich_media": (pdf(extra=b"3 0 obj<</Subtype/RichMedia>>endobj\n"), MSG_PDF_ACTIVE),
    "hex_escaped": (pdf(b"<</Type/Catalog/Open#41ction 3 0 R>>"), MSG_PDF_ACTIVE),
    "hex_escaped_js": (pdf(extra=b"3 0 obj<</S/J#61vaScript/J#53(x)>>endobj\n"), MSG_PDF_ACTIVE),
    "in_object_stream": (pdf(extra=object_stream(b"1 0 <</OpenAction 4 0 R>>")), MSG_PDF_ACTIVE),
    "html": (
        PDF_HEAD + b"<html><body><script>alert(1)</script></body></html>\n%%EOF\n",
        MSG_PDF_MARKUP,
    ),
    "html_with_objects": (pdf(extra=b"3 0 obj(<html>)endobj\n"), MSG_PDF_MARKUP),
    "no_objects": (PDF_HEAD + b"just text\ntrailer\n%%EOF\n", MSG_PDF_STRUCTURE),
    "no_xref": (PDF_HEAD + b"1 0 obj<<>>endobj\n%%EOF\n", MSG_PDF_STRUCTURE),
}


@pytest.fixture
def target(settings, tmp_path, make_pilot, orgs, time_machine):
    settings.MEDIA_ROOT = tmp_path / "private"
    time_machine.move_to(dt.datetime(2026, 7, 6, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    return make_pilot(regions=[orgs["county"]], ledger_since=dt.date(2026, 1, 5))


def stored(settings) -> list[Path]:
    root = Path(settings.MEDIA_ROOT)
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


def assert_refused_on_page_and_api(client, personas, target, settings, name, data, message):
    client.force_login(personas["dept"])
    page = client.post(
        f"/ledger/pilots/{target.code}/reports/2026/2/",
        {"progress": "进展", "attachment": SimpleUploadedFile(name, data)},
    )
    assert page.status_code == 200
    assert message in page.content.decode()
    client.logout()
    _, key = issue_token(personas["dept"], "上传")
    api = client.post(
        f"/api/v1/pilots/{target.code}/reports/",
        {
            "year": 2026,
            "quarter": 2,
            "progress": "进展",
            "attachment": SimpleUploadedFile(name, data),
        },
        HTTP_AUTHORIZATION=f"Token {key}",
    )
    assert api.status_code == 400
    assert message in api.json()["detail"]
    assert not QuarterlyReport.objects.exists()
    assert stored(settings) == []


@pytest.mark.parametrize("case", sorted(HOSTILE_OFFICE))
def test_hostile_office_file_is_refused_with_its_reason_and_nothing_is_stored(
    client, personas, target, settings, case
):
    data, message = HOSTILE_OFFICE[case]
    assert_refused_on_page_and_api(client, personas, target, settings, "材料.docx", data, message)


@pytest.mark.parametrize("case", sorted(HOSTILE_PDF))
def test_pdf_with_active_content_or_without_pdf_structure_is_refused(
    client, personas, target, settings, case
):
    data, message = HOSTILE_PDF[case]
    assert_refused_on_page_and_api(client, personas, target, settings, "材料.pdf", data, message)


def test_pdf_with_links_and_compressed_pages_is_still_stored_while_its_scripted_twin_is_not(
    client, personas, target, settings
):
    page = zlib.compress(b"BT /F1 12 Tf (Hello) Tj ET")
    plain = pdf(
        extra=b"3 0 obj<</Type/Annot/Subtype/Link/A<</S/URI/URI(https://example.org/)>>>>endobj\n"
        + b"4 0 obj<</Length %d/Filter/FlateDecode>>stream\n" % len(page)
        + page
        + b"\nendstream\nendobj\n"
    )
    scripted = plain.replace(b"/S/URI/URI(https://example.org/)", b"/S/JavaScript/JS(x)")
    assert_refused_on_page_and_api(
        client, personas, target, settings, "材料.pdf", scripted, MSG_PDF_ACTIVE
    )
    client.force_login(personas["dept"])
    response = client.post(
        f"/ledger/pilots/{target.code}/reports/2026/2/",
        {"progress": "进展", "attachment": SimpleUploadedFile("材料.pdf", plain)},
    )
    assert response.status_code == 302
    assert QuarterlyReport.objects.get().attachment.read() == plain


@pytest.mark.parametrize("case", ["late_doctype", "utf16_le_bom", "odd_part_name", "ole_part"])
def test_import_page_refuses_a_workbook_with_hidden_declarations_or_macros(
    client, personas, target, case
):
    data, message = HOSTILE_OFFICE[case]
    # the same hostile parts in a workbook
    buffer = io.BytesIO()
    with zipfile.ZipFile(io.BytesIO(data)) as source, zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            name = "xl/workbook.xml" if info.filename == "word/document.xml" else info.filename
            archive.writestr(name, source.read(info))
    client.force_login(personas["office"])
    response = client.post(
        "/ledger/import/",
        {"kind": "pilots", "file": SimpleUploadedFile("台账.xlsx", buffer.getvalue())},
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not ImportBatch.objects.exclude(file="").exists()


def test_openpyxl_parses_workbooks_through_defusedxml():
    """The workbook reader of the import is python-calamine, which expands no entity; openpyxl
    (used for writing fixtures, and by anyone reading a workbook with it) must parse with
    defusedxml, which it does whenever defusedxml is installed."""
    import openpyxl
    from defusedxml import EntitiesForbidden

    assert openpyxl.DEFUSEDXML is True
    bomb = (
        b'<?xml version="1.0"?><!DOCTYPE w [<!ENTITY a "aaaaaaaaaa">]>'
        b'<workbook xmlns="http://schemas.openxmlformats.org/spreadsheetml/2006/main">'
        b"&a;</workbook>"
    )
    book = io.BytesIO()
    openpyxl.Workbook().save(book)
    buffer = io.BytesIO()
    with zipfile.ZipFile(book) as source, zipfile.ZipFile(buffer, "w") as archive:
        for info in source.infolist():
            data = bomb if info.filename == "xl/workbook.xml" else source.read(info)
            archive.writestr(info.filename, data)
    with pytest.raises(ValueError) as refused:
        openpyxl.load_workbook(io.BytesIO(buffer.getvalue()))
    cause = refused.value.__cause__ or refused.value.__context__
    assert isinstance(cause, EntitiesForbidden)
