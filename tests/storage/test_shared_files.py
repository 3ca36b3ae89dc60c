"""Private files on more than one machine: with S3_BUCKET set, a file stored by one host (a web
process taking an upload, a worker rendering a PDF ledger) is read by any other, whose local
folder is empty; every file still passes the access policy on its way out, as an attachment,
and the bucket gives nothing to a request that is not signed with its keys.

Each "host" is this process with another, empty MEDIA_ROOT and a storage object of its own
(conftest.py); the bucket is a moto S3 server on this machine (tests/objectstore.py)."""

from __future__ import annotations

import datetime as dt
import urllib.error
import urllib.request
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile
from django.core.files.storage import default_storage
from django.core.files.uploadedfile import SimpleUploadedFile
from django.urls import reverse

from accounts.constants import AuditAction
from accounts.models import AuditEvent
from core.xlsx import write_workbook
from ledger.constants import ImportStatus, RenderStatus
from ledger.models import Filing, ImportBatch, LedgerRender
from ledger.selectors import LEDGER_HEADERS
from pilots.constants import Status
from pilots.models import Pilot
from tests.factories import ledger_sheet_row

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
# A small PDF with a binary comment line, so that bytes above 127 make the round trip too.
PDF = (
    b"%PDF-1.4\n%" + bytes(range(128, 256)) * 64 + b"\n"
    b"1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"
)
APPROVED = D(2026, 3, 2)


def at(day: dt.date) -> dt.datetime:
    return dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI)


def filing_post() -> dict:
    """The 备案表 as the browser posts it, with the pilot plan (试点方案) attached."""
    return {
        "approval_authority": "浙江省生态环境厅",
        "approval_doc_number": "浙环函〔2026〕31号",
        "approval_date": APPROVED.isoformat(),
        "implementing_body": "杭州市西湖区人民政府",
        "start_date": "2026-03-10",
        "end_date": "2027-03-09",
        "goal": "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。",
        "measures": "1. 制定磋商规则；2. 建立司法确认衔接机制；3. 开展修复效果评估。",
        "expected_outcomes": "形成可复制可推广的赔偿磋商制度。",
        "milestones_text": "2026-09-30 完成制度设计",
        "contact_person": "王明",
        "contact_phone": "0571-87654321",
        "confirm_differences": "1",
        "plan": SimpleUploadedFile("试点方案.pdf", PDF, content_type="application/pdf"),
    }


def unsigned_get(url: str) -> int:
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.status
    except urllib.error.HTTPError as refused:
        return refused.code


@pytest.fixture
def filed_on_host_a(hosts, client_for, make_pilot, orgs, time_machine):
    """The department files an approved pilot of a Hangzhou county on host A, plan attached."""
    time_machine.move_to(at(APPROVED + dt.timedelta(days=5)), tick=False)
    pilot = make_pilot(
        status=Status.APPROVED,
        approval_date=APPROVED,
        approval_doc_number="浙环函〔2026〕31号",
        start_date=D(2026, 3, 10),
        end_date=D(2027, 3, 9),
        ledger_since=None,
        regions=[orgs["county"]],
    )
    hosts.on("web-a")
    response = client_for("dept").post(f"/ledger/pilots/{pilot.code}/file/", filing_post())
    assert response.status_code == 302, response.context["form"].errors
    return Filing.objects.get(pilot=pilot)


# --- the settings --------------------------------------------------------------------------


def test_s3_bucket_setting_puts_private_files_in_the_bucket(object_store, bucket_backend):
    assert bucket_backend["BACKEND"] == "accounts.storage_s3.AuditedS3Storage"
    assert bucket_backend["OPTIONS"] == {
        "bucket_name": object_store.bucket,
        "endpoint_url": object_store.endpoint,
        "region_name": "us-east-1",
        "access_key": "registry-test",
        "secret_key": "registry-test-secret",
        "location": "",
        "addressing_style": "path",
    }


# --- a plan uploaded on one host, downloaded on another -----------------------------------


def test_plan_uploaded_on_one_host_downloads_on_another_with_the_same_bytes(
    hosts, filed_on_host_a, client_for
):
    filing = filed_on_host_a
    # The plan is an object of the bucket, written once, and no local folder holds it.
    assert hosts.keys() == [hosts.key_of(filing.plan.name)]
    assert hosts.store.read(hosts.key_of(filing.plan.name)) == PDF
    assert hosts.local_files() == []
    # The upload is on the audit log, as on the local folder.
    assert AuditEvent.objects.filter(
        action=AuditAction.UPLOAD, summary__contains=filing.plan.name, username="dept"
    ).exists()

    hosts.on("web-b")
    response = client_for("hangzhou").get(f"/ledger/filings/{filing.pk}/plan/")

    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert response["X-Content-Type-Options"] == "nosniff"
    assert b"".join(response.streaming_content) == PDF
    assert hosts.local_files() == []
    assert AuditEvent.objects.filter(action=AuditAction.DOWNLOAD, username="hangzhou").exists()


def test_a_plan_gone_from_the_bucket_answers_404(hosts, filed_on_host_a, client_for):
    hosts.store.client().delete_object(
        Bucket=hosts.store.bucket, Key=hosts.key_of(filed_on_host_a.plan.name)
    )
    hosts.on("web-b")

    response = client_for("dept").get(f"/ledger/filings/{filed_on_host_a.pk}/plan/")

    assert response.status_code == 404


def test_a_file_stored_under_a_taken_name_never_replaces_the_first(hosts, db):
    hosts.on("web-a")
    first = default_storage.save("pilots/ST-2026-0001/plan/试点方案.pdf", ContentFile(b"first"))
    hosts.on("web-b")
    second = default_storage.save("pilots/ST-2026-0001/plan/试点方案.pdf", ContentFile(b"second"))

    assert first != second
    with default_storage.open(first) as old, default_storage.open(second) as new:
        assert (old.read(), new.read()) == (b"first", b"second")


# --- nothing leaves without the policy -------------------------------------------------------


@pytest.mark.parametrize("persona", ["ningbo", "expert"])
def test_the_plan_in_the_bucket_is_404_to_those_who_do_not_see_the_pilot(
    hosts, filed_on_host_a, client_for, persona
):
    hosts.on("web-b")

    response = client_for(persona).get(f"/ledger/filings/{filed_on_host_a.pk}/plan/")

    assert response.status_code == 404


def test_the_plan_in_the_bucket_needs_a_sign_in(hosts, filed_on_host_a, client_for):
    response = client_for(None).get(f"/ledger/filings/{filed_on_host_a.pk}/plan/")

    assert response.status_code == 302
    assert response["Location"].startswith(reverse("login"))


def test_the_bucket_refuses_an_unsigned_request_for_a_stored_file(hosts, filed_on_host_a):
    key = hosts.key_of(filed_on_host_a.plan.name)
    # A request signed with the keys reads it: the object is there.
    assert hosts.store.read(key) == PDF
    # Without them, nothing: the object is private (its ACL grants its owner alone) …
    assert unsigned_get(hosts.store.object_url(key)) == 403
    grants = hosts.store.client().get_object_acl(Bucket=hosts.store.bucket, Key=key)["Grants"]
    assert [g["Permission"] for g in grants] == ["FULL_CONTROL"]
    assert all(g["Grantee"].get("Type") == "CanonicalUser" for g in grants)
    # … and the product never names the bucket: a file's address is the local one (which
    # nothing serves), never the store's, signed or not.
    url = filed_on_host_a.plan.url
    assert url.startswith("/files/")
    assert hosts.store.endpoint not in url and "Signature" not in url


# --- a PDF ledger rendered by a worker, read by the web side ---------------------------------


def test_a_pdf_ledger_rendered_by_a_worker_downloads_from_a_web_host_with_an_empty_folder(
    hosts, client_for, make_pilot, orgs, time_machine, django_capture_on_commit_callbacks
):
    time_machine.move_to(at(D(2026, 10, 10)), tick=False)
    make_pilot(
        name="西湖区生态环境损害赔偿磋商制度改革试点",
        status=Status.ACTIVE,
        ledger_since=D(2026, 1, 5),
        regions=[orgs["county"]],
    )
    office = client_for("office")

    # The web host records the request; the task is handed over when the request commits.
    hosts.on("web")
    with django_capture_on_commit_callbacks() as queued:
        response = office.post("/ledger/renders/", {"year": "2026", "quarter": "3"})
    assert response.status_code == 302
    render = LedgerRender.objects.get()
    assert render.status == RenderStatus.QUEUED and queued

    # A worker on another machine picks the task up and renders.
    hosts.on("worker")
    for hand_over in queued:
        hand_over()
    render.refresh_from_db()
    assert render.status == RenderStatus.DONE, render.error
    stored = hosts.store.read(hosts.key_of(render.file.name))
    assert stored.startswith(b"%PDF-")

    # A third host, its folder empty, serves it to the office.
    hosts.on("web-2")
    response = office.get(reverse("ledger:render_download", args=[render.pk]))
    assert response.status_code == 200
    assert response["Content-Disposition"].startswith("attachment;")
    assert b"".join(response.streaming_content) == stored
    assert hosts.local_files() == []
    # … and to nobody outside the policy.
    assert (
        client_for("hangzhou").get(reverse("ledger:render_download", args=[render.pk])).status_code
        == 404
    )


# --- an import uploaded on one host, applied on another ---------------------------------------


def test_an_import_uploaded_on_one_host_is_applied_by_a_worker_on_another(
    hosts, client_for, django_capture_on_commit_callbacks
):
    office = client_for("office")
    workbook = write_workbook(
        "改革试点台账",
        LEDGER_HEADERS,
        [ledger_sheet_row(), ledger_sheet_row(试点名称="嘉兴市排污权交易改革试点")],
    )

    # The web host takes the upload and previews it; the office confirms there.
    hosts.on("web-a")
    response = office.post(
        "/ledger/import/",
        {"kind": "pilots", "file": SimpleUploadedFile("台账.xlsx", workbook)},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and batch.status == ImportStatus.PREVIEWED
    assert hosts.store.read(hosts.key_of(batch.file.name)) == workbook
    with django_capture_on_commit_callbacks() as queued:
        office.post(f"/ledger/import/{batch.pk}/apply/")
    assert queued and not Pilot.objects.exists()

    # A worker on another machine runs the job, reading the upload from the bucket.
    hosts.on("worker")
    for hand_over in queued:
        hand_over()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.APPLIED, (batch.error, batch.errors)
    assert set(Pilot.objects.values_list("name", flat=True)) == {
        "湖州市生态环境损害赔偿磋商制度改革试点",
        "嘉兴市排污权交易改革试点",
    }

    # Any web host shows the outcome; no host kept a local copy.
    hosts.on("web-b")
    assert office.get(f"/ledger/import/{batch.pk}/").status_code == 200
    assert hosts.local_files() == []
