"""Behind AXES_PROXY_COUNT trusted reverse proxies, sign-in throttling and the audit log both
key on the real client: the rightmost X-Forwarded-For address the proxies did not write.
Entries a client puts in the header itself change nothing."""

from __future__ import annotations

import pytest
from django.test import RequestFactory

from accounts.constants import AuditAction
from accounts.models import AuditEvent
from accounts.network import client_ip
from tests.factories import PASSWORD

LOGIN = "/accounts/login/"
PROXY = "10.0.0.254"  # the reverse proxy, as Django sees it (REMOTE_ADDR)
ALICE = "198.51.100.10"
BOB = "198.51.100.20"


@pytest.fixture
def behind_one_proxy(settings):
    settings.AXES_IPWARE_PROXY_COUNT = 1


def sign_in(client, password: str, forwarded_for: str, username: str = "dept"):
    return client.post(
        LOGIN,
        {"username": username, "password": password},
        REMOTE_ADDR=PROXY,
        HTTP_X_FORWARDED_FOR=forwarded_for,
    )


def test_locking_out_one_client_behind_the_proxy_leaves_another_client_alone(
    client, personas, behind_one_proxy
):
    for _ in range(5):
        sign_in(client, "wrong-password", ALICE)
    assert sign_in(client, PASSWORD, ALICE).status_code == 429
    # Same proxy, same user name, another client: not locked.
    assert sign_in(client, PASSWORD, BOB).status_code == 302
    failures = AuditEvent.objects.filter(action=AuditAction.LOGIN_FAILED, username="dept")
    assert set(failures.values_list("ip", flat=True)) == {ALICE}


def test_a_client_prepending_a_forged_address_is_still_locked_out(
    client, personas, behind_one_proxy
):
    for n in range(5):
        # Each attempt claims another origin; the proxy appends the real one.
        sign_in(client, "wrong-password", f"203.0.113.{n + 1}, {ALICE}")
    assert sign_in(client, PASSWORD, f"192.0.2.77, {ALICE}").status_code == 429
    assert sign_in(client, PASSWORD, ALICE).status_code == 429
    assert AuditEvent.objects.filter(action=AuditAction.LOCKED_OUT, ip=ALICE).exists()
    assert not AuditEvent.objects.filter(ip__startswith="203.0.113.").exists()


def test_without_a_proxy_count_the_forwarded_header_is_ignored(client, personas, settings):
    settings.AXES_IPWARE_PROXY_COUNT = 0
    for _ in range(5):
        sign_in(client, "wrong-password", ALICE)
    # A direct client cannot pick a fresh address with the header.
    assert sign_in(client, PASSWORD, BOB).status_code == 429
    assert set(AuditEvent.objects.values_list("ip", flat=True)) - {None} == {PROXY}


@pytest.mark.parametrize(
    ("proxies", "forwarded_for", "expected"),
    [
        (1, ALICE, ALICE),
        (1, f"203.0.113.9, {ALICE}", ALICE),
        (2, f"203.0.113.9, {ALICE}, 10.0.0.3", ALICE),
        (2, ALICE, ALICE),  # skipped the outer proxy: the entry a trusted proxy wrote
        (1, "[2001:db8::1]:443", "2001:db8::1"),
        (1, f"{ALICE}:5123", ALICE),
        (1, "not-an-address", PROXY),
        (1, "", PROXY),
        (0, ALICE, PROXY),
    ],
)
def test_the_client_address_is_the_rightmost_entry_the_proxies_did_not_write(
    settings, proxies, forwarded_for, expected
):
    settings.AXES_IPWARE_PROXY_COUNT = proxies
    request = RequestFactory().get("/", REMOTE_ADDR=PROXY, HTTP_X_FORWARDED_FOR=forwarded_for)
    assert client_ip(request) == expected
