"""Scheduled jobs of the ledger: plain functions, called by a thin Celery task, a management
command or a shell alike. Each is set-based, safe to run twice, and says what it did."""

from __future__ import annotations

import datetime as dt
import logging

from django.db import transaction
from django.db.models import IntegerField, OuterRef, Subquery, Value
from django.db.models.functions import Coalesce
from django.utils import timezone
from simple_history.utils import bulk_update_with_history

from core.jobs import run_job
from ledger.constants import LedgerJob, LedgerScope, RenderStatus
from ledger.models import LedgerRender

logger = logging.getLogger(__name__)


def _same_ledger_key():
    # A province ledger has no department: compare departments with NULL as 0.
    return Coalesce("department_id", Value(0), output_field=IntegerField())


ARCHIVE_REASON = "已有更新的同季度台账，归档旧PDF台账（文件保留）"


def archive_superseded_renders(
    today: dt.date | None = None, *, keep_days: int = 90, triggered_by: str = "shell"
):
    """Archive the finished PDF ledgers older than `keep_days` that a newer finished ledger of
    the same scope, department, year and quarter replaces. Returns the JobRun.

    An archived ledger keeps its file where it is: the ledger is an official document, its
    row and every history row name that file, and a file moved or deleted would leave those
    rows pointing at nothing (moving it would need the history rewritten, which history must
    never be). So the job only marks the ledger — archived_at and the ledger that replaces it,
    with a history row and its reason — and the pages can tell the current ledger from the
    old ones. The newest finished ledger of each quarter is never archived; a second run finds
    nothing to do. It runs under its lock and is logged like every other job."""
    return run_job(
        LedgerJob.ARCHIVE_RENDERS,
        lambda day: _archive_superseded_renders(day, keep_days=keep_days),
        today,
        triggered_by,
    )


def _archive_superseded_renders(today: dt.date, *, keep_days: int) -> dict:
    start_of_day = timezone.make_aware(dt.datetime.combine(today, dt.time.min))
    cutoff = start_of_day - dt.timedelta(days=keep_days)
    newest_done = (
        LedgerRender.objects.annotate(key=_same_ledger_key())
        .filter(
            status=RenderStatus.DONE,
            scope=OuterRef("scope"),
            key=OuterRef("key"),
            year=OuterRef("year"),
            quarter=OuterRef("quarter"),
            pk__gt=OuterRef("pk"),
        )
        .order_by("-pk")
    )
    due = list(
        LedgerRender.objects.annotate(key=_same_ledger_key())
        .filter(status=RenderStatus.DONE, created_at__lt=cutoff, archived_at__isnull=True)
        .annotate(newest=Subquery(newest_done.values("pk")[:1]))
        .filter(newest__isnull=False)
        .select_for_update(of=("self",))
    )
    now = timezone.now()
    for render in due:
        render.archived_at = now
        render.superseded_by_id = render.newest
    if due:
        bulk_update_with_history(
            due,
            LedgerRender,
            ["archived_at", "superseded_by"],
            default_change_reason=ARCHIVE_REASON,
        )
    logger.info("已归档 %s 份被替代的PDF台账（文件保留）", len(due))
    return {"archived": len(due)}


# --- render_ledgers ---------------------------------------------------------------------------

RENDER_REASON = "季度定时生成PDF台账"


def render_ledgers(today: dt.date | None = None, *, triggered_by: str = "shell"):
    """R2.3: after each quarter, the PDF ledgers of the province and of each lead department
    for the quarter just ended, queued for the background renderer. A ledger already queued,
    rendering or rendered by this job for that quarter is not queued again, so a second run
    queues nothing. Returns the JobRun."""
    return run_job(LedgerJob.RENDER_LEDGERS, _render_ledgers, today, triggered_by)


def _render_ledgers(today: dt.date) -> dict:
    from simple_history.utils import bulk_create_with_history

    from ledger.pdf import _enqueue, requeue_stale_renders
    from ledger.summaries import lead_departments
    from pilots.rules import last_ended_quarter

    # A render whose worker was killed is queued again first, so it is not left "生成中".
    requeued = requeue_stale_renders()
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
            queued_at=timezone.now(),
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
    counts = {"queued": len(new), "year": year, "quarter": quarter}
    if requeued:
        counts["requeued"] = requeued
    return counts
