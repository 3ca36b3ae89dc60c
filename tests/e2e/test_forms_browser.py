"""Form help in the browser: the live character counter, the searchable unit selects (Tom
Select, departments with their divisions grouped) and milestone rows added and removed on the
page, all from static/js/forms.js under the Content-Security-Policy."""

from __future__ import annotations

import datetime as dt

import pytest
from django.utils import timezone
from playwright.sync_api import expect

from accounts.constants import OrgKind
from accounts.models import Organisation
from pilots.calls import open_call
from pilots.models import Pilot

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]


@pytest.fixture
def call(personas):
    return open_call(
        actor=personas["office"],
        title="2026年度生态环保领域改革试点申报",
        deadline=timezone.now() + dt.timedelta(days=30),
        prefecture_quota=2,
    )


def test_counter_searchable_selects_and_added_rows(page, switch_to, shot, orgs, call):
    errors: list[str] = []
    page.on("pageerror", lambda exc: errors.append(str(exc)))
    page.on(
        "response",
        lambda r: errors.append(f"{r.status} {r.url}") if r.status >= 400 else None,
    )
    switch_to("county")
    page.goto(f"/pilots/calls/{call.pk}/apply/")

    # The counter follows what is typed.
    counter = page.locator("#id_goal + .counter")
    assert counter.inner_text() == "已输入 0 / 3000 字"
    page.fill("#id_goal", "建立生态环境损害赔偿磋商制度。")
    assert counter.inner_text() == "已输入 15 / 3000 字"

    # The lead department is chosen by typing; the divisions stand under their department.
    division = Organisation.objects.filter(kind=OrgKind.DIVISION, parent=orgs["dept"]).first()
    lead = page.locator("#id_lead_department + .ts-wrapper")
    lead.locator(".ts-control").click()
    dropdown = lead.locator(".ts-dropdown")
    # The dropdown opens after the click: wait for it rather than count at once.
    expect(dropdown.locator(".optgroup-header", has_text=orgs["dept"].name)).to_have_count(1)
    lead.locator("input").fill(division.name[-4:])
    dropdown.locator(".option", has_text=division.name).click()
    assert page.input_value("#id_lead_department") == str(division.pk)
    # The regions select is searchable too (no Ctrl-click list).
    assert page.locator("#id_regions + .ts-wrapper").count() == 1

    # Milestone rows: two added, one removed.
    page.fill("#id_name", "添加节点的申报")
    page.click("text=添加一行")
    page.click("text=添加一行")
    assert page.input_value("#id_ms-TOTAL_FORMS") == "5"
    page.fill("#id_ms-3-due_date", "2026-12-31")
    page.fill("#id_ms-3-title", "完成制度设计")
    page.fill("#id_ms-4-due_date", "2027-03-31")
    page.fill("#id_ms-4-title", "全面推开")
    page.fill("#id_ms-0-due_date", "2026-09-30")
    page.fill("#id_ms-0-title", "将被删除的节点")
    page.locator("[data-formset-row]").first.locator("[data-formset-remove]").click()
    assert not page.locator("[data-formset-row]").first.is_visible()
    shot("application-form-helped")
    page.click("text=保存草稿")
    pilot = Pilot.objects.get(name="添加节点的申报")
    page.wait_for_url(f"**/pilots/{pilot.code}/")
    assert [m.title for m in pilot.milestones.all()] == ["完成制度设计", "全面推开"]
    assert pilot.lead_department == division
    assert pilot.goal == "建立生态环境损害赔偿磋商制度。"
    assert not errors, errors
