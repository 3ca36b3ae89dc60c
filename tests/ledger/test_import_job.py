"""Applying an Excel import is a background job: the office confirms the preview, the page
shows the job queued, its progress (surviving a reload) and then its result. The job writes
every row in one transaction or none: a row refused midway, a job that fails (retried from
the page) or a worker killed midway (found stale, then retried) write nothing. The preview
is summarised and paged, so a big file gives a small page; bad page numbers never fail. New
pilots are written set-based: twice the rows, the same queries."""

from __future__ import annotations

import datetime as dt
import re
from pathlib import Path

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core.models import PendingTask
from core.xlsx import write_workbook
from ledger.constants import ImportStatus
from ledger.imports import batches, jobs, pilot_writes, progress
from ledger.imports.jobs import fail_stale_batches, run_queued_apply
from ledger.models import ImportBatch, QuarterlyReport
from ledger.selectors import LEDGER_HEADERS, annotate_ledger, ledger_row
from pilots.constants import Status
from pilots.models import Pilot
from tests.factories import ledger_sheet_row as _row

D = dt.date
T0 = dt.datetime(2026, 12, 7, 2, 0, tzinfo=dt.UTC)


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no `except Exception` catches it."""


@pytest.fixture(autouse=True)
def _media(settings, tmp_path):
    settings.MEDIA_ROOT = tmp_path / "media"


@pytest.fixture
def queued(monkeypatch) -> list[tuple[int, int]]:
    """The jobs handed to the queue (batch, acting user), run here as a worker would."""
    jobs_queued: list[tuple[int, int]] = []
    monkeypatch.setattr(jobs, "_enqueue", lambda *args: jobs_queued.append(args))
    return jobs_queued


@pytest.fixture
def confirm(django_capture_on_commit_callbacks):
    """The office presses 确认导入 (or 重新导入); returns the page it lands on. The job is
    queued once the request's transaction commits."""

    def _confirm(client, batch: ImportBatch) -> str:
        with django_capture_on_commit_callbacks(execute=True):
            response = client.post(f"/ledger/import/{batch.pk}/apply/")
        assert response.status_code == 302
        return client.get(response["Location"]).content.decode()

    return _confirm


def _rows(count: int, **cells) -> list[list]:
    return [_row(试点名称=f"第{n}个生态环境损害赔偿磋商改革试点", **cells) for n in range(count)]


def _upload(rows: list[list]) -> SimpleUploadedFile:
    return SimpleUploadedFile("台账.xlsx", write_workbook("改革试点台账", LEDGER_HEADERS, rows))


def _preview(client, rows) -> ImportBatch:
    response = client.post("/ledger/import/", {"kind": "pilots", "file": _upload(rows)})
    assert response.status_code == 302, response.content.decode()[:500]
    return ImportBatch.objects.order_by("-pk").first()


def _preview_rows(html: str) -> int:
    table = html.split("逐行预览", 1)[1]
    return len(re.findall(r"<tr[ >]", table.split("</tbody>", 1)[0])) - 1  # minus the header


def _run(queued) -> ImportBatch:
    """The worker runs what was queued."""
    batch_pk, actor_pk = queued.pop(0)
    return run_queued_apply(batch_pk, actor_pk)


# --- the journey -------------------------------------------------------------------------------


def test_the_import_journey_upload_paged_preview_apply_progress_result(client_for, queued, confirm):
    office = client_for("office")
    batch = _preview(office, _rows(120))
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "第 1 / 3 页" in page and _preview_rows(page) == 50
    assert "<strong>120</strong><span>新建试点</span>" in page and "确认导入" in page

    page = confirm(office, batch)
    assert "已开始导入“台账.xlsx”" in page
    assert "排队等待导入" in page and 'http-equiv="refresh"' in page and "确认导入" not in page
    assert not Pilot.objects.exists()
    # A second confirmation while it waits is refused and queues nothing.
    page = confirm(office, batch)
    assert "该批次正在导入" in page and len(queued) == 1

    batch = _run(queued)

    assert batch.status == ImportStatus.APPLIED and batch.progress == 100
    assert Pilot.objects.count() == 120
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "导入完成" in page and "新建试点 120 个" in page and "refresh" not in page
    code = Pilot.objects.order_by("code").first().code
    assert f'href="/pilots/{code}/"' in page
    history = Pilot.history.filter(code=code).get()
    assert history.history_user.username == "office"
    assert history.history_change_reason == f"Excel导入（批次#{batch.pk}）"
    assert list(history.regions.values_list("organisation__short_name", flat=True)) == ["西湖区"]


def test_where_tasks_run_in_process_the_job_has_ended_when_the_page_shows(client_for, confirm):
    office = client_for("office")
    batch = _preview(office, _rows(3))
    page = confirm(office, batch)
    assert "导入完成" in page and "新建试点 3 个" in page
    assert Pilot.objects.count() == 3


def test_a_reload_during_the_job_shows_its_progress(client_for, queued, confirm, monkeypatch):
    office = client_for("office")
    batch = _preview(office, _rows(1200))
    confirm(office, batch)
    pages: list[str] = []
    report = progress.Progress.report

    def report_and_reload(self, percent, rows_done):
        report(self, percent, rows_done)
        if not pages and rows_done >= 500:
            pages.append(office.get(f"/ledger/import/{batch.pk}/").content.decode())

    monkeypatch.setattr(progress.Progress, "report", report_and_reload)
    _run(queued)

    page = pages[0]
    assert "正在重新校验" in page and "已校验 500 / 1200 行" in page
    assert 'value="16"' in page and 'http-equiv="refresh"' in page
    assert ImportBatch.objects.get(pk=batch.pk).status == ImportStatus.APPLIED


# --- all or nothing ----------------------------------------------------------------------------


def test_a_row_refused_midway_in_the_job_writes_nothing(
    client_for, queued, confirm, make_pilot, monkeypatch
):
    first = make_pilot(name="原名一", status=Status.ACTIVE)
    second = make_pilot(name="原名二", status=Status.ACTIVE)
    office = client_for("office")
    exported = {p.code: ledger_row(p) for p in annotate_ledger(Pilot.objects.all())}
    renamed = []
    for pilot, name in ((first, "新名一"), (second, "新名二")):
        cells = list(exported[pilot.code])
        cells[LEDGER_HEADERS.index("试点名称")] = name
        renamed.append(cells)
    rows = _rows(5) + renamed
    batch = _preview(office, rows)
    assert batch.status == ImportStatus.PREVIEWED, batch.errors
    confirm(office, batch)
    from pilots import services

    correct = services.correct_ledger_pilot

    def refuse_the_second(**kwargs):
        if kwargs["pilot"].pk == second.pk:
            raise ValidationError({"name": "该试点刚被他人修改，请重新上传。"})
        return correct(**kwargs)

    monkeypatch.setattr(services, "correct_ledger_pilot", refuse_the_second)
    pilots_before = Pilot.objects.count()

    batch = _run(queued)

    assert batch.status == ImportStatus.FAILED
    assert [e["text"] for e in batch.errors] == [
        "第8行「试点名称」：该试点刚被他人修改，请重新上传。"
    ]
    assert Pilot.objects.count() == pilots_before  # the five new pilots were undone
    first.refresh_from_db()
    assert first.name == "原名一"  # and so was the first correction
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "该试点刚被他人修改" in page and "重新导入" not in page


def test_a_failed_job_shows_why_in_chinese_and_is_retried_from_the_page(
    client_for, queued, confirm, monkeypatch
):
    office = client_for("office")
    batch = _preview(office, _rows(4, 最新进展季度="2026年第1季度", 最新进展="完成方案。"))
    confirm(office, batch)
    insert = pilot_writes.insert_with_history

    def fail_on_reports(model, objs, **kwargs):
        if model is QuarterlyReport:
            raise RuntimeError("数据库连接中断")
        return insert(model, objs, **kwargs)

    monkeypatch.setattr(pilot_writes, "insert_with_history", fail_on_reports)
    batch = _run(queued)

    assert batch.status == ImportStatus.APPLY_FAILED and not Pilot.objects.exists()
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "导入失败" in page and "未写入任何数据" in page and "数据库连接中断" in page
    assert "重新导入" in page

    monkeypatch.setattr(pilot_writes, "insert_with_history", insert)
    assert "已开始导入" in confirm(office, batch)
    batch = _run(queued)
    assert batch.status == ImportStatus.APPLIED
    assert Pilot.objects.count() == 4 == QuarterlyReport.objects.count()


def test_a_worker_killed_midway_writes_nothing_and_its_batch_is_found_stale_then_retried(
    client_for, queued, confirm, monkeypatch, time_machine, settings
):
    time_machine.move_to(T0, tick=False)
    office = client_for("office")
    batch = _preview(office, _rows(6))
    confirm(office, batch)

    def killed(pilot_ids):
        raise WorkerKilled

    monkeypatch.setattr(pilot_writes, "_snapshot_regions", killed)
    with pytest.raises(WorkerKilled):
        _run(queued)
    monkeypatch.undo()
    monkeypatch.setattr(jobs, "_enqueue", lambda *args: queued.append(args))

    batch.refresh_from_db()
    assert batch.status == ImportStatus.RUNNING and not Pilot.objects.exists()
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "正在" in page  # not yet judged lost

    later = T0 + dt.timedelta(minutes=settings.JOB_RUN_STALE_MINUTES + 1)
    time_machine.move_to(later, tick=False)
    office = client_for("office")  # signed in again: the session has lapsed meanwhile
    page = office.get(f"/ledger/import/{batch.pk}/").content.decode()
    assert "导入失败" in page and "导入中断" in page and "重新导入" in page
    assert fail_stale_batches() == 0  # found once

    confirm(office, batch)
    assert _run(queued).status == ImportStatus.APPLIED
    assert Pilot.objects.count() == 6


def test_a_job_kept_while_the_broker_was_down_is_not_judged_lost(personas, time_machine, settings):
    time_machine.move_to(T0, tick=False)
    batch = ImportBatch.objects.create(
        kind="pilots",
        status=ImportStatus.QUEUED,
        filename="x.xlsx",
        created_by=personas["office"],
        queued_at=T0,
    )
    PendingTask.objects.create(task=jobs.APPLY_TASK_NAME, args=[batch.pk, personas["office"].pk])
    time_machine.move_to(T0 + dt.timedelta(minutes=settings.JOB_RUN_STALE_MINUTES + 1))
    assert fail_stale_batches() == 0
    PendingTask.objects.update(sent_at=T0)
    assert fail_stale_batches() == 1
    batch.refresh_from_db()
    assert batch.status == ImportStatus.APPLY_FAILED and "排队导入中超过" in batch.error


def test_the_job_reads_the_upload_through_the_storage_never_a_local_path(
    client_for, queued, confirm, settings
):
    settings.STORAGES = {
        **settings.STORAGES,
        "default": {"BACKEND": "django.core.files.storage.InMemoryStorage"},
    }
    office = client_for("office")
    batch = _preview(office, _rows(2))
    assert batch.file and not Path(batch.file.path).exists()  # no local file to read
    confirm(office, batch)
    assert _run(queued).status == ImportStatus.APPLIED
    assert Pilot.objects.count() == 2


# --- the paged preview -------------------------------------------------------------------------


def test_a_big_preview_is_summarised_and_paged_so_its_page_stays_small(client_for):
    office = client_for("office")
    small = _preview(office, _rows(60))
    big = _preview(office, _rows(1500) + [_row(牵头部门="不存在的厅")])
    small_page = office.get(f"/ledger/import/{small.pk}/").content.decode()
    big_page = office.get(f"/ledger/import/{big.pk}/").content.decode()

    assert _preview_rows(big_page) == _preview_rows(small_page) == 50
    assert len(big_page.encode()) - len(small_page.encode()) < 4_000
    assert "<strong>1500</strong><span>新建试点</span>" in big_page
    assert "<strong>1</strong><span>有错误的行</span>" in big_page
    # The error comes first: its row (the last of the sheet, row 1502) opens the preview.
    first_row = big_page.split("逐行预览", 1)[1].split("<tbody>", 1)[1]
    assert first_row.lstrip().startswith('<tr class="row-overdue">\n      <td>1502</td>')
    errors_only = office.get(f"/ledger/import/{big.pk}/?show=error").content.decode()
    assert _preview_rows(errors_only) == 1 and "仅看有错误" in errors_only
    last = office.get(f"/ledger/import/{big.pk}/?page=31").content.decode()
    assert "第 31 / 31 页" in last and _preview_rows(last) == 1


@pytest.mark.parametrize(
    "query",
    ["?page=abc", "?page=99999", "?page=-1", "?errors=abc", "?errors=0", "?per_page=abc",
     "?per_page=100000", "?show=nonsense", "?page=2&show=create&per_page=10"],
)  # fmt: skip
def test_bad_page_numbers_never_fail_the_preview(client_for, query):
    office = client_for("office")
    batch = _preview(office, _rows(70) + [_row(结束日期="明年")])
    response = office.get(f"/ledger/import/{batch.pk}/{query}")
    assert response.status_code == 200
    assert "逐行预览" in response.content.decode()


# --- set-based writes --------------------------------------------------------------------------


def test_applying_twice_the_new_rows_issues_the_same_queries(client_for, queued, confirm):
    office = client_for("office")

    def queries(count: int) -> int:
        batch = _preview(office, _rows(count, 试点地区="西湖区、鄞州区"))
        confirm(office, batch)
        with CaptureQueriesContext(connection) as ctx:
            assert _run(queued).status == ImportStatus.APPLIED
        return len(ctx)

    queries(5)  # the first import of a year also opens its code counter
    assert queries(20) == queries(40)
    assert Pilot.objects.count() == 65
    assert Pilot.regions.through.objects.count() == 130


def test_the_progress_goes_through_a_side_connection_only_where_it_can(personas, db):
    batch = ImportBatch.objects.create(
        kind="pilots", status=ImportStatus.RUNNING, filename="x.xlsx", created_by=personas["office"]
    )
    reporter = progress.Progress(batch.pk, total_rows=200)
    reporter.rows(100, start=0, end=batches.CHECK_SHARE)
    reporter.close()
    batch.refresh_from_db()
    # The batch was made inside this test's transaction: written where it is visible.
    assert (batch.progress, batch.rows_done) == (20, 100)


def test_R1_3_the_new_pilots_are_checked_after_the_commit_in_tasks_of_a_few_each(
    personas, monkeypatch, django_capture_on_commit_callbacks
):
    from ledger.imports import apply_import, preview_pilot_import
    from pilots import overlap
    from pilots.models_overlap import OverlapFingerprint

    monkeypatch.setattr(pilot_writes, "CHECK_CHUNK", 2)
    checked: list[list[int]] = []
    check = overlap.check_pilots
    monkeypatch.setattr(
        overlap, "check_pilots", lambda ids, index: checked.append(ids) or check(ids, index=index)
    )
    batch = preview_pilot_import(actor=personas["office"], upload=_upload(_rows(5)))
    with django_capture_on_commit_callbacks(execute=True):
        batch = apply_import(actor=personas["office"], batch=batch)
        assert not checked  # nothing before the import's commit

    new = sorted(Pilot.objects.values_list("pk", flat=True))
    assert checked == [new[:2], new[2:4], new[4:]]
    assert OverlapFingerprint.objects.filter(pilot__in=new).count() == 5


@pytest.mark.django_db(transaction=True)
def test_on_postgresql_the_progress_is_written_outside_the_jobs_transaction(personas):
    from django.db import transaction

    batch = ImportBatch.objects.create(
        kind="pilots", status=ImportStatus.RUNNING, filename="x.xlsx", created_by=personas["office"]
    )
    reporter = progress.Progress(batch.pk, total_rows=100)
    with pytest.raises(RuntimeError), transaction.atomic():
        reporter.report(37, 37)
        raise RuntimeError("the job's transaction is rolled back")
    reporter.close()
    batch.refresh_from_db()
    # PostgreSQL: written by a connection of its own, readable (and kept) whatever the job's
    # transaction does; elsewhere on the job's connection, inside its transaction.
    assert batch.progress == (37 if connection.vendor == "postgresql" else 0)
