"""The audit log page: read-only, for the security auditor (and system administrators).

Each event reads as a sentence: when, who (unit and name), what they did to which record —
"2026年3月31日 14:05 省办 陈晓岚 修改了 试点 ST-2026-0001：状态 已批复 → 已备案"."""

from __future__ import annotations

import re
from dataclasses import dataclass
from posixpath import basename
from urllib.parse import unquote

from django import forms
from django.apps import apps
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent, User
from accounts.roles import role_of
from core.dates import format_cn_datetime


def may_read_audit(user) -> bool:
    return role_of(user) in (Role.AUDITOR, Role.ADMIN)


def model_label(object_type: str) -> str:
    """A record type in Chinese (its verbose_name): "pilots.pilot" → 试点."""
    if object_type == "file":
        return "文件"
    try:
        return str(apps.get_model(object_type)._meta.verbose_name)
    except (LookupError, ValueError):
        return object_type


def record_type_choices() -> list[tuple[str, str]]:
    """The record types found in the log, by their Chinese names."""
    types = AuditEvent.objects.exclude(object_type="").values_list("object_type", flat=True)
    found = sorted({t for t in types.distinct()}, key=lambda t: model_label(t))
    return [("", "全部记录类型"), *((t, model_label(t)) for t in found)]


class AuditFilterForm(forms.Form):
    person = forms.ModelChoiceField(
        label="人员",
        required=False,
        queryset=User.objects.select_related("organisation__parent").order_by(
            "organisation__kind", "organisation__sort_order", "display_name", "username"
        ),
        empty_label="全部人员",
    )
    username = forms.CharField(label="登录账号", required=False, max_length=150)
    action = forms.ChoiceField(
        label="操作", required=False, choices=[("", "全部操作"), *AuditAction.choices]
    )
    object_type = forms.ChoiceField(label="记录类型", required=False, choices=())
    object_id = forms.CharField(label="记录编号", required=False, max_length=64)
    ip = forms.GenericIPAddressField(label="来源地址", required=False)
    since = forms.DateField(
        label="起始日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )
    until = forms.DateField(
        label="截止日期", required=False, widget=forms.DateInput(attrs={"type": "date"})
    )

    def __init__(self, *args, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["person"].label_from_instance = lambda u: u.display_with_unit()
        self.fields["object_type"].choices = record_type_choices()

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("person"):
            qs = qs.filter(user=data["person"])
        if data.get("username"):
            qs = qs.filter(username=data["username"].strip())
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        if data.get("object_type"):
            qs = qs.filter(object_type=data["object_type"])
        if data.get("object_id"):
            qs = qs.filter(object_id=data["object_id"].strip())
        if data.get("ip"):
            qs = qs.filter(ip=data["ip"])
        if data.get("since"):
            qs = qs.filter(at__date__gte=data["since"])
        if data.get("until"):
            qs = qs.filter(at__date__lte=data["until"])
        return qs


# What the product wrote: "修改试点“ST-2026-0001 …”（状态：已批复→已备案）：理由".
_CHANGE = re.compile(r"^(新建|修改|删除)(.+?)“(.*)”(?:（(.*?)）)?(?:：(.*))?$", re.S)
_UPLOAD = re.compile(r"^上传文件 (\S+)(?:（(\d+) 字节）)?$")
_ENCODED = re.compile(r"%[0-9A-Fa-f]{2}")
_ISO_DATE = re.compile(r"\b(\d{4})-(\d{2})-(\d{2})\b")
_VERBS = {"新建": "新建了", "修改": "修改了", "删除": "删除了"}


def decoded(text: str) -> str:
    """URL-encoded names (%E8%AF%95…) as their readers typed them."""
    return unquote(text) if _ENCODED.search(text or "") else (text or "")


def _cn_dates(text: str) -> str:
    """Dates written into a record's name (评估（2026-11-06）) as the log prints dates."""
    return _ISO_DATE.sub(lambda m: f"{m[1]}年{int(m[2])}月{int(m[3])}日", text)


def _size(n: str | None) -> str:
    if not n:
        return ""
    size = int(n)
    if size >= 1024 * 1024:
        return f"（{size / 1024 / 1024:.1f} MB）"
    if size >= 1024:
        return f"（{size / 1024:.1f} KB）"
    return f"（{size} 字节）"


def who_of(event: AuditEvent) -> str:
    """The person: unit and name (省办 陈晓岚); the account name typed at a failed sign-in; a
    visitor not signed in (a request without a user: a public page's download); else the
    product itself (a scheduled job, a command)."""
    user = event.user
    if user is not None:
        name = user.display_name or user.get_full_name() or user.username
        unit = user.organisation.unit_label if user.organisation_id else ""
        return f"{unit} {name}".strip()
    if event.username:
        return f"账号“{event.username}”"
    if event.path:
        return "未登录的访问者"
    return "系统"


def what_of(event: AuditEvent) -> str:
    """What was done, as the rest of the sentence."""
    summary = _cn_dates(decoded(event.summary))
    match = _CHANGE.match(summary)
    if match and event.action in (AuditAction.CHANGE, AuditAction.PERMISSION):
        verb, model, shown, changes, reason = match.groups()
        model = model_label(event.object_type) if event.object_type else model
        text = f"{_VERBS[verb]} {model} {shown}"
        if changes:
            text += "：" + "；".join(
                part.replace("→", " → ").replace("：", " ", 1) for part in changes.split("；")
            )
        if reason:
            text += f"（理由：{reason}）"
        return text
    match = _UPLOAD.match(summary)
    if match and event.action == AuditAction.UPLOAD:
        return f"上传了文件“{basename(match.group(1))}”{_size(match.group(2))}"
    if event.action in (AuditAction.DOWNLOAD, AuditAction.EXPORT):
        label = AuditAction(event.action).label
        if summary.startswith(label):
            rest = summary[len(label) :]
            verb = "下载了文件" if event.action == AuditAction.DOWNLOAD else "导出了"
            return f"{verb}{rest}"
    return summary


@dataclass
class Line:
    event: AuditEvent
    when: str
    who: str
    what: str
    record: str
    path: str

    @property
    def sentence(self) -> str:
        return f"{self.when} {self.who} {self.what}"


def line_of(event: AuditEvent) -> Line:
    record = ""
    if event.object_type:
        record = model_label(event.object_type)
        if event.object_id and event.object_type != "file":
            record += f" 第{event.object_id}号"
    return Line(
        event=event,
        when=format_cn_datetime(event.at),
        who=who_of(event),
        what=what_of(event),
        record=record,
        path=decoded(event.path),
    )


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not may_read_audit(request.user):
        raise PermissionDenied("审计日志仅安全审计员和系统管理员可以查看。")
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("user__organisation__parent")
    if form.is_bound and form.is_valid():
        events = form.filter(events)
    elif form.is_bound:
        events = events.none()
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    lines = [line_of(e) for e in page.object_list]
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {"form": form, "page": page, "lines": lines, "query": query.urlencode()},
    )
