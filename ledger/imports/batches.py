"""An import batch from upload to outcome: who may import, the preview (step 1) that checks
an upload and keeps it with every error, and `apply_import` (step 2) that validates the
stored file again and writes every row or none."""

from __future__ import annotations

import uuid
from collections.abc import Callable
from pathlib import PurePath

from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files.base import ContentFile
from django.db import IntegrityError, transaction
from django.utils import timezone

from core.history import save_with_history
from ledger.constants import ImportKind, ImportStatus
from ledger.imports.files import FileRejected, check_workbook, read_upload
from ledger.imports.pilot_rows import validate_pilot_workbook
from ledger.imports.pilot_writes import write_pilots
from ledger.imports.plans import validate_plan_workbook, write_plan
from ledger.imports.results import Result, RowsRefused, batch_reason, capped, row_error
from ledger.models import ImportBatch
from pilots import policy


def can_import(user) -> bool:
    """The office keeps the ledger (R2.2: a pilot enters it when the office confirms its
    filing) and the registry's reference data, so only the office imports."""
    return policy.is_office(user)


def _require_importer(actor) -> None:
    if not can_import(actor):
        raise PermissionDenied("只有省办可以导入台账和改革实施方案。")


# --- the two steps ---------------------------------------------------------------------------


def preview_pilot_import(*, actor, upload) -> ImportBatch:
    """Step 1 for the ledger's pilots: check and validate the upload; return the batch (status
    "previewed" when every row is valid, else "failed" with every error)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.PILOTS)


def preview_plan_import(*, actor, upload) -> ImportBatch:
    """Step 1 for a reform implementation plan (one row per main task)."""
    return _preview(actor=actor, upload=upload, kind=ImportKind.REFORM_PLAN)


def _validator(kind: str) -> Callable[..., Result]:
    return validate_pilot_workbook if kind == ImportKind.PILOTS else validate_plan_workbook


def _preview(*, actor, upload, kind: str) -> ImportBatch:
    _require_importer(actor)
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
    batch.status = ImportStatus.FAILED if result.errors else ImportStatus.PREVIEWED
    batch.file.save(f"{uuid.uuid4().hex}.xlsx", ContentFile(data), save=False)
    save_with_history(batch, actor=actor, reason="Excel导入：预览")
    return batch


def apply_import(*, actor, batch: ImportBatch) -> ImportBatch:
    """Step 2: write a previewed batch. The stored file is validated again, inside the
    transaction and against the data as it is now; if every row still holds, all rows are
    written and the batch is marked applied, else nothing is written and the batch is marked
    failed with the errors found now. Raises ValidationError for a batch that is not waiting
    to be applied (already applied, or failed)."""
    _require_importer(actor)
    try:
        with transaction.atomic():
            locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
            if locked.status != ImportStatus.PREVIEWED or locked.errors:
                raise ValidationError(
                    "该批次已导入或存在错误，不能导入；请修改文件后重新上传。",
                    code="not_applicable",
                )
            try:
                with locked.file.open("rb") as fh:
                    data = fh.read()
            except (OSError, ValueError) as exc:
                raise FileRejected("上传的文件已不存在，请重新上传。") from exc
            result = _validator(locked.kind)(data, filename=locked.filename, lock=True)
            if result.errors:
                locked.status = ImportStatus.FAILED
                locked.errors = capped(result.errors)
                locked.preview = result.preview
                save_with_history(locked, actor=actor, reason="Excel导入：重新校验未通过")
                return locked
            reason = batch_reason(locked.pk)
            if locked.kind == ImportKind.PILOTS:
                try:
                    # All rows or none: a row the domain functions refuse now undoes the
                    # rows written before it.
                    with transaction.atomic():
                        write_pilots(actor, result.items, reason=reason)
                except RowsRefused as refused:
                    locked.status = ImportStatus.FAILED
                    locked.errors = capped(refused.errors)
                    save_with_history(locked, actor=actor, reason="Excel导入：重新校验未通过")
                    return locked
                # New rows got their codes while being written: the preview records them.
                codes = {item.row: item.code for item in result.items}
                for line in result.preview:
                    line["code"] = codes.get(line["row"], line["code"])
            else:
                write_plan(actor, result.plan, result.items, reason=reason)
            locked.status = ImportStatus.APPLIED
            locked.applied_at = timezone.now()
            locked.preview = result.preview
            save_with_history(locked, actor=actor, reason=reason)
            return locked
    except FileRejected as exc:
        return _record_failure(actor, batch, str(exc))
    except IntegrityError:
        # Another change got in between (a code taken meanwhile …): nothing was written.
        return _record_failure(actor, batch, "导入时数据已发生变化，未写入任何数据，请重新上传。")


def _record_failure(actor, batch: ImportBatch, message: str) -> ImportBatch:
    with transaction.atomic():
        locked = ImportBatch.objects.select_for_update().get(pk=batch.pk)
        locked.status = ImportStatus.FAILED
        locked.errors = [row_error(None, "", message)]
        save_with_history(locked, actor=actor, reason="Excel导入：导入失败")
    return locked
