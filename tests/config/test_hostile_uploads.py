"""1,200 generated hostile uploads through every kind of entry point — the quarterly report
page, the Excel import page and the REST API — truncated files, ZIP bombs, archives with
thousands of entries, macros under an innocent name, XML bombs, oversize files, empty files,
files whose name lies about their content or carries paths and control characters, one test
per kind of file: not one answers 5xx and not one byte is stored. The same endpoints store a
well-formed file (the control), so the refusals are the checks', not the endpoints'."""

from __future__ import annotations

import datetime as dt
import io
import random
import zipfile
from functools import cache
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.tokens import issue_token
from ledger.models import ImportBatch, QuarterlyReport
from pilots.models import Pilot

pytestmark = pytest.mark.walk

PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
LIMIT = 100_000
CASES_PER_TARGET = 400


def _zip(entries: dict[str, bytes], compression=zipfile.ZIP_DEFLATED) -> bytes:
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w", compression) as archive:
        for name, data in entries.items():
            archive.writestr(name, data)
    return buffer.getvalue()


def _office(kind: str, extra: dict[str, bytes] | None = None, part: bytes = b"<x/>") -> bytes:
    marker = {"docx": "word/document.xml", "xlsx": "xl/workbook.xml"}[kind]
    return _zip({"[Content_Types].xml": b"<Types/>", marker: part, **(extra or {})})


@cache
def _bomb() -> bytes:
    return _office("xlsx", {"xl/worksheets/sheet1.xml": b"\0" * 30_000_000})


@cache
def _crowd() -> bytes:
    return _office("docx", {f"word/media/{i}.bin": b"x" for i in range(2_100)})


XML_BOMB = (
    b'<?xml version="1.0"?><!DOCTYPE lolz [<!ENTITY lol "lol">'
    + b"".join(
        b'<!ENTITY lol%d "%s">' % (i, b"&lol%d;" % (i - 1) * 10 if i > 1 else b"&lol;" * 10)
        for i in range(1, 10)
    )
    + b"]><workbook>&lol9;</workbook>"
)
ODD_NAMES = [
    "报告\u202efdp.exe",
    "../../etc/passwd",
    "..\\..\\boot.ini",
    "a" * 300 + ".pdf",
    "report.pdf.exe",
    "con",
    ".htaccess",
    "名\x07称.pdf",
    "plan.PDF.docx",
    "invoice\u200b.pdf.js",
]


KINDS = (
    "truncated-pdf",
    "zip-bomb",
    "crowded-archive",
    "macros",
    "xml-bomb",
    "oversize",
    "random-bytes",
    "other-zip",
    "lying-name",
    "swapped-format",
)


def hostile(rng: random.Random, i: int) -> tuple[str, bytes]:
    """One hostile file, of the kind KINDS[i % 10]."""
    kind = i % 10
    ext = rng.choice(["pdf", "docx", "xlsx"])
    if kind == 0:  # truncated PDF
        return f"t{i}.pdf", PDF[: rng.randint(5, len(PDF) - 8)]
    if kind == 1:  # ZIP bomb
        return f"bomb{i}.xlsx", _bomb()
    if kind == 2:  # too many entries
        return f"crowd{i}.docx", _crowd()
    if kind == 3:  # macros under a .docx / .xlsx name
        office = rng.choice(["docx", "xlsx"])
        macro = "word/vbaProject.bin" if office == "docx" else "xl/vbaProject.bin"
        return f"m{i}.{office}", _office(office, {macro: b"\xd0\xcf\x11\xe0macro"})
    if kind == 4:  # XML bomb in a well-formed archive
        return f"x{i}.xlsx", _office("xlsx", part=XML_BOMB)
    if kind == 5:  # oversize, with a valid header
        return f"big{i}.pdf", b"%PDF-1.4\n" + rng.randbytes(LIMIT) + b"\n%%EOF\n"
    if kind == 6:  # random bytes, or empty
        return f"r{i}.{ext}", rng.randbytes(rng.randint(0, 3000))
    if kind == 7:  # a ZIP that is no Office file, or a corrupted one
        data = _zip({"readme.txt": rng.randbytes(200)})
        if rng.random() < 0.5:
            data = data[: rng.randint(10, len(data) - 1)]
        return f"z{i}.{ext}", data
    if kind == 8:  # a valid PDF under a lying or dangerous name
        return ODD_NAMES[i % len(ODD_NAMES)], PDF
    # an Office file under a PDF name, or a PDF under an Office name
    if rng.random() < 0.5:
        return f"w{i}.pdf", _office("docx")
    return f"p{i}.{rng.choice(['docx', 'xlsx'])}", PDF


def stored_files(root: Path) -> list[Path]:
    return [p for p in root.rglob("*") if p.is_file()] if root.exists() else []


@pytest.fixture
def target(settings, tmp_path, make_pilot, orgs, personas, time_machine):
    settings.MEDIA_ROOT = tmp_path / "private"
    settings.UPLOAD_MAX_BYTES = LIMIT
    time_machine.move_to(dt.datetime(2026, 7, 6, 10, tzinfo=ZoneInfo("Asia/Shanghai")))
    return make_pilot(regions=[orgs["county"]], ledger_since=dt.date(2026, 1, 5))


@pytest.mark.parametrize("kind", range(len(KINDS)), ids=KINDS)
def test_hostile_uploads_get_no_server_error_and_nothing_is_stored(
    client, personas, target, settings, kind
):
    rng = random.Random(20261205 + kind)
    report_url = f"/ledger/pilots/{target.code}/reports/2026/2/"
    api_url = f"/api/v1/pilots/{target.code}/reports/"
    _, key = issue_token(personas["dept"], "上传测试")
    pilots_before = Pilot.objects.count()
    statuses: dict[str, list[int]] = {"page": [], "import": [], "api": []}
    for i in range(kind, CASES_PER_TARGET, len(KINDS)):
        name, data = hostile(rng, i)
        client.force_login(personas["dept"])
        page = client.post(
            report_url,
            {"progress": "进展", "attachment": SimpleUploadedFile(name, data)},
        )
        statuses["page"].append(page.status_code)
        api = client.post(
            api_url,
            {
                "year": 2026,
                "quarter": 2,
                "progress": "进展",
                "attachment": SimpleUploadedFile(name, data),
            },
            HTTP_AUTHORIZATION=f"Token {key}",
        )
        statuses["api"].append(api.status_code)
        client.force_login(personas["office"])
        imported = client.post(
            "/ledger/import/", {"kind": "pilots", "file": SimpleUploadedFile(name, data)}
        )
        statuses["import"].append(imported.status_code)
    assert sum(len(v) for v in statuses.values()) == 3 * CASES_PER_TARGET // len(KINDS)
    for where, codes in statuses.items():
        assert all(code < 500 for code in codes), where
    # Refused, all of them: the page re-shows its form, the API answers 400 …
    assert set(statuses["page"]) == {200} and set(statuses["api"]) == {400}
    # … and nothing reached the disk or the records.
    assert stored_files(Path(settings.MEDIA_ROOT)) == []
    assert not QuarterlyReport.objects.exists()
    assert not ImportBatch.objects.exclude(file="").exists()
    assert Pilot.objects.count() == pilots_before


def test_the_same_page_stores_a_well_formed_file(client, personas, target, settings):
    """The control: the refusals above are the checks', not the page's."""
    client.force_login(personas["dept"])
    good = client.post(
        f"/ledger/pilots/{target.code}/reports/2026/2/",
        {"progress": "进展", "attachment": SimpleUploadedFile("进展.pdf", PDF)},
    )
    assert good.status_code == 302
    assert QuarterlyReport.objects.get().attachment.read() == PDF
    assert len(stored_files(Path(settings.MEDIA_ROOT))) == 1
