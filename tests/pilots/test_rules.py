"""The regulation's numbers (pilots.rules), clause by clause.

Every test names the clause it checks. Deadlines that come from settings are checked at their
default and with an override, so that changing a setting is seen to change the deadline.
"""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError

from pilots import rules
from pilots.constants import Origin, PilotKind, Tier
from pilots.models import Pilot

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


def term_errors(**kwargs) -> dict[str, list[str]]:
    """The errors validate_term raises, keyed by field ({} when the term is valid)."""
    try:
        rules.validate_term(**kwargs)
    except ValidationError as exc:
        return exc.message_dict
    return {}


def has_chinese(text: str) -> bool:
    return any("\u4e00" <= ch <= "\u9fff" for ch in text)


# --- R1.2 term limits -----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [
        (D(2026, 1, 1), D(2026, 12, 31), True),  # the normal one-year term
        (D(2026, 1, 1), D(2027, 12, 31), True),
        (D(2026, 1, 1), D(2028, 1, 1), True),  # exactly start + 2 years
        (D(2026, 1, 1), D(2028, 1, 2), False),  # one day more
        (D(2026, 3, 15), D(2028, 3, 15), True),
        (D(2026, 3, 15), D(2028, 3, 16), False),
        (D(2026, 1, 1), D(2031, 1, 1), False),  # a comprehensive term for a single pilot
    ],
)
def test_single_pilot_term_limited_to_two_years_R1_2(start, end, accepted):
    # given a single-item pilot's term, when it is validated
    errors = term_errors(kind=PilotKind.SINGLE, start=start, end=end)
    # then it passes exactly when the end is at most two years after the start
    assert (errors == {}) is accepted
    if not accepted:
        assert list(errors) == ["end_date"]


@pytest.mark.parametrize(
    ("start", "end", "accepted"),
    [
        (D(2026, 1, 1), D(2028, 12, 31), True),  # the normal three-year term
        (D(2026, 1, 1), D(2031, 1, 1), True),  # exactly start + 5 years
        (D(2026, 1, 1), D(2031, 1, 2), False),  # one day more
        (D(2026, 7, 1), D(2031, 7, 1), True),
        (D(2026, 7, 1), D(2031, 7, 2), False),
    ],
)
def test_comprehensive_pilot_term_limited_to_five_years_R1_2(start, end, accepted):
    # given a comprehensive pilot with a milestone inside its term
    errors = term_errors(
        kind=PilotKind.COMPREHENSIVE, start=start, end=end, milestone_dates=[start]
    )
    # then the term passes exactly when it is at most five years
    assert (errors == {}) is accepted
    if not accepted:
        assert list(errors) == ["end_date"]


def test_term_over_the_limit_names_the_latest_end_date_in_chinese_R1_2():
    # given a single pilot one day too long
    errors = term_errors(kind=PilotKind.SINGLE, start=D(2026, 1, 1), end=D(2028, 1, 2))
    # then the message says, in Chinese, what the limit is and the latest allowed end date
    (message,) = errors["end_date"]
    assert "单项试点期限最长不超过2年" in message
    assert "结束日期最晚为2028年1月1日" in message


def test_comprehensive_term_over_the_limit_message_names_five_years_R1_2():
    errors = term_errors(
        kind=PilotKind.COMPREHENSIVE,
        start=D(2026, 1, 1),
        end=D(2031, 6, 30),
        milestone_dates=[D(2027, 1, 1)],
    )
    (message,) = errors["end_date"]
    assert "综合性试点期限最长不超过5年" in message
    assert "2031年1月1日" in message


@pytest.mark.parametrize("kind", [PilotKind.SINGLE, PilotKind.COMPREHENSIVE])
@pytest.mark.parametrize("end", [D(2026, 1, 1), D(2025, 12, 31)])
def test_end_date_must_come_after_start_date_R1_2(kind, end):
    # given an end date on or before the start date
    errors = term_errors(kind=kind, start=D(2026, 1, 1), end=end, milestone_dates=[end])
    # then the end date is refused with a Chinese message
    assert errors["end_date"] == ["试点结束日期必须晚于开始日期。"]


@pytest.mark.parametrize(
    ("kind", "end", "accepted"),
    [
        # 29 February + 2 years falls on 28 February in a common year
        (PilotKind.SINGLE, D(2026, 2, 28), True),
        (PilotKind.SINGLE, D(2026, 3, 1), False),
        # + 5 years: 2029 is a common year, so again 28 February
        (PilotKind.COMPREHENSIVE, D(2029, 2, 28), True),
        (PilotKind.COMPREHENSIVE, D(2029, 3, 1), False),
    ],
)
def test_term_starting_on_29_february_ends_at_latest_on_28_february_R1_2(kind, end, accepted):
    start = D(2024, 2, 29)
    errors = term_errors(kind=kind, start=start, end=end, milestone_dates=[start])
    assert (errors == {}) is accepted


def test_max_end_date_from_29_february_R1_2():
    assert rules.max_end_date(PilotKind.SINGLE, D(2024, 2, 29)) == D(2026, 2, 28)
    assert rules.max_end_date(PilotKind.COMPREHENSIVE, D(2024, 2, 29)) == D(2029, 2, 28)
    # 2024-02-29 + 4 years is a leap day again, but no limit is four years
    assert rules.add_years(D(2024, 2, 29), 4) == D(2028, 2, 29)


def test_comprehensive_pilot_requires_milestones_R1_2():
    # given a comprehensive pilot with a valid term but no milestones
    errors = term_errors(kind=PilotKind.COMPREHENSIVE, start=D(2026, 1, 1), end=D(2028, 12, 31))
    # then it is refused, in Chinese, as a whole-record error
    (message,) = errors["__all__"]
    assert "综合性试点须明确阶段性目标任务和时间节点" in message


def test_single_pilot_needs_no_milestones_R1_2():
    assert term_errors(kind=PilotKind.SINGLE, start=D(2026, 1, 1), end=D(2026, 12, 31)) == {}


@pytest.mark.parametrize(
    ("milestone", "accepted"),
    [
        (D(2026, 1, 1), True),  # on the start date
        (D(2028, 12, 31), True),  # on the end date
        (D(2025, 12, 31), False),  # the day before the start
        (D(2029, 1, 1), False),  # the day after the end
    ],
)
def test_milestones_must_lie_inside_the_term_R1_2(milestone, accepted):
    errors = term_errors(
        kind=PilotKind.COMPREHENSIVE,
        start=D(2026, 1, 1),
        end=D(2028, 12, 31),
        milestone_dates=[D(2027, 6, 30), milestone],
    )
    assert (errors == {}) is accepted
    if not accepted:
        (message,) = errors["__all__"]
        assert message.startswith("时间节点须在试点期限内")
        assert rules.format_cn_date(milestone) in message
        # the milestone inside the term is not named
        assert "2027年6月30日" not in message


def test_every_milestone_outside_the_term_is_named_in_date_order_R1_2():
    errors = term_errors(
        kind=PilotKind.COMPREHENSIVE,
        start=D(2026, 1, 1),
        end=D(2028, 12, 31),
        milestone_dates=[D(2030, 1, 1), D(2025, 1, 1)],
    )
    assert errors["__all__"] == ["时间节点须在试点期限内：2025年1月1日、2030年1月1日 不在期限内。"]


def test_term_too_long_and_milestone_missing_are_both_reported_R1_2():
    errors = term_errors(kind=PilotKind.COMPREHENSIVE, start=D(2026, 1, 1), end=D(2032, 1, 1))
    assert set(errors) == {"end_date", "__all__"}


def test_term_with_missing_dates_is_left_to_required_field_checks_R1_2():
    # a missing date is the form's "required" error, not a term error
    assert term_errors(kind=PilotKind.SINGLE, start=None, end=D(2026, 1, 1)) == {}
    assert term_errors(kind=PilotKind.COMPREHENSIVE, start=D(2026, 1, 1), end=None) == {}


@pytest.mark.parametrize(
    "kwargs",
    [
        {"kind": PilotKind.SINGLE, "start": D(2026, 1, 1), "end": D(2025, 1, 1)},
        {"kind": PilotKind.SINGLE, "start": D(2026, 1, 1), "end": D(2029, 1, 1)},
        {"kind": PilotKind.COMPREHENSIVE, "start": D(2026, 1, 1), "end": D(2027, 1, 1)},
        {
            "kind": PilotKind.COMPREHENSIVE,
            "start": D(2026, 1, 1),
            "end": D(2027, 1, 1),
            "milestone_dates": [D(2030, 1, 1)],
        },
    ],
)
def test_every_term_error_message_is_chinese_R1_2(kwargs):
    errors = term_errors(**kwargs)
    assert errors
    for messages in errors.values():
        for message in messages:
            assert has_chinese(message), message


# --- R2.1 managing tier ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("origin", "tier"),
    [
        (Origin.CENTRAL, Tier.REFORM_OFFICE),
        (Origin.PROVINCIAL, Tier.REFORM_OFFICE),
        (Origin.MINISTRY, Tier.SPECIAL_GROUP),
        (Origin.DEPARTMENT, Tier.SPECIAL_GROUP),
        (Origin.CALL, Tier.SPECIAL_GROUP),
    ],
)
def test_managing_tier_derives_from_origin_R2_1(origin, tier):
    assert rules.managing_tier(origin) == tier
    # and the pilot shows the same tier with its Chinese label
    pilot = Pilot(origin=origin)
    assert pilot.tier == tier
    assert pilot.get_tier_display() == Tier(tier).label


def test_every_origin_has_a_tier_R2_1():
    assert {rules.managing_tier(o) for o in Origin.values} == set(Tier.values)


def test_origins_of_tier_partition_the_origins_R2_1():
    office = rules.origins_of_tier(Tier.REFORM_OFFICE)
    group = rules.origins_of_tier(Tier.SPECIAL_GROUP)
    assert sorted(office) == sorted([Origin.CENTRAL, Origin.PROVINCIAL])
    assert sorted(group) == sorted([Origin.MINISTRY, Origin.DEPARTMENT, Origin.CALL])
    assert sorted(office + group) == sorted(Origin.values)


def test_unknown_tier_has_no_origins_R2_1():
    assert rules.origins_of_tier("nonsense") == []


# --- R2.2 filing within a week --------------------------------------------------------------


@pytest.mark.parametrize(
    ("approval", "due"),
    [
        (D(2026, 3, 1), D(2026, 3, 8)),
        (D(2026, 2, 25), D(2026, 3, 4)),  # across the end of February
        (D(2028, 2, 25), D(2028, 3, 3)),  # across a leap day
        (D(2025, 12, 28), D(2026, 1, 4)),  # across the new year
    ],
)
def test_filing_due_one_week_after_approval_R2_2(approval, due):
    assert rules.filing_due(approval) == due


def test_filing_due_follows_the_setting_R2_2(settings):
    # given the office sets the filing period to ten days
    settings.PILOT_FILING_DAYS = 10
    # then the deadline moves with it
    assert rules.filing_due(D(2026, 3, 1)) == D(2026, 3, 11)
    assert rules.filing_days_late(D(2026, 3, 1), D(2026, 3, 11)) == 0
    assert rules.filing_days_late(D(2026, 3, 1), D(2026, 3, 12)) == 1


@pytest.mark.parametrize(
    ("filed_on", "late"),
    [
        (D(2026, 3, 1), 0),  # on the day of approval
        (D(2026, 3, 7), 0),
        (D(2026, 3, 8), 0),  # on the due date
        (D(2026, 3, 9), 1),
        (D(2026, 4, 8), 31),
    ],
)
def test_filing_days_late_counts_days_after_due_date_R2_2(filed_on, late):
    assert rules.filing_days_late(D(2026, 3, 1), filed_on) == late


def test_pilot_filing_due_is_empty_without_approval_date_R2_2():
    assert Pilot(approval_date=None).filing_due is None
    assert Pilot(approval_date=D(2026, 3, 1)).filing_due == D(2026, 3, 8)


# --- R2.3 quarterly progress and half-year summaries ----------------------------------------


@pytest.mark.parametrize(
    ("year", "quarter", "due"),
    [
        (2026, 1, D(2026, 4, 10)),
        (2026, 2, D(2026, 7, 10)),
        (2026, 3, D(2026, 10, 10)),
        (2026, 4, D(2027, 1, 10)),  # Q4 rolls into the next year
    ],
)
def test_quarterly_report_due_ten_days_after_quarter_R2_3(year, quarter, due):
    assert rules.quarterly_report_due(year, quarter) == due


@pytest.mark.parametrize(
    ("days", "year", "quarter", "due"),
    [
        (0, 2026, 1, D(2026, 3, 31)),
        (0, 2028, 4, D(2028, 12, 31)),
        (20, 2026, 4, D(2027, 1, 20)),
        (35, 2026, 3, D(2026, 11, 4)),
    ],
)
def test_quarterly_report_due_follows_the_setting_R2_3(settings, days, year, quarter, due):
    settings.PILOT_QUARTERLY_DUE_DAYS = days
    assert rules.quarterly_report_due(year, quarter) == due


@pytest.mark.parametrize("quarter", [0, 5, -1])
def test_quarter_outside_one_to_four_is_an_error_R2_3(quarter):
    with pytest.raises(ValueError):
        rules.quarterly_report_due(2026, quarter)


@pytest.mark.parametrize(
    ("day", "quarter"),
    [
        (D(2026, 1, 1), (2026, 1)),
        (D(2026, 3, 31), (2026, 1)),
        (D(2026, 4, 1), (2026, 2)),
        (D(2026, 6, 30), (2026, 2)),
        (D(2026, 7, 1), (2026, 3)),
        (D(2026, 9, 30), (2026, 3)),
        (D(2026, 10, 1), (2026, 4)),
        (D(2026, 12, 31), (2026, 4)),
    ],
)
def test_quarter_boundaries_R2_3(day, quarter):
    assert rules.quarter_of(day) == quarter


def test_quarter_end_in_leap_and_common_years_R2_3():
    assert rules.quarter_end(2026, 1) == D(2026, 3, 31)
    assert rules.quarter_end(2026, 2) == D(2026, 6, 30)
    assert rules.quarter_end(2026, 3) == D(2026, 9, 30)
    assert rules.quarter_end(2026, 4) == D(2026, 12, 31)


@pytest.mark.parametrize(
    ("year", "half", "due"),
    [(2026, 1, D(2026, 7, 15)), (2026, 2, D(2027, 1, 15))],
)
def test_half_year_summary_due_fifteen_days_after_half_year_R2_3(year, half, due):
    assert rules.half_year_summary_due(year, half) == due


def test_half_year_summary_due_follows_the_setting_R2_3(settings):
    settings.PILOT_HALF_YEAR_DUE_DAYS = 31
    assert rules.half_year_summary_due(2026, 1) == D(2026, 7, 31)
    assert rules.half_year_summary_due(2026, 2) == D(2027, 1, 31)


@pytest.mark.parametrize("half", [0, 3])
def test_half_outside_one_or_two_is_an_error_R2_3(half):
    with pytest.raises(ValueError):
        rules.half_year_summary_due(2026, half)


@pytest.mark.parametrize(
    ("start", "end", "quarters"),
    [
        (D(2026, 1, 1), D(2026, 12, 31), [(2026, 1), (2026, 2), (2026, 3), (2026, 4)]),
        (D(2026, 2, 1), D(2026, 3, 31), [(2026, 1)]),  # inside one quarter
        (D(2026, 3, 31), D(2026, 4, 1), [(2026, 1), (2026, 2)]),  # one day in each
        (D(2025, 11, 15), D(2026, 2, 1), [(2025, 4), (2026, 1)]),  # across the new year
        (
            D(2025, 12, 31),
            D(2027, 1, 1),
            [(2025, 4), (2026, 1), (2026, 2), (2026, 3), (2026, 4), (2027, 1)],
        ),
    ],
)
def test_reporting_quarters_are_every_quarter_overlapping_the_term_R2_3(start, end, quarters):
    assert rules.reporting_quarters(start, end) == quarters


def test_five_year_term_reports_on_twenty_quarters_R2_3():
    quarters = rules.reporting_quarters(D(2026, 1, 1), D(2030, 12, 31))
    assert len(quarters) == 20
    assert quarters[0] == (2026, 1) and quarters[-1] == (2030, 4)


# --- R2.4 closure window and purge ----------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "purge"),
    [
        (D(2026, 12, 31), D(2027, 1, 31)),  # 30 days' grace, purged on the 31st day
        (D(2026, 1, 31), D(2026, 3, 3)),
        (D(2028, 1, 31), D(2028, 3, 2)),  # leap year
    ],
)
def test_purge_date_is_the_day_after_thirty_days_grace_R2_4(end, purge):
    assert rules.purge_date(end) == purge
    assert Pilot(end_date=end).purge_date == purge


@pytest.mark.parametrize(("grace", "purge"), [(0, D(2027, 1, 1)), (60, D(2027, 3, 2))])
def test_purge_date_follows_the_setting_R2_4(settings, grace, purge):
    settings.PILOT_PURGE_GRACE_DAYS = grace
    assert rules.purge_date(D(2026, 12, 31)) == purge


def test_closure_window_opens_thirty_days_before_end_R2_4():
    assert rules.closure_window_opens(D(2026, 12, 31)) == D(2026, 12, 1)
    assert rules.closure_window_opens(D(2026, 3, 1)) == D(2026, 1, 30)


def test_closure_window_follows_the_setting_R2_4(settings):
    settings.PILOT_CLOSURE_WINDOW_DAYS = 0
    assert rules.closure_window_opens(D(2026, 12, 31)) == D(2026, 12, 31)
    settings.PILOT_CLOSURE_WINDOW_DAYS = 90
    assert rules.closure_window_opens(D(2026, 12, 31)) == D(2026, 10, 2)


@pytest.mark.parametrize(
    ("today", "expired"),
    [(D(2026, 12, 30), False), (D(2026, 12, 31), False), (D(2027, 1, 1), True)],
)
def test_pilot_expires_the_day_after_its_end_date_R2_4(today, expired):
    assert rules.is_expired(D(2026, 12, 31), today) is expired


@pytest.mark.parametrize(
    ("now", "expired"),
    [
        # 23:30 on the end date in Zhejiang: still running
        (dt.datetime(2026, 12, 31, 23, 30, tzinfo=SHANGHAI), False),
        # 00:30 the next day in Zhejiang is still 31 December in UTC: expired all the same
        (dt.datetime(2027, 1, 1, 0, 30, tzinfo=SHANGHAI), True),
    ],
)
def test_pilot_expiry_uses_the_local_date_R2_4(time_machine, now, expired):
    time_machine.move_to(now, tick=False)
    assert Pilot(end_date=D(2026, 12, 31)).is_expired() is expired


# --- R3.2 acceptance report -----------------------------------------------------------------


@pytest.mark.parametrize(
    ("end", "due"),
    [
        (D(2026, 6, 30), D(2026, 8, 30)),
        (D(2026, 10, 31), D(2026, 12, 31)),
        (D(2026, 11, 30), D(2027, 1, 30)),  # into the next year
        (D(2026, 12, 31), D(2027, 2, 28)),  # clamped to the end of February
        (D(2027, 12, 31), D(2028, 2, 29)),  # in a leap year, to 29 February
        (D(2026, 12, 29), D(2027, 2, 28)),
        (D(2027, 12, 29), D(2028, 2, 29)),
        (D(2026, 7, 31), D(2026, 9, 30)),  # September has 30 days
    ],
)
def test_acceptance_report_due_two_months_after_end_R3_2(end, due):
    assert rules.acceptance_report_due(end) == due
    assert Pilot(end_date=end).acceptance_report_due == due


@pytest.mark.parametrize(
    ("months", "end", "due"),
    [
        (1, D(2026, 1, 31), D(2026, 2, 28)),
        (1, D(2028, 1, 31), D(2028, 2, 29)),
        (3, D(2026, 11, 30), D(2027, 2, 28)),
        (12, D(2028, 2, 29), D(2029, 2, 28)),
        (14, D(2026, 12, 31), D(2028, 2, 29)),
    ],
)
def test_acceptance_report_due_follows_the_setting_R3_2(settings, months, end, due):
    settings.PILOT_ACCEPTANCE_REPORT_MONTHS = months
    assert rules.acceptance_report_due(end) == due


# --- dates as official documents print them -------------------------------------------------


@pytest.mark.parametrize(
    ("day", "text"),
    [
        (D(2026, 3, 31), "2026年3月31日"),
        (D(2026, 1, 1), "2026年1月1日"),
        (D(2026, 12, 9), "2026年12月9日"),
        (None, ""),
    ],
)
def test_format_cn_date(day, text):
    assert rules.format_cn_date(day) == text


def test_rules_table_shows_the_settings_in_force(settings):
    # given the office changed the filing period and the purge grace
    settings.PILOT_FILING_DAYS = 10
    settings.PILOT_PURGE_GRACE_DAYS = 45
    # then the rules page's table shows the numbers in force, each with its clause
    table = {(row["clause"], row["rule"]): row["value"] for row in rules.rules_table()}
    assert table[("R2.2", "备案期限")] == "批复后10日内"
    assert table[("R2.4", "清理出库宽限期")].startswith("到期后45日内")
    assert {row["clause"] for row in rules.rules_table()} >= {
        "R1.2",
        "R2.2",
        "R2.3",
        "R2.4",
        "R3.2",
        "N3",
    }
