"""Promotion in the browser (R3.4, N3): the office recognises a pilot as a demonstration case
from its page, drafts a list edition, publishes it, and an anonymous visitor finds it at
/public/; a draft stays invisible there."""

from __future__ import annotations

import datetime as dt

import pytest

from reviews.constants import ListStatus
from reviews.models import PublishedList

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

NAME = "安吉县生态产品价值实现机制改革试点"


def test_the_office_publishes_a_list_and_a_visitor_finds_it_R3_4(
    page, login, shot, steps, make_pilot, orgs, personas
):
    pilot = make_pilot(name=NAME, ledger_since=dt.date(2025, 3, 1), regions=[orgs["county"]])
    login("office")
    page.goto(pilot.get_absolute_url())
    steps.recognise(kind="demonstration", summary="建立生态产品价值核算和两山银行交易机制。")
    assert page.get_by_text("已认定为示范案例。").is_visible()

    steps.open_list_form("2026年第一批示范案例清单")
    shot("draft-form")
    page.get_by_role("button", name="生成清单草稿").click()
    page.wait_for_url("**/reviews/lists/*/")
    assert page.get_by_text("草稿，不公开").is_visible()
    edition = PublishedList.objects.get()

    page.context.clear_cookies()  # an anonymous visitor sees no draft
    page.goto("/public/")
    assert page.get_by_text("2026年第一批示范案例清单").count() == 0

    login("office")
    steps.publish_list(edition.pk)
    edition.refresh_from_db()
    assert edition.status == ListStatus.PUBLISHED

    steps.search_public("安吉")
    page.get_by_role("link", name="2026年第一批示范案例清单").first.click()
    assert page.get_by_text(NAME).is_visible()
    assert page.get_by_text("建立生态产品价值核算和两山银行交易机制。").is_visible()
    shot("public-list")
