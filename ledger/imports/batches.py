"""An import batch from upload to outcome: who may import, the preview (step 1) that checks
an upload and keeps it with every error, and the apply (step 2) that validates the stored
file again and writes every row or none — at once (`apply_import`, the management commands)
or as a background job (`ledger.imports.jobs`); both go through `write_batch`."""

from __future__ import annotations

import datetime as dt
import logging
import uuid
from collections.abc import Callable
from pathlib import PurePath

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, connection, transaction
from django.utils import timezone

from core.history import save_with_history
from ledger.constants import ImportKind, ImportStatus
from ledger.imports.files import FileRejected, check_workbook, read_upload
from ledger.imports.pilot_rows import validate_pilot_workbook
from ledger.imports.pilot_writes import write_pilots
from ledger.imports.plans import validate_plan_workbook, write_plan
from ledger.imports.progress import Progress
from ledger.imports.results import Result, RowsRefused, batch_reason, capped, row_error
from ledger.models import ImportBatch
from pilots import policy

logger = logging.getLogger(__name__)

# The share of the progress bar given to checking the rows again; writing takes the rest.
CHECK_SHARE = 40
# The advisory lock a running apply holds for its whole transaction (PostgreSQL): a batch
# "导入中" whose lock nobody holds lost its job.
RUN_LOCK_CLASS = 7301

NOT_APPLICABLE = "该批次已导入或存在错误，不能导入；请修改文件后重新上传。"
IN_PROGRESS = "该批次正在导入，请稍候刷新页面查看进度。"
JOB_FAILED = "导入未完成，未写入任何数据。请点击“重新导入”再试；如仍失败，请联系管理员。"
DATA_CHANGED = "导入时数据已发生变化，未写入任何数据。请点击“重新导入”再试，或修改文件后重新上传。"


def can_import(user) -> bool:
    """The office keeps the ledger (R2.2: a pilot enters it when the office confirms its
    filing) and the registry's reference data, so only the office imports."""
    return policy.is_office(user)


def require_importer(actor) -> None:
    if not can_import(actor):
        raise PermissionDenied("只有省办可以导入台账和改革实施方案。")


# --- step 1: the preview ---------------------------------------------------------------------


def preview_pilot_import(*, actor, upload) -> ImportBatch:
    """Step 1 for the ledger's pilots: check and validate the upload; return the batch (status
    "previewed" when every row is valid, else "failed" with every error)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.PILOTS)


def preview_plan_import(*, actor, upload) -> ImportBatch:
    """Step 1 for a reform implementation plan (one row per main task)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.REFORM_PLAN)


def _validator(kind: str) -> Callable[..., Result]:
    return validate_pilot_workbook if kind == ImportKind.PILOTS else validate_plan_workbook


def count_actions(preview: list[dict]) -> dict[str, int]:
    """The preview's rows by what they do: create, update, unchanged, error."""
    counts = {"create": 0, "update": 0, "unchanged": 0, "error": 0}
    for line in preview:
        action = line.get("action", "error")
        counts[action] = counts.get(action, 0) + 1
    return counts


def _preview(*, actor, upload, kind: str) -> ImportBatch:
    require_importer(actor)
    filename = PurePath(str(getattr(upload, "name", "") or "upload.xlsx")).name[:200]
    batch = ImportBatch(kind=kind, filename=filename, created_by=actor)
    try:
        data = read_upload(upload)
        check_workbook(data)
        result = _validator(kind)(data, filename=filename)
    except FileRejected as exc:
        # A file that is no workbook is not kept; the attempt is recorded with the reason.
        batch.status = ImportStatus.FAILED
        batch.errors = [row_error(None, "", str(exc))]
        save_with_history(batch, actor=actor, reason="Excel导入：文件被拒绝")
        return batch
    batch.rows = result.rows
    batch.errors = capped(result.errors)
    batch.preview = result.preview
    batch.counts = count_actions(result.preview)
    batch.status = ImportStatus.FAILED if result.errors else ImportStatus.PREVIEWED
    batch.file.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(data), save=False)
    save_with_history(batch, actor=actor, reason="Excel导入：预览")
    return batch


# --- step 2: the apply -----------------------------------------------------------------------


def check_applicable(batch: ImportBatch, states) -> None:
    """Refuse, in Chinese, a batch that is not in one of `states` waiting to be written."""
    if batch.status in states and not batch.errors:
        return
    if batch.status in (ImportStatus.QUEUED, ImportStatus.RUNNING):
        raise ValidationError(IN_PROGRESS, code="in_progress")
    raise ValidationError(NOT_APPLICABLE, code="not_applicable")


def claim(batch_pk: int, *, actor, states, reason: str) -> dt.datetime:
    """Mark the batch "导入中" (from one of `states`) and commit; returns the run's start
    time, which identifies the run to `write_batch`. Raises ValidationError otherwise."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().defer("preview").get(pk=batch_pk)
        check_applicable(locked, states)
        locked.status = ImportStatus.RUNNING
        locked.started_at = timezone.now()
        locked.finished_at = None
        locked.progress = 0
        locked.rows_done = 0
        locked.error = ""
        save_with_history(
            locked,
            actor=actor,
            reason=reason,
            update_fields=["status", "started_at", "finished_at", "progress", "rows_done", "error"],
        )
    return locked.started_at


def apply_import(*, actor, batch: ImportBatch) -> ImportBatch:
    """Step 2 at once, in this process (the management commands): write a previewed batch —
    or one whose job failed — all rows or none, and return it applied, or failed with the
    errors found now. Raises ValidationError for a batch that is not waiting to be applied
    (already applied, failed its checks, or being imported)."""
    require_importer(actor)
    started = claim(
        batch.pk,
        actor=actor,
        states=(ImportStatus.PREVIEWED, ImportStatus.APPLY_FAILED),
        reason="Excel导入：开始导入",
    )
    return write_batch(batch.pk, actor=actor, started=started)


class _Superseded(Exception):
    """The batch is no longer this run's (a newer run took it over): write nothing."""


def write_batch(batch_pk: int, *, actor, started: dt.datetime) -> ImportBatch:
    """Write a claimed batch (status "导入中" since `started`), all rows or none, in one
    transaction: the stored file is read again through the storage, validated again against
    the data as it is now (rows locked), and every row is written — with history by `actor`
    and the batch as the reason, "Excel导入（批次#12）" — and the batch marked applied; or,
    if any row fails now, nothing is written and the batch is marked failed with the errors
    found now (校验未通过: the file must change), or with the reason the job stopped (导入
    失败: it may be retried). A process killed meanwhile writes nothing either."""
    batch = ImportBatch.objects.defer("preview").get(pk=batch_pk)
    progress = Progress(batch_pk, total_rows=batch.rows)
    try:
        with transaction.atomic():
            _hold_run_lock(batch_pk)
            _write(batch, actor=actor, started=started, progress=progress)
    except _Superseded:
        logger.warning("导入批次 %s 已由新的导入接手，本次未写入", batch_pk)
    except FileRejected as exc:
        _record_failure(batch_pk, started, actor, ImportStatus.FAILED, errors=[str(exc)])
    except IntegrityError:
        # Another change got in between (a code taken meanwhile …): nothing was written.
        _record_failure(batch_pk, started, actor, ImportStatus.APPLY_FAILED, error=DATA_CHANGED)
    except Exception as exc:
        logger.exception("导入批次 %s 写入失败", batch_pk)
        detail = f"{JOB_FAILED}\n详情：{type(exc).__name__}: {exc}"[:2000]
        _record_failure(batch_pk, started, actor, ImportStatus.APPLY_FAILED, error=detail)
    finally:
        progress.close()
    return ImportBatch.objects.get(pk=batch_pk)


def _write(batch: ImportBatch, *, actor, started: dt.datetime, progress: Progress) -> None:
    try:
        with batch.file.open("rb") as fh:
            data = fh.read()
    except (OSError, ValueError) as exc:
        raise FileRejected("上传的文件已不存在，请重新上传。") from exc
    if batch.kind == ImportKind.PILOTS:
        result = validate_pilot_workbook(
            data,
            filename=batch.filename,
            lock=True,
            on_rows=lambda n: progress.rows(n, start=0, end=CHECK_SHARE),
        )
    else:
        result = validate_plan_workbook(data, filename=batch.filename, lock=True)
    progress.report(CHECK_SHARE, 0)
    if result.errors:
        _finish(
            batch.pk,
            started,
            actor,
            status=ImportStatus.FAILED,
            errors=capped(result.errors),
            preview=result.preview,
            reason="Excel导入：重新校验未通过",
        )
        return
    reason = batch_reason(batch.pk)
    if batch.kind == ImportKind.PILOTS:
        try:
            # All rows or none: a row the domain functions refuse now undoes the rows
            # written before it.
            with transaction.atomic():
                new_ids = write_pilots(
                    actor,
                    result.items,
                    reason=reason,
                    on_rows=lambda n: progress.rows(n, start=CHECK_SHARE, end=99),
                )
        except RowsRefused as refused:
            _finish(
                batch.pk,
                started,
                actor,
                status=ImportStatus.FAILED,
                errors=capped(refused.errors),
                reason="Excel导入：重新校验未通过",
            )
            return
        # New rows got their codes while being written: the preview records them.
        codes = {item.row: item.code for item in result.items}
        for line in result.preview:
            line["code"] = codes.get(line["row"], line["code"])
        if new_ids:
            # R1.3 for the new pilots, in the background once they are committed.
            from ledger.imports.jobs import queue_overlap_check

            transaction.on_commit(lambda: queue_overlap_check(new_ids))
    else:
        write_plan(actor, result.plan, result.items, reason=reason)
    _finish(
        batch.pk,
        started,
        actor,
        status=ImportStatus.APPLIED,
        preview=result.preview,
        reason=reason,
    )


def _finish(batch_pk, started, actor, *, status: str, reason: str, errors=None, preview=None):
    """The run's outcome on the batch, inside the run's transaction, if the batch is still
    this run's."""
    locked = ImportBatch.objects.select_for_update().defer("preview").get(pk=batch_pk)
    if locked.status != ImportStatus.RUNNING or locked.started_at != started:
        raise _Superseded
    now = timezone.now()
    locked.status = status
    locked.finished_at = now
    fields = ["status", "finished_at"]
    if status == ImportStatus.APPLIED:
        locked.applied_at = now
        locked.progress = 100
        locked.rows_done = locked.rows
        fields += ["applied_at", "progress", "rows_done"]
    if errors is not None:
        locked.errors = errors
        fields.append("errors")
    if preview is not None:
        locked.preview = preview
        locked.counts = count_actions(preview)
        fields += ["preview", "counts"]
    save_with_history(locked, actor=actor, reason=reason, update_fields=fields)


def _record_failure(batch_pk, started, actor, status: str, *, errors=(), error: str = "") -> None:
    """After the run's transaction was rolled back: the batch failed, with why."""
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().defer("preview").get(pk=batch_pk)
        if locked.status != ImportStatus.RUNNING or locked.started_at != started:
            return
        locked.status = status
        locked.finished_at = timezone.now()
        locked.error = error
        fields = ["status", "finished_at", "error"]
        if errors:
            locked.errors = [row_error(None, "", message) for message in errors]
            fields.append("errors")
        save_with_history(locked, actor=actor, reason="Excel导入：导入失败", update_fields=fields)


def _hold_run_lock(batch_pk: int) -> None:
    """PostgreSQL: hold the batch's advisory lock until the run's transaction ends."""
    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:
            cursor.execute("SELECT pg_advisory_xact_lock(%s, %s)", [RUN_LOCK_CLASS, batch_pk])


def run_lock_is_free(batch_pk: int) -> bool:
    """Whether no run holds the batch's lock now (PostgreSQL). Elsewhere nothing can be
    told, and the answer is no."""
    if connection.vendor != "postgresql":
        return False
    with transaction.atomic(), connection.cursor() as cursor:
        cursor.execute("SELECT pg_try_advisory_xact_lock(%s, %s)", [RUN_LOCK_CLASS, batch_pk])
        return bool(cursor.fetchone()[0])
