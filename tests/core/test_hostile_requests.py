"""Every URL pattern of the project, each of its path parameters replaced by hostile values,
anonymous and signed in as the office, GET and POST; and every page without parameters
with the query parameters the views read set to the same values. No answer is a server
error (on PostgreSQL too, which refuses NUL in text: CI runs this file there as well), and a
control character is refused at the edge: 404 in the path, 400 in the query."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.urls import URLPattern, URLResolver, get_resolver

from pilots.constants import Status

pytestmark = pytest.mark.walk

# Raw, as they appear in an address (the test client percent-decodes the path): NUL, C0,
# DEL, C1; an over-long segment, a bidi override, a parent reference, a lone "%", bad UTF-8.
CONTROL_VALUES = ["%00", "%01", "%7F", "%C2%80"]
OTHER_VALUES = ["a" * 300, "%E2%80%AE", "../", "%", "%FF"]
HOSTILE = CONTROL_VALUES + OTHER_VALUES
# Impossible numbers for the integer path parameters: no year 0 or 9999, no quarter 0 or 5,
# a year datetime cannot hold, an id no database integer holds.
NUMBERS = ["0", "5", "9999", "10000", "99999999999999999999"]
INT_PARAMS = {"year", "quarter", "half", "month", "pk", "id"}
# The query parameters the views and API filters read (grep request.GET / query_params).
QUERY_KEYS = [
    "q", "status", "field", "tier", "kind", "prefecture", "lead", "overdue", "sort", "per_page",
    "page", "page_size", "year", "quarter", "half", "month", "job", "scorecard", "org", "state",
    "action", "username", "ip", "since", "until", "search", "ordering", "lead_department",
    "end_before", "end_after", "origin", "call", "reset", "next", "format", "read",
]  # fmt: skip
# Pages that read most of them, tried one parameter at a time.
MAIN_PAGES = [
    "/pilots/", "/pilots/overdue/", "/pilots/jobs/", "/pilots/purged/", "/audit/", "/calendar/",
    "/dashboard/", "/reviews/bonus/", "/public/", "/ledger/", "/api/v1/pilots/",
    "/api/v1/notifications/",
]  # fmt: skip
PERSONAS = [None, "office"]
_PARAM = re.compile(r"<(?:\w+:)?(\w+)>|\(\?P<(\w+)>[^)]*\)")


def walk(patterns, prefix=""):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            yield from walk(entry.url_patterns, prefix + str(entry.pattern))
        elif isinstance(entry, URLPattern):
            yield prefix + str(entry.pattern)


def routes() -> list[str]:
    return sorted(set(walk(get_resolver().url_patterns)))


def fill(route: str, values: dict[str, str], hostile: tuple[str, str] | None = None) -> str:
    def one(match: re.Match) -> str:
        name = match[1] or match[2]
        if hostile and name == hostile[0]:
            return hostile[1]
        return values.get(name, "1")

    path = _PARAM.sub(one, route)
    return "/" + path.replace("^", "").replace("$", "").replace("\\", "")


@pytest.fixture
def values(make_pilot, orgs, personas, time_machine) -> dict[str, str]:
    time_machine.move_to(dt.datetime(2026, 7, 6, 10, tzinfo=dt.UTC))
    personas["office"].is_staff = True
    personas["office"].save()
    pilot = make_pilot(
        regions=[orgs["county"]], ledger_since=dt.date(2026, 1, 5), status=Status.ACTIVE
    )
    return {
        "code": pilot.code,
        "year": "2026",
        "quarter": "2",
        "half": "1",
        "kind": "closure",
        "app_label": "pilots",
        "token": "no-such-feed-token",
    }


def _sign_in(client, personas, persona):
    """Signed in as `persona` (anonymous for None), signing in again only when a request
    changed that (a POST to logout)."""
    user = personas[persona] if persona else None
    if client.session.get("_auth_user_id") == (None if user is None else str(user.pk)):
        return
    client.logout()
    if user is not None:
        client.force_login(user)


def _is_edge_refusal(response, status: int) -> bool:
    if response.status_code != status:
        return False
    if response["Content-Type"].startswith("application/json"):
        return "detail" in response.json()
    text = response.content.decode()
    return "不允许的" in text or "未找到该地址" in text


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: v if len(v) < 20 else f"{v[0]}x{len(v)}")
def test_hostile_path_parameters_never_get_a_server_error(client, personas, values, persona, value):
    client.raise_request_exception = False
    problems = []
    sent = 0
    for route in routes():
        names = [m[1] or m[2] for m in _PARAM.finditer(route)]
        for name in names:
            url = fill(route, values, (name, value))
            for method in ("get", "post"):
                # Each request starts signed in as the persona (a POST to logout must not
                # spill over).
                _sign_in(client, personas, persona)
                response = getattr(client, method)(url)
                sent += 1
                if response.status_code >= 500:
                    problems.append((method, url, response.status_code))
                elif (value in CONTROL_VALUES or len(value) > 200) and not (
                    _is_edge_refusal(response, 404)
                ):
                    problems.append((method, url, response.status_code))
    assert sent > 200
    assert problems == []


@pytest.mark.parametrize("persona", [*PERSONAS, "dept"], ids=lambda p: p or "anonymous")
@pytest.mark.parametrize("value", NUMBERS, ids=lambda v: v if len(v) < 20 else f"{v[0]}x{len(v)}")
def test_impossible_numbers_in_integer_path_parameters_never_get_a_server_error(
    client, personas, values, persona, value
):
    """Year, quarter, half, month and ids that cannot exist (as the lead department too,
    which may open its pilots' report forms and its half-year summaries) answer 404 or a
    page saying so, never a 500; and a GET creates nothing."""
    from ledger.models import HalfYearSummary

    client.raise_request_exception = False
    problems = []
    sent = 0
    for route in routes():
        names = [m[1] or m[2] for m in _PARAM.finditer(route)]
        for name in names:
            if name not in INT_PARAMS:
                continue
            url = fill(route, values, (name, value))
            for method in ("get", "post"):
                _sign_in(client, personas, persona)
                response = getattr(client, method)(url)
                sent += 1
                if response.status_code >= 500:
                    problems.append((method, url, response.status_code))
    assert sent > 20
    assert problems == []
    assert not HalfYearSummary.objects.exclude(year=2026).exists()


@pytest.mark.parametrize("persona", PERSONAS, ids=lambda p: p or "anonymous")
@pytest.mark.parametrize("value", HOSTILE, ids=lambda v: v if len(v) < 20 else f"{v[0]}x{len(v)}")
def test_hostile_query_parameters_never_get_a_server_error(
    client, personas, values, persona, value
):
    client.raise_request_exception = False
    problems = []
    plain = [fill(route, values) for route in routes() if not _PARAM.search(route)]
    plain = [url for url in plain if "logout" not in url]
    _sign_in(client, personas, persona)
    everything = "&".join(f"{key}={value}" for key in QUERY_KEYS)
    expected_refusal = value in CONTROL_VALUES
    for url in plain:
        response = client.get(f"{url}?{everything}")
        if response.status_code >= 500 or (
            expected_refusal and not _is_edge_refusal(response, 400)
        ):
            problems.append((url, response.status_code))
    assert problems == []


@pytest.mark.parametrize("value", ["a" * 300, "%E2%80%AE", "%"], ids=["long", "bidi", "percent"])
def test_each_query_parameter_alone_never_gets_a_server_error(client, personas, values, value):
    """One parameter at a time: a view that fails on one must not hide another. Control
    values are refused before any view runs (above), so only the others are sent here."""
    client.raise_request_exception = False
    problems = []
    _sign_in(client, personas, "office")
    for url in MAIN_PAGES:
        for key in QUERY_KEYS:
            response = client.get(f"{url}?{key}={value}")
            if response.status_code >= 500:
                problems.append((url, key, response.status_code))
    assert problems == []
