"""Template helpers: Chinese dates, people and units, clauses, status badges, sortable column
headers."""

from __future__ import annotations

import datetime as dt
import re

from django import forms, template
from django.utils.html import escape, format_html
from django.utils.safestring import mark_safe

from core.dates import format_cn_datetime, format_cn_month, format_cn_quarter
from pilots import rules

register = template.Library()

# What each clause of the management rules says, shown wherever its number is shown.
CLAUSE_TEXTS = {
    "R1.1": "第一条第（一）项：试点须着眼体制机制创新，明确目标、范围、期限、责任主体、"
    "推进措施和预期成果",
    "R1.2": "第一条第（二）项：单项试点期限一般1年、最长不超过2年；综合性试点一般3年、"
    "最长不超过5年，并明确阶段性目标任务和时间节点",
    "R1.3": "第一条第（三）项：不得与已有试点重复交叉",
    "R2.1": "第二条第（一）项：试点按部署层级分级管理",
    "R2.2": "第二条第（二）项：新设试点批复后一周内备案，并附试点方案",
    "R2.3": "第二条第（三）项：建立试点台账，按季度更新进展、每半年汇总；未列入台账的"
    "不得作为省级及以上重大改革试点",
    "R2.4": "第二条第（四）项：试点期满报备销号或申请延期；逾期未办理的清理出库",
    "R3.2": "第三条第（二）项：开展阶段评估和验收评估，期满后原则上2个月内提交总结报告",
    "R3.3": "第三条第（三）项：加强督察，督促问题整改",
    "R3.4": "第三条第（四）项：复制推广试点经验，报送推广情况",
    "R4.1": "第四条第（一）项：试点推进和推广情况纳入年度考核，成效显著的予以加分",
    "N2": "通知第二条：牵头部门按领域审核把关",
    "N3": "通知第三条：县（市、区）申报、设区市初审推荐（一般不超过2项），专家在线评审",
}


def clause_text(code: str) -> str:
    """What a clause says; for a span or list of clauses (R2.2–R3.2), what each end says."""
    code = str(code)
    if code in CLAUSE_TEXTS:
        return CLAUSE_TEXTS[code]
    parts = [CLAUSE_TEXTS[p] for p in re.split(r"[–—~、,，/ ]+", code) if p in CLAUSE_TEXTS]
    return "；".join(parts)


@register.simple_tag
def clause(code) -> str:
    """A clause number with what the clause says as its tooltip."""
    code = str(code or "")
    if not code:
        return ""
    text = clause_text(code)
    if not text:
        return format_html('<span class="clause">{}</span>', code)
    return format_html('<span class="clause" title="{}">{}</span>', f"{code} {text}", code)


@register.filter
def cn_datetime(value) -> str:
    """2026年3月31日 14:05."""
    if isinstance(value, dt.datetime | dt.date):
        return format_cn_datetime(value)
    return ""


@register.filter
def cn_datetime_s(value) -> str:
    """2026年3月31日 14:05:09, for logs."""
    if isinstance(value, dt.datetime):
        return format_cn_datetime(value, seconds=True)
    return cn_datetime(value)


@register.filter
def cn_month(value) -> str:
    """2026年3月."""
    return format_cn_month(value) if isinstance(value, dt.date) else ""


@register.filter
def cn_quarter(year, quarter) -> str:
    """{{ year|cn_quarter:quarter }} → 2026年第三季度."""
    if year in (None, "") or quarter in (None, ""):
        return ""
    return format_cn_quarter(year, quarter)


@register.filter
def person(user) -> str:
    """A person by name and unit, never by account name alone."""
    if user is None or not hasattr(user, "display_with_unit"):
        return str(user or "")
    return user.display_with_unit()


@register.filter
def unit(org) -> str:
    """A unit as pages name it: a division with its department (省生态环境厅·法规处)."""
    if org is None:
        return ""
    return getattr(org, "unit_label", str(org))


@register.filter
def place(org) -> str:
    """The place a region's bureau stands for: 杭州市西湖区."""
    if org is None:
        return ""
    return getattr(org, "place_name", str(org))


@register.simple_tag(takes_context=True)
def responsible_unit(context, item) -> str:
    """The unit that owes an item. An expert review is owed by the expert: readers other than
    the office and the expert's own unit learn only that experts review it, not who."""
    from pilots.constants import DeadlineKind
    from pilots.policy import is_office

    org = getattr(item, "organisation", None)
    if org is None:
        return ""
    if getattr(item, "kind", "") == DeadlineKind.EXPERT_REVIEW:
        user = context.get("user")
        own = user is not None and getattr(user, "organisation_id", None) == org.pk
        if not own and (user is None or not is_office(user)):
            return "评审专家"
    return org.unit_label


@register.simple_tag
def overdue_badge(days) -> str:
    """已逾期N天, for anything past its deadline."""
    try:
        days = int(days or 0)
    except (TypeError, ValueError):
        return ""
    if days <= 0:
        return ""
    return format_html('<span class="badge badge-danger overdue-badge">已逾期{}天</span>', days)


@register.filter
def cn_date(value) -> str:
    """2026年3月31日, as official documents print dates."""
    if isinstance(value, dt.datetime):
        from django.utils import timezone

        value = timezone.localtime(value).date() if timezone.is_aware(value) else value.date()
    if isinstance(value, str):
        # A date kept as text (the milestones of an extension request): 2027-03-31.
        try:
            value = dt.date.fromisoformat(value.strip()[:10])
        except ValueError:
            return value
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
    regions = escape("、".join(r.place_name for r in pilot.regions.all()) or "—")
    lead = escape(pilot.lead_department.unit_label) if pilot.lead_department_id else ""
    start = rules.format_cn_date(pilot.start_date)
    end = rules.format_cn_date(pilot.end_date)
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
