"""Dates as the product shows them: as official documents print them."""

from __future__ import annotations

import datetime as dt


def format_cn_date(day: dt.date | None) -> str:
    """A date as official documents print it: 2026年3月31日."""
    if day is None:
        return ""
    return f"{day.year}年{day.month}月{day.day}日"
