"""The Celery application. Without REDIS_URL every task runs eagerly in-process."""

import os

from celery import Celery, signals

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

app = Celery("registry")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()


@signals.worker_ready.connect
def _flush_pending_on_start(**kwargs):
    """A worker that starts (the broker is up) sends what was kept while it was down."""
    from core.queue import flush_pending

    flush_pending()


@signals.worker_ready.connect
def _recover_interrupted_work(**kwargs):
    """Work a killed worker left behind never stays "running": job runs a dead process left
    "运行中" are closed as failed, PDF ledgers left "生成中" or "排队中" are queued again, and
    Excel imports left "导入中" are marked failed (they wrote nothing) for the office to retry."""
    import logging

    from core.jobs import close_stale_runs
    from ledger.imports.jobs import fail_stale_batches
    from ledger.pdf import requeue_stale_renders

    log = logging.getLogger(__name__)
    for recover in (close_stale_runs, requeue_stale_renders, fail_stale_batches):
        try:
            recover()
        except Exception:
            # A worker must start even when the database is briefly unreachable; the next
            # run of the render job tries again.
            log.exception("recovering interrupted work at worker start failed")
