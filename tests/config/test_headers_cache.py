"""Answers carrying a user's data are never stored: every API answer to a token, every export
and download, and the page that shows a new API token once carry `Cache-Control: no-store`;
anonymous public pages keep their normal caching. Every 2xx/3xx answer of every URL pattern to
every signed-in persona is checked for it by the walk of test_url_policy, which sends them
all. The patterns come from Django's resolver, as there."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import AnonymousUser
from django.http import HttpResponse
from django.test import RequestFactory
from django.urls import get_resolver

from accounts.tokens import issue_token
from config.headers import must_not_store
from tests.config.test_url_policy import may_store, url_for, walk, world  # noqa: F401


def test_every_api_answer_to_a_token_is_notmay_store(client, personas, world):  # noqa: F811
    _, key = issue_token(personas["dept"], "缓存检查")
    stored = []
    answered = 0
    for route, name, _ in walk(get_resolver().url_patterns):
        if not (name or "").startswith("api:"):
            continue
        client.logout()
        response = client.get(url_for(route, name, world["a"]), HTTP_AUTHORIZATION=f"Token {key}")
        if 200 <= response.status_code < 400:
            answered += 1
            if may_store(response):
                stored.append(name)
    assert answered > 10
    assert stored == []


def test_the_page_showing_a_new_api_token_is_notmay_store(client_for):
    response = client_for("dept").post("/accounts/profile/tokens/", {"name": "对接系统"})
    assert response.status_code == 200 and "rpr_" in response.content.decode()
    assert not may_store(response)
    assert response["Pragma"] == "no-cache"


def test_the_calendar_feed_is_notmay_store(client_for, personas):
    from pilots import calendar

    token = calendar.issue_token(personas["dept"]).token
    response = client_for(None).get(f"/calendar/feed/{token}.ics")
    assert response.status_code == 200 and not may_store(response)


def test_anonymous_public_pages_and_static_files_keep_their_caching(client, personas):
    response = client.get("/public/")
    assert response.status_code == 200 and may_store(response)
    request = RequestFactory().get("/public/")
    request.user = AnonymousUser()
    assert must_not_store(request, response) is False
    # Static files (served by WhiteNoise before the middleware) stay cacheable signed in too.
    request = RequestFactory().get("/static/css/app.css")
    request.user = personas["dept"]
    assert must_not_store(request, HttpResponse("body{}")) is False


@pytest.mark.parametrize("path", ["/pilots/", "/ledger/export.xlsx"])
def test_a_signed_in_page_or_export_answers_exactly_no_store(client_for, path):
    response = client_for("dept").get(path)
    assert response.status_code == 200
    assert response["Cache-Control"] == "no-store"
