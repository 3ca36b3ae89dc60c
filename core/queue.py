"""Handing work to Celery without ever failing a page: `enqueue` publishes a task, and when
the broker cannot be reached keeps it as a PendingTask row; `flush_pending` publishes those
rows once the broker is back (every few minutes from beat, and when a worker starts)."""

from __future__ import annotations

import logging

from celery import current_app as app
from django.db import transaction
from django.utils import timezone
from django.utils.module_loading import import_string
from kombu.exceptions import KombuError, OperationalError

from core.models import PendingTask

# `app` is the project's Celery app (config.celery creates it and makes it current): core
# knows no configuration module.
log = logging.getLogger(__name__)
BROKER_ERRORS = (OperationalError, KombuError, OSError, ConnectionError, TimeoutError)
# Give up quickly on a broker that does not answer: the request is waiting.
PUBLISH_RETRY = {"max_retries": 1, "interval_start": 0, "interval_step": 0.2, "interval_max": 0.2}


def enqueue(task, *args, **kwargs) -> bool:
    """Publish `task(*args, **kwargs)`; True when the broker took it (or it ran eagerly),
    False when it was kept in the database to be sent later. `task` is a task or its
    registered name ("ledger.tasks.render_ledger_task"): a domain module names the task that
    runs it, so it need not import the tasks module that imports it."""
    if isinstance(task, str):
        # A process that never imported the tasks module (a command, a page) has not
        # registered its tasks yet: the name is also the task's import path.
        task = app.tasks.get(task) or import_string(task)
    if app.conf.task_always_eager:
        task.apply(args=args, kwargs=kwargs)
        return True
    try:
        task.apply_async(args=args, kwargs=kwargs, retry=True, retry_policy=PUBLISH_RETRY)
    except BROKER_ERRORS as exc:
        PendingTask.objects.create(
            task=task.name, args=list(args), kwargs=kwargs, last_error=str(exc)[:300]
        )
        log.warning("broker unavailable: %s kept for later (%s)", task.name, exc)
        return False
    return True


def flush_pending(limit: int = 500) -> int:
    """Publish tasks kept while the broker was down, oldest first; stops at the first
    failure (the broker is still down). Returns how many were sent."""
    sent = 0
    with transaction.atomic():
        rows = list(
            PendingTask.objects.select_for_update(skip_locked=True)
            .filter(sent_at__isnull=True)
            .order_by("created_at", "pk")[:limit]
        )
        for row in rows:
            try:
                app.send_task(
                    row.task,
                    args=row.args,
                    kwargs=row.kwargs,
                    retry=True,
                    retry_policy=PUBLISH_RETRY,
                )
            except BROKER_ERRORS as exc:
                row.attempts += 1
                row.last_error = str(exc)[:300]
                row.save(update_fields=["attempts", "last_error"])
                break
            row.sent_at = timezone.now()
            row.attempts += 1
            row.save(update_fields=["sent_at", "attempts"])
            sent += 1
    return sent
