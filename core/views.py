"""View helpers every app shares: binding forms, showing a domain function's errors, paging
and file responses. They know no domain."""

from __future__ import annotations

from urllib.parse import quote

from django.conf import settings
from django.contrib import messages
from django.core.exceptions import ValidationError
from django.http import FileResponse, Http404, HttpRequest

# Characters Windows refuses in a file name; a download keeps the rest of its name.
UNSAFE_FILENAME_CHARS = '/\\:*?"<>|'


def bound_data(request: HttpRequest):
    """POST data to bind a form to — also when a POST arrives empty, so it gets errors."""
    return request.POST if request.method == "POST" else None


def per_page(request: HttpRequest) -> int:
    """Rows per page asked for in ?per_page=, kept between 10 and 200."""
    try:
        value = int(request.GET.get("per_page", settings.PAGINATE_BY))
    except ValueError:
        return settings.PAGINATE_BY
    return min(max(value, 10), 200)


def flash_errors(request: HttpRequest, source) -> None:
    """Show a bound form's errors, or a ValidationError's messages, as error messages (for a
    POST that redirects back to the page it came from)."""
    if isinstance(source, ValidationError):
        found = source.messages
    else:
        found = [message for errors in source.errors.values() for message in errors]
    for message in found:
        messages.error(request, message)


def warn_ignored_filters(request: HttpRequest, form) -> None:
    """A list's filters that did not validate are ignored: the warning says which, and why."""
    details = "；".join(
        f"{form.fields[name].label}：{str(errors[0]).rstrip('。')}"
        for name, errors in form.errors.items()
        if name in form.fields
    )
    messages.warning(request, "部分筛选条件无效，已忽略。" + (f"{details}。" if details else ""))


def content_disposition(filename: str, *, kind: str = "attachment") -> str:
    """A download header that keeps a Chinese file name (RFC 6266 `filename*`); `kind`
    "inline" for a file the browser shows and saves under that name."""
    safe = "".join("_" if ch in UNSAFE_FILENAME_CHARS else ch for ch in filename)
    return f"{kind}; filename*=UTF-8''{quote(safe)}"


def serve_file(
    field_file, filename: str = "", *, missing: str = "文件不存在。", gone: str = "文件不存在。"
) -> FileResponse:
    """A stored file as a download; 404 in Chinese when there is none (`missing`) or its
    file has gone from the storage (`gone`)."""
    if not field_file:
        raise Http404(missing)
    try:
        handle = field_file.open("rb")
    except FileNotFoundError as exc:
        raise Http404(gone) from exc
    name = filename or field_file.name.rsplit("/", 1)[-1]
    response = FileResponse(handle, as_attachment=True, filename=name)
    response["X-Content-Type-Options"] = "nosniff"
    return response
