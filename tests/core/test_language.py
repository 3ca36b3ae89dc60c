"""One language on every page: dates as 2026年3月31日, enum values by their labels, people by
name and unit. Every persona's main pages are read with the demo data."""

from __future__ import annotations

import importlib
import inspect
import re

import pytest
from django.db import models

from demo.people import DEMO_ACCOUNTS

pytestmark = pytest.mark.walk

ISO_DATE = re.compile(r"\d{4}-\d{2}-\d{2}")
# Pages every persona opens; each reads what its own role may see (403s are skipped).
MAIN_PAGES = (
    "/",
    "/pilots/",
    "/pilots/calls/",
    "/pilots/overdue/",
    "/pilots/term/",
    "/pilots/purged/",
    "/pilots/jobs/",
    "/calendar/",
    "/notifications/",
    "/ledger/",
    "/ledger/todo/",
    "/ledger/summaries/",
    "/reviews/expert/",
    "/reviews/scorecards/",
    "/reviews/promotion/",
    "/dashboard/",
    "/rules/",
)
PERSONAS = ("office", "dept", "water", "hangzhou", "ningbo", "county", "expert", "expert2")
# Personas that never see who anyone is by account name (the office manages accounts).
NON_OFFICE = ("dept", "water", "hangzhou", "ningbo", "county", "expert", "expert2")
CHOICE_MODULES = (
    "accounts.constants",
    "pilots.constants",
    "ledger.constants",
    "reviews.constants",
    "reviews.models",
    "core.models",
)


@pytest.fixture
def demo_then() -> tuple[str, ...]:
    """The demo as `make run` leaves it: overdue items flagged."""
    return ("flag_overdue",)


def visible_text(html: str) -> str:
    """What a reader sees: no tags, attributes, scripts, styles or form inputs."""
    html = re.sub(r"<(script|style|textarea|select)\b.*?</\1>", " ", html, flags=re.S)
    html = re.sub(r"<[^>]+>", " ", html)
    return re.sub(r"\s+", " ", html)


def enum_values() -> set[str]:
    """The raw values of the project's TextChoices (words only: digits and letters read as
    text anyway)."""
    values: set[str] = set()
    for name in CHOICE_MODULES:
        try:
            module = importlib.import_module(name)
        except ImportError:
            continue
        for obj in vars(module).values():
            if (
                inspect.isclass(obj)
                and issubclass(obj, models.TextChoices)
                and obj is not models.TextChoices
            ):
                values |= {v for v in obj.values if len(v) > 2 and not v.isdigit()}
    return values


def word(value: str) -> re.Pattern:
    return re.compile(rf"(?<![A-Za-z0-9_./@-]){re.escape(value)}(?![A-Za-z0-9_/@-])")


def pages_for(client, username: str) -> dict[str, str]:
    from accounts.models import User
    from pilots.policy import visible_pilots

    user = User.objects.get(username=username)
    client.force_login(user)
    paths = list(MAIN_PAGES)
    paths += [p.get_absolute_url() for p in visible_pilots(user).order_by("-pk")[:8]]
    out = {}
    for path in paths:
        response = client.get(path)
        if response.status_code == 200 and "html" in response["Content-Type"]:
            out[path] = visible_text(response.content.decode())
    return out


@pytest.mark.parametrize("username", PERSONAS)
def test_main_pages_speak_one_language(username, demo, client):
    values = [(v, word(v)) for v in enum_values()]
    accounts = [(a.username, word(a.username)) for a in DEMO_ACCOUNTS]
    pages = pages_for(client, username)
    assert len(pages) >= 6, sorted(pages)
    problems = []
    for path, text in pages.items():
        if found := ISO_DATE.findall(text):
            problems.append(f"{path}: ISO dates {found[:3]}")
        if raw := [v for v, pattern in values if pattern.search(text)]:
            problems.append(f"{path}: raw values {raw[:5]}")
        if username in NON_OFFICE:
            names = [n for n, pattern in accounts if pattern.search(text)]
            if names:
                problems.append(f"{path}: account names {names[:5]}")
    assert not problems, "\n".join(problems)


def test_the_regions_of_a_pilot_are_places_and_divisions_name_their_department(demo, client):
    from accounts.constants import OrgKind
    from accounts.models import Organisation

    county = Organisation.objects.filter(kind=OrgKind.COUNTY, short_name="西湖区").first()
    division = Organisation.objects.filter(kind=OrgKind.DIVISION, parent__isnull=False).first()
    assert county.place_name == "杭州市西湖区"
    assert county.parent.place_name == "杭州市"
    assert division.unit_label == f"{division.parent.short_name}·{division.short_name}"
    text = pages_for(client, "office")["/pilots/"]
    assert "杭州市西湖区" in text or "杭州市" in text
