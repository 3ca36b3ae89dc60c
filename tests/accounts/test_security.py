"""Security of sign-in, sessions, headers and the audit log (ASVS 5.0 L2, GB/T 22239 L2)."""

from __future__ import annotations

import datetime as dt
import os
import re
import subprocess
import sys
from pathlib import Path

import pytest
from django.contrib.auth.password_validation import validate_password
from django.core.exceptions import ValidationError
from django.urls import reverse

from accounts.constants import AuditAction, Role
from accounts.models import AuditEvent
from tests.factories import PASSWORD, UserFactory

ROOT = Path(__file__).resolve().parents[2]
LOGIN = "/accounts/login/"


def sign_in(client, username: str, password: str, ip: str = "10.0.0.1"):
    return client.post(LOGIN, {"username": username, "password": password}, REMOTE_ADDR=ip)


# --- passwords ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("password", "accepted"),
    [
        ("Ab1-Xy9#Qz", True),  # four classes, ten characters
        ("abcdefgh12", False),  # two classes
        ("Ab1xy9", False),  # too short
        ("Password123", False),  # a common password
        ("1234567890", False),  # numbers only
    ],
)
def test_password_rules_length_three_classes_common_and_numeric(db, password, accepted):
    if accepted:
        validate_password(password)
    else:
        with pytest.raises(ValidationError):
            validate_password(password)


def test_password_similar_to_the_user_is_refused(db):
    user = UserFactory(username="zhangwei2026", display_name="张伟")
    with pytest.raises(ValidationError):
        validate_password("Zhangwei2026!", user)


# --- failed sign-ins (django-axes) -------------------------------------------------------------


def test_five_failures_lock_the_user_on_that_address_only(client, personas):
    for _ in range(4):
        assert sign_in(client, "dept", "wrong-password").status_code == 200
    # The fifth failure locks the pair; the right password no longer helps.
    assert sign_in(client, "dept", "wrong-password").status_code == 429
    locked = sign_in(client, "dept", PASSWORD)
    assert locked.status_code == 429
    assert "登录已暂时锁定" in locked.content.decode()
    # Another user behind the same address (a shared NAT) signs in as usual …
    assert sign_in(client, "office", PASSWORD).status_code == 302
    client.logout()
    # … and so does the same user from another address.
    assert sign_in(client, "dept", PASSWORD, ip="10.0.0.2").status_code == 302
    actions = list(AuditEvent.objects.filter(username="dept").values_list("action", flat=True))
    assert actions.count(AuditAction.LOGIN_FAILED) >= 5
    assert AuditAction.LOCKED_OUT in actions


def test_the_lock_lifts_after_the_cool_off(client, personas, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC), tick=False)
    for _ in range(5):
        sign_in(client, "dept", "wrong-password")
    assert sign_in(client, "dept", PASSWORD).status_code == 429
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 31, tzinfo=dt.UTC), tick=False)
    assert sign_in(client, "dept", PASSWORD).status_code == 302


def test_every_login_failure_and_logout_is_audited_with_its_address(client, personas):
    sign_in(client, "dept", "nope", ip="192.0.2.7")
    sign_in(client, "dept", PASSWORD, ip="192.0.2.7")
    client.post(reverse("logout"), REMOTE_ADDR="192.0.2.7")
    events = list(
        AuditEvent.objects.filter(username="dept").order_by("pk").values_list("action", "ip")
    )
    assert events == [
        (AuditAction.LOGIN_FAILED, "192.0.2.7"),
        (AuditAction.LOGIN, "192.0.2.7"),
        (AuditAction.LOGOUT, "192.0.2.7"),
    ]


# --- sessions ------------------------------------------------------------------------------------


def test_a_session_ends_after_thirty_idle_minutes(client, personas, time_machine):
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, tzinfo=dt.UTC), tick=False)
    sign_in(client, "dept", PASSWORD)
    time_machine.move_to(dt.datetime(2026, 11, 23, 9, 29, tzinfo=dt.UTC), tick=False)
    assert client.get("/").status_code == 200
    time_machine.move_to(dt.datetime(2026, 11, 23, 10, 0, tzinfo=dt.UTC), tick=False)
    response = client.get("/pilots/")
    assert response.status_code == 302 and response["Location"].startswith(LOGIN)
    assert client.get("/").status_code == 302


def test_a_session_ends_at_its_absolute_lifetime_even_when_active(
    client, personas, time_machine, settings
):
    settings.SESSION_COOKIE_AGE = 8 * 3600
    start = dt.datetime(2026, 11, 23, 1, tzinfo=dt.UTC)
    time_machine.move_to(start, tick=False)
    sign_in(client, "dept", PASSWORD)
    for minutes in range(20, 8 * 60, 20):
        time_machine.move_to(start + dt.timedelta(minutes=minutes), tick=False)
        assert client.get("/").status_code == 200, minutes
    time_machine.move_to(start + dt.timedelta(hours=8, minutes=5), tick=False)
    assert client.get("/").status_code == 302


# --- headers -------------------------------------------------------------------------------------

PAGES = ["/", "/pilots/", "/ledger/", "/dashboard/", "/calendar/", "/api/docs/", "/admin/"]


@pytest.mark.parametrize("path", [LOGIN, "/public/", *PAGES])
def test_security_headers_on_every_page(client, personas, path):
    if path not in (LOGIN, "/public/"):
        client.force_login(personas["office"])
    response = client.get(path, follow=True)
    assert response.status_code == 200
    csp = response["Content-Security-Policy"]
    script_src = re.search(r"script-src ([^;]*)", csp)[1]
    assert "'self'" in script_src and "unsafe-inline" not in script_src
    assert "unsafe-eval" not in csp and "frame-ancestors 'none'" in csp
    assert response["X-Content-Type-Options"] == "nosniff"
    assert response["Referrer-Policy"] == "same-origin"
    assert response["X-Frame-Options"] == "DENY"


def test_no_template_carries_inline_script_or_event_handlers():
    offenders = []
    for path in (ROOT / "templates").rglob("*.html"):
        text = path.read_text()
        for match in re.finditer(r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", text):
            offenders.append(f"{path.name}: {match[0]}")
        for match in re.finditer(r"\son[a-z]+\s*=", text):
            offenders.append(f"{path.name}: {match[0]}")
    assert offenders == []


def test_production_settings_pass_the_deploy_check_with_no_warning(tmp_path):
    # The browser tests set DJANGO_ALLOW_ASYNC_UNSAFE in this process; production never does.
    inherited = {k: v for k, v in os.environ.items() if k != "DJANGO_ALLOW_ASYNC_UNSAFE"}
    env = {
        **inherited,
        "DEBUG": "false",
        "SECRET_KEY": "k8#" + "x7Qp2LmZ9vR4tY6wB1nC3dF5gH0jK" * 3,
        "ALLOWED_HOSTS": "registry.example.gov.cn",
        "DATABASE_URL": f"sqlite:///{tmp_path / 'deploy.sqlite3'}",
    }
    result = subprocess.run(
        [sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        check=False,
    )
    assert result.returncode == 0, result.stdout + result.stderr
    assert "no issues" in result.stdout


# --- the audit log ---------------------------------------------------------------------------


@pytest.fixture
def auditor(orgs):
    return UserFactory(username="auditor", organisation=orgs["office"], role=Role.AUDITOR)


def test_audit_log_is_read_by_the_auditor_only(client, personas, auditor):
    client.force_login(auditor)
    assert client.get(reverse("audit_log")).status_code == 200
    for name in ("office", "dept", "hangzhou", "expert"):
        client.force_login(personas[name])
        response = client.get(reverse("audit_log"))
        assert response.status_code == 403, name
        assert "审计日志仅安全审计员" in response.content.decode()


def test_audit_events_cannot_be_changed_or_deleted(db, personas):
    from accounts.audit import record

    event = record(AuditAction.EXPORT, "导出台账", user=personas["office"])
    event.summary = "篡改"
    with pytest.raises(PermissionError):
        event.save()
    with pytest.raises(PermissionError):
        event.delete()
    assert AuditEvent.objects.get(pk=event.pk).summary == "导出台账"


def test_changes_permissions_downloads_and_exports_are_audited(
    client, personas, make_pilot, auditor
):
    client.force_login(personas["office"])
    pilot = make_pilot(name="审计试点")
    client.get("/ledger/export.xlsx", REMOTE_ADDR="198.51.100.4")
    dept = personas["dept"]
    dept.role = Role.COUNTY
    dept._history_user = personas["office"]
    dept.save()
    client.force_login(auditor)
    events = AuditEvent.objects.all()
    assert events.filter(action=AuditAction.CHANGE, object_id=str(pilot.pk)).exists()
    export = events.get(action=AuditAction.EXPORT)
    assert (export.username, export.ip) == ("office", "198.51.100.4")
    permission = (
        events.filter(action=AuditAction.PERMISSION, object_id=str(dept.pk)).order_by("pk").last()
    )
    assert permission.user == personas["office"] and permission.summary.startswith("修改用户")
    page = client.get(reverse("audit_log"), {"action": AuditAction.EXPORT}).content.decode()
    assert "198.51.100.4" in page


def test_passwords_are_hashed_with_argon2_and_older_hashes_upgrade_at_sign_in(client, db, settings):
    from django.conf import settings as configured
    from django.contrib.auth.hashers import make_password

    from config import settings as project_settings

    # the project's own list, not the tests' fast one
    settings.PASSWORD_HASHERS = project_settings.PASSWORD_HASHERS
    assert configured.PASSWORD_HASHERS[0].endswith("Argon2PasswordHasher")
    user = UserFactory(username="legacy")
    # given a password stored by an earlier release, with PBKDF2
    user.password = make_password("Legacy-pass-2026!", hasher="pbkdf2_sha256")
    user.save(update_fields=["password"])
    # when its owner signs in, it still works, and the hash is upgraded to Argon2id
    response = client.post(
        "/accounts/login/", {"username": "legacy", "password": "Legacy-pass-2026!"}
    )
    assert response.status_code == 302
    user.refresh_from_db()
    assert user.password.startswith("argon2$argon2id$")
    assert user.check_password("Legacy-pass-2026!")
