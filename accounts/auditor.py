"""The security auditor reads the audit log and nothing else.

Decided here, once, by URL name and denied by default: a page or endpoint added later is
closed to the auditor until it is named below. The auditor keeps its own account pages
(profile, password) and signs out; its home page is the audit log.
"""

from __future__ import annotations

from django.http import HttpRequest, HttpResponse, HttpResponseForbidden, JsonResponse
from django.shortcuts import redirect
from django.template.loader import render_to_string

from accounts.roles import is_auditor

# URL names the auditor may open (namespaced names as "namespace:name").
AUDITOR_PAGES = frozenset(
    {
        "audit_log",
        "login",
        "logout",
        "profile",
        "password_change",
        "password_change_done",
        "password_reset",
        "password_reset_done",
        "password_reset_confirm",
        "password_reset_complete",
        "healthz",
        "public:index",
        "public:list",
    }
)
REFUSED = "安全审计员只能查看审计日志。"


class AuditorOnlyReadsTheLogMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        user = getattr(request, "user", None)
        if user is None or not is_auditor(user):
            return None
        match = request.resolver_match
        name = match.view_name if match else ""
        if name in AUDITOR_PAGES or name.startswith("admin:"):
            return None  # the admin answers the auditor by its own (empty) permissions
        if name == "home":
            return redirect("audit_log")
        if request.path.startswith("/api/"):
            return JsonResponse(
                {"detail": REFUSED}, status=403, json_dumps_params={"ensure_ascii": False}
            )
        body = render_to_string("403.html", {"exception": REFUSED}, request=request)
        return HttpResponseForbidden(body)
