from celery import shared_task

from accounts import notify


@shared_task(ignore_result=True)
def send_notification_email(notice_id: int) -> None:
    notify.deliver_email(notice_id)


@shared_task(ignore_result=True)
def send_pending_emails() -> None:
    notify.send_pending_emails()
    # Channel deliveries whose task was lost are queued again on the same schedule.
    from accounts import channels

    channels.requeue_stale()


@shared_task(ignore_result=True)
def send_notification_emails(notice_ids: list[int]) -> None:
    for notice_id in notice_ids:
        notify.deliver_email(notice_id)


@shared_task(bind=True, ignore_result=True, max_retries=None)
def deliver_to_channel(self, delivery_id: int):
    """One try of a channel delivery; a failure that may pass is tried again after the wait
    of CHANNEL_RETRY_DELAYS for that try (the delivery counts its own tries)."""
    from accounts import channels

    wait = channels.attempt(delivery_id)
    if wait is None:
        return None
    if self.request.is_eager:
        # Run in-process (no broker): Celery runs the retry at once, without its countdown;
        # a raised Retry would leave apply() when eager tasks propagate their errors.
        return self.retry(countdown=wait, throw=False)
    raise self.retry(countdown=wait)
