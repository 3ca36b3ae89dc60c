"""A job run a dead process left "运行中" is closed as failed, with a note saying so, when the
job next runs or when a worker starts; a run that may still be alive is left alone."""

from __future__ import annotations

import datetime as dt

import pytest
from django.conf import settings as django_settings
from django.db import connection

from core.jobs import close_stale_runs
from core.models import JobRun, JobStatus
from ledger.constants import LedgerJob
from pilots import jobs
from pilots.constants import JobName

D = dt.date
T0 = dt.datetime(2027, 2, 1, 1, 10, tzinfo=dt.UTC)
NOTE = "进程中断，已标记为失败"


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no `except Exception` catches it."""


@pytest.fixture
def killed_run(make_pilot, monkeypatch, time_machine) -> JobRun:
    """flag_overdue killed at T0 after it changed the pilots, before it told anyone."""
    time_machine.move_to(T0, tick=False)
    make_pilot(end_date=D(2026, 12, 31))

    def killed(*args, **kwargs):
        raise WorkerKilled

    monkeypatch.setattr(jobs, "notify_many", killed)
    with pytest.raises(WorkerKilled):
        jobs.flag_overdue(D(2027, 2, 1))
    monkeypatch.undo()
    run = JobRun.objects.get()
    assert run.status == JobStatus.RUNNING
    return run


def _minutes_later(time_machine, minutes: int) -> None:
    time_machine.move_to(T0 + dt.timedelta(minutes=minutes), tick=False)


def test_a_run_left_running_by_a_killed_process_is_closed_when_the_job_next_runs(
    killed_run, time_machine
):
    # A minute later it may still be alive: left as it is.
    _minutes_later(time_machine, 1)
    jobs.flag_overdue(D(2027, 2, 1))
    killed_run.refresh_from_db()
    assert killed_run.status == JobStatus.RUNNING and killed_run.error == ""
    # Past the limit, another job's run does not judge it.
    _minutes_later(time_machine, django_settings.JOB_RUN_STALE_MINUTES + 1)
    jobs.send_reminders(D(2027, 2, 1))
    killed_run.refresh_from_db()
    assert killed_run.status == JobStatus.RUNNING

    rerun = jobs.flag_overdue(D(2027, 2, 1))

    killed_run.refresh_from_db()
    assert killed_run.status == JobStatus.FAILED and killed_run.error == NOTE
    assert killed_run.finished_at is not None
    assert rerun.status == JobStatus.DONE and rerun.error == ""
    assert not JobRun.objects.filter(status=JobStatus.RUNNING).exists()


def test_a_starting_worker_closes_the_runs_dead_processes_left_running(db, time_machine):
    from config.celery import _recover_interrupted_work

    time_machine.move_to(T0, tick=False)
    left = [
        JobRun.objects.create(job=name, today=D(2027, 2, 1))
        for name in (LedgerJob.RENDER_LEDGERS, JobName.SEND_REMINDERS, LedgerJob.ARCHIVE_RENDERS)
    ]
    _minutes_later(time_machine, django_settings.JOB_RUN_STALE_MINUTES + 1)
    fresh = JobRun.objects.create(job=JobName.FLAG_OVERDUE, today=D(2027, 2, 1))

    _recover_interrupted_work()

    for run in left:
        run.refresh_from_db()
        assert (run.status, run.error) == (JobStatus.FAILED, NOTE)
    fresh.refresh_from_db()
    assert fresh.status == JobStatus.RUNNING


def test_the_jobs_page_shows_the_closed_run_as_failed_with_its_note(
    killed_run, time_machine, client_for
):
    _minutes_later(time_machine, django_settings.JOB_RUN_STALE_MINUTES + 1)
    close_stale_runs()
    page = client_for("office").get("/pilots/jobs/").content.decode()
    assert NOTE in page


@pytest.mark.django_db(transaction=True)
def test_a_run_whose_lock_nobody_holds_is_closed_before_the_time_limit(make_pilot, time_machine):
    if connection.vendor == "sqlite":
        pytest.skip("SQLite has no row locks to read; run with DATABASE_URL=postgres://….")
    time_machine.move_to(T0, tick=False)
    dead = JobRun.objects.create(job=JobName.FLAG_OVERDUE, today=D(2027, 2, 1))
    _minutes_later(time_machine, 10)

    jobs.flag_overdue(D(2027, 2, 1))

    dead.refresh_from_db()
    assert (dead.status, dead.error) == (JobStatus.FAILED, NOTE)


def test_with_no_run_left_running_the_check_is_one_query(db, django_assert_num_queries):
    JobRun.objects.create(job=JobName.FLAG_OVERDUE, today=dt.date(2026, 11, 20))  # just started
    with django_assert_num_queries(1):
        assert close_stale_runs(JobName.FLAG_OVERDUE) == 0
    with django_assert_num_queries(1):
        assert close_stale_runs() == 0
