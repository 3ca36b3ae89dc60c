"""Personal API tokens: issued from the user's profile page, shown once, stored as a hash,
revocable at any time. The one place that issues, revokes and checks them."""

from __future__ import annotations

import datetime
import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record
from accounts.constants import AuditAction
from accounts.models import ApiToken
from core.text import has_control_in_text

PREFIX = "rpr_"
# How often a token's "last used" time is written (not on every request).
LAST_USED_RESOLUTION_SECONDS = 300


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def active_tokens_limit() -> int:
    return getattr(settings, "API_TOKENS_PER_USER", 5)


def token_lifetime() -> datetime.timedelta:
    return datetime.timedelta(days=getattr(settings, "API_TOKEN_DAYS", 180))


def active_tokens(user):
    """The user's tokens that still authenticate: neither revoked nor expired."""
    return ApiToken.objects.filter(
        user=user, revoked_at__isnull=True, expires_at__gt=timezone.now()
    )


@transaction.atomic
def issue_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` named `name`; returns it with its secret (shown only now)."""
    from accounts.models import User

    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写令牌用途，例如“数据交换平台”。"})
    if len(name) > 60:
        raise ValidationError({"name": "用途不超过60个字。"})
    if has_control_in_text(name):
        raise ValidationError({"name": "用途含有不允许的控制字符（如 NUL），请删除后重新填写。"})
    # The user's own row is the lock: locking the token rows locks nothing while there are
    # none, and two requests would both count the same number and both issue.
    locked = User.objects.select_for_update().filter(pk=user.pk).only("pk", "is_active").first()
    if locked is None or not locked.is_active:
        raise PermissionDenied("账号已停用，不能生成令牌。")
    if active_tokens(user).count() >= active_tokens_limit():
        raise ValidationError(
            f"每个账号最多同时持有{active_tokens_limit()}个有效令牌，请先吊销不再使用的令牌。"
        )
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(
        user=user,
        name=name,
        prefix=key[:10],
        key_hash=_hash(key),
        expires_at=timezone.now() + token_lifetime(),
    )
    record(
        AuditAction.TOKEN,
        f"生成访问令牌“{name}”（{token.prefix}…，有效期至{timezone.localdate(token.expires_at)}）",
        user=user,
        obj=token,
    )
    return token, key


def revoke_token(*, actor, token: ApiToken) -> ApiToken:
    """Revoke a token: its owner may, and so may a system administrator."""
    if token.user_id != actor.pk and not actor.is_superuser:
        raise PermissionDenied("只能吊销自己的令牌。")
    if token.revoked_at is None:
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(
            AuditAction.TOKEN,
            f"吊销访问令牌“{token.name}”（{token.prefix}…）",
            user=actor,
            obj=token,
        )
    return token


def user_for_key(key: str):
    """The active user behind a token's secret, or None (unknown, revoked, expired, user
    disabled)."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    now = timezone.now()
    if token is None or token.expires_at <= now or not token.user.is_active:
        return None
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
