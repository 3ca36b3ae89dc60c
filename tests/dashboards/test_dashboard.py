"""The dashboard: every figure against a hand-counted registry, each persona's own slice, the
links behind the figures, and a query count that does not grow with the number of pilots."""

from __future__ import annotations

import datetime as dt
import json
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from django.urls import reverse

from ledger.models import QuarterlyReport
from pilots.constants import DeadlineKind, Origin, ReformField, Status
from pilots.models import OverdueEvent, Pilot
from reviews.models import BonusPoint, Evaluation, Recognition, Scorecard
from tests.factories import PilotFactory

D = dt.date
SHANGHAI = ZoneInfo("Asia/Shanghai")
URL = reverse("dashboards:dashboard")


@pytest.fixture(autouse=True)
def today(time_machine):
    # The latest quarter whose report is due (R2.3: 10 October) is the third of 2026.
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, tzinfo=SHANGHAI), tick=False)


def report(pilot, year, quarter, days_late=0, version=1, current=True, by=None):
    return QuarterlyReport.objects.create(
        pilot=pilot,
        year=year,
        quarter=quarter,
        version=version,
        is_current=current,
        progress="按计划推进。",
        due_date=D(2026, 1, 1),
        days_late=days_late,
        organisation=pilot.lead_department,
        submitted_by=by,
    )


@pytest.fixture
def registry(make_pilot, orgs, personas):
    """Six pilots, counted by hand below.

    p1 dept, Hangzhou, active since Q1 2026: Q1 on time, Q2 5 days late, Q3 on time.
    p2 division (of dept), Xihu county (Hangzhou), in the ledger from Q2: Q2 on time, Q3 none.
    p3 water dept, Ningbo, provincial origin, in the ledger from Q3: Q3 3 days late, corrected.
    p4 dept, Ningbo, approved 20 November 2026: filing due 27 November (R2.2).
    p5 water dept, a county draft in Xihu: nobody but the county and the office sees it.
    p6 dept, Hangzhou, purged; owed Q1 and Q2 2026 and sent neither.
    """
    office = personas["office"]
    p1 = make_pilot(
        name="一号",
        regions=[orgs["hangzhou"]],
        ledger_since=D(2026, 1, 15),
        end_date=D(2027, 12, 31),
    )
    p2 = make_pilot(
        name="二号",
        lead_department=orgs["division"],
        field=ReformField.MARKET,
        regions=[orgs["county"]],
        ledger_since=D(2026, 4, 1),
        end_date=D(2027, 6, 30),
    )
    p3 = make_pilot(
        name="三号",
        lead_department=orgs["other_dept"],
        origin=Origin.PROVINCIAL,
        regions=[orgs["ningbo"]],
        ledger_since=D(2026, 7, 20),
        end_date=D(2027, 12, 31),
    )
    p4 = make_pilot(
        name="四号",
        status=Status.APPROVED,
        regions=[orgs["ningbo"]],
        approval_date=D(2026, 11, 20),
        ledger_since=None,
    )
    p5 = make_pilot(
        name="五号",
        status=Status.DRAFT,
        lead_department=orgs["other_dept"],
        applicant=orgs["county"],
        regions=[orgs["county"]],
        ledger_since=None,
    )
    p6 = make_pilot(
        name="六号",
        status=Status.PURGED,
        regions=[orgs["hangzhou"]],
        ledger_since=D(2026, 1, 10),
        end_date=D(2026, 6, 30),
    )
    report(p1, 2026, 1, by=office)
    report(p1, 2026, 2, days_late=5, by=office)
    report(p1, 2026, 3, by=office)
    report(p2, 2026, 2, by=office)
    report(p3, 2026, 3, days_late=3, current=False, by=office)
    report(p3, 2026, 3, days_late=3, version=2, by=office)
    OverdueEvent.objects.create(
        key="q-p2",
        kind=DeadlineKind.QUARTERLY,
        pilot=p2,
        organisation=orgs["division"],
        label="二号 2026年第三季度进展",
        due_date=D(2026, 10, 10),
        flagged_on=D(2026, 10, 11),
    )
    OverdueEvent.objects.create(
        key="f-p3",
        kind=DeadlineKind.FILING,
        pilot=p3,
        organisation=orgs["other_dept"],
        label="三号 备案",
        due_date=D(2026, 7, 1),
        flagged_on=D(2026, 7, 2),
        resolved_on=D(2026, 7, 10),
    )
    Recognition.objects.create(
        pilot=p1, kind="replicable", summary="经验", marked_by=office, marked_on=D(2026, 9, 1)
    )
    for org, points in ((orgs["ningbo"], "3.00"), (orgs["county"], "1.50"), (orgs["dept"], "9")):
        BonusPoint.objects.create(
            year=2026,
            organisation=org,
            points=Decimal(points),
            reason="试点成效",
            created_by=office,
        )
    BonusPoint.objects.create(
        year=2025,
        organisation=orgs["hangzhou"],
        points=Decimal(5),
        reason="上年",
        created_by=office,
    )
    card = Scorecard.objects.create(name="评分表", created_by=office)
    for pilot, score, rating in ((p1, "92.0", "5"), (p2, "78.0", "3")):
        Evaluation.objects.create(
            pilot=pilot,
            scorecard=card,
            stage="stage",
            evaluator="self",
            evaluated_on=D(2026, 6, 30),
            effort=Decimal(80),
            score=Decimal(score),
            rating=rating,
            organisation=orgs["dept"],
            created_by=office,
        )
    return {"p1": p1, "p2": p2, "p3": p3, "p4": p4, "p5": p5, "p6": p6}


def counts(buckets) -> dict[str, int]:
    return {b.key: b.count for b in buckets if b.count}


def test_office_dashboard_figures_match_the_hand_count(client_for, registry):
    ctx = client_for("office").get(URL).context
    assert ctx["slice"] == "全省"
    assert ctx["total"] == 6
    assert counts(ctx["by_status"]) == {"active": 3, "approved": 1, "draft": 1, "purged": 1}
    assert counts(ctx["by_field"]) == {"governance": 5, "market": 1}
    assert counts(ctx["by_tier"]) == {"reform_office": 1, "special_group": 5}
    assert counts(ctx["by_prefecture"]) == {"hangzhou": 4, "ningbo": 2}
    assert counts(ctx["overdue"]) == {"quarterly": 1}
    assert [f.pilot.name for f in ctx["filings_due"]] == ["四号"]
    assert (ctx["filings_due"][0].due, ctx["filings_due"][0].days) == (D(2026, 11, 27), 4)


def test_r2_3_reporting_rates_per_lead_department_for_the_latest_due_quarter(
    client_for, registry, orgs
):
    ctx = client_for("office").get(URL).context
    assert ctx["quarter_label"] == "2026年第三季度"
    rates = {
        r.organisation.code: (r.rate.expected, r.rate.reported, r.rate.on_time)
        for r in ctx["department_rates"]
    }
    # The division's pilot counts for its department; the purged pilot owed no third quarter;
    # the corrected report keeps its first submission's lateness.
    assert rates == {"dept-env": (2, 1, 1), "dept-water": (1, 1, 0)}
    total = ctx["quarter_rate"]
    assert (total.expected, total.reported, total.on_time) == (3, 2, 1)
    assert (total.reporting_rate, total.on_time_rate) == (66.7, 33.3)


def test_r2_3_reporting_rates_for_an_earlier_quarter_chosen_on_the_page(client_for, registry):
    ctx = client_for("office").get(URL, {"quarter": "2026Q2"}).context
    rates = {
        r.organisation.code: (r.rate.expected, r.rate.reported, r.rate.on_time)
        for r in ctx["department_rates"]
    }
    # p1 late, p2 on time, p6 (purged since) owed it and sent nothing.
    assert rates == {"dept-env": (3, 2, 1)}


@pytest.mark.parametrize("value", ["2026Q4", "2027Q1", "abc", "2026Q9"])
def test_a_quarter_not_yet_due_or_malformed_is_refused_with_a_message(client_for, registry, value):
    response = client_for("office").get(URL, {"quarter": value})
    assert response.status_code == 200
    assert response.context["quarter_label"] == "2026年第三季度"
    assert "季度参数无效" in response.content.decode()


def test_r4_1_prefecture_ranking_and_its_trend(client_for, registry):
    ranking = client_for("office").get(URL).context["ranking"]
    assert [r.prefecture.code for r in ranking] == ["ningbo", "hangzhou"]
    ningbo, hangzhou = ranking
    # Bonus points of the year: Ningbo's own; Hangzhou's through its county; last year's ignored.
    assert (ningbo.bonus, hangzhou.bonus) == (Decimal("3.00"), Decimal("1.50"))
    # Provincial pilots not purged: p1 and p2 in Hangzhou; p3 and p4 in Ningbo.
    assert (hangzhou.pilots, ningbo.pilots) == (2, 2)
    # 2026 Q1–Q3: p1 3 owed, 3 sent, 2 on time; p2 2, 1, 1; p6 2, 0, 0.
    assert (hangzhou.rate.expected, hangzhou.rate.reported, hangzhou.rate.on_time) == (7, 4, 3)
    assert hangzhou.rate.on_time_rate == 42.9
    assert (ningbo.rate.expected, ningbo.rate.on_time_rate) == (1, 0.0)
    assert (hangzhou.recognitions, ningbo.recognitions) == (1, 0)
    assert (hangzhou.evaluations, hangzhou.average_score, hangzhou.top_rated) == (2, 85.0, 1)
    assert ningbo.evaluations == 0 and ningbo.average_score is None
    # Trend over 2025 Q4 … 2026 Q3: nothing owed in 2025; then p1/p6, p1/p2/p6, p1/p2.
    assert hangzhou.trend == [None, 50.0, 33.3, 50.0]
    assert ningbo.trend == [None, None, None, 0.0]


def test_prefecture_sees_only_its_own_slice(client_for, registry):
    ctx = client_for("hangzhou").get(URL).context
    # Its approved pilots (p1, p2, p6); never the county's unsubmitted draft p5.
    assert ctx["total"] == 3
    assert counts(ctx["by_prefecture"]) == {"hangzhou": 3}
    assert [r.prefecture.code for r in ctx["ranking"]] == ["hangzhou"]
    assert ctx["ranking"][0].bonus == Decimal("1.50")
    rates = {r.organisation.code: r.rate.expected for r in ctx["department_rates"]}
    assert rates == {"dept-env": 2}
    assert "宁波" not in json.dumps([b.label for b in ctx["by_status"]], ensure_ascii=False)
    assert ctx["filings_due"] == []


def test_lead_department_sees_only_the_pilots_it_leads(client_for, registry):
    ctx = client_for("dept").get(URL).context
    assert ctx["total"] == 4  # p1, p2 (its division), p4, p6
    assert {r.organisation.code for r in ctx["department_rates"]} == {"dept-env"}
    ranking = {r.prefecture.code: r for r in ctx["ranking"]}
    assert (ranking["hangzhou"].pilots, ranking["ningbo"].pilots) == (2, 1)
    # Bonus points count only where they were earned by one of its pilots.
    assert ranking["ningbo"].bonus == 0
    assert counts(ctx["overdue"]) == {"quarterly": 1}
    assert [f.pilot.name for f in ctx["filings_due"]] == ["四号"]


def test_county_sees_its_slice_without_a_ranking(client_for, registry):
    ctx = client_for("county").get(URL).context
    assert ctx["total"] == 2  # its own draft p5 and the approved p2 in its county
    assert ctx["ranking"] == []
    assert "trend" not in ctx["charts"]


def test_experts_are_refused_and_anonymous_users_sent_to_log_in(client_for, registry):
    response = client_for("expert").get(URL)
    assert response.status_code == 403
    assert "数据看板面向" in response.content.decode()
    response = client_for(None).get(URL)
    assert response.status_code == 302 and reverse("login") in response["Location"]


def test_every_figure_links_to_the_filtered_list_behind_it(client_for, registry):
    client = client_for("office")
    ctx = client.get(URL).context
    by_status = {b.key: b.url for b in ctx["by_status"]}
    listed = client.get(by_status["active"]).context["page"].paginator.count
    assert listed == 3
    by_pref = {b.key: b.url for b in ctx["by_prefecture"]}
    assert client.get(by_pref["ningbo"]).context["page"].paginator.count == 2
    overdue = {b.key: b.url for b in ctx["overdue"]}
    assert client.get(overdue["quarterly"]).context["page"].paginator.count == 1
    water = next(r for r in ctx["department_rates"] if r.organisation.code == "dept-water")
    assert client.get(water.url).context["page"].paginator.count == 1


def test_charts_carry_the_same_numbers_as_the_tables_as_json_not_inline_script(
    client_for, registry
):
    response = client_for("office").get(URL)
    html = response.content.decode()
    assert 'src="/static/vendor/echarts/echarts.min.js"' in html
    assert 'id="chart-status"' in html and 'type="application/json"' in html
    charts = response.context["charts"]
    status = charts["status"]["series"][0]["data"]
    assert [d["value"] for d in status] == [b.count for b in response.context["by_status"]]
    rates = charts["rates"]["series"][1]["data"]
    assert [d["value"] for d in rates] == [
        r.rate.on_time_rate for r in response.context["department_rates"]
    ]
    assert charts["trend"]["series"][0]["data"][-1]["value"] == 0.0
    # Every script on the page is a file or JSON data; nothing executable inline.
    assert "<script>" not in html and "onclick" not in html


def add_ledger_pilots(n: int, orgs) -> None:
    """n ledger pilots in Hangzhou led by the division, each with two quarterly reports."""
    pilots = Pilot.objects.bulk_create(
        PilotFactory.build(
            lead_department=orgs["division"],
            applicant=orgs["dept"],
            ledger_since=D(2026, 1, 10),
            end_date=D(2027, 12, 31),
        )
        for _ in range(n)
    )
    through = Pilot.regions.through
    through.objects.bulk_create(through(pilot=p, organisation=orgs["county"]) for p in pilots)
    user = orgs["dept"].users.first()
    QuarterlyReport.objects.bulk_create(
        QuarterlyReport(
            pilot=p,
            year=2026,
            quarter=q,
            progress="进展",
            due_date=D(2026, 1, 1),
            organisation=orgs["division"],
            submitted_by=user,
        )
        for p in pilots
        for q in (2, 3)
    )


@pytest.mark.parametrize("persona", ["office", "dept", "hangzhou"])
def test_dashboard_query_count_is_constant_as_pilots_grow(client_for, registry, orgs, persona):
    client = client_for(persona)
    client.get(URL)
    add_ledger_pilots(10, orgs)
    with CaptureQueriesContext(connection) as small:
        assert client.get(URL).status_code == 200
    add_ledger_pilots(990, orgs)
    with CaptureQueriesContext(connection) as large:
        response = client.get(URL)
    assert len(large) == len(small)
    assert len(small) <= 25, [q["sql"][:80] for q in small.captured_queries]
    if persona != "dept":
        ranking = {r.prefecture.code: r for r in response.context["ranking"]}
        assert ranking["hangzhou"].pilots == 2 + 1000


# --- the figures' cache --------------------------------------------------------------------


@pytest.fixture
def cached(settings):
    """The cache on, in local memory: its expiry follows the test's clock (Redis's would not),
    and clearing it never touches a shared server."""
    from django.core.cache import cache

    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.locmem.LocMemCache"}}
    settings.DASHBOARD_CACHE_SECONDS = 60
    cache.clear()
    yield
    cache.clear()


def test_cached_figures_are_shared_per_role_and_unit_and_say_when_computed(
    client_for, registry, cached, django_assert_max_num_queries, make_pilot
):
    office = client_for("office")
    first = office.get(URL)
    assert first.context["total"] == 6
    assert "数据更新于" in first.content.decode()
    # a second look within the minute reads the figures from the cache: only the session,
    # the user and the page's frame are queried
    with django_assert_max_num_queries(6):
        again = office.get(URL)
    assert again.context["total"] == 6
    assert again.context["computed_at"] == first.context["computed_at"]
    # a prefecture never gets the office's figures, nor an expert any
    assert client_for("hangzhou").get(URL).context["total"] == 3
    assert client_for("expert").get(URL).status_code == 403


def test_cached_figures_are_recomputed_after_their_time(
    client_for, registry, cached, make_pilot, time_machine
):
    client = client_for("office")
    assert client.get(URL).context["total"] == 6
    make_pilot(code="ST-2026-0777", status=Status.ACTIVE)
    # within the minute the page still shows the figures it computed
    assert client.get(URL).context["total"] == 6
    # after it, the new pilot is counted
    time_machine.shift(61)
    assert client.get(URL).context["total"] == 7


def test_a_user_whose_role_changes_never_sees_the_old_roles_figures(
    client_for, registry, cached, personas
):
    assert client_for("office").get(URL).context["total"] == 6
    # the office user becomes a prefecture user of Hangzhou
    user = personas["office"]
    user.role, user.organisation = personas["hangzhou"].role, personas["hangzhou"].organisation
    user.save()
    assert client_for("office").get(URL).context["total"] == 3


def test_a_cache_that_is_down_costs_a_recomputation_not_an_error(client_for, registry, settings):
    # Redis as the cache, on a port where nothing listens
    settings.CACHES = {
        "default": {
            "BACKEND": "django.core.cache.backends.redis.RedisCache",
            "LOCATION": "redis://127.0.0.1:1/0",
            "OPTIONS": {"socket_connect_timeout": 0.2, "socket_timeout": 0.2},
        }
    }
    settings.DASHBOARD_CACHE_SECONDS = 60
    response = client_for("office").get(URL)
    assert response.status_code == 200
    assert response.context["total"] == 6
