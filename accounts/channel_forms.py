"""The office's form for an organisation's notice channel, and the users' e-mail choices."""

from __future__ import annotations

import urllib.parse

from django import forms
from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from accounts.channels import webhook_problem
from accounts.models import ChannelType, NoticeChannel, NoticeKind

CHANNEL_KINDS = [(k.value, k.label) for k in NoticeKind]
EMAIL_KINDS = [(k.value, k.label) for k in NoticeKind if k != NoticeKind.OTHER]


class ChannelForm(forms.Form):
    """Creating a channel (its type chosen once) or changing one. A robot's webhook address
    and secret are never shown again: left empty when changing, they stay as they are."""

    channel_type = forms.ChoiceField(
        label="渠道", choices=ChannelType.choices, error_messages={"required": "请选择渠道。"}
    )
    name = forms.CharField(
        label="名称",
        max_length=60,
        help_text="例如：综合处工作群",
        error_messages={"required": "请填写名称。", "max_length": "名称不超过60个字。"},
    )
    emails = forms.CharField(
        label="邮箱地址", required=False, widget=forms.Textarea(attrs={"rows": 3}),
        help_text="每行一个。",
    )  # fmt: skip
    webhook = forms.CharField(
        label="Webhook 地址", required=False, max_length=500, strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "off"}, render_value=False),
        help_text="保存后不再显示。",
    )  # fmt: skip
    secret = forms.CharField(
        label="加签密钥", required=False, max_length=200, strip=True,
        widget=forms.PasswordInput(attrs={"autocomplete": "new-password"}, render_value=False),
        help_text="钉钉机器人安全设置中“加签”一栏的密钥（SEC开头）。",
    )  # fmt: skip
    kinds = forms.MultipleChoiceField(
        label="推送的通知",
        choices=CHANNEL_KINDS,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"required": "请至少选择一类通知。", "invalid_choice": "通知类别不正确。"},
    )

    def __init__(self, *args, channel: NoticeChannel | None = None, **kwargs) -> None:
        super().__init__(*args, **kwargs)
        self.channel = channel
        if channel is not None:
            # The type of an existing channel does not change.
            self.fields["channel_type"].required = False
            self.fields["channel_type"].disabled = True
            self.fields["channel_type"].initial = channel.channel_type
            self.fields["webhook"].label = "替换 Webhook 地址"
            self.fields["secret"].label = "替换加签密钥"

    def clean(self):
        data = super().clean()
        kind = self.channel.channel_type if self.channel else data.get("channel_type")
        if kind == ChannelType.EMAIL:
            addresses = [a.strip() for a in data.get("emails", "").splitlines() if a.strip()]
            if not addresses:
                self.add_error("emails", "请至少填写一个邮箱地址。")
            for address in addresses:
                try:
                    validate_email(address)
                except ValidationError:
                    self.add_error("emails", f"邮箱地址“{address[:60]}”格式不正确。")
            data["emails"] = "\n".join(addresses)
        elif kind in (ChannelType.DINGTALK, ChannelType.WECOM):
            data["emails"] = ""
            webhook = data.get("webhook", "")
            if webhook:
                self._check_webhook(kind, webhook)
            elif self.channel is None:
                self.add_error("webhook", "请填写机器人的 Webhook 地址。")
            if kind == ChannelType.DINGTALK and not data.get("secret") and self.channel is None:
                self.add_error("secret", "请填写钉钉机器人的加签密钥。")
            if kind == ChannelType.WECOM:
                data["secret"] = ""
        return data

    def _check_webhook(self, kind: str, webhook: str) -> None:
        problem = webhook_problem(kind, webhook)
        if problem:
            self.add_error("webhook", problem)
            return
        query = urllib.parse.parse_qs(urllib.parse.urlsplit(webhook).query)
        if kind == ChannelType.DINGTALK and {"timestamp", "sign"} & set(query):
            self.add_error("webhook", "请填写机器人原始的 Webhook 地址（不含 timestamp 和 sign）。")


class EmailChoicesForm(forms.Form):
    """The kinds of notice a user also wants by e-mail (all of them unless unticked)."""

    kinds = forms.MultipleChoiceField(
        label="通过邮件接收",
        choices=EMAIL_KINDS,
        required=False,
        widget=forms.CheckboxSelectMultiple,
        error_messages={"invalid_choice": "通知类别不正确。"},
    )
