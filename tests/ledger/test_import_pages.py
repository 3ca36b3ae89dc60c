"""The Excel import pages: the office uploads a ledger workbook or a reform plan, reads the
preview with every error by row and column, confirms, and reads the imported plan; nobody
else may; bad files get a Chinese message and change nothing."""

from __future__ import annotations

import datetime as dt
import io

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext
from openpyxl import load_workbook

from accounts.orgdata import ensure_plan_units
from core.xlsx import XLSX_CONTENT_TYPE, write_workbook
from ledger.constants import ImportStatus
from ledger.import_views import SAMPLE_PLAN
from ledger.models import ImportBatch, PlanItem, PlanTask, ReformPlan
from ledger.selectors import LEDGER_HEADERS
from pilots.models import Pilot
from tests.factories import ledger_sheet_row as _row

D = dt.date


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


def _workbook(*rows) -> SimpleUploadedFile:
    return SimpleUploadedFile("台账.xlsx", write_workbook("改革试点台账", LEDGER_HEADERS, rows))


def _plan_upload() -> SimpleUploadedFile:
    return SimpleUploadedFile("新府改革实施方案.xlsx", SAMPLE_PLAN.read_bytes())


def test_the_office_previews_then_imports_a_ledger_workbook(
    client_for, django_capture_on_commit_callbacks
):
    office = client_for("office")
    assert office.get("/ledger/import/").status_code == 200
    response = office.post(
        "/ledger/import/",
        {"kind": "pilots", "file": _workbook(_row(), _row(试点名称="嘉兴市排污权交易改革试点"))},
    )
    batch = ImportBatch.objects.get()
    assert response.status_code == 302 and response["Location"] == f"/ledger/import/{batch.pk}/"
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "湖州市生态环境损害赔偿磋商制度改革试点" in page and "嘉兴市排污权交易改革试点" in page
    assert "确认导入" in page
    assert not Pilot.objects.exists()  # a preview writes nothing

    with django_capture_on_commit_callbacks(execute=True):
        response = office.post(f"/ledger/import/{batch.pk}/apply/")
    # The job runs once the confirmation commits (here in-process); its page shows the result.
    assert response["Location"] == f"/ledger/import/{batch.pk}/"
    assert "导入完成" in office.get(response["Location"]).content.decode()
    batch.refresh_from_db()
    assert batch.status == ImportStatus.APPLIED
    assert set(Pilot.objects.values_list("name", flat=True)) == {
        "湖州市生态环境损害赔偿磋商制度改革试点",
        "嘉兴市排污权交易改革试点",
    }
    # Applied: the page links the new pilots, offers no second import, and a second POST is
    # refused with a message.
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "确认导入" not in page
    code = Pilot.objects.order_by("code").first().code
    assert f'href="/pilots/{code}/"' in page
    response = office.post(f"/ledger/import/{batch.pk}/apply/", follow=True)
    assert "该批次已导入或存在错误" in response.content.decode()
    assert Pilot.objects.count() == 2


def test_a_workbook_with_errors_shows_each_by_row_and_column_and_imports_nothing(client_for):
    office = client_for("office")
    office.post(
        "/ledger/import/",
        {
            "kind": "pilots",
            "file": _workbook(_row(), _row(牵头部门="不存在的厅", 结束日期="明年")),
        },
    )
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.FAILED
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "不存在的厅" in page and "牵头部门" in page and "结束日期" in page
    assert "<td>3</td>" in page  # the second data row is row 3 of the sheet
    assert "确认导入" not in page
    office.post(f"/ledger/import/{batch.pk}/apply/")
    assert not Pilot.objects.exists()


@pytest.mark.parametrize(
    ("name", "content", "message"),
    [
        ("台账.xlsx", b"", "上传的文件是空的。"),
        ("台账.xlsx", b"this is not a spreadsheet at all", "Excel"),
        ("台账.csv", b"a,b,c\n1,2,3\n", "Excel"),
    ],
)
def test_a_file_that_is_no_workbook_gets_a_chinese_message_and_changes_nothing(
    client_for, name, content, message
):
    office = client_for("office")
    response = office.post(
        "/ledger/import/", {"kind": "pilots", "file": SimpleUploadedFile(name, content)}
    )
    assert response.status_code == 200
    assert message in response.content.decode()
    assert not Pilot.objects.exists()
    assert not ImportBatch.objects.filter(status=ImportStatus.APPLIED).exists()


def test_an_upload_without_a_file_or_kind_is_refused_on_the_form(client_for):
    response = client_for("office").post("/ledger/import/", {"kind": "nonsense"})
    page = response.content.decode()
    assert response.status_code == 200
    assert "请选择导入内容。" in page and "请选择要导入的Excel文件。" in page
    assert not ImportBatch.objects.exists()


@pytest.mark.parametrize("who", ["dept", "hangzhou", "county", "expert"])
def test_only_the_office_imports_in_the_pages(client_for, personas, who):
    batch = ImportBatch.objects.create(
        kind="pilots",
        status=ImportStatus.PREVIEWED,
        filename="x.xlsx",
        created_by=personas["office"],
    )
    client = client_for(who)
    for url in (
        "/ledger/import/",
        f"/ledger/import/{batch.pk}/",
        "/ledger/import/plan-sample.xlsx",
    ):
        response = client.get(url)
        assert response.status_code == 403, url
        assert "只有省办可以导入" in response.content.decode()
    assert (
        client.post("/ledger/import/", {"kind": "pilots", "file": _workbook(_row())}).status_code
        == 403
    )
    assert client.post(f"/ledger/import/{batch.pk}/apply/").status_code == 403
    assert not Pilot.objects.exists()
    assert ImportBatch.objects.count() == 1


def test_apply_is_a_post_and_unknown_batches_are_404(client_for):
    office = client_for("office")
    office.post("/ledger/import/", {"kind": "pilots", "file": _workbook(_row())})
    batch = ImportBatch.objects.get()
    assert office.get(f"/ledger/import/{batch.pk}/apply/").status_code == 405
    assert not Pilot.objects.exists()
    assert office.get("/ledger/import/999999/").status_code == 404
    assert office.post("/ledger/import/999999/apply/").status_code == 404


def test_the_sample_plan_downloads_as_an_excel_attachment(client_for):
    response = client_for("office").get("/ledger/import/plan-sample.xlsx")
    assert response.status_code == 200
    assert response["Content-Type"] == XLSX_CONTENT_TYPE
    assert response["Content-Disposition"].startswith("attachment; filename*=utf-8''")
    assert response["X-Content-Type-Options"] == "nosniff"
    data = b"".join(response.streaming_content)
    assert data == SAMPLE_PLAN.read_bytes()
    assert load_workbook(io.BytesIO(data)).sheetnames


def test_the_sample_plan_imports_through_the_pages_and_reads_as_a_tree(
    client_for, django_capture_on_commit_callbacks
):
    ensure_plan_units()
    office = client_for("office")
    office.post("/ledger/import/", {"kind": "reform_plan", "file": _plan_upload()})
    batch = ImportBatch.objects.get()
    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "主要任务" in page and "确认导入" in page

    with django_capture_on_commit_callbacks(execute=True):
        office.post(f"/ledger/import/{batch.pk}/apply/")
    plan = ReformPlan.objects.get()
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "导入完成" in page and f'href="/ledger/plans/{plan.pk}/"' in page
    page = office.get(f"/ledger/plans/{plan.pk}/").content.decode()
    items = PlanItem.objects.filter(plan=plan)
    assert items.count() == 36
    first = PlanTask.objects.filter(item__plan=plan).select_related("item", "lead_unit").first()
    assert first.item.title in page and first.text[:20] in page
    assert (first.lead_unit.short_name or first.lead_unit.name) in page
    listing = client_for("dept").get("/ledger/plans/").content.decode()  # any user reads plans
    assert plan.name in listing and "36" in listing


def test_a_plan_page_issues_the_same_queries_for_a_small_and_the_full_plan(client_for, personas):
    ensure_plan_units()
    from ledger import imports

    office = client_for("office")
    batch = imports.preview_plan_import(actor=personas["office"], upload=_plan_upload())
    imports.apply_import(actor=personas["office"], batch=batch)
    plan = ReformPlan.objects.get()
    small = ReformPlan.objects.create(name="小方案", created_by=personas["office"])
    item = PlanItem.objects.create(plan=small, area="governance", number=1, title="一项改革")
    PlanTask.objects.create(
        item=item, number=1, text="一项任务", lead_unit=personas["dept"].organisation
    )

    def queries(pk: int) -> int:
        with CaptureQueriesContext(connection) as ctx:
            assert office.get(f"/ledger/plans/{pk}/").status_code == 200
        return len(ctx)

    assert PlanTask.objects.filter(item__plan=plan).count() > 50
    assert queries(plan.pk) == queries(small.pk)
