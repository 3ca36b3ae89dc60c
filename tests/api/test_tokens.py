"""Personal API tokens: issued on the profile page and shown once, stored only as a hash,
used in the Authorization header, revocable; a revoked token is refused."""

from __future__ import annotations

import re

import pytest
from django.urls import reverse

from accounts.models import ApiToken
from accounts.tokens import issue_token

ME = "/api/v1/me/"


def test_profile_page_issues_a_token_shown_once_that_authenticates(client_for, personas, client):
    page = client_for("dept").post(reverse("token_create"), {"name": "数据交换平台"})
    assert page.status_code == 200
    key = re.search(r'id="new-token">(rpr_[\w-]+)<', page.content.decode())[1]
    token = ApiToken.objects.get(user=personas["dept"])
    assert token.name == "数据交换平台" and key not in token.key_hash and token.prefix == key[:10]
    # Shown once: the profile page afterwards lists the token by prefix only.
    listing = client.get(reverse("profile")).content.decode()
    assert key not in listing and token.prefix in listing
    client.logout()
    me = client.get(ME, HTTP_AUTHORIZATION=f"Token {key}")
    assert me.status_code == 200 and me.json()["username"] == "dept"
    token.refresh_from_db()
    assert token.last_used_at is not None


def test_revoked_token_gets_401_and_stays_on_record(client_for, personas, client):
    token, key = issue_token(personas["dept"], "对接系统")
    client_for("dept").post(reverse("token_revoke", args=[token.pk]))
    token.refresh_from_db()
    assert token.revoked_at is not None
    assert "已吊销" in client.get(reverse("profile")).content.decode()
    client.logout()
    response = client.get(ME, HTTP_AUTHORIZATION=f"Token {key}")
    assert response.status_code == 401
    assert "已吊销" in response.json()["detail"]


def test_nobody_revokes_another_users_token(client_for, personas):
    token, key = issue_token(personas["dept"], "对接系统")
    response = client_for("office").post(reverse("token_revoke", args=[token.pk]))
    assert response.status_code == 404
    token.refresh_from_db()
    assert token.revoked_at is None


@pytest.mark.parametrize(
    "header",
    ["Token", "Token a b", "Token rpr_unknown", "Bearer nottoken", "Token " + "x" * 500],
)
def test_malformed_or_unknown_tokens_get_401(client, personas, header):
    response = client.get(ME, HTTP_AUTHORIZATION=header)
    assert response.status_code == 401
    assert any("\u4e00" <= ch <= "\u9fff" for ch in response.json()["detail"])


def test_disabled_account_tokens_stop_working(client, personas):
    _, key = issue_token(personas["dept"], "对接系统")
    personas["dept"].is_active = False
    personas["dept"].save()
    assert client.get(ME, HTTP_AUTHORIZATION=f"Token {key}").status_code == 401


def test_token_needs_a_name_and_a_user_holds_a_limited_number(client_for, personas, settings):
    settings.API_TOKENS_PER_USER = 2
    client = client_for("dept")
    response = client.post(reverse("token_create"), {"name": "  "}, follow=True)
    assert "请填写令牌用途" in response.content.decode()
    for n in range(2):
        issue_token(personas["dept"], f"系统{n}")
    response = client.post(reverse("token_create"), {"name": "第三个"}, follow=True)
    assert "最多同时持有2个有效令牌" in response.content.decode()
    assert ApiToken.objects.filter(user=personas["dept"]).count() == 2


def test_session_users_need_the_csrf_token_for_writes(personas, world):
    from django.test import Client

    client = Client(enforce_csrf_checks=True)
    client.force_login(personas["office"])
    response = client.post(
        f"/api/v1/pilots/{world['a'].code}/restore/",
        {"reason": "误清理"},
        content_type="application/json",
    )
    assert response.status_code == 403
    assert "CSRF" in response.json()["detail"]
