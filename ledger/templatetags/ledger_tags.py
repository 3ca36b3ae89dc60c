from django import template
from django.utils import timezone

from pilots import rules

register = template.Library()


@register.simple_tag
def quarter_due(year: int, quarter: int):
    """R2.3: the due date of a quarter's progress report."""
    return rules.quarterly_report_due(year, quarter)


@register.simple_tag
def overdue_days(due) -> int:
    return max(0, (timezone.localdate() - due).days) if due else 0
