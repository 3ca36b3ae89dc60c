"""Background work of the ledger: thin Celery tasks around the domain functions."""

from celery import shared_task

from ledger.jobs import archive_superseded_renders, render_ledgers
from ledger.pdf import render_ledger


@shared_task
def render_ledger_task(render_id: int) -> None:
    render_ledger(render_id)


# The weekly schedule names this task (kept in the database); it archives, it deletes nothing.
@shared_task(ignore_result=True)
def cleanup_old_renders_task(keep_days: int = 90, triggered_by: str = "定时任务") -> None:
    archive_superseded_renders(keep_days=keep_days, triggered_by=triggered_by)


@shared_task(ignore_result=True)
def render_ledgers_task(triggered_by: str = "定时任务") -> None:
    render_ledgers(triggered_by=triggered_by)


@shared_task
def apply_import_task(batch_id: int, actor_id: int) -> None:
    from ledger.imports.jobs import run_queued_apply

    run_queued_apply(batch_id, actor_id)


@shared_task(ignore_result=True)
def check_imported_pilots_task(pilot_ids: list[int], index: bool = True) -> None:
    from ledger.imports.pilot_writes import check_imported_pilots

    check_imported_pilots(pilot_ids, index=index)
