"""Applying an import as a background job, as PDF ledgers are rendered (ledger.pdf):

- `request_apply` records the office's confirmation (the batch "排队导入中", with history)
  and queues the job once the transaction commits; a broker that cannot be reached keeps
  the task in the database (core.queue) and the batch stays queued;
- `run_queued_apply` is the job: it marks the batch "导入中" and writes it through
  `batches.write_batch` — all rows or none, in one transaction, the progress readable
  meanwhile (ledger.imports.progress) — then "已导入", or "导入失败" with the reason, which
  the office may retry, or "校验未通过" when the data no longer allow the file;
- a job whose worker died never stays "排队导入中" or "导入中": `stale_batches` finds it
  (longer than JOB_RUN_STALE_MINUTES, above the task's hard limit; on PostgreSQL also a run
  whose lock nobody holds any more) and `fail_stale_batches` marks it failed — nothing was
  written, its transaction died with it — for the office to retry. Called when a worker
  starts and whenever the batch's page is read.

The worker reads the uploaded file through the batch's FileField, that is the default
storage, never a local path: it may run on another machine than the web process."""

from __future__ import annotations

import datetime as dt
import logging

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import transaction
from django.db.models import Q, QuerySet
from django.utils import timezone

from core.history import save_with_history
from ledger.constants import ImportStatus
from ledger.imports.batches import (
    check_applicable,
    claim,
    require_importer,
    run_lock_is_free,
    write_batch,
)
from ledger.models import ImportBatch

logger = logging.getLogger(__name__)

APPLY_TASK_NAME = "ledger.tasks.apply_import_task"
# A batch "导入中" younger than this is not judged dead even when its lock is free: the run
# takes its lock a moment after marking the batch.
LOCK_GRACE = dt.timedelta(minutes=2)
STALE_NOTE = (
    "导入中断（{state}超过{minutes}分钟未完成，处理进程已停止），未写入任何数据。"
    "请点击“重新导入”再试。"
)
LOST_NOTE = "导入中断（处理进程已停止），未写入任何数据。请点击“重新导入”再试。"
RETRYABLE = (ImportStatus.PREVIEWED, ImportStatus.APPLY_FAILED)


def request_apply(*, actor, batch: ImportBatch) -> ImportBatch:
    """The office confirms a previewed batch (or retries one whose job failed): the batch is
    queued for the background job, which starts once this transaction commits. Raises
    PermissionDenied for anyone but the office and ValidationError (in Chinese) for a batch
    that is not waiting to be applied."""
    require_importer(actor)
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().defer("preview").get(pk=batch.pk)
        check_applicable(locked, RETRYABLE)
        retry = locked.status == ImportStatus.APPLY_FAILED
        locked.status = ImportStatus.QUEUED
        locked.queued_at = timezone.now()
        locked.started_at = locked.finished_at = None
        locked.progress = locked.rows_done = 0
        locked.error = ""
        save_with_history(
            locked,
            actor=actor,
            reason="Excel导入：重新导入，已排队" if retry else "Excel导入：确认导入，已排队",
            update_fields=[
                "status", "queued_at", "started_at", "finished_at", "progress", "rows_done",
                "error",
            ],
        )  # fmt: skip
        batch_pk, actor_pk = locked.pk, actor.pk
        transaction.on_commit(lambda: _enqueue(batch_pk, actor_pk))
    return locked


def _enqueue(batch_pk: int, actor_pk: int) -> None:
    from core.queue import enqueue

    if not enqueue(APPLY_TASK_NAME, batch_pk, actor_pk):
        logger.warning("导入批次 %s 未能加入队列（消息队列不可用），将在恢复后补发", batch_pk)


def run_queued_apply(batch_pk: int, actor_pk: int) -> ImportBatch | None:
    """The job: write a queued batch. A batch no longer queued (done, failed, or taken by
    another delivery of the same task) is left as it is."""
    from django.contrib.auth import get_user_model

    actor = get_user_model().objects.filter(pk=actor_pk).first()
    try:
        started = claim(
            batch_pk, actor=actor, states=(ImportStatus.QUEUED,), reason="Excel导入：开始导入"
        )
    except (ValidationError, ImportBatch.DoesNotExist):
        logger.info("导入批次 %s 不在排队中，跳过", batch_pk)
        return None
    return write_batch(batch_pk, actor=actor, started=started)


def queue_overlap_check(pilot_ids: list[int], *, index: bool = True) -> None:
    """R1.3 for the pilots an import created, as a job of its own after the import's commit
    (`pilot_writes.check_imported_pilots`): the import is done (and shown so) while the
    library is checked."""
    from core.queue import enqueue

    enqueue("ledger.tasks.check_imported_pilots_task", list(pilot_ids), index)


# --- lost jobs -------------------------------------------------------------------------------


def stale_batches(now: dt.datetime | None = None) -> QuerySet[ImportBatch]:
    """Batches whose job is gone: "排队导入中" or "导入中" for longer than
    JOB_RUN_STALE_MINUTES (a live job is killed at CELERY_TASK_TIME_LIMIT, which the setting
    exceeds). A task kept in the database while the broker is down (PendingTask) is not lost:
    its batch is left alone."""
    from core.models import PendingTask

    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.JOB_RUN_STALE_MINUTES)
    waiting = {
        args[0]
        for args in PendingTask.objects.filter(
            sent_at__isnull=True, task=APPLY_TASK_NAME
        ).values_list("args", flat=True)
        if isinstance(args, list) and args
    }
    return ImportBatch.objects.filter(
        Q(status=ImportStatus.RUNNING, started_at__lt=cutoff)
        | Q(status=ImportStatus.QUEUED, queued_at__lt=cutoff)
    ).exclude(pk__in=waiting)


def fail_stale_batches(*, now: dt.datetime | None = None, batch_pk: int | None = None) -> int:
    """Mark failed, with a history row saying why, every batch a dead job left "排队导入中"
    or "导入中" (see `stale_batches`; on PostgreSQL also a batch "导入中" whose run lock is
    free); of one batch when `batch_pk` is given. Nothing was written by such a job: the
    office retries it. Returns how many; a second call finds none."""
    now = now or timezone.now()
    minutes = settings.JOB_RUN_STALE_MINUTES
    found = stale_batches(now)
    running = ImportBatch.objects.filter(
        status=ImportStatus.RUNNING, started_at__lt=now - LOCK_GRACE
    )
    if batch_pk is not None:
        found, running = found.filter(pk=batch_pk), running.filter(pk=batch_pk)
    notes = {pk: None for pk in found.values_list("pk", flat=True)}
    for pk in running.exclude(pk__in=notes).values_list("pk", flat=True):
        if run_lock_is_free(pk):
            notes[pk] = LOST_NOTE
    count = 0
    for pk, note in notes.items():
        with transaction.atomic():
            batch = ImportBatch.objects.select_for_update().defer("preview").get(pk=pk)
            if batch.status not in (ImportStatus.QUEUED, ImportStatus.RUNNING):
                continue
            state = ImportStatus(batch.status).label
            batch.status = ImportStatus.APPLY_FAILED
            batch.error = note or STALE_NOTE.format(state=state, minutes=minutes)
            batch.finished_at = now
            save_with_history(
                batch,
                actor=None,
                reason="Excel导入：导入中断",
                update_fields=["status", "error", "finished_at"],
            )
            count += 1
    if count:
        logger.warning("%s 个中断的导入批次已标记为导入失败", count)
    return count
