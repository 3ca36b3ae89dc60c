"""The deadline calendar page and its iCalendar feed (pilots.calendar)."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404, HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from core.dates import YEAR_MAX, YEAR_MIN
from pilots import calendar


def _month(value: str | None) -> tuple[int, int]:
    today = timezone.localdate()
    try:
        year, month = (int(part) for part in (value or "").split("-"))
        dt.date(year, month, 1)
    except ValueError:
        return today.year, today.month
    if not YEAR_MIN <= year <= YEAR_MAX:
        return today.year, today.month
    return year, month


@login_required
def month_view(request: HttpRequest) -> HttpResponse:
    year, month = _month(request.GET.get("month"))
    first = dt.date(year, month, 1)
    previous = (first - dt.timedelta(days=1)).replace(day=1)
    following = (first + dt.timedelta(days=32)).replace(day=1)
    today = timezone.localdate()
    # Every entry is a deadline not yet met: one on a day before today is past due.
    weeks = [
        [(day, items, (today - day).days if items and day < today else 0) for day, items in week]
        for week in calendar.month_weeks(request.user, year, month)
    ]
    token = calendar.active_token(request.user)
    feed_url = request.build_absolute_uri(f"/calendar/feed/{token.token}.ics") if token else ""
    return render(
        request,
        "pilots/calendar.html",
        {
            "first": first,
            "weeks": weeks,
            "previous": f"{previous:%Y-%m}",
            "following": f"{following:%Y-%m}",
            "today": today,
            "feed_url": feed_url,
        },
    )


@login_required
@require_POST
def feed_token(request: HttpRequest) -> HttpResponse:
    """Issue a new feed address (revoking the old one), or revoke it."""
    if request.POST.get("action") == "revoke":
        calendar.revoke_tokens(request.user)
        messages.success(request, "日历订阅地址已停用。")
    else:
        calendar.issue_token(request.user)
        messages.success(request, "已生成新的日历订阅地址，原地址即时失效。")
    return redirect("calendar")


def feed(request: HttpRequest, token: str) -> HttpResponse:
    """The iCalendar feed: no session, the secret in the address is the credential."""
    user = calendar.user_for_token(token)
    if user is None:
        raise Http404("订阅地址无效或已停用。")
    base = getattr(settings, "SITE_URL", "") or request.build_absolute_uri("/").rstrip("/")
    response = HttpResponse(calendar.ical(user, base), content_type="text/calendar; charset=utf-8")
    response["Content-Disposition"] = 'inline; filename="deadlines.ics"'
    response["Cache-Control"] = "private, max-age=900"
    return response
