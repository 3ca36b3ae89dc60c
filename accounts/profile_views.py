"""The user's profile page: who they are, and their API tokens (issue, revoke)."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import tokens
from accounts.channel_views import email_choices
from accounts.models import ApiToken


def _page(request: HttpRequest, **extra) -> HttpResponse:
    return render(
        request,
        "accounts/profile.html",
        {
            "tokens": ApiToken.objects.filter(user=request.user),
            "token_limit": tokens.active_tokens_limit(),
            "token_days": tokens.token_lifetime().days,
            "email_choices": email_choices(request.user),
            **extra,
        },
    )


@login_required
def profile(request: HttpRequest) -> HttpResponse:
    return _page(request)


@login_required
@require_POST
def token_create(request: HttpRequest) -> HttpResponse:
    """Issue a token and show its secret once, on this response only."""
    try:
        token, key = tokens.issue_token(request.user, request.POST.get("name", ""))
    except ValidationError as exc:
        for message in exc.messages:
            messages.error(request, message)
        return redirect("profile")
    return _page(request, new_token=token, new_key=key)


@login_required
@require_POST
def token_revoke(request: HttpRequest, pk: int) -> HttpResponse:
    token = ApiToken.objects.filter(pk=pk, user=request.user).first()
    if token is None:
        raise Http404("未找到该令牌。")
    tokens.revoke_token(actor=request.user, token=token)
    messages.success(request, f"令牌“{token.name}”已吊销，使用它的请求将被拒绝。")
    return redirect("profile")
