"""Managing the province's user accounts: the office creates, edits, deactivates and
reactivates users and forces password resets; nothing is deleted.

Two layers keep rights where they belong:
- the domain functions below check the actor and say why in Chinese;
- `guard_user_save` (called by `User.save`) and the m2m guard refuse, on every path (the
  admin, any form, the shell within a request), superuser or staff status, the system
  administrator or auditor role, groups and permissions granted by anyone but a superuser,
  and any change by a non-superuser to a privileged account other than their own.

Every change is saved with history (and a reason), which the audit log records with the
fields changed; password changes are audited without the secret.
"""

from __future__ import annotations

from dataclasses import dataclass

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.contrib.auth.tokens import default_token_generator
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.mail import EmailMultiAlternatives
from django.core.validators import validate_email
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.signals import m2m_changed
from django.dispatch import receiver
from django.template import loader
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode
from simple_history.models import HistoricalRecords

from accounts.constants import DEFAULT_ROLE_FOR_KIND, PRIVILEGED_ROLES, AuditAction, OrgKind, Role
from core.history import save_with_history
from core.validators import clean_reason, validate_phone

RESET_SUBJECT_TEMPLATE = "registration/reset_subject.txt"
RESET_EMAIL_TEMPLATE = "registration/reset_email.txt"
_GUARDED_FLAGS = ("is_superuser", "is_staff")
_BEFORE_FIELDS = ("is_superuser", "is_staff", "role", "password")


# --- who is acting ------------------------------------------------------------------------


def current_actor(instance=None):
    """The person behind a save: the one a domain function names, else the signed-in user
    of the current request; None outside requests (commands, migrations, the demo loader —
    those already hold the server)."""
    explicit = getattr(instance, "_actor", None)
    if explicit is not None:
        return explicit
    request = getattr(HistoricalRecords.context, "request", None)
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return user
    return None


def _is_superuser(actor, target=None, before: dict | None = None) -> bool:
    # When a user saves their own row, the flag in memory may be the one being forged.
    if target is not None and actor.pk is not None and actor.pk == target.pk:
        return bool(before and before["is_superuser"])
    return bool(actor.is_superuser)


# --- the guard on every save ----------------------------------------------------------------


def guard_user_save(user, update_fields=None) -> bool:
    """Refuse a save that a non-superuser may not make; True when it changes the password."""
    if update_fields is not None and set(update_fields) <= {"last_login"}:
        return False
    before = None
    if user.pk is not None:
        before = type(user)._base_manager.filter(pk=user.pk).values(*_BEFORE_FIELDS).first() or None
    # A new account's first password is part of its creation event, not a change.
    password_changed = before is not None and (
        getattr(user, "_password", None) is not None or before["password"] != user.password
    )
    actor = current_actor(user)
    if actor is None or _is_superuser(actor, user, before):
        return password_changed
    old = before or {"is_superuser": False, "is_staff": False, "role": ""}
    if any(bool(getattr(user, name)) != bool(old[name]) for name in _GUARDED_FLAGS):
        raise PermissionDenied("只有系统管理员（超级用户）可以授予或取消超级用户、管理后台权限。")
    if user.role != old["role"] and (
        user.role in PRIVILEGED_ROLES or old["role"] in PRIVILEGED_ROLES
    ):
        raise PermissionDenied("只有系统管理员可以授予或取消系统管理员、安全审计员角色。")
    privileged_before = old["is_superuser"] or old["role"] in PRIVILEGED_ROLES
    if before is not None and privileged_before and actor.pk != user.pk:
        raise PermissionDenied("只有系统管理员可以修改系统管理员、安全审计员或超级用户的账号。")
    return password_changed


def after_user_saved(user) -> None:
    """Audit a password change or reset, never the secret or its hash."""
    from accounts.audit import record

    actor = current_actor(user)
    if actor is None and getattr(HistoricalRecords.context, "request", None) is None:
        # Outside any request (a management command, the demo loader, a fixture) the
        # operator holds the server itself; the audit log records what users do.
        return
    reason = getattr(user, "_password_reason", "")
    if not reason:
        if actor is None:
            reason = "通过重置链接设置新密码"
        elif actor.pk == user.pk:
            reason = "修改本人密码"
        else:
            reason = "设置他人密码"
    record(
        AuditAction.PASSWORD,
        f"{reason}（账号“{user.get_username()}”）",
        user=actor or user,
        obj=user,
    )


@receiver(m2m_changed, dispatch_uid="guard_rights_m2m")
def _guard_rights(sender, instance, action, **kwargs):
    """Groups and permissions — of a user or of a group — are granted by superusers only."""
    from django.contrib.auth import get_user_model
    from django.contrib.auth.models import Group

    if action not in ("pre_add", "pre_remove", "pre_clear"):
        return
    user_model = get_user_model()
    guarded = (
        user_model.groups.through,
        user_model.user_permissions.through,
        Group.permissions.through,
    )
    if sender not in guarded:
        return
    actor = current_actor(instance)
    if actor is not None and not actor.is_superuser:
        raise PermissionDenied("只有系统管理员（超级用户）可以分配用户组和权限。")


# --- who may manage whom -------------------------------------------------------------------


def may_manage_users(actor) -> bool:
    """The office (and system administrators) manage the province's accounts."""
    from accounts.roles import role_of

    return role_of(actor) in (Role.OFFICE, Role.ADMIN)


def may_change(actor, user) -> bool:
    """Whether `actor` may edit, deactivate or reset `user`."""
    if not may_manage_users(actor):
        return False
    return actor.is_superuser or not user.is_privileged


def assignable_roles(actor) -> list[tuple[str, str]]:
    if actor.is_superuser:
        return list(Role.choices)
    return [(value, label) for value, label in Role.choices if value not in PRIVILEGED_ROLES]


def _require_manager(actor) -> None:
    if not may_manage_users(actor):
        raise PermissionDenied("只有省办工作人员和系统管理员可以管理用户。")


def _require_may_change(actor, user) -> None:
    _require_manager(actor)
    if not may_change(actor, user):
        raise PermissionDenied("只有系统管理员可以修改系统管理员、安全审计员或超级用户的账号。")


def users_for(actor) -> QuerySet:
    """The accounts the actor manages: every user of the province."""
    from accounts.models import User

    _require_manager(actor)
    # By unit, in the directory's order (office, departments, prefectures, counties …).
    return User.objects.select_related("organisation").order_by(
        "organisation__kind", "organisation__sort_order", "organisation__code", "username"
    )


@dataclass(frozen=True)
class UserFilter:
    q: str = ""
    organisation_id: int | None = None
    role: str = ""
    active: bool | None = None

    def apply(self, qs: QuerySet) -> QuerySet:
        if self.q:
            qs = qs.filter(
                Q(username__icontains=self.q)
                | Q(display_name__icontains=self.q)
                | Q(email__icontains=self.q)
                | Q(phone__icontains=self.q)
            )
        if self.organisation_id:
            qs = qs.filter(organisation_id=self.organisation_id)
        if self.role:
            qs = qs.filter(role=self.role)
        if self.active is not None:
            qs = qs.filter(is_active=self.active)
        return qs


# --- validation ----------------------------------------------------------------------------


def roles_for_kind(kind: str) -> set[str]:
    """The roles a user may hold in an organisation of `kind`: the kind's own role; the
    auditor and the administrator sit in the office."""
    roles = {DEFAULT_ROLE_FOR_KIND[kind]} if kind in DEFAULT_ROLE_FOR_KIND else set()
    if kind == OrgKind.OFFICE:
        roles |= PRIVILEGED_ROLES
    return roles


def _role_misfit(organisation, role: str) -> str:
    labels = "、".join(
        str(Role(r).label) for r in Role.values if r in roles_for_kind(organisation.kind)
    )
    return (
        f"“{Role(role).label}”角色与所属单位“{organisation.name}”"
        f"（{OrgKind(organisation.kind).label}）不符，该单位的用户只能是：{labels}。"
    )


def clean_profile(
    *, actor, username: str | None, display_name: str, email: str, phone: str, organisation, role
) -> dict:
    """An account's profile as `actor` may set it (the admin's form checks it here too)."""
    from accounts.models import User

    errors: dict[str, str] = {}
    display_name = (display_name or "").strip()
    email = (email or "").strip()
    phone = (phone or "").strip()
    if username is not None:
        username = (username or "").strip()
        if not username:
            errors["username"] = "请填写账号。"
        elif len(username) > 150 or not all(ch.isalnum() or ch in "@.+-_" for ch in username):
            errors["username"] = "账号只能由字母、数字和 @ . + - _ 组成，不超过150个字符。"
        elif username.lower() == "new":
            errors["username"] = "“new”是系统保留字，请换一个账号。"
        elif User.objects.filter(username__iexact=username).exists():
            errors["username"] = f"账号“{username}”已存在。"
    if not any(ch.isalnum() for ch in display_name):  # blank, or invisible characters only
        errors["display_name"] = "请填写姓名。"
    elif len(display_name) > 50:
        errors["display_name"] = f"不能超过50字（现有{len(display_name)}字）。"
    if email:
        try:
            validate_email(email)
        except ValidationError:
            errors["email"] = "电子邮箱格式不正确。"
    if len(phone) > 30:
        errors["phone"] = "联系电话不超过30个字符。"
    elif phone:
        try:
            validate_phone(phone)
        except ValidationError as exc:
            errors["phone"] = exc.messages[0]
    if organisation is None:
        errors["organisation"] = "请选择所属单位。"
    elif not organisation.is_active:
        errors["organisation"] = "该单位已停用，不能分配用户。"
    allowed = dict(assignable_roles(actor))
    if role not in allowed:
        errors["role"] = (
            "只有系统管理员可以授予系统管理员或安全审计员角色。"
            if role in PRIVILEGED_ROLES
            else "请选择角色。"
        )
    elif organisation is not None and role not in roles_for_kind(organisation.kind):
        errors["role"] = _role_misfit(organisation, role)
    if errors:
        raise ValidationError(errors)
    return {
        "username": username,
        "display_name": display_name,
        "email": email,
        "phone": phone,
        "organisation": organisation,
        "role": role,
    }


def _save(user, *, actor, reason: str, password_reason: str = "") -> None:
    user._actor = actor
    if password_reason:
        user._password_reason = password_reason
    try:
        save_with_history(user, actor=actor, reason=reason)
    finally:
        for name in ("_actor", "_password_reason"):
            user.__dict__.pop(name, None)


# --- the domain functions ------------------------------------------------------------------


@transaction.atomic
def create_user(
    *,
    actor,
    username: str,
    display_name: str,
    email: str,
    organisation,
    role: str,
    phone: str = "",
    password: str = "",
    send_reset_email: bool = False,
):
    """A new account. Its first password is set by the office, or the user sets it through a
    link e-mailed to them (then the account has no usable password until they do)."""
    from accounts.models import User

    _require_manager(actor)
    data = clean_profile(
        actor=actor,
        username=username,
        display_name=display_name,
        email=email,
        phone=phone,
        organisation=organisation,
        role=role,
    )
    user = User(**data, is_active=True)
    if send_reset_email:
        if not data["email"]:
            raise ValidationError({"email": "发送设置密码邮件需要填写电子邮箱。"})
        user.set_unusable_password()
    else:
        if not password:
            raise ValidationError(
                {"password": "请设置初始密码，或选择通过邮件让用户自行设置密码。"}
            )
        try:
            validate_password(password, user)
        except ValidationError as exc:
            raise ValidationError({"password": exc.messages}) from exc
        user.set_password(password)
    _save(user, actor=actor, reason="省办新建账号", password_reason="设置初始密码")
    if send_reset_email:
        _send_reset_after_commit(user, welcome=True)
    return user


@transaction.atomic
def update_user(
    *,
    actor,
    user,
    display_name: str,
    email: str,
    phone: str,
    organisation,
    role: str,
    reason: str = "",
):
    """Change an account's unit, role, name and contact details."""
    from accounts.models import User

    user = User.objects.select_for_update().get(pk=user.pk)
    _require_may_change(actor, user)
    data = clean_profile(
        actor=actor,
        username=None,
        display_name=display_name,
        email=email,
        phone=phone,
        organisation=organisation,
        role=role,
    )
    data.pop("username")
    if user.role in PRIVILEGED_ROLES and not actor.is_superuser and data["role"] != user.role:
        raise PermissionDenied("只有系统管理员可以取消系统管理员或安全审计员角色。")
    changed = [name for name, value in data.items() if getattr(user, name) != value]
    if not changed:
        return user
    for name in changed:
        setattr(user, name, data[name])
    _save(user, actor=actor, reason=clean_reason(reason) or "省办修改账号信息")
    return user


@transaction.atomic
def deactivate_user(*, actor, user, reason: str):
    """Stop an account from signing in (its sessions and API tokens stop working at once);
    it stays on record with everything it did."""
    from accounts.models import User

    user = User.objects.select_for_update().get(pk=user.pk)
    _require_may_change(actor, user)
    if user.pk == actor.pk:
        raise ValidationError("不能停用自己的账号。")
    reason = clean_reason(reason)
    if not reason:
        raise ValidationError({"reason": "请填写停用原因，例如“调离岗位”。"})
    if not user.is_active:
        raise ValidationError("该账号已经停用。")
    user.is_active = False
    _save(user, actor=actor, reason=f"停用账号：{reason}")
    return user


@transaction.atomic
def reactivate_user(*, actor, user, reason: str = ""):
    from accounts.models import User

    user = User.objects.select_for_update().get(pk=user.pk)
    _require_may_change(actor, user)
    if user.is_active:
        raise ValidationError("该账号已经是启用状态。")
    user.is_active = True
    reason = clean_reason(reason)
    _save(user, actor=actor, reason="重新启用账号" + (f"：{reason}" if reason else ""))
    return user


@transaction.atomic
def force_password_reset(*, actor, user):
    """The old password stops working at once (and every session with it); the user sets a
    new one through a link e-mailed to their address."""
    from accounts.models import User

    user = User.objects.select_for_update().get(pk=user.pk)
    _require_may_change(actor, user)
    if not user.email:
        raise ValidationError("该账号没有登记电子邮箱，请先在“编辑”中填写邮箱，再重置密码。")
    if not user.is_active:
        raise ValidationError("该账号已停用，请先重新启用。")
    user.set_unusable_password()
    _save(
        user,
        actor=actor,
        reason="省办强制重置密码",
        password_reason="省办强制重置密码，原密码失效，已发送重置邮件",
    )
    _send_reset_after_commit(user)
    return user


# --- the reset e-mail ----------------------------------------------------------------------


def reset_link(user) -> str:
    """The one-time address where `user` sets a new password (valid for
    PASSWORD_RESET_TIMEOUT; void once used or once the password changes)."""
    uid = urlsafe_base64_encode(force_bytes(user.pk))
    token = default_token_generator.make_token(user)
    path = reverse("password_reset_confirm", kwargs={"uidb64": uid, "token": token})
    return f"{settings.SITE_URL}{path}"


def reset_email_context(user, *, welcome: bool = False) -> dict:
    return {
        "user": user,
        "link": reset_link(user),
        "welcome": welcome,
        "hours": settings.PASSWORD_RESET_TIMEOUT // 3600,
    }


def send_reset_email(user, *, welcome: bool = False) -> None:
    context = reset_email_context(user, welcome=welcome)
    subject = "".join(loader.render_to_string(RESET_SUBJECT_TEMPLATE, context).splitlines())
    body = loader.render_to_string(RESET_EMAIL_TEMPLATE, context)
    EmailMultiAlternatives(subject, body, None, [user.email]).send()


def _send_reset_after_commit(user, *, welcome: bool = False) -> None:
    # The link is only valid for the password now stored: send it once that is committed.
    pk = user.pk

    def send():
        from accounts.models import User

        fresh = User.objects.get(pk=pk)
        send_reset_email(fresh, welcome=welcome)

    transaction.on_commit(send)
