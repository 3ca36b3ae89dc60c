"""A worker killed in the middle of a job leaves no half-done pilot, and the job completes on
its next run with exactly one effect (it runs in one transaction under its lock; Celery acks
the task late and rejects it when the worker is lost, so the broker hands it out again)."""

from __future__ import annotations

import datetime as dt

import pytest

from core.models import JobRun, JobStatus
from pilots import jobs
from pilots.constants import Status
from pilots.models import OverdueEvent, Pilot

D = dt.date


class WorkerKilled(BaseException):
    """Stands for SIGKILL: nothing after it runs, no `except Exception` catches it."""


@pytest.mark.parametrize(
    ("job", "setup", "effect"),
    [
        (
            jobs.purge_expired,
            {"end_date": D(2026, 12, 31)},
            lambda: Pilot.objects.filter(status=Status.PURGED).count(),
        ),
        (
            jobs.flag_overdue,
            {"status": Status.APPROVED, "approval_date": D(2027, 1, 10)},
            lambda: OverdueEvent.objects.count(),
        ),
    ],
    ids=["purge_expired", "flag_overdue"],
)
def test_a_job_killed_midway_leaves_nothing_half_done_and_the_rerun_has_one_effect(
    make_pilot, monkeypatch, job, setup, effect
):
    for _ in range(3):
        make_pilot(**setup)
    day = D(2027, 2, 1)

    def killed(*args, **kwargs):
        raise WorkerKilled

    # Killed after the job changed the pilots and before it told anyone.
    monkeypatch.setattr(jobs, "notify_many", killed)
    with pytest.raises(WorkerKilled):
        job(day)
    assert effect() == 0  # rolled back: no pilot purged, no event recorded
    assert Pilot.history.filter(status=Status.PURGED).count() == 0
    assert JobRun.objects.get().status == JobStatus.RUNNING  # the killed run, as it was left

    monkeypatch.undo()
    rerun = job(day)
    assert rerun.status == JobStatus.DONE and effect() == 3
    again = job(day)
    assert effect() == 3 and sum(v for k, v in again.counts.items() if k != "open") == 0
