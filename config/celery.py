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
    from pilots.queue import flush_pending

    flush_pending()
