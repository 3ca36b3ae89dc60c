"""The first journey: people sign in and find their pilots in the browser."""

from __future__ import annotations

import pytest

from pilots.constants import Status

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def library(personas, orgs, make_pilot):
    """An active pilot in Hangzhou, one in Ningbo, and a Ningbo county's private draft."""
    return {
        "hz": make_pilot(name="杭州市排污权有偿使用和交易试点", regions=[orgs["hangzhou"]]),
        "nb": make_pilot(name="宁波市生态环境损害赔偿制度改革试点", regions=[orgs["ningbo"]]),
        "nb_draft": make_pilot(
            name="鄞州区河长制考核机制试点（草稿）",
            status=Status.DRAFT,
            applicant=orgs["nb_county"],
            regions=[orgs["nb_county"]],
        ),
    }


def test_office_signs_in_and_sees_every_pilot(page, login, shot, library):
    login("office")
    assert page.locator("h1").first.inner_text() == "我的工作"
    shot("home")
    page.click("text=试点库")
    page.wait_for_url("**/pilots/**")
    body = page.locator("table").inner_text()
    for pilot in library.values():
        assert pilot.code in body
    shot("pilot-list")
    page.click(f"text={library['hz'].code}")
    page.wait_for_url(f"**/pilots/{library['hz'].code}/")
    assert "杭州市排污权有偿使用和交易试点" in page.locator("h1").inner_text()
    assert "变更历史" in page.content()
    shot("pilot-detail")


def test_prefecture_sees_its_own_pilots_only(page, login, shot, library):
    login("hangzhou")
    page.goto("/pilots/")
    body = page.locator("table").inner_text()
    assert library["hz"].code in body
    assert library["nb"].code not in body
    assert library["nb_draft"].code not in body
    shot("pilot-list")
    response = page.goto(f"/pilots/{library['nb_draft'].code}/")
    assert response.status == 404


def test_wrong_password_is_refused_in_chinese(page, personas):
    page.goto("/accounts/login/")
    page.fill("#id_username", "office")
    page.fill("#id_password", "wrong-password")
    page.click("button[type=submit]")
    assert "用户名或密码不正确" in page.locator(".form-errors").inner_text()
