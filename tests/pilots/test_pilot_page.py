"""A pilot's page as each of its users reads it: everything it shows comes in a small, fixed
number of queries, however many filings, reports, evaluations and versions the pilot has
gathered; its history has a page of its own, linked from the pilot's page and gated alike."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from core.history import save_with_history
from pilots.constants import Status
from tests.api.conftest import _records

D = dt.date
PAGE_QUERIES = 12  # session, user and unit, the notices badge, and the page itself
READERS = ("office", "dept", "hangzhou", "county")


def a_pilot(make_pilot, orgs, personas, *, end_of_term: bool = False):
    """A pilot in Xihu county (Hangzhou), led by the environment department, in its ledger:
    filed, reporting, evaluated, with a milestone, a participating unit and a history; at the
    end of its term also closure reported, an extension asked, the acceptance report in and
    inspected."""
    pilot = make_pilot(
        name="甲试点",
        regions=[orgs["county"]],
        ledger_since=D(2026, 1, 5),
        status=Status.CLOSURE_REPORTED if end_of_term else Status.ACTIVE,
    )
    pilot.participating_units.set([orgs["other_dept"]])
    pilot.milestones.create(due_date=D(2026, 6, 30), title="完成制度设计")
    _records(pilot, personas["office"])
    if not end_of_term:
        for later in ("closure_reports", "extension_requests", "acceptance_reports", "inspections"):
            getattr(pilot, later).all().delete()
    save_with_history(pilot, actor=personas["dept"], reason="录入")
    return pilot


@pytest.fixture
def pilot(make_pilot, orgs, personas):
    return a_pilot(make_pilot, orgs, personas)


@pytest.fixture
def every_record(make_pilot, orgs, personas):
    return a_pilot(make_pilot, orgs, personas, end_of_term=True)


def page_queries(client, url: str) -> tuple[int, str]:
    client.get(url)  # the first visit fills the session's saved state
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
    assert response.status_code == 200, url
    return len(captured.captured_queries), response.content.decode()


def grow(pilot, personas, orgs) -> None:
    """More of everything: filing versions, quarterly reports, evaluations, inspections,
    milestones and versions of the pilot itself."""
    filing = pilot.filings.get()
    for version in (2, 3):
        filing.pk, filing.version = None, version
        filing.save()
    report = pilot.quarterly_reports.get()
    for quarter in (2, 3, 4):
        report.pk, report.quarter = None, quarter
        report.save()
    for model in ("evaluations", "inspections"):
        for record in list(getattr(pilot, model).all()):
            for _ in range(3):
                record.pk = None
                record.save()
    pilot.milestones.create(due_date=D(2026, 9, 30), title="完成中期评估")
    for i in range(6):
        pilot.contact_person = f"联系人{i}"
        save_with_history(pilot, actor=personas["dept"], reason=f"更换联系人{i}")


def test_each_reader_gets_the_pilot_page_in_at_most_12_queries_whatever_it_holds(
    pilot, personas, orgs, client_for
):
    url = reverse("pilots:detail", args=[pilot.code])
    before = {}
    for reader in READERS:
        count, html = page_queries(client_for(reader), url)
        assert count <= PAGE_QUERIES, (reader, count)
        # every panel still shows its records
        assert "第1版" in html and "完成制度设计" in html and "省水利厅" in html, reader
        before[reader] = count
    grow(pilot, personas, orgs)
    for reader in READERS:
        count, html = page_queries(client_for(reader), url)
        assert count == before[reader], reader
        assert "第3版" in html and "完成中期评估" in html, reader


def test_a_pilot_with_records_of_every_kind_costs_one_query_per_kind_and_no_more(
    every_record, personas, orgs, client_for
):
    url = reverse("pilots:detail", args=[every_record.code])
    before = {reader: page_queries(client_for(reader), url)[0] for reader in READERS}
    # the end of the term adds its closure, extension and acceptance, the inspection and its
    # rectifications: one query each, whoever reads
    assert max(before.values()) <= PAGE_QUERIES + 3, before
    grow(every_record, personas, orgs)
    assert {reader: page_queries(client_for(reader), url)[0] for reader in READERS} == before


def test_the_office_sees_every_panel_of_a_pilot_with_records_of_every_kind(
    every_record, client_for
):
    url = reverse("pilots:detail", args=[every_record.code])
    html = client_for("office").get(url).content.decode()
    for shown in ("备案", "到期管理", "督察组", "评分表", "完成制度设计", "变更历史"):
        assert shown in html, shown


def test_a_pilot_without_records_shows_none_and_asks_for_none(make_pilot, orgs, client_for):
    bare = make_pilot(name="乙试点", regions=[orgs["county"]])
    url = reverse("pilots:detail", args=[bare.code])
    count, html = page_queries(client_for("dept"), url)
    assert count <= PAGE_QUERIES - 2
    assert "未设置时间节点。" in html and "第1版" not in html


def test_the_history_has_its_own_page_linked_from_the_pilot_and_gated_alike(
    pilot, personas, client_for
):
    pilot.contact_person = "王芳"
    save_with_history(pilot, actor=personas["dept"], reason="更换联系人")
    history_url = reverse("pilots:history", args=[pilot.code])
    detail = client_for("county").get(reverse("pilots:detail", args=[pilot.code]))
    assert f'href="{history_url}"' in detail.content.decode()
    for reader in READERS:
        page = client_for(reader).get(history_url)
        assert page.status_code == 200
        assert "原因：更换联系人" in page.content.decode()
    # who may not see the pilot does not learn it exists
    assert client_for("ningbo").get(history_url).status_code == 404
    assert client_for(None).get(history_url).status_code == 302


def test_the_history_page_does_not_grow_with_the_history(pilot, personas, orgs, client_for):
    url = reverse("pilots:history", args=[pilot.code])
    client = client_for("office")
    few, _ = page_queries(client, url)
    grow(pilot, personas, orgs)
    many, html = page_queries(client, url)
    assert many == few
    assert all(f"原因：更换联系人{i}" in html for i in range(6))
