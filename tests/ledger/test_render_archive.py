"""Superseded PDF ledgers are archived, never deleted: the weekly job marks a finished ledger
that a newer one of the same quarter replaces, keeps its file where every row and history row
says it is, logs its run like every other job and shows on the jobs page."""

from __future__ import annotations

import datetime as dt
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.core.files.base import ContentFile

from core.models import JobRun, JobStatus
from ledger.constants import LedgerJob, LedgerScope, RenderStatus
from ledger.jobs import ARCHIVE_REASON, archive_superseded_renders
from ledger.models import LedgerRender

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
TODAY = D(2026, 10, 10)
NOW = dt.datetime(2026, 10, 10, 3, 0, tzinfo=SHANGHAI)


@pytest.fixture
def media(settings, tmp_path) -> Path:
    settings.MEDIA_ROOT = tmp_path
    return tmp_path


def _done(department=None, *, days_ago: int) -> LedgerRender:
    scope = LedgerScope.DEPARTMENT if department else LedgerScope.PROVINCE
    render = LedgerRender.objects.create(
        scope=scope, department=department, year=2026, quarter=2, status=RenderStatus.DONE
    )
    render.file.save(f"ledger-{render.pk}.pdf", ContentFile(b"%PDF-1.7 test"), save=True)
    LedgerRender.objects.filter(pk=render.pk).update(created_at=NOW - dt.timedelta(days=days_ago))
    render.refresh_from_db()
    return render


@pytest.fixture
def renders(orgs, media) -> dict[str, LedgerRender]:
    return {
        "oldest": _done(days_ago=200),
        "older": _done(days_ago=120),
        "newest": _done(days_ago=100),  # old, but the newest of its quarter: kept current
        "recent_superseded": _done(orgs["dept"], days_ago=30),  # younger than keep_days
        "dept_newest": _done(orgs["dept"], days_ago=10),
        "only_dept": _done(orgs["other_dept"], days_ago=300),  # nothing replaces it
    }


def _every_named_file() -> set[str]:
    """Every file name a ledger row or any of its history rows points to."""
    names = set(LedgerRender.objects.values_list("file", flat=True))
    names |= set(LedgerRender.history.values_list("file", flat=True))
    return {name for name in names if name}


def test_superseded_ledgers_are_archived_and_every_file_any_row_or_history_names_still_exists(
    renders, media
):
    named = _every_named_file()
    assert len(named) == 6

    run = archive_superseded_renders(TODAY, keep_days=90)

    assert run.job == LedgerJob.ARCHIVE_RENDERS and run.status == JobStatus.DONE
    assert run.counts == {"archived": 2}
    for key in ("oldest", "older"):
        render = LedgerRender.objects.get(pk=renders[key].pk)
        assert render.archived_at is not None
        assert render.superseded_by_id == renders["newest"].pk
        assert render.status == RenderStatus.DONE and render.file.name == renders[key].file.name
        assert render.history.latest().history_change_reason == ARCHIVE_REASON
    for key in ("newest", "recent_superseded", "dept_newest", "only_dept"):
        assert LedgerRender.objects.get(pk=renders[key].pk).archived_at is None
    # Nothing a row or a history row names has disappeared, and nothing new is named.
    assert _every_named_file() == named
    missing = [name for name in named if not (media / name).exists()]
    assert missing == []
    assert LedgerRender.objects.count() == 6


def test_archiving_twice_changes_nothing_the_second_time(renders):
    archive_superseded_renders(TODAY, keep_days=90)
    history = LedgerRender.history.count()
    archived = dict(LedgerRender.objects.values_list("pk", "archived_at"))

    again = archive_superseded_renders(TODAY + dt.timedelta(days=7), keep_days=90)

    assert again.status == JobStatus.DONE and again.counts == {"archived": 0}
    assert LedgerRender.history.count() == history
    assert dict(LedgerRender.objects.values_list("pk", "archived_at")) == archived
    assert JobRun.objects.filter(job=LedgerJob.ARCHIVE_RENDERS).count() == 2


def test_an_archived_ledger_still_downloads_for_the_office(renders, client_for):
    archive_superseded_renders(TODAY, keep_days=90)
    response = client_for("office").get(f"/ledger/renders/{renders['oldest'].pk}/download/")
    assert response.status_code == 200
    assert b"".join(response.streaming_content) == b"%PDF-1.7 test"


def test_the_weekly_task_archives_and_logs_its_run(renders):
    from ledger.tasks import cleanup_old_renders_task

    cleanup_old_renders_task.delay(keep_days=90)

    run = JobRun.objects.get(job=LedgerJob.ARCHIVE_RENDERS)
    assert run.triggered_by == "定时任务" and run.status == JobStatus.DONE
    assert all((Path(r.file.path)).exists() for r in LedgerRender.objects.all())


def test_the_archive_job_is_on_the_jobs_page_in_chinese_and_runs_from_there(renders, client_for):
    client = client_for("office")
    page = client.get("/pilots/jobs/").content.decode()
    assert "立即运行：归档被替代的PDF台账" in page
    assert "归档被替代的PDF台账（每周）" in page  # its weekly schedule says what it does

    response = client.post("/pilots/jobs/", {"job": LedgerJob.ARCHIVE_RENDERS})

    assert response.status_code == 302
    run = JobRun.objects.get(job=LedgerJob.ARCHIVE_RENDERS)
    assert run.status == JobStatus.DONE and run.triggered_by.endswith("手动运行")
    page = client.get("/pilots/jobs/").content.decode()
    assert "归档 " in page  # its count, labelled in Chinese
