"""ECharts options for the dashboard's charts, built from the same figures as the tables
beside them. Each data point carries the URL of the list behind it; the page's script opens
it on click. The options are plain JSON handed to the page through `json_script` (no inline
script)."""

from __future__ import annotations

PALETTE = ["#9b1c1c", "#1f5fa8", "#1e7b4a", "#8a5a00", "#6b4fa0", "#0f766e", "#b45309", "#4b5563"]


def _bar(buckets, *, horizontal: bool = False, name: str = "试点数") -> dict:
    labels = [b.label for b in buckets]
    data = [{"value": b.count, "url": b.url} for b in buckets]
    category = {"type": "category", "data": labels, "axisLabel": {"interval": 0}}
    value = {"type": "value", "minInterval": 1}
    if horizontal:
        category["inverse"] = True
    return {
        "color": PALETTE,
        "grid": {"left": 8, "right": 24, "top": 16, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis"},
        "xAxis": value if horizontal else {**category, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": category if horizontal else value,
        "series": [{"type": "bar", "name": name, "data": data, "label": {"show": True}}],
    }


def _pie(buckets) -> dict:
    return {
        "color": PALETTE,
        "tooltip": {"trigger": "item", "formatter": "{b}：{c}（{d}%）"},
        "legend": {"bottom": 0},
        "series": [
            {
                "type": "pie",
                "radius": ["40%", "68%"],
                "data": [{"name": b.label, "value": b.count, "url": b.url} for b in buckets],
                "label": {"formatter": "{b}\n{c}"},
            }
        ],
    }


def _rates(rows) -> dict:
    names = [r.organisation.short_name or r.organisation.name for r in rows]
    return {
        "color": ["#1f5fa8", "#1e7b4a"],
        "grid": {"left": 8, "right": 24, "top": 32, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis", "valueFormatter": "{value}%"},
        "legend": {"top": 0},
        "xAxis": {"type": "category", "data": names, "axisLabel": {"interval": 0, "rotate": 30}},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "type": "bar",
                "name": "报送率",
                "data": [{"value": r.rate.reporting_rate, "url": r.url} for r in rows],
            },
            {
                "type": "bar",
                "name": "及时率",
                "data": [{"value": r.rate.on_time_rate, "url": r.url} for r in rows],
            },
        ],
    }


def _trend(labels, rows) -> dict:
    return {
        "color": PALETTE,
        "grid": {"left": 8, "right": 24, "top": 48, "bottom": 8, "containLabel": True},
        "tooltip": {"trigger": "axis", "valueFormatter": "{value}%"},
        "legend": {"top": 0, "type": "scroll"},
        "xAxis": {"type": "category", "data": labels},
        "yAxis": {"type": "value", "max": 100, "axisLabel": {"formatter": "{value}%"}},
        "series": [
            {
                "type": "line",
                "name": r.prefecture.short_name,
                "connectNulls": False,
                "data": [{"value": v, "url": r.url} for v in r.trend],
            }
            for r in rows
        ],
    }


def options(data: dict) -> dict:
    """chart id → ECharts option."""
    charts = {
        "status": _bar(data["by_status"], horizontal=True),
        "field": _bar(data["by_field"], horizontal=True),
        "tier": _pie(data["by_tier"]),
        "prefecture": _bar(data["by_prefecture"]),
        "overdue": _bar(data["overdue"], horizontal=True, name="未解除逾期事项"),
        "rates": _rates(data["department_rates"]),
    }
    if data["ranking"]:
        charts["trend"] = _trend(data["trend_labels"], data["ranking"])
    return charts
