"""Template helpers: Chinese dates, status badges, sortable column headers."""

from __future__ import annotations

import datetime as dt

from django import forms, template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

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
def pilot_row(pilot, overdue_url: str) -> str:
    """One row of the pilot list. Written out here rather than cell by cell in the template:
    at 50 rows a page, template lookups per cell cost more than the page's SQL. Every value is
    escaped."""
    url = escape(pilot.get_absolute_url())
    code = escape(pilot.code)
    regions = escape("、".join(r.short_name for r in pilot.regions.all()) or "—")
    lead = escape(pilot.lead_department.short_name) if pilot.lead_department_id else ""
    start = pilot.start_date.isoformat() if pilot.start_date else ""
    end = pilot.end_date.isoformat() if pilot.end_date else ""
    overdue = (
        f' <a class="badge badge-danger" href="{escape(overdue_url)}?q={code}"'
        ' title="有未解除的逾期事项">逾期</a>'
        if getattr(pilot, "has_overdue", False)
        else ""
    )
    return mark_safe(
        f'<tr><td class="mono nowrap"><a href="{url}">{code}</a></td>'
        f'<td><a href="{url}">{escape(pilot.name)}</a></td>'
        f"<td>{escape(pilot.get_field_display())}</td>"
        f'<td class="nowrap">{escape(pilot.get_kind_display())}</td>'
        f'<td class="nowrap">{escape(pilot.tier_short)}</td>'
        f"<td>{regions}</td><td>{lead}</td>"
        f'<td class="nowrap">{start}</td><td class="nowrap">{end}</td>'
        f'<td class="nowrap">{status_badge(pilot)}{overdue}</td></tr>'
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


@register.filter
def select(bound):
    """A filter's drop-down, rendered directly: Django renders each option through a template
    of its own, which made the filter bar cost more than the list's rows. Other fields render
    as usual."""
    widget = bound.field.widget
    if type(widget) is not forms.Select or widget.attrs:
        return bound
    value = bound.value()
    values = value if isinstance(value, list | tuple) else [value]
    chosen = {"" if v is None else str(v) for v in values}
    options = mark_safe(
        "".join(
            f'<option value="{escape(str(v))}"{" selected" if str(v) in chosen else ""}>'
            f"{escape(label)}</option>"
            for v, label in bound.field.choices
        )
    )
    return format_html(
        '<select name="{}" id="{}">{}</select>', bound.html_name, bound.id_for_label, options
    )
