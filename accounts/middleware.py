"""Session lifetime and the audit of downloads."""

from __future__ import annotations

import time

from django.conf import settings
from django.contrib import messages
from django.contrib.auth import logout
from django.contrib.auth.views import redirect_to_login
from django.http import FileResponse

from accounts.constants import SESSION_LAST_SEEN as LAST_SEEN
from accounts.constants import SESSION_SIGNED_IN as SIGNED_IN
from accounts.constants import AuditAction

# Writing the last request's time costs a session save; it is refreshed at most this often.
TOUCH_EVERY = 60


class SessionTimeoutMiddleware:
    """Ends a session after SESSION_IDLE_TIMEOUT seconds without a request, and after
    SESSION_COOKIE_AGE seconds from sign-in whatever the activity (absolute lifetime)."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        user = getattr(request, "user", None)
        if user is not None and user.is_authenticated and hasattr(request, "session"):
            now = int(time.time())
            session = request.session
            signed_in = session.setdefault(SIGNED_IN, now)
            last_seen = session.get(LAST_SEEN, now)
            idle = now - last_seen > settings.SESSION_IDLE_TIMEOUT
            expired = now - signed_in > settings.SESSION_COOKIE_AGE
            if idle or expired:
                logout(request)
                reason = "登录已超过有效期" if expired else "长时间未操作"
                if request.path.startswith("/api/"):
                    return self.get_response(request)
                messages.info(request, f"{reason}，请重新登录。")
                return redirect_to_login(request.get_full_path())
            if now - last_seen >= TOUCH_EVERY or LAST_SEEN not in session:
                session[LAST_SEEN] = now
        return self.get_response(request)


class AuditDownloadsMiddleware:
    """Every file leaving the product — a stored file streamed to a user (download) or a
    document made for them (export: Excel, PDF, iCalendar) — is written to the audit log."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        response = self.get_response(request)
        disposition = response.get("Content-Disposition", "")
        if response.status_code == 200 and disposition:
            from accounts.audit import record

            action = (
                AuditAction.DOWNLOAD if isinstance(response, FileResponse) else AuditAction.EXPORT
            )
            record(action, f"{action.label}“{_file_name(disposition)}”", request=request)
        return response


def _file_name(disposition: str) -> str:
    """The file name of a Content-Disposition header, decoded (RFC 6266's filename* first),
    so the audit log reads as the user saw the download. Django sends a header it cannot
    write in Latin-1 MIME-encoded (`=?utf-8?b?…?=`): that is decoded first."""
    from email.header import decode_header, make_header
    from urllib.parse import unquote

    if disposition.startswith("=?"):
        try:
            disposition = str(make_header(decode_header(disposition)))
        except (ValueError, LookupError):
            pass
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename*" and "''" in value:
            return unquote(value.split("''", 1)[1])[:150]
    for part in disposition.split(";"):
        key, _, value = part.strip().partition("=")
        if key.lower() == "filename":
            return value.strip('"')[:150]
    return disposition[:150]
