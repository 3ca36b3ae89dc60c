from django import template
from django.utils.html import json_script

register = template.Library()


@register.simple_tag
def chart_data(charts: dict, chart_id: str) -> str:
    """The chart's ECharts option as a JSON script element the page's script reads."""
    if chart_id not in charts:
        return ""
    return json_script(charts[chart_id], f"chart-{chart_id}")


@register.filter
def percent(value) -> str:
    return "—" if value is None else f"{value:.1f}%"
