"""Personal API tokens: issued from the user's profile page, shown once, stored as a hash,
revocable at any time. The one place that issues, revokes and checks them."""

from __future__ import annotations

import hashlib
import secrets

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import transaction
from django.utils import timezone

from accounts.audit import record
from accounts.constants import AuditAction
from accounts.models import ApiToken

PREFIX = "rpr_"
# How often a token's "last used" time is written (not on every request).
LAST_USED_RESOLUTION_SECONDS = 300


def _hash(key: str) -> str:
    return hashlib.sha256(key.encode()).hexdigest()


def active_tokens_limit() -> int:
    return getattr(settings, "API_TOKENS_PER_USER", 5)


@transaction.atomic
def issue_token(user, name: str) -> tuple[ApiToken, str]:
    """A new token for `user` named `name`; returns it with its secret (shown only now)."""
    name = (name or "").strip()
    if not name:
        raise ValidationError({"name": "请填写令牌用途，例如“数据交换平台”。"})
    if len(name) > 60:
        raise ValidationError({"name": "用途不超过60个字。"})
    if not user.is_active:
        raise PermissionDenied("账号已停用，不能生成令牌。")
    active = ApiToken.objects.select_for_update().filter(user=user, revoked_at__isnull=True)
    if active.count() >= active_tokens_limit():
        raise ValidationError(
            f"每个账号最多同时持有{active_tokens_limit()}个有效令牌，请先吊销不再使用的令牌。"
        )
    key = PREFIX + secrets.token_urlsafe(32)
    token = ApiToken.objects.create(user=user, name=name, prefix=key[:10], key_hash=_hash(key))
    record(AuditAction.TOKEN, f"生成访问令牌“{name}”（{token.prefix}…）", user=user, obj=token)
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
    """The active user behind a token's secret, or None (unknown, revoked, user disabled)."""
    if not key or not key.startswith(PREFIX) or len(key) > 100:
        return None
    token = (
        ApiToken.objects.select_related("user", "user__organisation")
        .filter(key_hash=_hash(key), revoked_at__isnull=True)
        .first()
    )
    if token is None or not token.user.is_active:
        return None
    now = timezone.now()
    if (
        token.last_used_at is None
        or (now - token.last_used_at).total_seconds() > LAST_USED_RESOLUTION_SECONDS
    ):
        ApiToken.objects.filter(pk=token.pk).update(last_used_at=now)
    return token.user
