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

from ledger.constants import LedgerScope, RenderStatus
from ledger.models import LedgerRender
from ledger.pdf import CLEANED_NOTE
from pilots.constants import JobName
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


# --- render_ledgers ---------------------------------------------------------------------------

RENDER_REASON = "季度定时生成PDF台账"


def render_ledgers(today: dt.date | None = None, *, triggered_by: str = "shell"):
    """R2.3: after each quarter, the PDF ledgers of the province and of each lead department
    for the quarter just ended, queued for the background renderer. A ledger already queued,
    rendering or rendered by this job for that quarter is not queued again, so a second run
    queues nothing. Returns the JobRun."""
    from pilots.jobs import run_job

    return run_job(JobName.RENDER_LEDGERS, _render_ledgers, today, triggered_by)


def _render_ledgers(today: dt.date) -> dict:
    from simple_history.utils import bulk_create_with_history

    from ledger.pdf import _enqueue
    from ledger.selectors import last_ended_quarter
    from ledger.services import lead_departments

    year, quarter = last_ended_quarter(today)
    wanted = [(LedgerScope.PROVINCE, None)] + [
        (LedgerScope.DEPARTMENT, dept.pk) for dept in lead_departments()
    ]
    done = set(
        LedgerRender.objects.filter(
            year=year,
            quarter=quarter,
            requested_by__isnull=True,
            status__in=[RenderStatus.QUEUED, RenderStatus.RUNNING, RenderStatus.DONE],
        ).values_list("scope", "department_id")
    )
    new = [
        LedgerRender(
            scope=scope,
            department_id=dept,
            year=year,
            quarter=quarter,
            status=RenderStatus.QUEUED,
        )
        for scope, dept in wanted
        if (scope, dept) not in done
    ]
    if new:
        created = bulk_create_with_history(
            new, LedgerRender, batch_size=500, default_change_reason=RENDER_REASON
        )
        ids = [r.pk for r in created] or list(
            LedgerRender.objects.filter(
                year=year, quarter=quarter, requested_by__isnull=True, status=RenderStatus.QUEUED
            ).values_list("pk", flat=True)
        )
        transaction.on_commit(lambda: [_enqueue(pk) for pk in ids])
    return {"queued": len(new), "year": year, "quarter": quarter}
