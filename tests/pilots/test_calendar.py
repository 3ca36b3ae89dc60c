"""The deadline calendar: each organisation's open deadlines with their clauses by month, the
call deadlines for those who apply, and the iCalendar feed behind a revocable token."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest
from icalendar import Calendar

from accounts.models import CalendarToken
from pilots import calendar
from pilots.constants import Status

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture(autouse=True)
def today(time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 24, 10, tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def dues(make_pilot, orgs):
    """A filing due 2026-11-28 (R2.2) for the environment department, a term end on
    2026-12-31 (R2.4) for the water department."""
    mine = make_pilot(
        name="待备案试点", status=Status.APPROVED, approval_date=D(2026, 11, 21), ledger_since=None
    )
    theirs = make_pilot(
        name="水利厅到期试点",
        lead_department=orgs["other_dept"],
        start_date=D(2026, 1, 1),
        end_date=D(2026, 12, 31),
        ledger_since=D(2026, 1, 10),
    )
    return mine, theirs


def test_the_month_shows_the_organisations_own_deadlines_with_their_clauses_R2_2(dues, client_for):
    page = client_for("dept").get("/calendar/?month=2026-11").content.decode()
    assert "2026年11月" in page
    assert "待备案试点" in page and "R2.2" in page
    assert "水利厅到期试点" not in page
    office = client_for("office").get("/calendar/?month=2026-12").content.decode()
    assert "水利厅到期试点" in office and "R2.4" in office


def test_a_bad_month_falls_back_to_this_month(dues, client_for):
    response = client_for("dept").get("/calendar/?month=2026-13")
    assert response.status_code == 200
    assert "2026年11月" in response.content.decode()


def test_prefectures_see_the_call_deadline_N3(client_for, personas, open_call_for):
    call = open_call_for(days=10)
    page = client_for("hangzhou").get("/calendar/?month=2026-12").content.decode()
    assert f"{call.title}：申报截止" in page and "N3" in page


def test_the_feed_parses_as_icalendar_and_a_revoked_token_is_404(dues, client_for, personas):
    client = client_for("dept")
    client.post("/calendar/token/", {"action": "issue"})
    token = CalendarToken.objects.get(revoked_at__isnull=True)
    assert token.token in client.get("/calendar/").content.decode()

    anonymous = client_for(None)
    response = anonymous.get(f"/calendar/feed/{token.token}.ics")
    assert response.status_code == 200
    assert response["Content-Type"].startswith("text/calendar")
    parsed = Calendar.from_ical(response.content)
    events = [c for c in parsed.walk() if c.name == "VEVENT"]
    summaries = [str(e["summary"]) for e in events]
    assert any("【R2.2】" in s and "待备案试点" in s for s in summaries)
    assert not any("水利厅到期试点" in s for s in summaries)
    filing = next(e for e in events if "待备案试点" in str(e["summary"]))
    assert filing.decoded("dtstart") == D(2026, 11, 28)

    client_for("dept").post("/calendar/token/", {"action": "issue"})  # reset: the old one dies
    assert anonymous.get(f"/calendar/feed/{token.token}.ics").status_code == 404
    new = calendar.active_token(personas["dept"])
    assert anonymous.get(f"/calendar/feed/{new.token}.ics").status_code == 200
    client_for("dept").post("/calendar/token/", {"action": "revoke"})
    assert anonymous.get(f"/calendar/feed/{new.token}.ics").status_code == 404
    assert anonymous.get("/calendar/feed/not-a-token.ics").status_code == 404
    assert CalendarToken.objects.count() == 2  # revoked, never deleted
