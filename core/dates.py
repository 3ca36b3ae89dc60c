"""Dates as the product shows them: as official documents print them."""

from __future__ import annotations

import datetime as dt

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
