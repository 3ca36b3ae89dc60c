"""The office's user management pages: list, create, edit, deactivate and reactivate, force a
password reset. Every change goes through accounts/users.py."""

from __future__ import annotations

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.paginator import Paginator
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import users
from accounts.forms import UserCreateForm, UserFilterForm, UserProfileForm
from accounts.models import User


def _require_manager(request: HttpRequest) -> None:
    if not users.may_manage_users(request.user):
        raise PermissionDenied("只有省办工作人员和系统管理员可以管理用户。")


def _get_user(request: HttpRequest, username: str) -> User:
    _require_manager(request)
    user = users.users_for(request.user).filter(username=username).first()
    if user is None:
        raise Http404("未找到该用户。")
    return user


def _form_errors(form, exc: ValidationError) -> None:
    """Put a domain function's messages on the form fields they name."""
    if hasattr(exc, "error_dict"):
        for field, errors in exc.error_dict.items():
            for error in errors:
                for message in error.messages:
                    form.add_error(field if field in form.fields else None, message)
    else:
        for message in exc.messages:
            form.add_error(None, message)


@login_required
def user_list(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = UserFilterForm(request.GET or None)
    qs = users.users_for(request.user)
    if form.is_bound and form.is_valid():
        data = form.cleaned_data
        qs = users.UserFilter(
            q=(data.get("q") or "").strip(),
            organisation_id=data["unit"].pk if data.get("unit") else None,
            role=data.get("role") or "",
            active={"1": True, "0": False}.get(data.get("active") or ""),
        ).apply(qs)
    elif form.is_bound:
        qs = qs.none()
    page = Paginator(qs, settings.PAGINATE_BY).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/user_list.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )


@login_required
def user_create(request: HttpRequest) -> HttpResponse:
    _require_manager(request)
    form = UserCreateForm(request.POST or None, actor=request.user)
    if request.method == "POST" and form.is_valid():
        data = form.cleaned_data
        by_email = data["password_mode"] == "email"
        try:
            user = users.create_user(
                actor=request.user,
                username=data["username"],
                display_name=data["display_name"],
                email=data["email"],
                phone=data["phone"],
                organisation=data["organisation"],
                role=data["role"],
                password="" if by_email else data["password"],
                send_reset_email=by_email,
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(
                request,
                f"已创建账号“{user.username}”。"
                + (f"设置密码的邮件已发送至 {user.email}。" if by_email else ""),
            )
            return redirect("user_edit", username=user.username)
    status = 400 if request.method == "POST" else 200
    return render(request, "accounts/user_form.html", {"form": form}, status=status)


def _changes(target: User) -> list[dict]:
    """The account's history, newest first: who changed which fields, and why."""
    from accounts.audit import describe_changes

    rows = []
    for entry in target.history.select_related("history_user")[:20]:
        changes = describe_changes(target, entry)
        reason = entry.history_change_reason or ""
        if changes or reason:
            rows.append(
                {
                    "at": entry.history_date,
                    "by": entry.history_user,
                    "changes": changes,
                    "reason": reason,
                }
            )
    return rows


def _edit_page(request: HttpRequest, target: User, form=None, status: int = 200) -> HttpResponse:
    if form is None:
        form = UserProfileForm(
            initial={
                "display_name": target.display_name,
                "email": target.email,
                "phone": target.phone,
                "organisation": target.organisation_id,
                "role": target.role,
            },
            actor=request.user,
        )
    return render(
        request,
        "accounts/user_form.html",
        {
            "form": form,
            "target": target,
            "may_change": users.may_change(request.user, target),
            "changes": _changes(target),
        },
        status=status,
    )


@login_required
def user_edit(request: HttpRequest, username: str) -> HttpResponse:
    target = _get_user(request, username)
    if request.method != "POST":
        return _edit_page(request, target)
    if not users.may_change(request.user, target):
        raise PermissionDenied("只有系统管理员可以修改系统管理员、安全审计员或超级用户的账号。")
    form = UserProfileForm(request.POST, actor=request.user)
    if form.is_valid():
        data = form.cleaned_data
        try:
            users.update_user(
                actor=request.user,
                user=target,
                display_name=data["display_name"],
                email=data["email"],
                phone=data["phone"],
                organisation=data["organisation"],
                role=data["role"],
                reason=data["reason"],
            )
        except ValidationError as exc:
            _form_errors(form, exc)
        else:
            messages.success(request, f"已保存账号“{target.username}”的信息。")
            return redirect("user_edit", username=target.username)
    return _edit_page(request, target, form, status=400)


def _act(request: HttpRequest, username: str, action, success: str) -> HttpResponse:
    target = _get_user(request, username)
    try:
        action(target)
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return _edit_page(request, target, status=400)
    messages.success(request, success.format(user=target))
    return redirect("user_edit", username=target.username)


@login_required
@require_POST
def user_deactivate(request: HttpRequest, username: str) -> HttpResponse:
    return _act(
        request,
        username,
        lambda target: users.deactivate_user(
            actor=request.user, user=target, reason=request.POST.get("reason", "")
        ),
        "已停用账号“{user.username}”：该账号不能再登录，API 令牌同时失效。",
    )


@login_required
@require_POST
def user_reactivate(request: HttpRequest, username: str) -> HttpResponse:
    return _act(
        request,
        username,
        lambda target: users.reactivate_user(
            actor=request.user, user=target, reason=request.POST.get("reason", "")
        ),
        "已重新启用账号“{user.username}”。",
    )


@login_required
@require_POST
def user_force_reset(request: HttpRequest, username: str) -> HttpResponse:
    return _act(
        request,
        username,
        lambda target: users.force_password_reset(actor=request.user, user=target),
        "账号“{user.username}”的原密码已失效，重置密码的邮件已发送至 {user.email}。",
    )
