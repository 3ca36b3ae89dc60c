"""The office's pages for each organisation's notice channels, and the users' e-mail choices."""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.db import transaction
from django.db.models import Count, Q
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from accounts import channel_settings, channels
from accounts.channel_forms import EMAIL_KINDS, ChannelForm, EmailChoicesForm
from accounts.models import (
    DeliveryStatus,
    EmailPreference,
    NoticeChannel,
    Organisation,
)

OFFICE_ONLY = "只有省办可以配置消息渠道。"


def _require_office(request: HttpRequest) -> None:
    if not request.user.is_office:
        raise PermissionDenied(OFFICE_ONLY)


def _organisation(code: str) -> Organisation:
    org = Organisation.objects.filter(code=code).first()
    if org is None:
        raise Http404("未找到该单位。")
    return org


def _channel(pk: int) -> NoticeChannel:
    channel = NoticeChannel.objects.select_related("organisation").filter(pk=pk).first()
    if channel is None:
        raise Http404("未找到该渠道。")
    return channel


@login_required
def channel_list(request: HttpRequest) -> HttpResponse:
    """Every organisation with its active channels and its undelivered messages."""
    _require_office(request)
    orgs = Organisation.objects.filter(is_active=True).annotate(
        active_channels=Count("channels", filter=Q(channels__is_active=True), distinct=True),
        undelivered=Count(
            "deliveries",
            filter=Q(deliveries__status=DeliveryStatus.FAILED, deliveries__is_test=False),
            distinct=True,
        ),
    )
    return render(request, "accounts/channel_list.html", {"orgs": orgs})


@login_required
def channel_org(request: HttpRequest, org_code: str) -> HttpResponse:
    """One organisation's channels, the forms to add one, and its recent deliveries."""
    _require_office(request)
    org = _organisation(org_code)
    items = list(NoticeChannel.objects.filter(organisation=org))
    for channel in items:
        channel.host = channels.webhook_host(channel) if channel.is_robot else ""
    return render(
        request,
        "accounts/channel_org.html",
        {
            "org": org,
            "channels": items,
            "deliveries": org.deliveries.select_related("channel")[:30],
            "set_label": channels.SET_LABEL,
            "attempts": channels.max_attempts(),
        },
    )


def _save(request: HttpRequest, form: ChannelForm, channel: NoticeChannel) -> None:
    data = form.cleaned_data
    channel_settings.save_channel(
        actor=request.user,
        channel=channel,
        name=data["name"],
        emails=data["emails"],
        kinds=list(data["kinds"]),
        webhook=data.get("webhook") or "",
        secret=data.get("secret") or "",
    )


@login_required
def channel_create(request: HttpRequest, org_code: str) -> HttpResponse:
    _require_office(request)
    org = _organisation(org_code)
    if request.method == "POST":
        form = ChannelForm(request.POST)
        if form.is_valid():
            channel = NoticeChannel(
                organisation=org,
                channel_type=form.cleaned_data["channel_type"],
                created_by=request.user,
            )
            _save(request, form, channel)
            messages.success(request, f"已添加渠道“{channel.name}”。可发送测试消息确认配置。")
            return redirect("channel_org", org_code=org.code)
    else:
        initial_type = request.GET.get("type", "")
        form = ChannelForm(
            initial={"channel_type": initial_type, "kinds": list(channels.DEFAULT_KINDS)}
        )
    return render(request, "accounts/channel_form.html", {"org": org, "form": form})


@login_required
def channel_edit(request: HttpRequest, pk: int) -> HttpResponse:
    _require_office(request)
    channel = _channel(pk)
    if request.method == "POST":
        form = ChannelForm(request.POST, channel=channel)
        if form.is_valid():
            _save(request, form, channel)
            messages.success(request, f"渠道“{channel.name}”已保存。")
            return redirect("channel_org", org_code=channel.organisation.code)
    else:
        form = ChannelForm(
            channel=channel,
            initial={"name": channel.name, "emails": channel.emails, "kinds": channel.kinds},
        )
    return render(
        request,
        "accounts/channel_form.html",
        {
            "org": channel.organisation,
            "form": form,
            "channel": channel,
            "set_label": channels.SET_LABEL,
        },
    )


@login_required
@require_POST
def channel_test(request: HttpRequest, pk: int) -> HttpResponse:
    _require_office(request)
    channel = _channel(pk)
    if not channel.is_active:
        messages.error(request, "渠道已停用，请先启用再发送测试消息。")
    else:
        delivery = channels.send_test(channel)
        if delivery.status == DeliveryStatus.SENT:
            messages.success(request, f"测试消息已发送到“{channel.name}”。")
        else:
            messages.error(request, f"测试消息未送达“{channel.name}”：{delivery.last_error}")
    return redirect("channel_org", org_code=channel.organisation.code)


@login_required
@require_POST
def channel_deactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_office(request)
    channel = _channel(pk)
    channel_settings.deactivate_channel(actor=request.user, channel=channel)
    messages.success(request, f"渠道“{channel.name}”已停用，不再推送通知（配置保留，可重新启用）。")
    return redirect("channel_org", org_code=channel.organisation.code)


@login_required
@require_POST
def channel_reactivate(request: HttpRequest, pk: int) -> HttpResponse:
    _require_office(request)
    channel = _channel(pk)
    channel_settings.reactivate_channel(actor=request.user, channel=channel)
    messages.success(request, f"渠道“{channel.name}”已重新启用。")
    return redirect("channel_org", org_code=channel.organisation.code)


# --- the users' e-mail choices ----------------------------------------------------------------


def email_choices(user) -> list[dict]:
    """The profile's rows: each kind of notice and whether the user receives it by e-mail."""
    off = set(
        EmailPreference.objects.filter(user=user, wanted=False).values_list("kind", flat=True)
    )
    return [{"value": v, "label": label, "on": v not in off} for v, label in EMAIL_KINDS]


@login_required
@require_POST
def email_preferences(request: HttpRequest) -> HttpResponse:
    form = EmailChoicesForm(request.POST)
    if not form.is_valid():
        for errors in form.errors.values():
            for error in errors:
                messages.error(request, error)
        return redirect("profile")
    wanted = set(form.cleaned_data["kinds"])
    with transaction.atomic():
        for kind, _ in EMAIL_KINDS:
            EmailPreference.objects.update_or_create(
                user=request.user, kind=kind, defaults={"wanted": kind in wanted}
            )
    if wanted:
        labels = "、".join(label for v, label in EMAIL_KINDS if v in wanted)
        messages.success(request, f"已保存：{labels}通知将同时发送到您的邮箱。")
    else:
        messages.success(request, "已保存：这几类通知只在系统内显示，不再发送邮件。")
    return redirect("profile")
