"""The security auditor reads the audit log and nothing else: every business page and API
answer refuses it, its navigation offers only what it may open, and its home is the log."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.constants import Role
from accounts.models import Notification
from tests.factories import UserFactory


@pytest.fixture
def auditor(orgs):
    return UserFactory(username="auditor", organisation=orgs["office"], role=Role.AUDITOR)


@pytest.mark.parametrize(
    "path",
    [
        "/pilots/",
        "/pilots/calls/",
        "/ledger/",
        "/ledger/export.xlsx",
        "/pilots/overdue/export.xlsx",
        "/reviews/scorecards/",
        "/calendar/",
        "/accounts/notifications/",
        "/api/v1/pilots/",
        "/api/v1/calls/",
        "/api/v1/notifications/",
    ],
)
def test_the_auditor_is_refused_every_business_page_and_api(client, auditor, path):
    client.force_login(auditor)
    answer = client.get(path)
    assert answer.status_code == 403
    assert "审计日志" in answer.content.decode()


def test_the_auditors_home_is_the_audit_log(client, auditor):
    client.force_login(auditor)
    answer = client.get(reverse("home"))
    assert answer.status_code == 302 and answer["Location"] == reverse("audit_log")
    assert client.get(reverse("audit_log")).status_code == 200


def test_every_link_the_auditor_is_shown_opens_for_it(client, auditor):
    client.force_login(auditor)
    for page in (reverse("audit_log"), reverse("profile")):
        html = client.get(page).content.decode()
        links = set(re.findall(r'href="(/[^"#?]*)', html)) - {"/static/"}
        links = {link for link in links if not link.startswith("/static/")}
        assert links, page
        for link in links:
            status = client.get(link).status_code
            assert status < 400, (page, link, status)
        assert 'action="/accounts/profile/tokens/"' not in html


def test_the_auditor_gets_no_business_notice_by_email(orgs, auditor, mailoutbox, settings):
    from accounts.notify import notify

    auditor.email = "auditor@example.gov.cn"
    auditor.save()
    office_user = UserFactory(
        username="o2", organisation=orgs["office"], role=Role.OFFICE, email="o2@example.gov.cn"
    )
    notify(organisation=orgs["office"], subject="待确认备案")
    recipients = {address for mail in mailoutbox for address in mail.to}
    assert office_user.email in recipients or not mailoutbox
    assert auditor.email not in recipients
    assert Notification.objects.filter(subject="待确认备案").exists()
