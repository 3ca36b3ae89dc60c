"""The product's own error pages (400, 403, 404, 500), in Chinese, with a way back.

Django answers with them by itself only when DEBUG is off; with DEBUG on (the default of
`make run`) it shows its English technical pages instead. ProductErrorPagesMiddleware puts the
product's pages in their place, so that users of a development or demonstration server see
the same pages as in production. A developer who wants the technical pages sets
DEBUG_ERROR_PAGES=1 (they are then shown only with DEBUG on, as Django does).
"""

from __future__ import annotations

from urllib.parse import urlsplit

from csp.utils import build_policy
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import (
    HttpRequest,
    HttpResponse,
    HttpResponseBadRequest,
    HttpResponseForbidden,
    HttpResponseNotFound,
    HttpResponseServerError,
    JsonResponse,
)
from django.template import loader

# Both of Django's technical pages (technical_404.html, technical_500.html) carry this line.
_TECHNICAL_MARK = b'<meta name="robots" content="NONE,NOARCHIVE">'
# Headers the product's page sets itself; the replaced answer's others (security headers set
# by the middleware inside this one) are kept.
_OWN_HEADERS = ("Content-Type", "Content-Length")


def back_url(request: HttpRequest) -> str:
    """The page the user came from, when it is a page of this site (and not this one): the
    Referer's path and query, never another site's address."""
    referer = request.META.get("HTTP_REFERER", "")
    if not referer:
        return ""
    try:
        parts = urlsplit(referer)
    except ValueError:
        return ""
    try:
        host = request.get_host()
    except DisallowedHost:
        return ""
    if parts.scheme not in ("http", "https") or parts.netloc != host:
        return ""
    path = parts.path or "/"
    if not path.startswith("/") or path.startswith("//") or path == request.path:
        return ""
    return f"{path}?{parts.query}" if parts.query else path


def _render(name: str, request: HttpRequest | None, context: dict) -> str:
    return loader.get_template(name).render(context, request)


API_PREFIX = "/api/"


def _wants_json(request: HttpRequest | None) -> bool:
    """A request under /api/ is answered in JSON, whatever part of the stack refused it."""
    return request is not None and request.path.startswith(API_PREFIX)


def bad_request(request: HttpRequest, exception=None, template_name: str = "400.html"):
    # Rendered without the request's context: the request itself may be what is wrong (an
    # unknown host, a forged header), and the page must not fail on it again.
    if _wants_json(request):
        return _json(400, "请求无法处理，请检查请求地址、请求头和内容。")
    body = _render(template_name, None, {"back_url": back_url(request)})
    return HttpResponseBadRequest(body)


def permission_denied(request: HttpRequest, exception=None, template_name: str = "403.html"):
    message = str(exception) if exception is not None else ""
    if _wants_json(request):
        return _json(403, message or "您所在单位或角色无权进行此操作。")
    body = _render(template_name, request, {"exception": message, "back_url": back_url(request)})
    return HttpResponseForbidden(body)


def csrf_failure(request: HttpRequest, reason: str = ""):
    """A form sent from an expired page or from elsewhere (CSRF_FAILURE_VIEW)."""
    message = "页面已过期或来源无法核实，请返回上一页，刷新后重新提交。"
    return permission_denied(request, message)


def _json(status: int, detail: str) -> JsonResponse:
    return JsonResponse(
        {"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False}
    )


def page_not_found(request: HttpRequest, exception=None, template_name: str = "404.html"):
    if _wants_json(request):
        return _json(404, "接口地址不存在，请核对请求路径和记录编号。")
    body = _render(template_name, request, {"back_url": back_url(request)})
    return HttpResponseNotFound(body)


def server_error(request: HttpRequest, template_name: str = "500.html"):
    # Without the request's context: whatever failed (the database, a context processor)
    # must not fail the error page too.
    if _wants_json(request):
        return _json(500, "系统出现错误，已记录，请稍后重试；如持续出现请联系省办。")
    body = _render(template_name, None, {"back_url": back_url(request)})
    return HttpResponseServerError(body)


def technical_pages_wanted() -> bool:
    return settings.DEBUG and getattr(settings, "DEBUG_ERROR_PAGES", False)


def _is_technical(response: HttpResponse) -> bool:
    if response.status_code not in (400, 404, 500) or getattr(response, "streaming", False):
        return False
    if not response.get("Content-Type", "").startswith("text/html"):
        return False
    return _TECHNICAL_MARK in response.content[:2000]


class ProductErrorPagesMiddleware:
    """With DEBUG on, replaces Django's technical 400, 404 and 500 pages with the product's
    own (Django has already logged the error); without DEBUG it has nothing to do."""

    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if not settings.DEBUG or technical_pages_wanted() or not _is_technical(response):
            return response
        if response.status_code == 404:
            page = page_not_found(request)
        elif response.status_code == 400:
            page = bad_request(request)
        else:
            page = server_error(request)
        for header, value in response.items():
            if header not in _OWN_HEADERS:
                page[header] = value
        page.cookies = response.cookies
        if "Content-Security-Policy" not in page:
            # django-csp leaves 404 and 500 answers alone with DEBUG on (for Django's own
            # pages, which need inline script); the product's pages keep the policy.
            page["Content-Security-Policy"] = build_policy()
        return page
