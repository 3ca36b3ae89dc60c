"""The audit log page: read-only, for the security auditor (and system administrators)."""

from __future__ import annotations

from django import forms
from django.contrib.auth.decorators import login_required
from django.core.exceptions import PermissionDenied
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent
from accounts.roles import role_of


def may_read_audit(user) -> bool:
    return role_of(user) in (Role.AUDITOR, Role.ADMIN)


class AuditFilterForm(forms.Form):
    action = forms.ChoiceField(
        label="类别", required=False, choices=[("", "全部类别"), *AuditAction.choices]
    )
    username = forms.CharField(label="账号", required=False, max_length=150)
    ip = forms.GenericIPAddressField(label="来源地址", required=False)
    since = forms.DateField(label="起始日期", required=False)
    until = forms.DateField(label="截止日期", required=False)

    def filter(self, qs):
        data = self.cleaned_data
        if data.get("action"):
            qs = qs.filter(action=data["action"])
        if data.get("username"):
            qs = qs.filter(username=data["username"].strip())
        if data.get("ip"):
            qs = qs.filter(ip=data["ip"])
        if data.get("since"):
            qs = qs.filter(at__date__gte=data["since"])
        if data.get("until"):
            qs = qs.filter(at__date__lte=data["until"])
        return qs


@login_required
def audit_log(request: HttpRequest) -> HttpResponse:
    if not may_read_audit(request.user):
        raise PermissionDenied("审计日志仅安全审计员和系统管理员可以查看。")
    form = AuditFilterForm(request.GET or None)
    events = AuditEvent.objects.select_related("user")
    if form.is_bound and form.is_valid():
        events = form.filter(events)
    elif form.is_bound:
        events = events.none()
    page = Paginator(events, 100).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(
        request,
        "accounts/audit_log.html",
        {"form": form, "page": page, "query": query.urlencode()},
    )
