"""The settings are the truth (R2.2, R2.3, R2.4, R3.2): every number of the regulation that is
a setting is read from it wherever it is shown — the rules page, the pilot page's 到期管理
panel, the department's to-do list, the ledger's pages, the overdue list — and in the notices
the jobs and the workflow send. Each test changes a setting and looks for the new number."""

from __future__ import annotations

import datetime as dt
from zoneinfo import ZoneInfo

import pytest

from accounts.models import Notification
from pilots import jobs, rules, term
from pilots.constants import Status

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
END = D(2026, 12, 31)


def on(time_machine, day: dt.date) -> None:
    time_machine.move_to(dt.datetime.combine(day, dt.time(10, 0), tzinfo=SHANGHAI), tick=False)


@pytest.fixture
def pilot(make_pilot, orgs):
    return make_pilot(
        regions=[orgs["county"]],
        code="ST-2026-0951",
        name="规则设置试点",
        start_date=D(2026, 1, 1),
        end_date=END,
        ledger_since=D(2026, 1, 10),
    )


def _page(client, url: str) -> str:
    response = client.get(url)
    assert response.status_code == 200, url
    return response.content.decode()


def _notice_bodies(org) -> str:
    return "\n".join(Notification.objects.filter(organisation=org).values_list("body", flat=True))


def test_the_filing_period_is_read_from_its_setting_R2_2(
    settings, make_pilot, orgs, client_for, time_machine
):
    settings.PILOT_FILING_DAYS = 9
    make_pilot(status=Status.APPROVED, approval_date=D(2026, 11, 1), ledger_since=None)
    jobs.flag_overdue(D(2026, 11, 11))
    on(time_machine, D(2026, 11, 11))
    client = client_for("dept")

    assert "批复后9日内" in _page(client, "/rules/")
    assert "批复后9日内" in _page(client, "/ledger/todo/")
    assert "批复后9日内" in _page(client, "/pilots/overdue/")
    body = _notice_bodies(orgs["dept"])
    assert "批复后9日内" in body and "期限2026年11月10日" in body


def test_the_quarterly_period_is_read_from_its_setting_R2_3(
    settings, pilot, orgs, client_for, time_machine
):
    settings.PILOT_QUARTERLY_DUE_DAYS = 12
    jobs.flag_overdue(D(2026, 4, 13))
    on(time_machine, D(2026, 4, 13))
    client = client_for("dept")

    assert "季度结束后12日内" in _page(client, "/rules/")
    assert "季度结束后12日内" in _page(client, "/ledger/todo/")
    assert "季度结束后12日内" in _page(client, f"/ledger/pilots/{pilot.code}/reports/")
    body = _notice_bodies(orgs["dept"])
    assert "季度结束后12日内" in body and "期限2026年4月12日" in body


def test_the_half_year_period_is_read_from_its_setting_R2_3(
    settings, pilot, orgs, client_for, time_machine
):
    settings.PILOT_HALF_YEAR_DUE_DAYS = 20
    jobs.flag_overdue(D(2026, 7, 21))
    on(time_machine, D(2026, 7, 21))
    client = client_for("dept")

    assert "半年结束后20日内" in _page(client, "/rules/")
    assert "半年结束后20日内" in _page(client, "/ledger/todo/")
    assert "半年结束后20日内" in _page(client, "/ledger/summaries/")
    body = _notice_bodies(orgs["dept"])
    assert "半年结束后20日内" in body and "期限2026年7月20日" in body


def test_the_closure_window_and_the_purge_grace_are_read_from_their_settings_R2_4(
    settings, pilot, orgs, client_for, time_machine
):
    settings.PILOT_CLOSURE_WINDOW_DAYS = 45
    settings.PILOT_PURGE_GRACE_DAYS = 40
    on(time_machine, D(2026, 11, 20))
    client = client_for("dept")

    page = _page(client, pilot.get_absolute_url())
    assert "2026年11月16日起（到期前45日起）" in page
    assert "还有41天" in page  # inside the 45-day window
    assert "到期后40日内" in page and "2027年2月10日起" in page
    rules_page = _page(client, "/rules/")
    assert "到期前45日起" in rules_page and "到期后40日内" in rules_page

    jobs.purge_expired(D(2027, 2, 10))
    pilot.refresh_from_db()
    assert pilot.status == Status.PURGED and "到期后40日内" in pilot.purge_reason
    assert "到期后40日内" in _notice_bodies(orgs["dept"])


def test_the_acceptance_period_is_read_from_its_setting_R3_2(
    settings, pilot, personas, orgs, client_for, time_machine
):
    settings.PILOT_ACCEPTANCE_REPORT_MONTHS = 3
    report = term.report_closure(
        actor=personas["dept"], pilot=pilot, results="完成", experience="经验", today=END
    )
    term.accept_closure(actor=personas["office"], report=report)
    assert "2027年3月31日" in _notice_bodies(orgs["dept"])
    jobs.flag_overdue(D(2027, 4, 1))
    on(time_machine, D(2027, 4, 1))
    client = client_for("dept")

    assert "期满后3个月内" in _page(client, "/rules/")
    page = _page(client, pilot.get_absolute_url())
    assert "2027年3月31日前（期满后3个月内" in page
    assert "期满后3个月内" in _page(client, f"/pilots/{pilot.code}/acceptance/")
    assert "期满后3个月内" in _page(client, "/pilots/overdue/")
    body = _notice_bodies(orgs["dept"])
    assert "期满后3个月内" in body and "期限2027年3月31日" in body


def test_the_reminder_days_are_read_from_their_setting(
    settings, make_pilot, orgs, client_for, time_machine
):
    settings.PILOT_REMINDER_DAYS = [10, 3]
    make_pilot(status=Status.APPROVED, approval_date=D(2026, 11, 1), ledger_since=None)
    on(time_machine, D(2026, 11, 1))

    assert "到期前10日和3日" in _page(client_for("dept"), "/rules/")
    assert "到期前10日和3日提醒" in _page(client_for("dept"), "/ledger/todo/")
    jobs.send_reminders(D(2026, 11, 5))  # due 8 November: 3 days left
    body = _notice_bodies(orgs["dept"])
    assert "批复后7日内" in body and "还有3天到期" in body


def test_the_effort_share_limit_is_on_the_rules_page_R3_2(settings, client_for):
    settings.REVIEW_EFFORT_SHARE_MAX = 20
    assert "评分表中不超过20%" in _page(client_for("dept"), "/rules/")
    assert rules.numbers().effort_share_max == 20
