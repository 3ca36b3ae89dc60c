"""Thin Celery tasks around the pilots' scheduled jobs (see pilots.jobs); beat runs them on
the schedules kept in the database (django-celery-beat), which the office sees in the admin."""

from celery import shared_task

from pilots import jobs


@shared_task(ignore_result=True)
def flag_overdue_task(triggered_by: str = "定时任务") -> None:
    jobs.flag_overdue(triggered_by=triggered_by)


@shared_task(ignore_result=True)
def purge_expired_task(triggered_by: str = "定时任务") -> None:
    jobs.purge_expired(triggered_by=triggered_by)


@shared_task(ignore_result=True)
def send_reminders_task(triggered_by: str = "定时任务") -> None:
    jobs.send_reminders(triggered_by=triggered_by)


@shared_task(ignore_result=True)
def flush_pending_tasks() -> int:
    """Send the tasks kept in the database while the broker was down."""
    from core.queue import flush_pending

    return flush_pending()
