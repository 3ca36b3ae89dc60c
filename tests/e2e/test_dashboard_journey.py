"""The dashboard in the browser: the charts draw (ECharts from npm, no inline script), a click
on a bar opens the list behind it, and a prefecture sees only its own slice."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from pilots.constants import Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def registry(orgs, personas, make_pilot):
    make_pilot(name="杭州在册试点", regions=[orgs["hangzhou"]], ledger_since=dt.date(2026, 1, 5))
    make_pilot(name="宁波在册试点", regions=[orgs["ningbo"]], ledger_since=dt.date(2026, 1, 5))
    make_pilot(
        name="宁波待备案试点",
        status=Status.APPROVED,
        regions=[orgs["ningbo"]],
        approval_date=timezone.localdate(),
        ledger_since=None,
    )


def test_office_reads_the_dashboard_and_clicks_through_a_chart(page, login, shot, registry):
    errors = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    login("office")
    page.locator("h1", has_text="我的工作").wait_for()
    page.locator(".mainnav a", has_text="数据看板").click()
    page.wait_for_url("**/dashboard/")
    status_chart = page.locator('.chart[data-chart="status"]')
    status_chart.locator("svg").wait_for(state="attached")
    for chart in ("status", "field", "tier", "prefecture", "overdue", "rates", "trend"):
        assert page.locator(f'.chart[data-chart="{chart}"] svg').count() == 1, chart
    assert "宁波待备案试点" in page.locator("text=本周待备案").locator("..").inner_text()
    shot("dashboard")
    # The status chart's bars are in life-cycle order: approved first, then active.
    bars = status_chart.locator("svg path[fill='#9b1c1c']")
    assert bars.count() >= 2
    bars.first.click(position={"x": 4, "y": 4})  # beside the label drawn on the bar
    page.wait_for_url("**/pilots/?status=approved*")
    assert "宁波待备案试点" in page.locator("table").inner_text()
    assert "杭州在册试点" not in page.locator("table").inner_text()
    assert errors == []


def test_prefecture_dashboard_shows_its_own_slice(page, login, shot, registry):
    login("hangzhou")
    page.locator("h1", has_text="我的工作").wait_for()
    page.goto("/dashboard/")
    page.locator('.chart[data-chart="status"] svg').wait_for(state="attached")
    ranking = page.locator("text=设区市晾晒比拼").locator("xpath=ancestor::section").inner_text()
    assert "杭州" in ranking and "宁波" not in ranking
    shot("dashboard-prefecture")


def test_pages_run_under_the_content_security_policy_without_violations(page, login, registry):
    """The CSP allows scripts from the product's own files only: the charts and the API docs
    must draw without a single violation."""
    violations = []
    page.on(
        "console",
        lambda msg: (
            violations.append(page.url + " " + msg.text[:300])
            if "Content Security Policy" in msg.text
            else None
        ),
    )
    login("office")
    page.locator("h1", has_text="我的工作").wait_for()
    page.goto("/dashboard/")
    page.locator('.chart[data-chart="status"] svg').wait_for(state="attached")
    page.goto("/api/docs/")
    page.locator(".swagger-ui .opblock").first.wait_for()
    page.goto("/pilots/jobs/")
    assert violations == []
