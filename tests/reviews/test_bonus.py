"""Bonus points in the annual reform assessment (R4.1): recorded per pilot and organisation per
year with the reason, summed per organisation; corrections are negative entries."""

from __future__ import annotations

from decimal import Decimal

import pytest
from django.core.exceptions import PermissionDenied, ValidationError
from django.db import connection
from django.test.utils import CaptureQueriesContext

from reviews import bonus
from reviews.models import BonusPoint


def test_points_add_up_per_organisation_and_year_R4_1(make_pilot, orgs, personas):
    office = personas["office"]
    pilot = make_pilot()
    bonus.award_points(
        actor=office, year=2026, organisation=orgs["dept"], pilot=pilot, points=3, reason="示范案例"
    )
    bonus.award_points(
        actor=office, year=2026, organisation=orgs["dept"], points="1.5", reason="推广成效突出"
    )
    bonus.award_points(
        actor=office, year=2026, organisation=orgs["dept"], points=-1, reason="更正：重复加分"
    )
    bonus.award_points(actor=office, year=2026, organisation=orgs["hangzhou"], points=2, reason="x")
    bonus.award_points(actor=office, year=2025, organisation=orgs["dept"], points=5, reason="上年")
    table = bonus.assessment_table(2026)
    assert [(r["organisation__name"], r["total"], r["entries"], r["pilots"]) for r in table] == [
        ("浙江省生态环境厅", Decimal("3.50"), 3, 1),
        ("杭州市生态环境局", Decimal("2.00"), 1, 0),
    ]
    assert BonusPoint.history.count() == 5


@pytest.mark.parametrize("points", [0, 11, "abc", "NaN"])
def test_bad_points_are_refused_R4_1(orgs, personas, points):
    with pytest.raises(ValidationError, match="加分应为"):
        bonus.award_points(
            actor=personas["office"],
            year=2026,
            organisation=orgs["dept"],
            points=points,
            reason="x",
        )
    assert not BonusPoint.objects.exists()


def test_only_the_office_awards_and_the_table_takes_one_query_R4_1(orgs, personas, client_for):
    with pytest.raises(PermissionDenied):
        bonus.award_points(
            actor=personas["dept"], year=2026, organisation=orgs["dept"], points=1, reason="x"
        )
    with CaptureQueriesContext(connection) as ctx:
        bonus.assessment_table(2026)
    assert len(ctx) == 1
    office = client_for("office")
    response = office.post(
        "/reviews/bonus/?year=2026",
        {
            "year": "2026",
            "organisation": orgs["dept"].pk,
            "pilot": "",
            "points": "2",
            "reason": "改革成效突出",
        },
    )
    assert response["Location"] == "/reviews/bonus/?year=2026"
    page = office.get("/reviews/bonus/?year=2026").content.decode()
    assert "浙江省生态环境厅" in page and "改革成效突出" in page
    dept = client_for("dept")
    assert "改革成效突出" in dept.get("/reviews/bonus/?year=2026").content.decode()
    assert dept.post("/reviews/bonus/", {"year": "2026"}).status_code == 403
    assert client_for("county").get("/reviews/bonus/").status_code == 403
    bad = client_for("office").post(
        "/reviews/bonus/",
        {
            "year": "2026",
            "organisation": orgs["dept"].pk,
            "pilot": "NOPE",
            "points": "1",
            "reason": "x",
        },  # fmt: skip
    )
    assert "没有该编号的试点" in bad.content.decode()
    assert BonusPoint.objects.count() == 1
