"""Notice channels: each organisation's notices also go to the e-mail addresses and group robots
(浙政钉/DingTalk, WeCom) the office configured for it.

A notice (a job's digest for one organisation, or one decision) becomes one Delivery per
active channel that carries its kind; each delivery is handed to the queue after commit and
sent by `accounts.tasks.deliver_to_channel`. A failed or rate-limited attempt is tried again
after the waits of CHANNEL_RETRY_DELAYS; after the last try the delivery stays 未送达 and the
organisation's notices page lists it. A refusal that a retry cannot cure (a wrong secret or
address) ends at once.

Robots' webhook addresses (they hold the access token or key) and signing secrets are stored
encrypted with Fernet and never leave this module except in the request to the robot; error
texts never contain them.
"""

from __future__ import annotations

import base64
import datetime as dt
import hashlib
import hmac
import json
import logging
import time
import urllib.error
import urllib.parse
import urllib.request

from cryptography.fernet import Fernet, InvalidToken
from cryptography.hazmat.primitives import hashes
from cryptography.hazmat.primitives.kdf.hkdf import HKDF
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.db.models import F, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import (
    ChannelType,
    Delivery,
    DeliveryStatus,
    NoticeChannel,
    NoticeKind,
    Notification,
)
from core.queue import enqueue

log = logging.getLogger(__name__)

BRAND = "【改革试点台账】"
# WeCom takes at most 4096 bytes of markdown; DingTalk more. One limit keeps both readable.
MAX_MARKDOWN_BYTES = 4000
# Rate limits: DingTalk 130101 ("send too fast", 20 a minute per robot), WeCom 45009.
RATE_LIMITED = {ChannelType.DINGTALK: {130101}, ChannelType.WECOM: {45009}}
# Kinds a new channel carries unless the office chooses otherwise.
DEFAULT_KINDS = [
    NoticeKind.REMINDER,
    NoticeKind.OVERDUE,
    NoticeKind.DECISION,
    NoticeKind.RETURNED,
]
SET_LABEL = "已设置（不显示）"


class ChannelError(Exception):
    """A delivery that did not go through; the message is safe to store and show (it never
    holds a webhook address or secret). `retryable`: a later try may succeed."""

    def __init__(self, message: str, *, retryable: bool) -> None:
        super().__init__(message)
        self.message = message
        self.retryable = retryable


# --- secrets ----------------------------------------------------------------------------------


def _fernet() -> Fernet:
    key = settings.CHANNEL_SECRET_KEY or settings.SECRET_KEY
    try:
        return Fernet(key)  # a Fernet key given as is
    except (ValueError, TypeError):
        pass
    derived = HKDF(
        algorithm=hashes.SHA256(), length=32, salt=None, info=b"registry notice channels"
    ).derive(key.encode())
    return Fernet(base64.urlsafe_b64encode(derived))


def encrypt(text: str) -> str:
    return _fernet().encrypt(text.encode()).decode() if text else ""


def decrypt(token: str) -> str:
    if not token:
        return ""
    try:
        return _fernet().decrypt(token.encode()).decode()
    except InvalidToken as exc:
        raise ChannelError(
            "已保存的 Webhook 地址或密钥无法解密（加密密钥已更换），请重新填写。", retryable=False
        ) from exc


def webhook_host(channel: NoticeChannel) -> str:
    """What pages show of a robot's address: its host only."""
    try:
        return urllib.parse.urlsplit(decrypt(channel.webhook_encrypted)).netloc
    except ChannelError:
        return ""


# --- webhook addresses ------------------------------------------------------------------------

# Each platform's path and the query parameter that names the robot.
WEBHOOK_SHAPES = {
    ChannelType.DINGTALK: ("钉钉", "/robot/send", "access_token"),
    ChannelType.WECOM: ("企业微信", "/cgi-bin/webhook/send", "key"),
}


def _allowed_host(parts: urllib.parse.SplitResult) -> bool:
    for entry in settings.CHANNEL_WEBHOOK_HOSTS:
        entry = entry.strip().lower()
        if "://" in entry:
            allowed = urllib.parse.urlsplit(entry)
            scheme, host, port = allowed.scheme, allowed.hostname, allowed.port
        else:
            scheme, host, port = "https", entry, None
        if parts.scheme == scheme and parts.hostname == host and port in (None, parts.port):
            return True
    return False


def webhook_problem(channel_type: str, webhook: str) -> str:
    """Why `webhook` may not be a robot's address of `channel_type` ("" when it may): https on
    the platform's host (settings.CHANNEL_WEBHOOK_HOSTS), its path and the robot's token."""
    platform, path, token = WEBHOOK_SHAPES[channel_type]
    try:
        parts = urllib.parse.urlsplit(webhook)
        parts.port  # noqa: B018 - a bad port raises here
    except ValueError:
        return "Webhook 地址格式不正确。"
    if not _allowed_host(parts):
        if parts.scheme != "https" or not parts.netloc:
            return "Webhook 地址须以 https:// 开头。"
        hosts = "、".join(h for h in settings.CHANNEL_WEBHOOK_HOSTS if "://" not in h)
        return f"Webhook 地址须为{platform}机器人接口的地址（允许的主机：{hosts}）。"
    query = urllib.parse.parse_qs(parts.query)
    if parts.path != path:
        return f"{platform}机器人的 Webhook 地址应为 {path}?{token}=…，请从群机器人设置中复制。"
    if not query.get(token):
        return f"{platform}机器人的 Webhook 地址须带有 {token} 参数。"
    return ""


# --- messages ---------------------------------------------------------------------------------

# Characters with a meaning in the robots' markdown, shown as their full-width forms.
_MARKDOWN_SAFE = str.maketrans({"[": "［", "]": "］", "*": "＊", "`": "｀", "<": "＜", ">": "＞"})


def absolute(url: str) -> str:
    if not url or url.startswith(("http://", "https://")):
        return url
    return f"{settings.SITE_URL}{url}"


def render_markdown(subject: str, body: str, url: str) -> tuple[str, str]:
    """(title, markdown text) of a message: the subject as a heading, the body's items as a
    list, the link last; shortened to what the robots accept."""
    title = f"{BRAND}{subject}"
    lines = []
    for line in body.splitlines():
        line = line.strip().translate(_MARKDOWN_SAFE)
        if not line:
            continue
        lines.append(f"- {line[1:].strip()}" if line.startswith("·") else line)
    link = f"\n\n[查看详情]({absolute(url)})" if url else ""
    head = f"#### {title.translate(_MARKDOWN_SAFE)}\n"
    text = head + "\n".join(lines) + link
    while len(text.encode()) > MAX_MARKDOWN_BYTES and lines:
        lines.pop()
        text = head + "\n".join([*lines, "……（内容较长，请在系统中查看）"]) + link
    return title, text


def plain_text(body: str, url: str) -> str:
    link = f"\n\n{absolute(url)}" if url else ""
    return f"{body}{link}"


def dingtalk_sign(secret: str, timestamp_ms: int) -> str:
    """DingTalk's signature: base64(HMAC-SHA256(key=secret, msg="timestamp\\nsecret"))."""
    digest = hmac.new(
        secret.encode(), f"{timestamp_ms}\n{secret}".encode(), hashlib.sha256
    ).digest()
    return base64.b64encode(digest).decode()


# --- sending ----------------------------------------------------------------------------------


def _post_json(url: str, payload: dict, channel_type: str) -> None:
    data = json.dumps(payload, ensure_ascii=False).encode()
    request = urllib.request.Request(
        url, data=data, method="POST", headers={"Content-Type": "application/json; charset=utf-8"}
    )
    try:
        with urllib.request.urlopen(request, timeout=settings.CHANNEL_TIMEOUT) as response:
            raw = response.read(65536)
    except urllib.error.HTTPError as exc:
        # 4xx other than 429 will not change by itself; 5xx and 429 may.
        retryable = exc.code >= 500 or exc.code == 429
        raise ChannelError(f"接收方返回 HTTP {exc.code}", retryable=retryable) from None
    except (urllib.error.URLError, OSError, ValueError) as exc:
        reason = getattr(exc, "reason", exc)
        raise ChannelError(f"无法连接接收方（{type(reason).__name__}）", retryable=True) from None
    try:
        answer = json.loads(raw.decode() or "{}")
        code = int(answer.get("errcode", 0))
        errmsg = str(answer.get("errmsg", ""))[:120]
    except (ValueError, AttributeError, TypeError):
        raise ChannelError("接收方的答复无法识别", retryable=True) from None
    if code == 0:
        return
    if code in RATE_LIMITED[channel_type]:
        raise ChannelError(f"发送过于频繁，稍后重试（错误码 {code}）", retryable=True)
    raise ChannelError(f"接收方拒绝（错误码 {code}：{errmsg}）", retryable=False)


def _with_query(url: str, params: dict) -> str:
    return f"{url}{'&' if '?' in url else '?'}{urllib.parse.urlencode(params)}"


def send(channel: NoticeChannel, subject: str, body: str, url: str) -> None:
    """Send one message to one channel; raises ChannelError."""
    if channel.channel_type == ChannelType.EMAIL:
        addresses = channel.email_list
        if not addresses:
            raise ChannelError("未填写邮箱地址", retryable=False)
        try:
            send_mail(
                subject=f"{BRAND}{subject}",
                message=plain_text(body, url),
                from_email=settings.DEFAULT_FROM_EMAIL,
                recipient_list=addresses,
            )
        except OSError as exc:  # smtplib's errors are OSErrors
            raise ChannelError(f"邮件发送失败（{type(exc).__name__}）", retryable=True) from None
        return
    webhook = decrypt(channel.webhook_encrypted)
    if webhook_problem(channel.channel_type, webhook):
        # An address stored before the rule, or by hand, to another host: never called.
        raise ChannelError(
            "已保存的 Webhook 地址不是允许的机器人接口地址，未发送；请在消息渠道页面重新填写。",
            retryable=False,
        )
    title, text = render_markdown(subject, body, url)
    if channel.channel_type == ChannelType.DINGTALK:
        timestamp = int(time.time() * 1000)
        signed = _with_query(
            webhook,
            {
                "timestamp": timestamp,
                "sign": dingtalk_sign(decrypt(channel.secret_encrypted), timestamp),
            },
        )
        payload = {"msgtype": "markdown", "markdown": {"title": title, "text": text}}
        _post_json(signed, payload, ChannelType.DINGTALK)
    else:
        payload = {"msgtype": "markdown", "markdown": {"content": text}}
        _post_json(webhook, payload, ChannelType.WECOM)


# --- deliveries -------------------------------------------------------------------------------


def retry_delays() -> list[int]:
    return list(settings.CHANNEL_RETRY_DELAYS)


def max_attempts() -> int:
    return len(retry_delays()) + 1


def dispatch(notices: list[Notification]) -> list[Delivery]:
    """One delivery per notice and active channel of its organisation carrying its kind,
    written in the caller's transaction and queued after commit."""
    notices = [n for n in notices if n.pk is not None]
    if not notices:
        return []
    channels: dict[int, list[NoticeChannel]] = {}
    for channel in NoticeChannel.objects.filter(
        organisation_id__in={n.organisation_id for n in notices}, is_active=True
    ):
        channels.setdefault(channel.organisation_id, []).append(channel)
    deliveries = [
        Delivery(
            organisation_id=notice.organisation_id,
            channel=channel,
            notification=notice,
            subject=notice.subject,
            body=notice.body,
            url=notice.url,
        )
        for notice in notices
        if notice.recipient_id is None  # a notice to one person is not posted to a group
        for channel in channels.get(notice.organisation_id, [])
        if (notice.kind or NoticeKind.OTHER) in channel.kinds
    ]
    if not deliveries:
        return []
    created = Delivery.objects.bulk_create(deliveries)
    ids = [d.pk for d in created if d.pk is not None]
    if len(ids) < len(created):  # a database that does not return keys from bulk inserts
        ids = list(
            Delivery.objects.filter(
                notification_id__in=[n.pk for n in notices], status=DeliveryStatus.PENDING
            ).values_list("pk", flat=True)
        )
    transaction.on_commit(lambda: queue(ids))
    return created


def queue(delivery_ids: list[int]) -> None:
    for delivery_id in delivery_ids:
        # Broker down: kept in the database (PendingTask) and handed over later.
        enqueue("accounts.tasks.deliver_to_channel", delivery_id)


# A pending delivery this long past its due try (or, never tried, past its creation) lost its
# task (a retry the broker did not take, a purged queue): it is handed to the queue again.
STALE = dt.timedelta(minutes=15)


def requeue_stale(limit: int = 200) -> int:
    """Queue again the pending deliveries whose task was lost; returns how many. Runs with
    `send_pending_emails` (every 10 minutes)."""
    cutoff = timezone.now() - STALE
    ids = list(
        Delivery.objects.filter(status=DeliveryStatus.PENDING)
        .filter(
            Q(next_attempt_at__lt=cutoff)
            | Q(next_attempt_at__isnull=True, attempts=0, created_at__lt=cutoff)
        )
        .order_by("pk")
        .values_list("pk", flat=True)[:limit]
    )
    queue(ids)
    return len(ids)


def attempt(delivery_id: int) -> int | None:
    """Try one pending delivery once. Returns the seconds to wait before the next try, or None
    when there is nothing more to do (sent, refused for good, or out of tries)."""
    with transaction.atomic():
        delivery = (
            Delivery.objects.select_for_update()
            .select_related("channel")
            .filter(pk=delivery_id, status=DeliveryStatus.PENDING)
            .first()
        )
        if delivery is None:
            return None
        Delivery.objects.filter(pk=delivery.pk).update(attempts=F("attempts") + 1)
    attempts = delivery.attempts + 1
    try:
        if not delivery.channel.is_active:
            raise ChannelError("渠道已停用", retryable=False)
        send(delivery.channel, delivery.subject, delivery.body, delivery.url)
    except ChannelError as exc:
        last = not exc.retryable or attempts >= max_attempts()
        wait = None if last else retry_delays()[attempts - 1]
        Delivery.objects.filter(pk=delivery.pk).update(
            last_error=exc.message[:300],
            status=DeliveryStatus.FAILED if last else DeliveryStatus.PENDING,
            next_attempt_at=None if last else timezone.now() + dt.timedelta(seconds=wait),
        )
        log.warning("channel delivery %s, try %s: %s", delivery.pk, attempts, exc.message)
        return wait
    Delivery.objects.filter(pk=delivery.pk).update(
        status=DeliveryStatus.SENT, sent_at=timezone.now(), next_attempt_at=None
    )
    return None


def send_test(channel: NoticeChannel) -> Delivery:
    """The 发送测试消息 button: one try, at once, recorded like any delivery."""
    delivery = Delivery.objects.create(
        organisation=channel.organisation,
        channel=channel,
        is_test=True,
        subject="测试消息",
        body=f"这是发给{channel.organisation.unit_label}的测试消息，收到即表示渠道“{channel.name}”配置正确。",
        url=reverse("notifications"),
    )
    Delivery.objects.filter(pk=delivery.pk).update(attempts=1)
    try:
        send(channel, delivery.subject, delivery.body, delivery.url)
    except ChannelError as exc:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.FAILED, last_error=exc.message[:300]
        )
    else:
        Delivery.objects.filter(pk=delivery.pk).update(
            status=DeliveryStatus.SENT, sent_at=timezone.now()
        )
    delivery.refresh_from_db()
    return delivery


def undelivered(organisation_id: int | None):
    """The organisation's notices no channel could deliver after the last try."""
    if organisation_id is None:
        return Delivery.objects.none()
    return Delivery.objects.filter(
        organisation_id=organisation_id, status=DeliveryStatus.FAILED, is_test=False
    ).select_related("channel")


# --- kinds ------------------------------------------------------------------------------------

_DECIDED = ("批复同意", "未获通过", "未获推荐", "已同意", "未获同意", "已恢复入库", "已认定为")


def kind_of(subject: str) -> str:
    """The kind of a notice written without one, from its subject."""
    if "退回" in subject:
        return NoticeKind.RETURNED
    if any(word in subject for word in _DECIDED):
        return NoticeKind.DECISION
    if "逾期" in subject:
        return NoticeKind.OVERDUE
    if "即将到期" in subject:
        return NoticeKind.REMINDER
    return NoticeKind.OTHER
