"""On a phone (390×844): every persona's main pages fit the screen's width (wide tables scroll
inside their own box, never the page), the navigation folds into the menu button, which opens
it, and the user's name, unit and 退出 do not break one character per line."""

from __future__ import annotations

import datetime as dt

import pytest
from django.core.management import call_command
from django.utils import timezone

from accounts.constants import Role
from pilots.calls import open_call
from pilots.constants import Status
from tests.factories import UserFactory

pytestmark = [pytest.mark.browser, pytest.mark.django_db(transaction=True)]

PHONE = {"width": 390, "height": 844}
LONG_NAME = "西湖区生态环境损害赔偿磋商与司法确认衔接及修复效果评估制度改革试点（第二阶段扩面提质）"


@pytest.fixture
def registry(orgs, personas, make_pilot, make_application):
    """Pilots in several states, an open call with a county's draft, missed deadlines and
    notices: enough for every main page to show its tables."""
    personas["office"].is_staff = True
    personas["office"].save()
    personas["auditor"] = UserFactory(
        username="auditor", organisation=orgs["office"], role=Role.AUDITOR
    )
    today = timezone.localdate()
    regions = [orgs["county"], orgs["hangzhou"]]
    pilots = [
        make_pilot(
            code="ST-2025-0901", name=LONG_NAME, regions=regions, ledger_since=dt.date(2026, 1, 5)
        ),
        make_pilot(
            code="ST-2025-0902",
            name="杭州市排污权抵押融资改革试点",
            regions=regions,
            ledger_since=dt.date(2025, 6, 1),
            start_date=today - dt.timedelta(days=400),
            end_date=today - dt.timedelta(days=3),
        ),
        make_pilot(
            code="ST-2025-0903",
            name="西湖区河湖长履职评价改革试点",
            status=Status.APPROVED,
            regions=regions,
            approval_date=today - dt.timedelta(days=10),
            ledger_since=None,
        ),
    ]
    call = open_call(
        actor=personas["office"],
        title="2026年度生态环保领域改革试点申报",
        deadline=timezone.now() + dt.timedelta(days=30),
        prefecture_quota=2,
    )
    make_application(call, "西湖区生态环境损害赔偿磋商制度改革试点")
    call_command("flag_overdue", stdout=None)
    return {"pilot": pilots[0], "call": call}


def main_pages(name: str, registry) -> list[str]:
    """The pages a persona works in most: home, lists, a pilot, a form, the ledger, the
    calendar, the notifications (the audit log for the auditor)."""
    pilot = registry["pilot"].get_absolute_url()
    call = registry["call"].pk
    return {
        "office": [
            "/",
            "/pilots/",
            pilot,
            "/pilots/calls/",
            "/pilots/calls/new/",
            "/pilots/new/",
            "/ledger/",
            "/ledger/filings/",
            "/pilots/term/",
            "/pilots/overdue/",
            "/calendar/",
            "/accounts/notifications/",
            "/dashboard/",
            "/reviews/scorecards/",
            "/accounts/users/",
            "/rules/",
        ],
        "dept": [
            "/",
            "/pilots/?status=endorsed",
            pilot,
            "/ledger/",
            "/ledger/todo/",
            "/reviews/bonus/",
            "/calendar/",
        ],
        "hangzhou": [
            "/",
            "/pilots/",
            "/pilots/calls/",
            "/pilots/overdue/",
            "/calendar/",
            "/accounts/notifications/",
            "/dashboard/",
        ],
        "county": [
            "/",
            "/pilots/",
            pilot,
            "/pilots/calls/",
            f"/pilots/calls/{call}/apply/",
            "/calendar/",
            "/accounts/notifications/",
        ],
        "expert": ["/", "/reviews/expert/", "/calendar/", "/accounts/notifications/"],
        "auditor": ["/audit/", "/accounts/profile/"],
    }[name]


PERSONAS = ["office", "dept", "hangzhou", "county", "expert", "auditor"]

OVERFLOW = """() => {
  const width = window.innerWidth;
  const wide = [];
  for (const el of document.querySelectorAll("body *")) {
    const box = el.getBoundingClientRect();
    if (box.width && box.right > width + 1) {
      let inside = false;
      for (let p = el.parentElement; p; p = p.parentElement) {
        if (["auto", "scroll", "hidden"].includes(getComputedStyle(p).overflowX)) {
          inside = true;
          break;
        }
      }
      if (!inside) wide.push(`${el.tagName.toLowerCase()}.${el.className}`);
    }
  }
  return {scroll: document.documentElement.scrollWidth, width, wide: wide.slice(0, 5)};
}"""


@pytest.fixture
def phone(browser, live_server, password):
    """sign_in(name) → a page at 390×844 signed in as that persona."""
    contexts = []

    def sign_in(name: str):
        context = browser.new_context(base_url=live_server.url, locale="zh-CN", viewport=PHONE)
        contexts.append(context)
        page = context.new_page()
        page.set_default_timeout(15_000)
        page.goto("/accounts/login/")
        page.fill("#id_username", name)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url(lambda url: "/accounts/login/" not in url)
        return page

    yield sign_in
    for context in contexts:
        context.close()


@pytest.mark.parametrize("name", PERSONAS)
def test_every_main_page_fits_the_phones_width(phone, registry, name):
    page = phone(name)
    problems = []
    for path in main_pages(name, registry):
        response = page.goto(path)
        assert response.ok, (path, response.status)
        measured = page.evaluate(OVERFLOW)
        if measured["scroll"] > measured["width"]:
            problems.append((path, measured))
    assert problems == []


@pytest.mark.parametrize("name", PERSONAS)
def test_the_menu_button_opens_the_navigation(phone, registry, name, shot_dir):
    page = phone(name)
    page.goto(main_pages(name, registry)[0])
    toggle = page.get_by_role("button", name="☰ 菜单")
    nav = page.get_by_role("navigation", name="主导航")
    # folded: the top bar is one line, the navigation and user block are hidden
    assert toggle.is_visible() and not nav.is_visible()
    assert toggle.get_attribute("aria-expanded") == "false"
    assert page.locator(".topbar").bounding_box()["height"] < 80
    toggle.click()
    assert toggle.get_attribute("aria-expanded") == "true"
    assert nav.is_visible()
    first = nav.get_by_role("link").first
    assert first.is_visible()
    # the user's name, unit and 退出 stay on one line each
    for part in (".who .user", ".who button.link"):
        box = page.locator(part).bounding_box()
        assert box["height"] < 40, (part, box)
    if name != "auditor":
        assert page.locator(".who .org").bounding_box()["height"] < 40
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")
    page.screenshot(path=str(shot_dir / f"phone-menu-{name}.png"), full_page=True)
    # a group opens inside the menu and its links are reachable
    group = nav.locator("details").first
    if group.count():
        group.locator("summary").click()
        assert group.get_by_role("link").first.is_visible()
    toggle.click()
    assert not nav.is_visible()


def test_a_wide_table_scrolls_in_its_own_box(phone, registry):
    page = phone("office")
    page.goto("/ledger/filings/")
    table = page.locator("table.table").first
    box = table.evaluate(
        "t => ({overflow: getComputedStyle(t).overflowX, client: t.clientWidth,"
        " scroll: t.scrollWidth})"
    )
    assert box["overflow"] == "auto"
    assert box["client"] <= 390
    assert page.evaluate("document.documentElement.scrollWidth <= window.innerWidth")


def test_forms_are_one_column_on_a_phone(phone, registry):
    page = phone("county")
    page.goto(f"/pilots/calls/{registry['call'].pk}/apply/")
    lefts = {
        round(page.locator(f"#{field}").bounding_box()["x"])
        for field in ("id_name", "id_field", "id_kind", "id_start_date", "id_end_date")
    }
    assert len(lefts) == 1, lefts


@pytest.fixture
def shot_dir():
    from tests.e2e.conftest import ARTIFACTS

    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    return ARTIFACTS
