"""Running a scheduled job: under its lock row, in one transaction, with its run logged.

A job is a plain function of the day it runs for. `run_job` holds the job's JobLock row
for the whole run, so a second run waits, then finds nothing left to do; it records the
run (start, end, counts, queries) in JobRun, which the office reads; runs a dead process
left "running" are closed as failed first. The apps register their jobs' names in
`core.jobnames`."""

from __future__ import annotations

import datetime as dt
import logging
from collections.abc import Callable

from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django.db.models import OuterRef, Subquery
from django.utils import timezone

from core.jobnames import JOBS
from core.models import JobLock, JobRun, JobStatus

logger = logging.getLogger(__name__)


class _QueryCounter:
    def __init__(self) -> None:
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


def _lock(name: str) -> None:
    """Hold the job's lock row until the surrounding transaction ends (one query once the
    row exists)."""
    if JobLock.objects.select_for_update().filter(name=name).exists():
        return
    try:
        with transaction.atomic():
            JobLock.objects.create(name=name)
    except IntegrityError:
        pass  # created by a concurrent run meanwhile
    JobLock.objects.select_for_update().get(name=name)


STALE_RUN_NOTE = "进程中断，已标记为失败"
# A run is recorded a moment before it takes its lock: a "running" run younger than this is
# not judged dead even when its lock is free.
LOCK_GRACE = dt.timedelta(minutes=2)


def _lock_is_free(name: str) -> bool:
    """Whether no run holds the job's lock now (PostgreSQL: the lock row is not locked).
    Without row locks (SQLite) nothing can be told, and the answer is no."""
    if not connection.features.has_select_for_update_skip_locked:
        return False
    with transaction.atomic():
        if JobLock.objects.select_for_update(skip_locked=True).filter(name=name).exists():
            return True
        return not JobLock.objects.filter(name=name).exists()


def close_stale_runs(job: str | None = None, *, now: dt.datetime | None = None) -> int:
    """Close as failed the runs a dead process left "running": of `job` (or of every job),
    those started more than JOB_RUN_STALE_MINUTES ago (a live run inside Celery is killed at
    CELERY_TASK_TIME_LIMIT, which the setting exceeds), and, where the lock can be read,
    those whose lock nobody holds any more. Called when a job starts and when a worker
    starts; returns how many runs were closed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(minutes=settings.JOB_RUN_STALE_MINUTES)
    # One query when nothing is left running, as on almost every start: a job's lock is read
    # only when it has a run old enough to judge and not yet past the cutoff.
    rows = JobRun.objects.filter(
        job__in=[job] if job else list(JOBS),
        status=JobStatus.RUNNING,
        started_at__lt=now - LOCK_GRACE,
    ).values_list("pk", "job", "started_at")
    free: dict[str, bool] = {}
    stale: list[int] = []
    for pk, name, started_at in rows:
        if started_at >= cutoff:
            if name not in free:
                free[name] = _lock_is_free(name)
            if not free[name]:
                continue
        stale.append(pk)
    closed = 0
    if stale:
        closed = JobRun.objects.filter(pk__in=stale, status=JobStatus.RUNNING).update(
            status=JobStatus.FAILED, finished_at=now, error=STALE_RUN_NOTE
        )
    if closed:
        logger.warning("%s 条中断的定时任务记录已标记为失败", closed)
    return closed


def run_job(
    job: str, body: Callable[[dt.date], dict], today: dt.date | None, triggered_by: str
) -> JobRun:
    """Run `body(today)` under the job's lock in one transaction and record the run. Runs of
    the job that a dead process left "running" are closed first."""
    today = today or timezone.localdate()
    close_stale_runs(job)
    run = JobRun.objects.create(job=job, today=today, triggered_by=triggered_by[:50])
    counter = _QueryCounter()
    try:
        with transaction.atomic(), connection.execute_wrapper(counter):
            _lock(job)
            counts = body(today)
    except Exception as exc:
        run.status = JobStatus.FAILED
        run.error = f"{type(exc).__name__}: {exc}"[:2000]
        run.finished_at = timezone.now()
        run.queries = counter.count
        run.save(update_fields=["status", "error", "finished_at", "queries"])
        logger.exception("%s (%s) failed", job, today)
        raise
    run.status = JobStatus.DONE
    run.counts = counts
    run.queries = counter.count
    run.finished_at = timezone.now()
    # A run that waited long for its lock may have been judged dead meanwhile: it was not.
    run.error = ""
    run.save(update_fields=["status", "counts", "queries", "finished_at", "error"])
    logger.info("%s (%s): %s, %s queries", job, today, counts, counter.count)
    return run


def last_runs(jobs) -> dict[str, JobRun]:
    """The latest run of each of `jobs`, by job name, in one query (jobs never run are
    absent): the jobs page's 上次运行."""
    latest = (
        JobRun.objects.filter(job=OuterRef("job")).order_by("-started_at", "-pk").values("pk")[:1]
    )
    runs = JobRun.objects.filter(job__in=list(jobs), pk=Subquery(latest))
    return {run.job: run for run in runs}
