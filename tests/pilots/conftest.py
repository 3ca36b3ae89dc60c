"""Shared fixtures for calls for proposals (N3) and the application path: an open call, the
data a county types into the 申报表, a complete R1.1 checklist, and applications brought to a
given state through the workflow functions themselves."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone

from accounts.constants import Role
from pilots.calls import create_application, open_call, submit_application
from pilots.constants import SCREENING_CRITERIA, PilotKind, ReformField
from pilots.models import Call
from pilots.screening import prefecture_endorse
from tests.factories import UserFactory

D = dt.date


def checklist_answers(**overrides) -> dict:
    """A complete R1.1 checklist: every criterion met. checklist_answers(replicable=(False,
    "理由")) answers one criterion "no" with a note; a value of None leaves it out."""
    answers = {key: {"ok": True, "note": ""} for key, _label in SCREENING_CRITERIA}
    for key, value in overrides.items():
        if value is None:
            answers.pop(key)
        else:
            ok, note = value
            answers[key] = {"ok": ok, "note": note}
    return answers


@pytest.fixture
def complete_checklist():
    """complete_checklist() → {"elements": {"ok": True, "note": ""}, "institutional": …, …}."""
    return checklist_answers


@pytest.fixture
def open_call_for(personas):
    """open_call_for(quota=2, days=30, title=…) → a Call opened by the office, deadline `days`
    from now."""

    def _open(*, quota: int = 2, days: int = 30, title: str = "", fields=()) -> Call:
        return open_call(
            actor=personas["office"],
            title=title or f"2026年度生态环保领域改革试点申报（名额{quota}）",
            deadline=timezone.now() + dt.timedelta(days=days),
            fields=list(fields),
            prefecture_quota=quota,
            description="县（市、区）提出建议项目，设区市把关后报送。",
        )

    return _open


@pytest.fixture
def call(open_call_for) -> Call:
    """An open call with the default quota of 2 per prefecture."""
    return open_call_for(quota=2)


@pytest.fixture
def nb_county_user(orgs):
    return UserFactory(username="yinzhou", organisation=orgs["nb_county"], role=Role.COUNTY)


def _application_data(orgs, **overrides) -> dict:
    data = {
        "name": "西湖区生态环境损害赔偿磋商制度改革试点",
        "field": ReformField.GOVERNANCE,
        "kind": PilotKind.SINGLE,
        "implementing_body": "杭州市生态环境局西湖分局",
        "lead_department": orgs["dept"],
        "goal": "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。",
        "scope": "西湖区全域。",
        "start_date": D(2026, 6, 1),
        "end_date": D(2027, 5, 31),
        "responsible_body": "杭州市生态环境局西湖分局",
        "measures": "建立磋商规则、司法确认衔接和修复效果评估机制。",
        "expected_outcomes": "形成可复制可推广的赔偿磋商制度。",
        "work_foundation": "2025年已办理赔偿案件12件。",
        "contact_person": "王明",
        "contact_phone": "0571-87654321",
    }
    data.update(overrides)
    return data


@pytest.fixture
def application_data(orgs):
    """application_data(**overrides) → the dict create_application takes as `data`."""

    def _data(**overrides) -> dict:
        return _application_data(orgs, **overrides)

    return _data


@pytest.fixture
def make_application(personas, orgs, call):
    """make_application(by="county", call=…, submit=True, **data) → an application created and
    (by default) submitted through the workflow; its region is the applicant itself."""
    counter = {"n": 0}

    def _make(*, by="county", in_call=None, submit=True, regions=None, milestones=(), **data):
        actor = personas[by] if isinstance(by, str) else by
        counter["n"] += 1
        data.setdefault("name", f"西湖区生态环境损害赔偿磋商制度改革试点（{counter['n']}）")
        pilot = create_application(
            actor=actor,
            call=in_call or call,
            data=_application_data(orgs, **data),
            regions=regions if regions is not None else [actor.organisation],
            milestones=milestones,
        )
        if submit:
            pilot = submit_application(actor=actor, pilot=pilot)
        pilot.refresh_from_db()
        return pilot

    return _make


@pytest.fixture
def endorse(personas):
    """endorse(pilot, by="hangzhou") → the pilot endorsed with a complete checklist."""

    def _endorse(pilot, *, by="hangzhou", **kwargs):
        actor = personas[by] if isinstance(by, str) else by
        kwargs.setdefault("opinion", "同意推荐，符合准入条件。")
        kwargs.setdefault("checklist", checklist_answers())
        pilot = prefecture_endorse(actor=actor, pilot=pilot, **kwargs)
        pilot.refresh_from_db()
        return pilot

    return _endorse
