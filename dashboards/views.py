"""The dashboard: what the office looks at every morning; lead departments and prefecture
bureaus see the same page over their own slice."""

from __future__ import annotations

import logging
import re

from django.conf import settings
from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.cache import cache
from django.core.exceptions import PermissionDenied
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django.utils import timezone

from dashboards import charts, metrics
from pilots.policy import role_of

logger = logging.getLogger(__name__)
_QUARTER = re.compile(r"^(20\d\d)Q([1-4])$")


def _chosen_quarter(request: HttpRequest, today) -> tuple[int, int] | None:
    """?quarter=2026Q3 picks the reporting quarter; a quarter not yet due or malformed is
    refused with a message and the latest due quarter shown instead."""
    value = request.GET.get("quarter", "").strip()
    if not value:
        return None
    match = _QUARTER.match(value)
    if match:
        chosen = (int(match[1]), int(match[2]))
        if chosen <= metrics.latest_due_quarter(today):
            return chosen
    messages.warning(request, "季度参数无效或该季度进展尚未到报送期限，已显示最近一个到期季度。")
    return None


def _figures(user, today, quarter) -> dict:
    """The dashboard's figures, kept for DASHBOARD_CACHE_SECONDS. What a user sees depends on
    their role and organisation alone, so those are the key: two users of one bureau share the
    figures, a user whose role or unit changes gets another key at once, and who may open the
    page at all is checked before the cache is read."""
    seconds = settings.DASHBOARD_CACHE_SECONDS
    key = f"dashboard:{role_of(user)}:{user.organisation_id or 0}:{today.isoformat()}:{quarter}"
    data = _cache_call(cache.get, key) if seconds else None
    if data is None:
        data = metrics.dashboard(user, today, quarter)
        data["computed_at"] = timezone.now()
        if seconds:
            _cache_call(cache.set, key, data, seconds)
    return data


def _cache_call(method, *args):
    """A cache that is down (Redis stopped, say) is a miss, never an error page."""
    try:
        return method(*args)
    except Exception:  # the backend's own connection errors, whichever backend it is
        logger.warning("dashboard cache unavailable", exc_info=True)
        return None


@login_required
def dashboard(request: HttpRequest) -> HttpResponse:
    if not metrics.may_view(request.user):
        raise PermissionDenied("数据看板面向省办、省级牵头部门和设区市、县（市、区）局。")
    today = timezone.localdate()
    data = _figures(request.user, today, _chosen_quarter(request, today))
    latest = metrics.latest_due_quarter(today)
    data.update(
        today=today,
        charts=charts.options(data),
        quarter_choices=[
            (f"{y}Q{q}", metrics.quarter_label(y, q)) for y, q in metrics.quarters_back(latest, 8)
        ][::-1],
        quarter_value=f"{data['year']}Q{data['quarter']}",
    )
    return render(request, "dashboards/dashboard.html", data)
