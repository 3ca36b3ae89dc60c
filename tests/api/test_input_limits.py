"""The limits the pages put on input hold for the API too: the domain functions refuse an
over-long reason, opinion or report, and a call deadline years ahead, with a Chinese message
(400), and change nothing."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from pilots.constants import Status
from pilots.models import ClosureReport, ExtensionRequest, Opinion

API = "/api/v1"
SHANGHAI = ZoneInfo("Asia/Shanghai")


@pytest.fixture
def ending(make_pilot, orgs, time_machine):
    """A ledger pilot in its last month: closure may be reported, an extension asked."""
    time_machine.move_to(dt.datetime(2026, 12, 10, 10, tzinfo=SHANGHAI), tick=False)
    return make_pilot(
        regions=[orgs["hangzhou"]],
        start_date=dt.date(2026, 1, 1),
        end_date=dt.date(2026, 12, 31),
        ledger_since=dt.date(2026, 1, 5),
    )


def _post(client, url, body, auth):
    return client.post(f"{API}/{url}", body, content_type="application/json", **auth)


def test_r2_4_an_extension_reason_over_1000_characters_is_refused(client, ending, token_for):
    response = _post(
        client,
        f"pilots/{ending.code}/extension/",
        {
            "reason": "理" * 1001,
            "new_end_date": "2027-06-30",
            "stage_targets": "完成配套政策。",
            "milestones": [{"due_date": "2027-03-31", "title": "出台配套政策"}],
        },
        token_for("dept"),
    )
    assert response.status_code == 400
    assert "延期理由不超过1000字（现有1001字）" in response.json()["errors"]["reason"][0]
    ending.refresh_from_db()
    assert ending.status == Status.ACTIVE
    assert not ExtensionRequest.objects.exists()


def test_r2_4_closure_results_over_3000_characters_are_refused(client, ending, token_for):
    response = _post(
        client,
        f"pilots/{ending.code}/closure/",
        {"results": "成" * 3001, "experience": "经验。"},
        token_for("dept"),
    )
    assert response.status_code == 400
    assert "完成情况不超过3000字" in response.json()["errors"]["results"][0]
    ending.refresh_from_db()
    assert ending.status == Status.ACTIVE
    assert not ClosureReport.objects.exists()


def test_the_offices_decision_note_over_1000_characters_is_refused(client, ending, token_for):
    _post(
        client,
        f"pilots/{ending.code}/closure/",
        {"results": "完成。", "experience": "经验。"},
        token_for("dept"),
    )
    report = ClosureReport.objects.get()
    response = _post(
        client, f"closures/{report.pk}/accept/", {"note": "意" * 1001}, token_for("office")
    )
    assert response.status_code == 400
    assert "意见不超过1000字" in str(response.json())
    report.refresh_from_db()
    assert report.status == "submitted"


def test_n3_a_prefectures_return_reason_over_1000_characters_is_refused(
    client, make_pilot, orgs, token_for
):
    pilot = make_pilot(status=Status.SUBMITTED, applicant=orgs["county"], regions=[orgs["county"]])
    response = _post(
        client,
        f"pilots/{pilot.code}/prefecture-return/",
        {"reason": "退" * 1001},
        token_for("hangzhou"),
    )
    assert response.status_code == 400
    assert "退回理由不超过1000字（现有1001字）" in response.json()["errors"]["reason"][0]
    pilot.refresh_from_db()
    assert pilot.status == Status.SUBMITTED
    assert not Opinion.objects.filter(pilot=pilot).exists()


@pytest.mark.parametrize("deadline", ["9999-04-16T17:00:00+08:00", "2029-01-01T17:00:00+08:00"])
def test_n3_a_call_deadline_beyond_two_years_is_refused(client, token_for, time_machine, deadline):
    from pilots.models import Call

    time_machine.move_to(dt.datetime(2026, 3, 20, 10, tzinfo=SHANGHAI), tick=False)
    response = _post(
        client,
        "calls/",
        {"title": "2026年度申报", "deadline": deadline, "prefecture_quota": 2},
        token_for("office"),
    )
    assert response.status_code == 400
    message = response.json()["errors"]["deadline"][0]
    # year 9999 is out of any date the API takes; 2029 is a date, but too far ahead
    expected = "2000年至2100年" if deadline.startswith("9999") else "不能晚于2028年3月20日"
    assert expected in message
    assert not Call.objects.exists()
