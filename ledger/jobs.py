"""Scheduled jobs of the ledger: plain functions, called by a thin Celery task, a management
command or a shell alike. Each is set-based, safe to run twice, and says what it did."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import Exists, IntegerField, OuterRef, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from ledger.constants import RenderStatus
from ledger.models import LedgerRender
from ledger.pdf import CLEANED_NOTE
from pilots.rules import format_cn_date

logger = logging.getLogger(__name__)


def _same_ledger_key():
    # A province ledger has no department: compare departments with NULL as 0.
    return Coalesce("department_id", Value(0), output_field=IntegerField())


def cleanup_old_renders(keep_days: int = 90, *, now: dt.datetime | None = None) -> int:
    """Remove the files of PDF ledgers older than `keep_days` that a newer finished ledger of
    the same scope, department, year and quarter replaces. The rows stay (nothing is ever
    lost): their file is cleared and their note says "已清理", with a history record. The
    newest finished ledger of each quarter is always kept. Returns how many were cleaned;
    a second run finds nothing. Files are deleted once the rows are committed."""
    now = now or timezone.now()
    cutoff = now - dt.timedelta(days=keep_days)
    newer_done = LedgerRender.objects.annotate(key=_same_ledger_key()).filter(
        status=RenderStatus.DONE,
        scope=OuterRef("scope"),
        key=OuterRef("key"),
        year=OuterRef("year"),
        quarter=OuterRef("quarter"),
        pk__gt=OuterRef("pk"),
    )
    with transaction.atomic():
        due = list(
            LedgerRender.objects.annotate(key=_same_ledger_key())
            .filter(status=RenderStatus.DONE, created_at__lt=cutoff)
            .exclude(file="")
            .filter(Exists(newer_done))
            .select_for_update(of=("self",))
        )
        names = [render.file.name for render in due]
        note = f"{CLEANED_NOTE}（{format_cn_date(timezone.localdate(now))}，已有更新的台账）"
        for render in due:
            render.file = ""
            render.error = note
        if due:
            bulk_update_with_history(
                due,
                LedgerRender,
                ["file", "error"],
                default_change_reason="清理旧PDF台账文件",
            )
        storage = LedgerRender._meta.get_field("file").storage
        transaction.on_commit(lambda: [storage.delete(name) for name in names])
    logger.info("已清理 %s 份旧PDF台账文件", len(due))
    return len(due)
