"""Settings come from the environment through typed readers that fail loudly."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest

from config.env import ImproperlyConfiguredEnv, env_bool, env_int, env_list, env_str

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize(
    ("raw", "expected"),
    [
        ("1", True),
        ("true", True),
        ("Yes", True),
        ("on", True),
        ("0", False),
        ("false", False),
        ("", False),
        ("off", False),
    ],
)
def test_booleans_are_read_in_their_usual_spellings(monkeypatch, raw, expected):
    monkeypatch.setenv("X_FLAG", raw)
    assert env_bool("X_FLAG", default=not expected) is expected


def test_a_malformed_boolean_names_the_variable(monkeypatch):
    monkeypatch.setenv("X_FLAG", "maybe")
    with pytest.raises(ImproperlyConfiguredEnv, match="X_FLAG"):
        env_bool("X_FLAG")


def test_integers_are_checked_for_type_and_minimum(monkeypatch):
    monkeypatch.setenv("X_DAYS", "7")
    assert env_int("X_DAYS", 1, minimum=1) == 7
    monkeypatch.setenv("X_DAYS", "seven")
    with pytest.raises(ImproperlyConfiguredEnv, match="X_DAYS"):
        env_int("X_DAYS", 1)
    monkeypatch.setenv("X_DAYS", "0")
    with pytest.raises(ImproperlyConfiguredEnv, match="at least 1"):
        env_int("X_DAYS", 1, minimum=1)


def test_defaults_apply_when_unset(monkeypatch):
    monkeypatch.delenv("X_UNSET", raising=False)
    assert env_int("X_UNSET", 30) == 30
    assert env_str("X_UNSET", "a") == "a"
    assert env_list("X_UNSET", ["x"]) == ["x"]
    monkeypatch.setenv("X_LIST", "a.gov.cn, b.gov.cn,,")
    assert env_list("X_LIST", []) == ["a.gov.cn", "b.gov.cn"]


def _settings_in_subprocess(env: dict[str, str], expr: str) -> subprocess.CompletedProcess:
    code = f"import django, os; django.setup(); from django.conf import settings; print({expr})"
    full_env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings", **env}
    return subprocess.run(
        [sys.executable, "-c", code], cwd=ROOT, env=full_env, capture_output=True, text=True
    )


def test_production_refuses_to_start_without_a_secret_key():
    result = _settings_in_subprocess({"DEBUG": "false", "SECRET_KEY": ""}, "1")
    assert result.returncode != 0
    assert "SECRET_KEY must be set" in result.stderr


def test_a_bad_deadline_setting_stops_start_up_with_its_name():
    result = _settings_in_subprocess({"PILOT_FILING_DAYS": "a week"}, "1")
    assert result.returncode != 0
    assert "PILOT_FILING_DAYS" in result.stderr


def test_embedded_defaults_need_no_services():
    result = _settings_in_subprocess(
        {"DATABASE_URL": "", "REDIS_URL": ""},
        "settings.DATABASES['default']['ENGINE'], settings.CELERY_TASK_ALWAYS_EAGER, "
        "settings.LANGUAGE_CODE, settings.TIME_ZONE, settings.USE_TZ, settings.SESSION_ENGINE",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.sqlite3",
        "True",
        "zh-hans",
        "Asia/Shanghai",
        "True",
        "django.contrib.sessions.backends.db",
    ]


def test_database_and_broker_come_from_the_environment():
    result = _settings_in_subprocess(
        {
            "DATABASE_URL": "postgres://u:p@db.example:5432/registry",
            "REDIS_URL": "redis://cache:6379/1",
        },
        "settings.DATABASES['default']['ENGINE'], settings.DATABASES['default']['HOST'], "
        "settings.CELERY_BROKER_URL, settings.CELERY_TASK_ALWAYS_EAGER",
    )
    assert result.returncode == 0, result.stderr
    assert result.stdout.split() == [
        "django.db.backends.postgresql",
        "db.example",
        "redis://cache:6379/1",
        "False",
    ]


def test_the_pilot_code_prefix_is_a_setting_checked_at_start_up():
    result = _settings_in_subprocess({"PILOT_CODE_PREFIX": "st-1"}, "1")
    assert result.returncode != 0
    assert "PILOT_CODE_PREFIX" in result.stderr
    result = _settings_in_subprocess({"PILOT_CODE_PREFIX": "ZJ"}, "settings.PILOT_CODE_PREFIX")
    assert result.returncode == 0, result.stderr
    assert "ZJ" in result.stdout


def test_new_pilot_codes_carry_the_configured_prefix(settings, orgs, personas):
    from pilots.codes import next_code

    settings.PILOT_CODE_PREFIX = "ZJ"
    assert next_code(2026).startswith("ZJ-2026-")
