"""The request edge: one check of everything a request brings before anything uses it.

A control character (NUL above all), a lone surrogate or a noncharacter in the path, the
query string, a form field (its name or value, urlencoded or multipart), an uploaded file's
name, a JSON body or a header the product uses would otherwise reach a view, a form or the
database — where PostgreSQL refuses NUL in text and the request ends as a server error.
Checking each view and field separately misses one sooner or later; this middleware runs
before sessions, authentication and the audit log touch the database, and answers:

- 404 for a path with such a character or a segment over MAX_SEGMENT characters (no page
  has such an address);
- 400 with a Chinese message for the query string (or one over MAX_QUERY characters), form
  field names, file names, JSON bodies and the X-Forwarded-For, Referer, Origin and
  X-Forwarded-Proto headers, and for form values posted to the API or the admin;
- a form value posted to a page of the product passes on: the form's field refuses it with
  its message beside the field and keeps what was typed (core/forms.py), so the user loses
  nothing; `core.guards` refuses to store such a value should a form not check it;
- the browser's User-Agent (stored by the audit log) is cleaned instead: browsers never
  send control characters there, and refusing a page for that would help no one;
- cookies with such characters are dropped (a forged session cookie is looked up in the
  database).

It also removes bidirectional embedding, override and isolate characters from every form
and JSON text value (passwords excepted: they are compared, never shown), so no stored
text can display in another order than it reads.

Under /api/ a refusal is JSON, {"detail": "…"}, like every other API error; elsewhere it is
the Chinese error page.
"""

from __future__ import annotations

import html
import json
import logging
from io import BytesIO
from typing import Any

from django.contrib.admin.utils import unquote
from django.core.exceptions import BadRequest, SuspiciousOperation, ValidationError
from django.http import HttpRequest, HttpResponse, JsonResponse, QueryDict
from django.http.multipartparser import MultiPartParser, MultiPartParserError
from django.shortcuts import render
from django.utils.datastructures import ImmutableList

from core.text import (
    has_control,
    has_control_in_header,
    has_control_in_text,
    strip_bidi,
    strip_header_controls,
)

logger = logging.getLogger("registry.edge")

# No address of the product has a segment this long; a longer one is a probe.
MAX_SEGMENT = 200
# Every filter and search of the product fits in far less.
MAX_QUERY = 4000
# Deeper JSON than any API payload has; deeper still makes the parser recurse without end.
MAX_JSON_DEPTH = 32
# Headers refused (400) when they carry control characters; the product or Django reads them.
CHECKED_HEADERS = {
    "HTTP_X_FORWARDED_FOR": "X-Forwarded-For",
    "HTTP_REFERER": "Referer",
    "HTTP_ORIGIN": "Origin",
    "HTTP_X_FORWARDED_PROTO": "X-Forwarded-Proto",
}
API_PREFIX = "/api/"
ADMIN_PREFIX = "/admin/"

NOT_FOUND = "未找到该地址：地址含有不允许的字符或过长。"
MESSAGES = {
    "query_long": f"查询参数过长（不超过{MAX_QUERY}个字符）。",
    "query": "查询参数含有不允许的控制字符，请检查后重试。",
    "field": "提交的内容含有不允许的控制字符（如 NUL），请删除后重新提交。",
    "file_name": "上传文件的文件名含有控制字符，请改名后重新上传。",
    "json": "提交的 JSON 含有不允许的控制字符（如 \\u0000），请删除后重新提交。",
    "json_deep": f"提交的 JSON 嵌套过深（不超过{MAX_JSON_DEPTH}层）。",
    "header": "请求头 {name} 含有不允许的控制字符。",
    "too_big": "提交的内容过大或字段过多，请减少后重新提交。",
    "malformed": "提交的表单数据格式不正确，请刷新页面后重新提交。",
}


class Refused(Exception):
    """A request the edge answers itself, with this message and status."""

    def __init__(self, message: str, status: int = 400) -> None:
        super().__init__(message)
        self.message = message
        self.status = status


class EdgeMultiPartParser(MultiPartParser):
    """Django's multipart parser, refusing a file name with control characters instead of
    silently dropping them (the user would store a file under a name they never typed)."""

    def sanitize_file_name(self, file_name):
        if has_control(file_name) or has_control(html.unescape(file_name)):
            raise Refused(MESSAGES["file_name"])
        return super().sanitize_file_name(file_name)


class RequestEdgeMiddleware:
    def __init__(self, get_response) -> None:
        self.get_response = get_response

    def __call__(self, request: HttpRequest) -> HttpResponse:
        try:
            self.check(request)
        except Refused as refusal:
            logger.warning(
                "refused at the edge (%s): %s %s",
                refusal.status,
                request.method,
                request.path[:200].encode("unicode_escape").decode("ascii"),
            )
            return refuse(request, refusal.message, refusal.status)
        except (SuspiciousOperation, BadRequest) as exc:
            # Too many fields or files, a body over DATA_UPLOAD_MAX_MEMORY_SIZE, a form that is
            # not UTF-8: Django would answer 400 too; here it is in Chinese (JSON under /api/).
            logger.warning("refused at the edge: %s", type(exc).__name__)
            return refuse(request, MESSAGES["too_big"])
        except MultiPartParserError:
            return refuse(request, MESSAGES["malformed"])
        return self.get_response(request)

    def process_view(self, request: HttpRequest, view_func, view_args, view_kwargs):
        """An admin history page for an id its model cannot hold ("/admin/…/abc/history/")
        fails inside django-simple-history's view; no such record exists: 404."""
        model_admin = getattr(view_func, "model_admin", None)
        object_id = view_kwargs.get("object_id")
        if model_admin is None or object_id is None or view_func.__name__ != "history_view":
            return None
        try:
            model_admin.model._meta.pk.to_python(unquote(object_id))
        except (ValidationError, ValueError, TypeError):
            return refuse(request, NOT_FOUND, status=404)
        return None

    def check(self, request: HttpRequest) -> None:
        self.check_path(request)
        self.check_query(request)
        self.check_headers(request)
        self.check_cookies(request)
        if request.method == "POST" and request.content_type in (
            "multipart/form-data",
            "application/x-www-form-urlencoded",
        ):
            self.check_form(request)
        elif _is_json(request.content_type) and request.method in ("POST", "PUT", "PATCH"):
            self.check_json(request)

    @staticmethod
    def check_path(request: HttpRequest) -> None:
        path = request.path
        if has_control(path) or any(len(part) > MAX_SEGMENT for part in path.split("/")):
            raise Refused(NOT_FOUND, status=404)

    @staticmethod
    def check_query(request: HttpRequest) -> None:
        if len(request.META.get("QUERY_STRING", "")) > MAX_QUERY:
            raise Refused(MESSAGES["query_long"])
        for key, values in request.GET.lists():
            if has_control(key) or any(has_control_in_text(value) for value in values):
                raise Refused(MESSAGES["query"])

    @staticmethod
    def check_headers(request: HttpRequest) -> None:
        meta = request.META
        for key, name in CHECKED_HEADERS.items():
            if has_control_in_header(meta.get(key, "")):
                raise Refused(MESSAGES["header"].format(name=name))
        agent = meta.get("HTTP_USER_AGENT")
        if agent and has_control_in_header(agent):
            meta["HTTP_USER_AGENT"] = strip_header_controls(agent)

    @staticmethod
    def check_cookies(request: HttpRequest) -> None:
        cookies = request.COOKIES
        bad = [name for name, value in cookies.items() if has_control(name + value)]
        if bad:
            request.COOKIES = {k: v for k, v in cookies.items() if k not in bad}

    @staticmethod
    def check_form(request: HttpRequest) -> None:
        if request.content_type == "multipart/form-data":
            request.parse_file_upload = _edge_file_upload(request)
        post = request.POST
        values_checked = _values_checked_here(request.path)
        for key, values in post.lists():
            if has_control(key):
                raise Refused(MESSAGES["field"])
            if values_checked and any(has_control_in_text(value) for value in values):
                raise Refused(MESSAGES["field"])
        for key, files in request.FILES.lists():
            if has_control(key):
                raise Refused(MESSAGES["field"])
            if any(has_control(upload.name or "") for upload in files):
                raise Refused(MESSAGES["file_name"])
        if all(
            strip_bidi(value) == value
            for key, values in post.lists()
            if not _is_secret(key)
            for value in values
        ):
            return
        cleaned = QueryDict(mutable=True, encoding=post.encoding)
        for key, values in post.lists():
            cleaned.setlist(key, values if _is_secret(key) else [strip_bidi(v) for v in values])
        cleaned._mutable = False
        request._post = cleaned
        if request.content_type == "application/x-www-form-urlencoded":
            # The REST framework parses a urlencoded body itself: it reads the cleaned one.
            _replace_body(request, cleaned.urlencode().encode("ascii"))

    @staticmethod
    def check_json(request: HttpRequest) -> None:
        body = request.body
        if not body:
            return
        encoding = request.encoding or "utf-8"
        try:
            data = json.loads(body.decode(encoding))
        except RecursionError as exc:
            raise Refused(MESSAGES["json_deep"]) from exc
        except (UnicodeDecodeError, LookupError, ValueError):
            return  # not JSON: the parser answers that with its own 400
        cleaned, changed = _clean_json(data, depth=0, secret=False)
        if changed:
            _replace_body(request, json.dumps(cleaned, ensure_ascii=False).encode(encoding))


def refuse(request: HttpRequest, message: str, status: int = 400) -> HttpResponse:
    """The Chinese answer to a refused request: JSON under /api/, else the error page."""
    if request.path.startswith(API_PREFIX):
        detail = "未找到该记录，或您无权查看。" if status == 404 else message
        response: HttpResponse = JsonResponse(
            {"detail": detail}, status=status, json_dumps_params={"ensure_ascii": False}
        )
    else:
        context = {"message": message, "status": status}
        response = render(request, "core/refused.html", context, status=status)
    # The middleware below (CSP, frame options) never sees this answer: it carries their
    # headers itself.
    from csp.utils import build_policy

    policy = build_policy()
    if policy:
        response["Content-Security-Policy"] = policy
    response["X-Frame-Options"] = "DENY"
    response["Cache-Control"] = "no-store"
    return response


def _values_checked_here(path: str) -> bool:
    """The API and the admin have no field to show the refusal beside: their form values
    are refused here. A page's form shows it beside the field instead."""
    return path.startswith(API_PREFIX) or path.startswith(ADMIN_PREFIX)


def _is_json(content_type: str) -> bool:
    return content_type == "application/json" or content_type.endswith("+json")


def _is_secret(key: str) -> bool:
    """A password is compared as typed, never displayed: it is left as it is."""
    return "password" in key.lower()


def _clean_json(value: Any, *, depth: int, secret: bool) -> tuple[Any, bool]:
    """(the value without bidi controls, whether anything changed); Refused for control
    characters in a key or a string, or nesting deeper than MAX_JSON_DEPTH."""
    if depth > MAX_JSON_DEPTH:
        raise Refused(MESSAGES["json_deep"])
    if isinstance(value, str):
        if has_control_in_text(value):
            raise Refused(MESSAGES["json"])
        if secret:
            return value, False
        cleaned = strip_bidi(value)
        return cleaned, cleaned != value
    if isinstance(value, list):
        changed = False
        items = []
        for item in value:
            item, item_changed = _clean_json(item, depth=depth + 1, secret=secret)
            items.append(item)
            changed = changed or item_changed
        return items, changed
    if isinstance(value, dict):
        changed = False
        members = {}
        for key, item in value.items():
            if has_control(key):
                raise Refused(MESSAGES["json"])
            item, item_changed = _clean_json(
                item, depth=depth + 1, secret=secret or _is_secret(key)
            )
            members[key] = item
            changed = changed or item_changed
        return members, changed
    return value, False


def _replace_body(request: HttpRequest, body: bytes) -> None:
    request._body = body
    request._stream = BytesIO(body)
    request.META["CONTENT_LENGTH"] = str(len(body))


def _edge_file_upload(request: HttpRequest):
    """request.parse_file_upload with the parser that refuses control characters in file
    names (Django's own drops them silently)."""

    def parse_file_upload(meta, post_data):
        request.upload_handlers = ImmutableList(
            request.upload_handlers,
            warning="You cannot alter upload handlers after the upload has been processed.",
        )
        parser = EdgeMultiPartParser(meta, post_data, request.upload_handlers, request.encoding)
        return parser.parse()

    return parse_file_upload
