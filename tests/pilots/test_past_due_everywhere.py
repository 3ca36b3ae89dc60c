"""Past-due items look past-due everywhere: on the calendar and on the expert's home page,
a badge 已逾期N天 and the overdue row style."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pilots.constants import Status
from reviews import expert

SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def may_20(time_machine):
    time_machine.move_to(dt.datetime(2026, 5, 20, 9, 0, tzinfo=SHANGHAI), tick=False)


def test_the_calendar_marks_a_deadline_before_today_past_due(make_pilot, client_for, may_20):
    make_pilot(
        name="未备案试点",
        status=Status.APPROVED,
        approval_date=dt.date(2026, 5, 1),
        start_date=dt.date(2026, 5, 1),
        end_date=dt.date(2027, 4, 30),
    )
    page = client_for("dept").get("/calendar/?month=2026-05").content.decode()
    assert "未备案试点" in page
    assert "已逾期12天" in page  # due 8 May, seen on 20 May
    assert "entry-overdue" in page and "row-overdue" in page


def test_the_expert_home_marks_a_late_review(make_pilot, personas, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI), tick=False)
    application = make_pilot(name="待评审申报", status=Status.ENDORSED)
    expert.assign_experts(
        actor=personas["office"],
        pilot=application,
        experts=[personas["expert"]],
        due_date=dt.date(2026, 4, 30),
    )
    time_machine.move_to(dt.datetime(2026, 5, 3, 9, 0, tzinfo=SHANGHAI), tick=False)
    page = client_for("expert").get("/").content.decode()
    assert "待评审申报" in page and "已逾期3天" in page
    assert 'class="row-overdue"' in page


def test_a_review_not_yet_due_has_no_badge(make_pilot, personas, client_for, time_machine):
    time_machine.move_to(dt.datetime(2026, 4, 20, 9, 0, tzinfo=SHANGHAI), tick=False)
    application = make_pilot(name="待评审申报", status=Status.ENDORSED)
    expert.assign_experts(
        actor=personas["office"],
        pilot=application,
        experts=[personas["expert"]],
        due_date=dt.date(2026, 4, 30),
    )
    page = client_for("expert").get("/").content.decode()
    assert "待评审申报" in page and "已逾期" not in page
