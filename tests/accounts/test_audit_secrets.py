"""Secrets never enter the audit log: the calendar feed's token in its address, the token of
a password-reset link and secret-named query parameters are recorded redacted, so an auditor
reading /audit/ cannot learn a feed address and fetch someone's deadlines without signing in."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.audit import REDACTED, record, redact_path
from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent
from pilots import calendar
from tests.factories import UserFactory


@pytest.fixture
def auditor(orgs):
    return UserFactory(username="auditor", organisation=orgs["office"], role=Role.AUDITOR)


def _fields(event: AuditEvent) -> list[str]:
    return [str(getattr(event, f.attname)) for f in AuditEvent._meta.concrete_fields]


def test_the_auditor_never_sees_a_calendar_feed_token(client, client_for, personas, auditor):
    client_for("dept").post("/calendar/token/", {"action": "issue"})
    token = calendar.active_token(personas["dept"]).token
    client.logout()
    assert client.get(f"/calendar/feed/{token}.ics").status_code == 200
    fetched = AuditEvent.objects.filter(path__startswith="/calendar/feed/")
    assert fetched.filter(action=AuditAction.EXPORT).exists()

    client.force_login(auditor)
    page = client.get("/audit/").content.decode()

    assert "/calendar/feed/" in page  # the fetch is on record
    assert token not in page and token[4:] not in page
    leaks = [e.pk for e in AuditEvent.objects.all() if any(token[4:] in v for v in _fields(e))]
    assert leaks == []
    assert fetched.first().path == f"/calendar/feed/{token[:4]}{REDACTED}.ics"


@pytest.mark.parametrize("prefix", ["/accounts/password/reset/", "/accounts/reset/"])
def test_a_password_reset_link_is_recorded_without_its_token(db, prefix):
    request = RequestFactory().get(f"{prefix}MTI/cbx2jk-5f1b0c9e8d7a6b5c4d3e2f10/")
    event = record(AuditAction.CHANGE, "重置密码链接", request=request)
    event.refresh_from_db()
    assert event.path == f"{prefix}MTI/{REDACTED}/"
    assert not any("5f1b0c9e8d7a6b5c4d3e2f10" in v for v in _fields(event))
    # The pages around it carry no secret and are recorded as they are.
    assert redact_path(f"{prefix}sent/") == (f"{prefix}sent/", [])


def test_a_secret_echoed_in_the_summary_is_redacted_too(db):
    secret = "Zq8-secret-value-0123456789abcdef"
    request = RequestFactory().get(f"/calendar/feed/{secret}.ics")
    event = record(AuditAction.EXPORT, f"导出 feed {secret}", request=request)
    event.refresh_from_db()
    assert secret not in event.summary and REDACTED in event.summary


def test_secret_named_query_parameters_are_redacted_and_others_kept():
    path, secrets = redact_path("/api/v1/x/?access_token=abc123&api_key=k9&page=2&SECRET=s1")
    assert path == (
        f"/api/v1/x/?access_token={REDACTED}&api_key={REDACTED}&page=2&SECRET={REDACTED}"
    )
    assert {"abc123", "k9", "s1"} <= set(secrets)
    assert redact_path("/pilots/?q=token") == ("/pilots/?q=token", [])
