"""Personal API tokens expire API_TOKEN_DAYS after they are issued: an expired token
authenticates nobody, the profile page shows the expiry date and 已过期, and expired tokens do
not count against the per-user limit. The limit holds under concurrent requests."""

from __future__ import annotations

import datetime as dt
import threading
from zoneinfo import ZoneInfo

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import issue_token

ME = "/api/v1/me/"
SHANGHAI = ZoneInfo("Asia/Shanghai")


def test_a_token_expires_after_the_configured_days_and_then_authenticates_nobody(
    client, personas, time_machine, settings
):
    settings.API_TOKEN_DAYS = 180
    time_machine.move_to(dt.datetime(2025, 10, 2, 10, tzinfo=SHANGHAI), tick=False)
    token, key = issue_token(personas["dept"], "数据交换平台")
    assert token.expires_at == dt.datetime(2026, 3, 31, 10, tzinfo=SHANGHAI)
    time_machine.move_to(dt.datetime(2026, 3, 31, 9, 59, tzinfo=SHANGHAI), tick=False)
    assert client.get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 200
    time_machine.move_to(dt.datetime(2026, 3, 31, 10, 0, 1, tzinfo=SHANGHAI), tick=False)
    assert client.get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_the_profile_page_shows_the_expiry_date_and_expired_tokens(
    client_for, personas, time_machine, settings
):
    settings.API_TOKEN_DAYS = 180
    time_machine.move_to(dt.datetime(2025, 10, 2, 10, tzinfo=SHANGHAI), tick=False)
    issue_token(personas["dept"], "旧系统")
    time_machine.move_to(dt.datetime(2026, 1, 5, 10, tzinfo=SHANGHAI), tick=False)
    page = client_for("dept").get(reverse("profile")).content.decode()
    assert "2026年3月31日" in page and "已过期" not in page and "180 天后过期" in page
    time_machine.move_to(dt.datetime(2026, 4, 1, 10, tzinfo=SHANGHAI), tick=False)
    page = client_for("dept").get(reverse("profile")).content.decode()
    assert "已过期" in page
    # An expired token cannot be revoked any more: it no longer works anyway.
    assert "吊销</button>" not in page


def test_expired_tokens_do_not_count_against_the_limit(personas, time_machine, settings):
    settings.API_TOKENS_PER_USER = 2
    settings.API_TOKEN_DAYS = 30
    time_machine.move_to(dt.datetime(2026, 1, 1, 9, tzinfo=SHANGHAI), tick=False)
    issue_token(personas["dept"], "一")
    issue_token(personas["dept"], "二")
    with pytest.raises(ValidationError):
        issue_token(personas["dept"], "三")
    time_machine.move_to(dt.datetime(2026, 2, 1, 9, tzinfo=SHANGHAI), tick=False)
    token, _ = issue_token(personas["dept"], "三")
    assert token.pk is not None
    assert ApiToken.objects.filter(user=personas["dept"]).count() == 3


@pytest.mark.django_db(transaction=True)
def test_parallel_requests_never_issue_more_tokens_than_the_limit(personas, settings):
    if connection.vendor != "postgresql":
        pytest.skip("row locks need PostgreSQL; CI runs this against it")
    settings.API_TOKENS_PER_USER = 5
    user = personas["dept"]
    contenders = 10
    start = threading.Barrier(contenders)
    issued: list[int] = []
    refused: list[str] = []
    lock = threading.Lock()

    def issue(n: int) -> None:
        from django.db import connection as thread_connection

        try:
            start.wait(timeout=10)
            token, _ = issue_token(user, f"并发{n}")
            with lock:
                issued.append(token.pk)
        except ValidationError as exc:
            with lock:
                refused.append(" ".join(exc.messages))
        finally:
            thread_connection.close()

    threads = [threading.Thread(target=issue, args=(n,)) for n in range(contenders)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    assert len(issued) == 5 and len(refused) == 5
    assert all("最多同时持有5个有效令牌" in message for message in refused)
    assert ApiToken.objects.filter(user=user, revoked_at__isnull=True).count() == 5
