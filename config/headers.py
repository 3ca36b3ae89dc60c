"""Answers that carry a user's data are never stored by a browser or a proxy.

Every answer to a signed-in user (a session, or an API token that DRF authenticated in the
view), every API answer, and every file that leaves the product (an export or download: it
carries Content-Disposition — the calendar feed, whose secret address is its credential,
too) gets `Cache-Control: no-store`. Anonymous public pages and static files keep their
normal caching: static files are answered by WhiteNoise before this middleware, and a
static path is left alone here as well."""

from __future__ import annotations

from collections.abc import Callable

from django.conf import settings
from django.http import HttpRequest, HttpResponse

NO_STORE = "no-store"


def _is_static(path: str) -> bool:
    prefix = "/" + str(settings.STATIC_URL or "static/").lstrip("/")
    return path.startswith(prefix)


def must_not_store(request: HttpRequest, response: HttpResponse) -> bool:
    """Whether the answer is personal: read after the view, when the user is known."""
    if _is_static(request.path):
        return False
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated:
        return True
    if "HTTP_AUTHORIZATION" in request.META or request.path.startswith("/api/"):
        return True
    return response.has_header("Content-Disposition")


class NoStoreMiddleware:
    """Sets `Cache-Control: no-store` (and `Pragma: no-cache` for HTTP/1.0 caches) on every
    personal answer, replacing whatever a view set: one rule for every page, export,
    download and API answer, rather than a decorator on each view."""

    def __init__(self, get_response: Callable[[HttpRequest], HttpResponse]) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        response = self.get_response(request)
        if must_not_store(request, response):
            response.headers["Cache-Control"] = NO_STORE
            response.headers["Pragma"] = "no-cache"
            response.headers.pop("Expires", None)
        return response
