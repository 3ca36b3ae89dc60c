"""The regulation's numbers as pure functions.

Each function names the clause it implements. Numbers the regulation leaves open come from
settings (config/settings.py) and are shown to the office on the rules page.
"""

from __future__ import annotations

import calendar
import datetime as dt
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.exceptions import ValidationError

from core.dates import format_cn_date  # noqa: F401  (the rules print dates this way)
from pilots.constants import DeadlineKind, Origin, PilotKind, Tier

# R1.2: term limits in years — (normal, maximum).
TERM_YEARS = {PilotKind.SINGLE: (1, 2), PilotKind.COMPREHENSIVE: (3, 5)}


def add_years(day: dt.date, years: int) -> dt.date:
    """The same calendar day `years` later; 29 February becomes 28 February."""
    try:
        return day.replace(year=day.year + years)
    except ValueError:
        return day.replace(year=day.year + years, day=28)


def add_months(day: dt.date, months: int) -> dt.date:
    """The same day `months` later, clamped to the month's last day (31 Dec + 2 → 28/29 Feb)."""
    index = day.month - 1 + months
    year, month = day.year + index // 12, index % 12 + 1
    return day.replace(
        year=year, month=month, day=min(day.day, calendar.monthrange(year, month)[1])
    )


def max_end_date(kind: str, start: dt.date) -> dt.date:
    """R1.2: the latest end date a pilot of this kind may have — 2 years for a single-item
    pilot, 5 years for a major comprehensive one, counted from the start date."""
    return add_years(start, TERM_YEARS[PilotKind(kind)][1])


def validate_term(
    *,
    kind: str,
    start: dt.date | None,
    end: dt.date | None,
    milestone_dates: Sequence[dt.date] = (),
) -> None:
    """R1.2: check a pilot's term. Raises ValidationError with Chinese messages keyed by field.

    - the end date comes after the start date;
    - a single-item pilot runs at most 2 years, a comprehensive one at most 5;
    - a comprehensive pilot states stage goals with dated milestones inside its term.
    """
    errors: dict[str, list[str]] = {}
    if start is None or end is None:
        return
    if end <= start:
        errors.setdefault("end_date", []).append("试点结束日期必须晚于开始日期。")
    else:
        latest = max_end_date(kind, start)
        if end > latest:
            years = TERM_YEARS[PilotKind(kind)][1]
            label = PilotKind(kind).label
            errors.setdefault("end_date", []).append(
                f"{label}期限最长不超过{years}年（第一条第（二）项），"
                f"结束日期最晚为{format_cn_date(latest)}。"
            )
    if kind == PilotKind.COMPREHENSIVE and not milestone_dates:
        errors.setdefault("__all__", []).append(
            "综合性试点须明确阶段性目标任务和时间节点（第一条第（二）项），请至少填写一个节点。"
        )
    # Every pilot's milestones lie within its term (the filing checks the same).
    if milestone_dates and end > start:
        outside = [d for d in milestone_dates if d < start or d > end]
        if outside:
            errors.setdefault("__all__", []).append(
                "时间节点须在试点期限内："
                + "、".join(format_cn_date(d) for d in sorted(outside))
                + " 不在期限内。"
            )
    if errors:
        raise ValidationError(errors)


# R1.1: the entry elements every application and filing must state, with their labels.
ENTRY_ELEMENTS: list[tuple[str, str]] = [
    ("goal", "试点目标"),
    ("scope", "试点范围"),
    ("start_date", "试点期限（开始日期）"),
    ("end_date", "试点期限（结束日期）"),
    ("responsible_body", "责任主体"),
    ("measures", "推进措施"),
    ("expected_outcomes", "预期成果"),
]


def missing_entry_elements(values: dict) -> dict[str, str]:
    """R1.1: a pilot must state a clear goal, scope, term, responsible body, measures and
    expected outcomes. Returns {field: Chinese message} for each element left empty."""
    return {
        name: f"请填写{label}（第一条第（一）项：准入六要素）。"
        for name, label in ENTRY_ELEMENTS
        if values.get(name) in (None, "")
        or (isinstance(values.get(name), str) and not values[name].strip())
    }


def managing_tier(origin: str) -> str:
    """R2.1: pilots deployed by the Party centre / State Council or approved by the provincial
    Party committee / government are managed by the provincial reform office; those deployed
    or approved by national ministries and those run by provincial departments (including
    pilots selected from a call) by the special group."""
    if origin in (Origin.CENTRAL, Origin.PROVINCIAL):
        return Tier.REFORM_OFFICE
    return Tier.SPECIAL_GROUP


def origins_of_tier(tier: str) -> list[str]:
    """R2.1: the origins whose pilots a tier manages (for filtering lists by tier)."""
    return [origin for origin in Origin.values if managing_tier(origin) == tier]


def filing_due(approval_date: dt.date) -> dt.date:
    """R2.2: a new pilot is filed within one week (PILOT_FILING_DAYS) of its approval."""
    return approval_date + dt.timedelta(days=settings.PILOT_FILING_DAYS)


def filing_days_late(approval_date: dt.date, filed_on: dt.date) -> int:
    """R2.2: how many days after the due date a filing came (0 when on time)."""
    return max(0, (filed_on - filing_due(approval_date)).days)


def quarter_of(day: dt.date) -> tuple[int, int]:
    return day.year, (day.month - 1) // 3 + 1


def quarter_end(year: int, quarter: int) -> dt.date:
    if quarter not in (1, 2, 3, 4):
        raise ValueError(f"quarter must be 1–4, got {quarter}")
    month = quarter * 3
    return dt.date(year, month, calendar.monthrange(year, month)[1])


def quarterly_report_due(year: int, quarter: int) -> dt.date:
    """R2.3: quarterly progress is due PILOT_QUARTERLY_DUE_DAYS (default 10) after the
    quarter ends — Q1 on 10 April, Q4 on 10 January of the next year."""
    return quarter_end(year, quarter) + dt.timedelta(days=settings.PILOT_QUARTERLY_DUE_DAYS)


def half_year_end(year: int, half: int) -> dt.date:
    if half not in (1, 2):
        raise ValueError(f"half must be 1 or 2, got {half}")
    return dt.date(year, 6, 30) if half == 1 else dt.date(year, 12, 31)


def half_year_summary_due(year: int, half: int) -> dt.date:
    """R2.3: each lead department's half-year summary is due PILOT_HALF_YEAR_DUE_DAYS
    (default 15) after the half year ends — 15 July and 15 January."""
    return half_year_end(year, half) + dt.timedelta(days=settings.PILOT_HALF_YEAR_DUE_DAYS)


def previous_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year - 1, 4) if quarter == 1 else (year, quarter - 1)


def next_quarter(year: int, quarter: int) -> tuple[int, int]:
    return (year + 1, 1) if quarter == 4 else (year, quarter + 1)


def last_ended_quarter(today: dt.date) -> tuple[int, int]:
    """The quarter before the one `today` falls in."""
    return previous_quarter(*quarter_of(today))


def quarters_between(first: tuple[int, int], last: tuple[int, int]) -> list[tuple[int, int]]:
    """Every quarter from `first` to `last`, both included, oldest first."""
    quarters = []
    while first <= last:
        quarters.append(first)
        first = next_quarter(*first)
    return quarters


def reporting_quarters(start: dt.date, end: dt.date) -> list[tuple[int, int]]:
    """R2.3: the quarters a filed pilot reports on — every quarter that overlaps its term."""
    return quarters_between(quarter_of(start), quarter_of(end))


def owed_quarter_span(
    start: dt.date, end: dt.date, ledger_since: dt.date | None
) -> tuple[tuple[int, int], tuple[int, int]] | None:
    """R2.3: the first and last quarter a ledger pilot reports on — from the quarter it
    entered the ledger (or started, if later) to the quarter its term ends; None when it
    never entered the ledger within its term."""
    if ledger_since is None:
        return None
    begin = max(start, ledger_since)
    if begin > end:
        return None
    return quarter_of(begin), quarter_of(end)


def owed_quarters(
    start: dt.date, end: dt.date, ledger_since: dt.date | None, *, until: tuple[int, int]
) -> list[tuple[int, int]]:
    """R2.3: the quarters up to `until` that a ledger pilot reports on (see
    owed_quarter_span)."""
    span = owed_quarter_span(start, end, ledger_since)
    if span is None:
        return []
    return quarters_between(span[0], min(span[1], until))


def next_half_year(year: int, half: int) -> tuple[int, int]:
    return (year + 1, 1) if half == 2 else (year, 2)


def half_of(day: dt.date) -> tuple[int, int]:
    return day.year, 1 if day.month <= 6 else 2


def closure_window_opens(end_date: dt.date) -> dt.date:
    """R2.4: closure (销号) may be reported from PILOT_CLOSURE_WINDOW_DAYS before the end date."""
    return end_date - dt.timedelta(days=settings.PILOT_CLOSURE_WINDOW_DAYS)


def purge_date(end_date: dt.date) -> dt.date:
    """R2.4: an expired pilot with neither a closure report nor an extension request is purged
    from the library once PILOT_PURGE_GRACE_DAYS (default 30) have passed after its end date;
    it is purged on the first day after that grace."""
    return end_date + dt.timedelta(days=settings.PILOT_PURGE_GRACE_DAYS + 1)


def last_purgeable_end(today: dt.date) -> dt.date:
    """R2.4: the latest end date whose pilot is purged on `today` (purge_date(end) <= today)."""
    return today - dt.timedelta(days=settings.PILOT_PURGE_GRACE_DAYS + 1)


def acceptance_report_due(end_date: dt.date) -> dt.date:
    """R3.2: after the term the lead unit submits its summary (acceptance) report within
    PILOT_ACCEPTANCE_REPORT_MONTHS (default 2) months."""
    return add_months(end_date, settings.PILOT_ACCEPTANCE_REPORT_MONTHS)


def is_expired(end_date: dt.date, today: dt.date) -> bool:
    """R2.4: a pilot is due (到期) once its end date has passed."""
    return today > end_date


def quarter_has_ended(year: int, quarter: int, today: dt.date) -> bool:
    """R2.3: a quarter's progress can be reported once the quarter is over."""
    return today > quarter_end(year, quarter)


def half_year_has_ended(year: int, half: int, today: dt.date) -> bool:
    """R2.3: a half year is summarised once it is over (drafting before is allowed)."""
    return today > half_year_end(year, half)


def acceptance_owed(end_date: dt.date, today: dt.date) -> bool:
    """R3.2: every pilot whose term has ended owes its acceptance report, whatever happened at
    the end (closed, still in the ledger past its end date, purged or restored)."""
    return is_expired(end_date, today)


def _days_list(days: Sequence[int]) -> str:
    """[7, 1] → "7日和1日"; [14, 7, 1] → "14日、7日和1日"."""
    parts = [f"{d}日" for d in days]
    if len(parts) <= 1:
        return "".join(parts)
    return "、".join(parts[:-1]) + "和" + parts[-1]


@dataclass(frozen=True)
class RuleNumbers:
    """The regulation's numbers as configured now. Every page, message and notice that states
    one reads it from here (or from the function above that applies it), never a literal, so
    that changing a setting changes what users are told."""

    filing_days: int
    quarterly_due_days: int
    half_year_due_days: int
    closure_window_days: int
    purge_grace_days: int
    acceptance_months: int
    reminder_days: tuple[int, ...]
    effort_share_max: int
    bonus_max_points: int
    prefecture_quota: int

    @property
    def filing(self) -> str:
        return f"批复后{self.filing_days}日内"

    @property
    def quarterly(self) -> str:
        return f"季度结束后{self.quarterly_due_days}日内"

    @property
    def half_year(self) -> str:
        return f"半年结束后{self.half_year_due_days}日内"

    @property
    def closure_window(self) -> str:
        return f"到期前{self.closure_window_days}日起"

    @property
    def purge_grace(self) -> str:
        return f"到期后{self.purge_grace_days}日内"

    @property
    def acceptance(self) -> str:
        return f"期满后{self.acceptance_months}个月内"

    @property
    def reminders(self) -> str:
        return f"到期前{_days_list(self.reminder_days)}"

    @property
    def effort_share(self) -> str:
        return f"不超过{self.effort_share_max}%"

    def for_kind(self, kind: str) -> str:
        """The rule that sets a deadline of this kind (pilots.constants.DeadlineKind), as
        notices and lists state it; "" for deadlines the office sets case by case."""
        return {
            DeadlineKind.FILING: self.filing,
            DeadlineKind.QUARTERLY: self.quarterly,
            DeadlineKind.HALF_YEAR: self.half_year,
            DeadlineKind.TERM_END: "到期日前报告销号或申请延期",
            DeadlineKind.ACCEPTANCE: self.acceptance,
        }.get(str(kind), "")


def numbers() -> RuleNumbers:
    """The regulation's numbers from the settings in force."""
    return RuleNumbers(
        filing_days=settings.PILOT_FILING_DAYS,
        quarterly_due_days=settings.PILOT_QUARTERLY_DUE_DAYS,
        half_year_due_days=settings.PILOT_HALF_YEAR_DUE_DAYS,
        closure_window_days=settings.PILOT_CLOSURE_WINDOW_DAYS,
        purge_grace_days=settings.PILOT_PURGE_GRACE_DAYS,
        acceptance_months=settings.PILOT_ACCEPTANCE_REPORT_MONTHS,
        reminder_days=tuple(sorted(settings.PILOT_REMINDER_DAYS, reverse=True)),
        effort_share_max=settings.REVIEW_EFFORT_SHARE_MAX,
        bonus_max_points=settings.REVIEW_BONUS_MAX_POINTS,
        prefecture_quota=settings.CALL_DEFAULT_PREFECTURE_QUOTA,
    )


def rule_numbers(request) -> dict:
    """Template context processor: `{{ rule.filing_days }}`, `{{ rule.quarterly }}` … in every
    template, read from the settings at each request."""
    return {"rule": numbers()}


def rules_table() -> list[dict[str, str]]:
    """The regulation's open numbers in force, for the office's rules page."""
    n = numbers()
    return [
        {"clause": "R1.2", "rule": "单项试点期限", "value": "一般1年，最长不超过2年"},
        {
            "clause": "R1.2",
            "rule": "综合性试点期限",
            "value": "一般3年，最长不超过5年，须有时间节点",
        },
        {"clause": "R2.2", "rule": "备案期限", "value": n.filing},
        {"clause": "R2.3", "rule": "季度进展报送", "value": f"{n.quarterly}（季度结束后方可报送）"},
        {
            "clause": "R2.3",
            "rule": "半年台账汇总",
            "value": f"{n.half_year}（半年结束后方可报送，可提前起草）",
        },
        {"clause": "R2.4", "rule": "销号报备窗口", "value": n.closure_window},
        {
            "clause": "R2.4",
            "rule": "清理出库宽限期",
            "value": f"{n.purge_grace}未销号也未申请延期的，清理出库",
        },
        {
            "clause": "R3.2",
            "rule": "验收总结报告",
            "value": f"{n.acceptance}（每个期满的试点，无论销号、仍在册、清理出库或恢复入库）",
        },
        {
            "clause": "R3.2",
            "rule": "工作推进、创新与成效占比",
            "value": f"评分表中{n.effort_share}",
        },
        {
            "clause": "R4.1",
            "rule": "考核加分",
            "value": f"每条加分不超过{n.bonus_max_points}分（更正可为负分）",
        },
        {
            "clause": "N3",
            "rule": "每个设区市推荐名额",
            "value": f"每批次一般不超过{n.prefecture_quota}项",
        },
        {"clause": "R2.2–R3.2", "rule": "到期提醒", "value": n.reminders},
    ]
