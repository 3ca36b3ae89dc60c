from celery import shared_task

from accounts import notify


@shared_task(ignore_result=True)
def send_notification_email(notice_id: int) -> None:
    notify.deliver_email(notice_id)


@shared_task(ignore_result=True)
def send_pending_emails() -> None:
    notify.send_pending_emails()


@shared_task(ignore_result=True)
def send_notification_emails(notice_ids: list[int]) -> None:
    for notice_id in notice_ids:
        notify.deliver_email(notice_id)
