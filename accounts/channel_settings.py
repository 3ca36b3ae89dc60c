"""The office's configuration of notice channels: adding, changing, stopping and restarting a
channel. Each change is one function, shared by the pages and anything else that changes a
channel, and each is written to the audit log with who made it and what changed — a webhook
address or signing secret only as "set", never its value."""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from accounts import channels
from accounts.audit import record
from accounts.constants import AuditAction
from accounts.models import NoticeChannel, NoticeKind


def _where(channel: NoticeChannel) -> str:
    return f"“{channel.organisation.name}”的{channel.get_channel_type_display()}“{channel.name}”"


def save_channel(
    *,
    actor,
    channel: NoticeChannel,
    name: str,
    emails: str = "",
    kinds: list[str],
    webhook: str = "",
    secret: str = "",
) -> NoticeChannel:
    """Add `channel` (not yet saved) or change it. An empty `webhook` or `secret` keeps the
    one stored (the page never shows it again)."""
    if webhook:
        problem = channels.webhook_problem(channel.channel_type, webhook)
        if problem:
            raise ValidationError({"webhook": problem})
    created = channel.pk is None
    changed = []
    if channel.name != name:
        changed.append("名称")
    if (channel.emails or "") != (emails or ""):
        changed.append("邮箱地址")
    if sorted(channel.kinds or []) != sorted(kinds):
        changed.append("推送类别")
    channel.name, channel.emails, channel.kinds = name, emails, list(kinds)
    if webhook:
        channel.webhook_encrypted = channels.encrypt(webhook)
        changed.append("Webhook地址（已更新，不记录内容）")
    if secret:
        channel.secret_encrypted = channels.encrypt(secret)
        changed.append("签名密钥（已更新，不记录内容）")
    with transaction.atomic():
        channel.save()
        if created:
            labels = "、".join(NoticeKind(k).label for k in channel.kinds) or "无"
            summary = f"新建消息渠道{_where(channel)}，推送类别：{labels}"
        elif changed:
            summary = f"修改消息渠道{_where(channel)}：{'、'.join(changed)}"
        else:
            return channel
        record(AuditAction.CHANGE, summary, user=actor, obj=channel)
    return channel


def deactivate_channel(*, actor, channel: NoticeChannel) -> bool:
    """Stop pushing to `channel` (its configuration is kept); False when it already was."""
    with transaction.atomic():
        stopped = NoticeChannel.objects.filter(pk=channel.pk, is_active=True).update(
            is_active=False, deactivated_at=timezone.now()
        )
        if stopped:
            record(AuditAction.CHANGE, f"停用消息渠道{_where(channel)}", user=actor, obj=channel)
    channel.refresh_from_db(fields=["is_active", "deactivated_at"])
    return bool(stopped)


def reactivate_channel(*, actor, channel: NoticeChannel) -> bool:
    """Push to `channel` again; False when it was active."""
    with transaction.atomic():
        started = NoticeChannel.objects.filter(pk=channel.pk, is_active=False).update(
            is_active=True, deactivated_at=None
        )
        if started:
            record(
                AuditAction.CHANGE, f"重新启用消息渠道{_where(channel)}", user=actor, obj=channel
            )
    channel.refresh_from_db(fields=["is_active", "deactivated_at"])
    return bool(started)
