"""The audit log (MLPS 2.0 level 2 / ASVS V16): who did what, when, from where.

One function, `record`, writes events; the hooks below call it for every sign-in, failed
sign-in, lock-out and sign-out; for every change saved with history (domain state changes,
organisations, users' roles and units — through simple-history's signal, so every domain
function is covered without calling it); for every stored upload (the private storage); and,
through `AuditDownloadsMiddleware`, for every download and export. Events are only appended.
"""

from __future__ import annotations

import datetime as dt
import logging
import re
from urllib.parse import unquote_plus

from django.contrib.auth import signals as auth_signals
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.utils import timezone
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record

from accounts.constants import SESSION_LAST_SEEN, SESSION_SIGNED_IN, AuditAction
from core.dates import format_cn_date, format_cn_datetime

logger = logging.getLogger("registry.audit")


def _current_request():
    return getattr(HistoricalRecords.context, "request", None)


def client_ip(request) -> str | None:
    """The client's address: the same one sign-in throttling keys on (accounts/network.py)."""
    from accounts.network import client_ip as real_client_ip

    return real_client_ip(request)


# Secrets that travel in an address never enter the log: the calendar feed's token (a short
# prefix is kept to tell feeds apart), everything after the user id of a password-reset link,
# and the value of any query parameter named like a secret.
REDACTED = "…（已隐去）"
_SECRET_PATHS = (
    (re.compile(r"^(/calendar/feed/)([^/]+?)(\.ics)?$"), 4),
    (re.compile(r"^(/accounts/(?:password/)?reset/[^/]+/)(.+?)(/?)$"), 0),
)
_SECRET_PARAM = re.compile(r"token|key|secret|password|signature", re.IGNORECASE)


def redact_path(path: str) -> tuple[str, list[str]]:
    """`path` (with its query, if any) with its secrets replaced, and the secrets found."""
    path, _, query = path.partition("?")
    secrets: list[str] = []
    for pattern, keep in _SECRET_PATHS:
        match = pattern.match(path)
        if match:
            head, secret, tail = match.group(1), match.group(2), match.group(3) or ""
            shown = secret[:keep] if len(secret) >= 4 * keep else ""
            secrets.append(secret)
            path = f"{head}{shown}{REDACTED}{tail}"
            break
    if query:
        pairs = []
        for pair in query.split("&"):
            name, sep, value = pair.partition("=")
            if _SECRET_PARAM.search(unquote_plus(name)) and value:
                secrets += [value, unquote_plus(value)]
                value = REDACTED
            pairs.append(f"{name}{sep}{value}")
        path = f"{path}?{'&'.join(pairs)}"
    return path, secrets


def _scrub(text: str, secrets: list[str]) -> str:
    for secret in secrets:
        if len(secret) >= 4:
            text = text.replace(secret, REDACTED)
    return text


def record(
    action: str,
    summary: str,
    *,
    request=None,
    user=None,
    username: str = "",
    obj=None,
    object_type: str = "",
    object_id: str = "",
):
    """Append one audit event. The request (given, or the current one) supplies the user,
    address, browser and path when they are not given."""
    from accounts.models import AuditEvent

    request = request or _current_request()
    if user is None and request is not None:
        candidate = getattr(request, "user", None)
        if candidate is not None and candidate.is_authenticated:
            user = candidate
    if obj is not None:
        object_type = object_type or obj._meta.label_lower
        object_id = object_id or str(getattr(obj, "pk", "") or "")
    path, secrets = redact_path(request.path) if request is not None else ("", [])
    event = AuditEvent(
        user=user if user is not None and user.pk else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        action=action,
        object_type=object_type[:100],
        object_id=object_id[:64],
        summary=_scrub(summary, secrets)[:500],
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        path=path[:300],
    )
    event.save()
    logger.info("%s %s %s %s", event.action, event.username, event.ip or "-", event.summary)
    return event


# --- sign-in ----------------------------------------------------------------------------------


@receiver(auth_signals.user_logged_in)
def _logged_in(sender, request, user, **kwargs):
    record(AuditAction.LOGIN, "登录成功", request=request, user=user)


@receiver(auth_signals.user_logged_out)
def _logged_out(sender, request, user, **kwargs):
    if user is not None:
        record(AuditAction.LOGOUT, "退出登录", request=request, user=user)


@receiver(auth_signals.user_login_failed)
def _login_failed(sender, credentials, request=None, **kwargs):
    username = str((credentials or {}).get("username", ""))[:150]
    record(
        AuditAction.LOGIN_FAILED, "登录失败（账号或密码错误）", request=request, username=username
    )


def _locked_out(sender, request, username, ip_address, **kwargs):
    record(
        AuditAction.LOCKED_OUT,
        "连续登录失败，账号在该地址被暂时锁定",
        request=request,
        username=str(username or "")[:150],
    )


def connect_axes() -> None:
    from axes.signals import user_locked_out

    user_locked_out.connect(_locked_out, dispatch_uid="audit_locked_out")


# --- changes with history ------------------------------------------------------------------

_HISTORY_TYPES = {"+": "新建", "~": "修改", "-": "删除"}
# Bookkeeping fields a reader of the log does not need.
_UNSHOWN_FIELDS = {"updated_at", "created_at"}
_PERMISSION_MODELS = {"accounts.user", "accounts.organisation"}


def _shown(field, value) -> str:
    """A value as the audit log shows it: choices by label, flags as 是/否, related records
    by name; long text shortened."""
    # A foreign key that was empty comes back from simple-history as a stand-in with no pk.
    if value is None or value == "" or (hasattr(value, "pk") and value.pk is None):
        return "（空）"
    if isinstance(value, dt.datetime):
        return format_cn_datetime(timezone.localtime(value) if timezone.is_aware(value) else value)
    if isinstance(value, dt.date):
        return format_cn_date(value)
    if isinstance(value, bool):
        return "是" if value else "否"
    if getattr(field, "choices", None):
        value = dict(field.flatchoices).get(value, value)
    text = str(value)
    return text if len(text) <= 40 else text[:39] + "…"


def describe_changes(instance, history_instance) -> str:
    """The fields a history row changed, "名称：旧值→新值", from the previous history row; on
    creation the fields set. Password hashes are never in history, so never here."""
    meta = instance._meta
    if history_instance.history_type == "+":
        pairs = []
        for name in ("username", "display_name", "email", "organisation", "role", "name", "kind"):
            value = getattr(history_instance, name, None) if hasattr(instance, name) else None
            if value not in (None, ""):
                field = meta.get_field(name)
                pairs.append(f"{field.verbose_name}={_shown(field, value)}")
        for name in ("is_superuser", "is_staff"):
            if hasattr(instance, name) and getattr(history_instance, name, False):
                pairs.append(f"{meta.get_field(name).verbose_name}=是")
        return "；".join(pairs)
    previous = history_instance.prev_record
    if previous is None:
        return ""
    delta = history_instance.diff_against(previous, foreign_keys_are_objs=True)
    parts = []
    for change in delta.changes:
        if change.field in _UNSHOWN_FIELDS:
            continue
        field = meta.get_field(change.field)
        if field.many_to_many:
            continue
        parts.append(
            f"{field.verbose_name}：{_shown(field, change.old)}→{_shown(field, change.new)}"
        )
    return "；".join(parts)


@receiver(post_create_historical_record)
def _history_written(sender, instance, history_instance, history_user=None, **kwargs):
    label = instance._meta.label_lower
    reason = getattr(history_instance, "history_change_reason", "") or ""
    kind = _HISTORY_TYPES.get(history_instance.history_type, "修改")
    action = AuditAction.PERMISSION if label in _PERMISSION_MODELS else AuditAction.CHANGE
    summary = f"{kind}{instance._meta.verbose_name}“{str(instance)[:60]}”"
    if label in _PERMISSION_MODELS:
        # Who gained or lost which right is the point of auditing users and units.
        changes = describe_changes(instance, history_instance)
        if not changes and getattr(instance, "_password_only_save", False):
            return  # a password change has its own event, without the secret
        summary += f"（{changes}）" if changes else "（无字段变化）"
    elif history_instance.history_type == "~":
        # Which fields a change of a record changed: 状态：已批复→已备案.
        changes = describe_changes(instance, history_instance)
        summary += f"（{changes}）" if changes else ""
    record(
        action,
        summary + (f"：{reason}" if reason else ""),
        user=history_user,
        obj=instance,
    )


@receiver(m2m_changed)
def _rights_changed(sender, instance, action, pk_set, model=None, **kwargs):
    from django.contrib.auth import get_user_model

    if action not in ("post_add", "post_remove", "post_clear"):
        return
    user_model = get_user_model()
    if sender not in (user_model.groups.through, user_model.user_permissions.through):
        return
    what = "用户组" if sender is user_model.groups.through else "权限"
    verb = {"post_add": "授予", "post_remove": "撤销", "post_clear": "清空"}[action]
    names = sorted(str(o) for o in model._default_manager.filter(pk__in=pk_set or []))[:20]
    record(
        AuditAction.PERMISSION,
        f"{verb}“{instance}”的{what}：{'、'.join(names) or sorted(pk_set or [])}",
        obj=instance,
    )


@receiver(auth_signals.user_logged_in)
def _start_session_clock(sender, request, user, **kwargs):
    """The absolute session lifetime counts from sign-in."""
    import time

    if hasattr(request, "session"):
        now = int(time.time())
        request.session[SESSION_SIGNED_IN] = now
        request.session[SESSION_LAST_SEEN] = now


def stamp_last_login(sender, user, **kwargs):
    """Django's update_last_login, without a history row for it."""
    from django.utils import timezone

    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving
