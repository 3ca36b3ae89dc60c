"""The audit log (MLPS 2.0 level 2 / ASVS V16): who did what, when, from where.

One function, `record`, writes events; the hooks below call it for every sign-in, failed
sign-in, lock-out and sign-out; for every change saved with history (domain state changes,
organisations, users' roles and units — through simple-history's signal, so every domain
function is covered without calling it); for every stored upload (the private storage); and,
through `AuditDownloadsMiddleware`, for every download and export. Events are only appended.
"""

from __future__ import annotations

import logging

from django.contrib.auth import signals as auth_signals
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from simple_history.models import HistoricalRecords
from simple_history.signals import post_create_historical_record

from accounts.constants import AuditAction

logger = logging.getLogger("registry.audit")


def _current_request():
    return getattr(HistoricalRecords.context, "request", None)


def client_ip(request) -> str | None:
    from django.conf import settings

    if request is None:
        return None
    if getattr(settings, "AXES_IPWARE_PROXY_COUNT", 0):
        forwarded = request.META.get("HTTP_X_FORWARDED_FOR", "")
        if forwarded:
            return forwarded.split(",")[0].strip() or None
    return request.META.get("REMOTE_ADDR") or None


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
    event = AuditEvent(
        user=user if user is not None and user.pk else None,
        username=(username or (user.get_username() if user is not None else ""))[:150],
        action=action,
        object_type=object_type[:100],
        object_id=object_id[:64],
        summary=summary[:500],
        ip=client_ip(request),
        user_agent=(request.META.get("HTTP_USER_AGENT", "") if request else "")[:300],
        path=(request.path if request is not None else "")[:300],
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
_PERMISSION_MODELS = {"accounts.user", "accounts.organisation"}


@receiver(post_create_historical_record)
def _history_written(sender, instance, history_instance, history_user=None, **kwargs):
    label = instance._meta.label_lower
    reason = getattr(history_instance, "history_change_reason", "") or ""
    kind = _HISTORY_TYPES.get(history_instance.history_type, "修改")
    action = AuditAction.PERMISSION if label in _PERMISSION_MODELS else AuditAction.CHANGE
    record(
        action,
        f"{kind}{instance._meta.verbose_name}“{str(instance)[:120]}”"
        + (f"：{reason}" if reason else ""),
        user=history_user,
        obj=instance,
    )


@receiver(m2m_changed)
def _rights_changed(sender, instance, action, pk_set, **kwargs):
    from django.contrib.auth import get_user_model

    if action not in ("post_add", "post_remove", "post_clear"):
        return
    user_model = get_user_model()
    if sender not in (user_model.groups.through, user_model.user_permissions.through):
        return
    what = "用户组" if sender is user_model.groups.through else "权限"
    verb = {"post_add": "授予", "post_remove": "撤销", "post_clear": "清空"}[action]
    record(
        AuditAction.PERMISSION,
        f"{verb}“{instance}”的{what}：{sorted(pk_set or [])}",
        obj=instance,
    )


@receiver(auth_signals.user_logged_in)
def _start_session_clock(sender, request, user, **kwargs):
    """The absolute session lifetime counts from sign-in."""
    import time

    from accounts.middleware import LAST_SEEN, SIGNED_IN

    if hasattr(request, "session"):
        now = int(time.time())
        request.session[SIGNED_IN] = now
        request.session[LAST_SEEN] = now


def stamp_last_login(sender, user, **kwargs):
    """Django's update_last_login, without a history row for it."""
    from django.utils import timezone

    user.last_login = timezone.now()
    user.skip_history_when_saving = True
    try:
        user.save(update_fields=["last_login"])
    finally:
        del user.skip_history_when_saving
