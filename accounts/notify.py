"""Notices to organisations: an in-app list, e-mail to the organisation's users (each chooses
by kind of notice), and the organisation's channels (accounts/channels.py).

The notice row is written inside the caller's transaction; the e-mail and the channels'
deliveries are queued after commit. If the queue cannot be reached the request still
succeeds: the notice keeps `emailed_at` empty and `send_pending_emails` delivers it later;
the deliveries are kept as pending tasks.
"""

from __future__ import annotations

from django.conf import settings
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.db.models import Q
from django.utils import timezone

from accounts import channels
from accounts.constants import Role
from accounts.models import EmailPreference, NoticeKind, Notification, Organisation, User
from accounts.roles import is_auditor
from core.queue import enqueue


def notices_for(user):
    """The notices of the user's organisation addressed to it or to the user. The auditor
    reads the audit log and receives no business notices."""
    if user.organisation_id is None or is_auditor(user):
        return Notification.objects.none()
    return Notification.objects.filter(organisation_id=user.organisation_id).filter(
        Q(recipient__isnull=True) | Q(recipient=user)
    )


def notify(
    *,
    organisation: Organisation,
    subject: str,
    body: str = "",
    url: str = "",
    recipient: User | None = None,
    dedupe_key: str = "",
    kind: str = "",
) -> Notification | None:
    """Record a notice for `organisation`; with a dedupe_key it is recorded at most once.
    Without a kind, the kind is read from the subject (channels.kind_of)."""
    kind = kind or channels.kind_of(subject)
    if dedupe_key:
        if Notification.objects.filter(organisation=organisation, dedupe_key=dedupe_key).exists():
            return None
        try:
            with transaction.atomic():
                notice = Notification.objects.create(
                    organisation=organisation,
                    recipient=recipient,
                    subject=subject,
                    body=body,
                    url=url,
                    dedupe_key=dedupe_key,
                    kind=kind,
                )
        except IntegrityError:
            return None  # a concurrent run recorded it first
    else:
        notice = Notification.objects.create(
            organisation=organisation,
            recipient=recipient,
            subject=subject,
            body=body,
            url=url,
            kind=kind,
        )
    transaction.on_commit(lambda: _queue_email(notice.pk))
    channels.dispatch([notice])
    return notice


def notify_many(notices: list[Notification]) -> list[Notification]:
    """Record many notices in one statement (for jobs); a notice whose dedupe_key its
    organisation already has is skipped. E-mails are queued after commit, in one task; each
    notice (a job's digest for one organisation) goes to the organisation's channels."""
    if not notices:
        return []
    for n in notices:
        if not n.kind or n.kind == NoticeKind.OTHER:
            n.kind = channels.kind_of(n.subject)
    keys = {(n.organisation_id, n.dedupe_key) for n in notices if n.dedupe_key}
    if keys:
        taken = set(
            Notification.objects.filter(
                organisation_id__in={org for org, _ in keys},
                dedupe_key__in={key for _, key in keys},
            ).values_list("organisation_id", "dedupe_key")
        )
        notices = [n for n in notices if (n.organisation_id, n.dedupe_key) not in taken]
    created = Notification.objects.bulk_create(notices)
    ids = [n.pk for n in created if n.pk is not None]
    if ids:
        transaction.on_commit(lambda: _queue_emails(ids))
        channels.dispatch([n for n in created if n.pk is not None])
    return created


def _queue_emails(notice_ids: list[int]) -> None:
    # Broker down: kept and sent later; the notices also stay unsent until delivered.
    enqueue("accounts.tasks.send_notification_emails", notice_ids)


def _queue_email(notice_id: int) -> None:
    enqueue("accounts.tasks.send_notification_email", notice_id)


def deliver_email(notice_id: int) -> bool:
    """Send one notice's e-mail to the active users of its organisation who have an address."""
    notice = Notification.objects.select_related("organisation").filter(pk=notice_id).first()
    if notice is None or notice.emailed_at is not None:
        return False
    users = (
        User.objects.filter(organisation=notice.organisation, is_active=True)
        .exclude(email="")
        .exclude(role=Role.AUDITOR)  # the auditor receives no business notices
        # Kinds of notice the user chose not to receive by e-mail.
        .exclude(
            pk__in=EmailPreference.objects.filter(kind=notice.kind, wanted=False).values("user")
        )
    )
    if notice.recipient_id:
        users = users.filter(pk=notice.recipient_id)
    addresses = list(users.values_list("email", flat=True))
    if addresses:
        link = f"\n\n{settings.SITE_URL}{notice.url}" if notice.url else ""
        send_mail(
            subject=f"【改革试点台账】{notice.subject}",
            message=f"{notice.body}{link}",
            from_email=settings.DEFAULT_FROM_EMAIL,
            recipient_list=addresses,
        )
    Notification.objects.filter(pk=notice.pk, emailed_at__isnull=True).update(
        emailed_at=timezone.now()
    )
    return True


def send_pending_emails(limit: int = 500) -> int:
    """Deliver notices whose e-mail could not be queued when they were written."""
    ids = list(
        Notification.objects.filter(emailed_at__isnull=True)
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    return sum(1 for notice_id in ids if deliver_email(notice_id))


def mark_read(user, pk: int | None = None) -> int:
    """Mark the user's unread notices read (one, or all of them); returns how many."""
    from django.utils import timezone

    unread = notices_for(user).filter(read_at__isnull=True)
    if pk is not None:
        unread = unread.filter(pk=pk)
    return unread.update(read_at=timezone.now())
