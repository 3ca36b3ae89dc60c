"""Dates as the product shows them: as official documents print them."""

from __future__ import annotations

import datetime as dt

from django.http import Http404
from django.utils import timezone

QUARTER_NAMES = {1: "一", 2: "二", 3: "三", 4: "四"}


def format_cn_date(day: dt.date | None) -> str:
    """A date as official documents print it: 2026年3月31日."""
    if day is None:
        return ""
    if isinstance(day, dt.datetime):
        day = timezone.localtime(day).date() if timezone.is_aware(day) else day.date()
    return f"{day.year}年{day.month}月{day.day}日"


def format_cn_datetime(moment: dt.datetime | None, *, seconds: bool = False) -> str:
    """A moment in local time: 2026年3月31日 14:05 (with seconds when asked: 14:05:09)."""
    if moment is None:
        return ""
    if not isinstance(moment, dt.datetime):
        return format_cn_date(moment)
    if timezone.is_aware(moment):
        moment = timezone.localtime(moment)
    clock = moment.strftime("%H:%M:%S" if seconds else "%H:%M")
    return f"{format_cn_date(moment.date())} {clock}"


def format_cn_quarter(year: int, quarter: int) -> str:
    """2026年第三季度."""
    return f"{year}年第{QUARTER_NAMES.get(int(quarter), quarter)}季度"


def format_cn_month(day: dt.date | None) -> str:
    """2026年3月."""
    if day is None:
        return ""
    return f"{day.year}年{day.month}月"


# The years a path may name: the registry's records begin long after 2000 and no plan runs
# beyond 2100; anything else is a mistyped or hostile address.
YEAR_MIN, YEAR_MAX = 2000, 2100


def period_or_404(year: int, part: int, *, parts: int) -> tuple[int, int]:
    """A year and its quarter (parts=4) or half (parts=2) from a path, or 404 when no such
    period exists: the year outside YEAR_MIN–YEAR_MAX or the part outside 1–parts."""
    try:
        year, part = int(year), int(part)
    except (TypeError, ValueError, OverflowError):
        raise Http404("未找到该期次。") from None
    if not (YEAR_MIN <= year <= YEAR_MAX and 1 <= part <= parts):
        raise Http404("未找到该期次。")
    return year, part
