"""Template helpers: Chinese dates, status badges, sortable column headers."""

from __future__ import annotations

import datetime as dt

from django import template
from django.utils.html import format_html

from pilots import rules

register = template.Library()


@register.filter
def cn_date(value) -> str:
    """2026年3月31日, as official documents print dates."""
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, dt.date):
        return rules.format_cn_date(value)
    return ""


@register.simple_tag
def status_badge(pilot) -> str:
    return format_html(
        '<span class="badge badge-{}">{}</span>', pilot.status_tone, pilot.get_status_display()
    )


@register.simple_tag
def sort_link(label: str, key: str, current: str, query: str) -> str:
    """A column header that sorts by `key`, toggling direction when already sorted by it."""
    if current == key:
        target, arrow = f"-{key}", " ↑"
    elif current == f"-{key}":
        target, arrow = key, " ↓"
    else:
        target, arrow = key, ""
    prefix = f"{query}&" if query else ""
    return format_html('<a href="?{}sort={}">{}{}</a>', prefix, target, label, arrow)
