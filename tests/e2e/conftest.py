"""Browser journeys: Playwright drives Debian's Chromium (/usr/bin/chromium) against Django's
live server. Screenshots of each page visited are kept under artifacts/screenshots/."""

from __future__ import annotations

import datetime as dt
import os
import shutil
from pathlib import Path

import pytest

from core.dates import format_cn_quarter

# Playwright's sync API keeps an event loop in this thread; Django's ORM calls made by the test
# itself (creating fixtures) are still synchronous and safe.
os.environ.setdefault("DJANGO_ALLOW_ASYNC_UNSAFE", "true")

CHROMIUM = os.environ.get("CHROMIUM_PATH", "/usr/bin/chromium")
ARTIFACTS = Path(__file__).resolve().parents[2] / "artifacts" / "screenshots"
CHROMIUM_ARGS = [
    "--headless=new",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]


@pytest.fixture(scope="session")
def browser():
    if not shutil.which(CHROMIUM) and not Path(CHROMIUM).exists():
        pytest.fail(f"Chromium not found at {CHROMIUM}: run `make test` (it installs chromium).")
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        instance = pw.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        yield instance
        instance.close()


class Dialogs:
    """The questions the pages ask before an irreversible action (window.confirm on a
    data-confirm button): each is answered with `answer` ("accept" unless a test says
    "dismiss") and kept in `asked`. A test that listens for a page's dialogs itself
    (page.once("dialog", …)) answers them alone."""

    def __init__(self) -> None:
        self.answer = "accept"
        self.asked: list[str] = []

    def handle(self, dialog) -> None:
        page = dialog.page
        if page is not None and page._impl_obj.listeners("dialog"):
            return
        self.asked.append(dialog.message)
        if self.answer == "accept":
            dialog.accept()
        else:
            dialog.dismiss()


@pytest.fixture
def dialogs() -> Dialogs:
    return Dialogs()


@pytest.fixture
def page(browser, live_server, dialogs):
    context = browser.new_context(
        base_url=live_server.url, locale="zh-CN", viewport={"width": 1400, "height": 900}
    )
    context.on("dialog", dialogs.handle)
    page = context.new_page()
    page.set_default_timeout(15_000)
    yield page
    context.close()


PHONE = {"width": 390, "height": 844}


@pytest.fixture
def shot(page, request):
    """shot("name") saves the page as an artefact of this test, numbered in the order the
    journey took it, twice: at the desktop size and on a phone (390×844) —
    `<test>-03-<name>-desktop.png` and `…-phone.png`. A name that starts with its own number
    keeps it."""
    ARTIFACTS.mkdir(parents=True, exist_ok=True)
    taken = [0]

    def _shot(name: str) -> Path:
        taken[0] += 1
        stem = name if name[:2].isdigit() else f"{taken[0]:02d}-{name}"
        path = ARTIFACTS / f"{request.node.name}-{stem}-desktop.png"
        page.screenshot(path=str(path), full_page=True)
        desktop = page.viewport_size
        page.set_viewport_size(PHONE)
        try:
            page.screenshot(
                path=str(ARTIFACTS / f"{request.node.name}-{stem}-phone.png"), full_page=True
            )
        finally:
            page.set_viewport_size(desktop)
        return path

    return _shot


@pytest.fixture
def login(page, password):
    def _login(username: str) -> None:
        page.goto("/accounts/login/")
        page.fill("#id_username", username)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        page.wait_for_url("**/")

    return _login


@pytest.fixture
def switch_to(page, login):
    """Sign the browser in as another persona (a fresh session, no shared cookies)."""

    def _switch(username: str) -> None:
        page.context.clear_cookies()
        login(username)
        # "**/" also matches the login page itself: wait until the home page has come
        page.wait_for_url(lambda url: "/accounts/login/" not in url)

    return _switch


def open_nav(page, label: str) -> None:
    """Click the navigation's entry `label`, opening its group (a <details>) or, on a narrow
    screen, the menu first."""
    named = page.get_by_role("link", name=label, exact=True, include_hidden=True)
    nav = page.locator(".mainnav")
    link = nav.locator("a").and_(named).first
    if not link.is_visible():
        toggle = page.locator(".menu-toggle")
        if toggle.is_visible() and toggle.get_attribute("aria-expanded") != "true":
            toggle.click()
        group = nav.locator("details", has=named)
        if group.count() and not link.is_visible():
            group.first.locator("summary").click()
    link.click()


@pytest.fixture
def nav(page):
    """nav("导入") clicks that entry of the navigation, opening its group first."""
    return lambda label: open_nav(page, label)


# A one-page PDF: enough for the filing form's plan upload, which checks the file's signature.
PLAN_PDF = b"%PDF-1.4\n1 0 obj<</Type/Catalog>>endobj\ntrailer<</Root 1 0 R>>\n%%EOF\n"


@pytest.fixture(autouse=True)
def private_media(settings, tmp_path):
    """Uploaded plans and rendered ledgers stay in the test's own folder."""
    settings.MEDIA_ROOT = tmp_path / "private"


class Steps:
    """Steps that more than one journey takes, one method a step: each walks a short path or
    fills a form, asserting what the user must see on the way; the pages it passes that the
    journeys keep are saved with `shot` under the names its docstring gives."""

    def __init__(self, page, shot):
        self.page = page
        self.shot = shot

    def nav(self, label: str) -> None:
        """Click an entry of the navigation, opening its group first."""
        open_nav(self.page, label)

    def submit(self, target) -> None:
        """Click a button or link (a locator) and wait until the page it asks for has loaded,
        also when that page is the same address (where wait_for_url would not wait)."""
        with self.page.expect_navigation():
            target.click()

    def section(self, title: str):
        """A panel of the page by its heading, e.g. a home page's work section."""
        return self.page.locator("section.panel", has=self.page.locator("h2", has_text=title))

    def check_all_criteria(self) -> None:
        """The R1.1 screening checklist, every criterion met."""
        for key in ("elements", "institutional", "replicable"):
            self.page.check(f'input[name="ck-ck_{key}"][value="yes"]')

    def open_screening(self, code: str, stage: str) -> None:
        """From an application's page, its screening page as the party `stage` names
        (设区市把关, 牵头部门把关 or 省办审定), with the R1.1 checklist all met."""
        self.page.click("text=把关 / 审定")
        self.page.wait_for_url(f"**/pilots/{code}/screen/")
        assert stage in self.page.locator("h1").inner_text()
        self.check_all_criteria()

    def decide(self, button: str, code: str, *, flash: str, badge: str) -> None:
        """Press a decision's button on the screening page; back on the pilot's page, the
        flash message and the status badge say what happened."""
        self.submit(self.page.locator(f"button:has-text('{button}')"))
        assert self.page.url.endswith(f"/pilots/{code}/")
        assert flash in self.page.locator(".messages").inner_text()
        assert self.page.locator("h1 .badge").first.inner_text() == badge

    def fill_application(self, call, *, name, region, lead_department, start, end) -> None:
        """From the home page's list of open calls: the call (saved as "call-detail"), then
        its 申报表 filled in by a county bureau with every R1.1 entry element."""
        page = self.page
        page.click(f"text={call.title}")
        page.wait_for_url(f"**/pilots/calls/{call.pk}/")
        self.shot("call-detail")
        page.click("text=填报申报表")
        page.wait_for_url(f"**/pilots/calls/{call.pk}/apply/")
        page.fill("#id_name", name)
        page.select_option("#id_field", "governance")
        page.select_option("#id_kind", "single")
        page.select_option("#id_regions", [str(region.pk)])
        page.fill("#id_implementing_body", region.name)
        page.select_option("#id_lead_department", str(lead_department.pk))
        page.fill("#id_goal", "建立生态环境损害赔偿磋商、司法确认和修复监督的闭环制度。")
        page.fill("#id_scope", "西湖区全域。")
        page.fill("#id_start_date", start.isoformat())
        page.fill("#id_end_date", end.isoformat())
        page.fill("#id_responsible_body", region.name)
        page.fill("#id_measures", "建立磋商规则、司法确认衔接和修复效果评估机制。")
        page.fill("#id_expected_outcomes", "形成可复制可推广的赔偿磋商制度。")
        page.fill("#id_work_foundation", "2025年已办理赔偿案件12件。")
        page.fill("#id_contact_person", "王明")
        page.fill("#id_contact_phone", "0571-87654321")

    def fill_filing(self, *, milestone: str) -> None:
        """The 备案表 (R2.2): contact, a milestone line and the plan as a PDF attachment. Where
        the page shows that the filing differs from the approval (the milestone line), the
        differences are acknowledged."""
        page = self.page
        page.fill("#id_contact_person", "王明")
        page.fill("#id_contact_phone", "0571-87654321")
        page.fill("#id_milestones_text", milestone)
        page.set_input_files(
            "#id_plan",
            files=[{"name": "试点方案.pdf", "mimeType": "application/pdf", "buffer": PLAN_PDF}],
        )
        if page.locator("#approval-differences").is_visible():
            assert "与批复不一致" in page.locator("#approval-differences").inner_text()
            page.check("#id_confirm_differences")

    def confirm_filing(self, name: str, code: str, *, shot_as: str) -> None:
        """The office opens a filing filed on time from its filings page (saved as `shot_as`),
        reads it on the filing's page and confirms it there (R2.3), answering the question
        the button asks."""
        row = self.page.locator("tr", has_text=name)
        assert "按期" in row.inner_text()
        self.shot(shot_as)
        self.submit(row.get_by_role("link", name="审核"))
        assert "/ledger/filings/" in self.page.url and name in self.page.locator("h1").inner_text()
        self.submit(self.page.get_by_role("button", name="确认备案，列入台账"))
        assert f"已确认备案，{code} 列入台账。" in self.page.locator(".messages").inner_text()

    def report_quarter(self, row, code: str, year: int, quarter: int, *, progress: str) -> None:
        """From the department's to-do row of a pilot, its quarter's progress (R2.3), the
        form saved as "department-report-form" before it is sent."""
        page = self.page
        row.locator("a:has-text('报送')").click()
        page.wait_for_url(f"**/ledger/pilots/{code}/reports/{year}/{quarter}/")
        page.fill("#id_progress", progress)
        page.fill("#id_milestones_reached", "交易规则修订阶段目标已完成。")
        page.fill("#id_problems", "部分企业对排污权抵押融资了解不足。")
        page.fill("#id_next_steps", "开展排污权抵押贷款政策宣讲。")
        self.shot("department-report-form")
        self.submit(page.locator("button:has-text('报送')"))
        assert page.url.endswith(f"/ledger/pilots/{code}/reports/")
        assert (
            f"已报送{format_cn_quarter(year, quarter)}进展"
            in page.locator(".messages").inner_text()
        )

    def render_ledger(self, year: int):
        """From the ledger: the PDF ledger page, whose form proposes `year` (the last ended
        quarter's); ask for the ledger and wait until its download link shows (the render
        runs as a task); returns the link."""
        self.page.locator("main a:has-text('PDF台账')").click()
        self.page.wait_for_url("**/ledger/renders/")
        assert self.page.input_value("#id_year") == str(year)
        self.submit(self.page.locator("button:has-text('生成')"))
        link = self.page.locator("a:has-text('下载')").first
        link.wait_for(timeout=90_000)
        return link

    def download(self, link, to: Path):
        """Click a download link, save the file at `to`; returns Playwright's Download."""
        with self.page.expect_download() as info:
            link.click()
        info.value.save_as(to)
        return info.value

    def fill_extension(self, *, new_end, milestone, milestone_title: str) -> None:
        """An extension request (R2.4): new end date, reason, stage targets, one milestone."""
        page = self.page
        page.fill("#id_new_end_date", new_end.isoformat())
        page.fill("#id_reason", "配套制度尚未出台，需延长试点期限。")
        page.fill("#id_stage_targets", "完成配套制度并开展评估。")
        page.fill("#id_ms-0-due_date", milestone.isoformat())
        page.fill("#id_ms-0-title", milestone_title)

    def approve_extension(self, name: str) -> str:
        """From the office's menu: the term queue (saved as "office-term-queue"), the named
        pilot's extension approved; returns its row's text as it was before."""
        page = self.page
        self.nav("到期审核")
        page.wait_for_url("**/pilots/term/")
        row = page.locator("tr", has_text=name)
        text = row.inner_text()
        self.shot("office-term-queue")
        self.submit(row.get_by_role("button", name="同意延期"))
        assert page.get_by_text("已同意").first.is_visible()
        assert page.get_by_text("没有待审批的延期申请。").is_visible()
        return text

    def assign_expert(self, *, due) -> None:
        """On an application's expert page, the office assigns the first expert (N3)."""
        page = self.page
        page.get_by_label("expert", exact=False).first.check()
        page.fill("#id_due_date", due.isoformat())
        self.submit(page.get_by_role("button", name="分配"))
        assert page.get_by_text("已分配评审专家").is_visible()

    def fill_expert_review(self, scores, opinion: str) -> None:
        """An expert's scores, one per criterion, and opinion (N3)."""
        for i, score in enumerate(scores):
            self.page.fill(f"#score_{i}", score)
        self.page.fill("#opinion", opinion)

    def recognise(self, *, kind: str, summary: str) -> None:
        """On a pilot page, the office recognises its experience (R3.4)."""
        panel = self.page.locator("#promotion")
        panel.get_by_label("认定类别").select_option(kind)
        panel.get_by_label("经验做法（可公开）").fill(summary)
        self.submit(panel.get_by_role("button", name="认定"))

    def open_list_form(self, title: str) -> None:
        """The office's promotion page, a new list edition's title filled in (R3.4)."""
        self.nav("复制推广")
        self.page.wait_for_url("**/reviews/promotion/")
        self.page.get_by_label("清单名称").fill(title)

    def publish_list(self, pk: int) -> None:
        """The office publishes a drafted list edition (R3.4)."""
        self.page.goto(f"/reviews/lists/{pk}/")
        self.submit(self.page.get_by_role("button", name="发布"))
        assert self.page.get_by_text("已发布，公众可在公开页面查阅").is_visible()

    def search_public(self, term: str) -> None:
        """As an anonymous visitor: the public page, searched for `term`."""
        self.page.context.clear_cookies()
        self.page.goto("/public/")
        self.page.get_by_placeholder("试点名称或编号").fill(term)
        self.submit(self.page.get_by_role("button", name="搜索"))


@pytest.fixture
def steps(page, shot):
    return Steps(page, shot)


@pytest.fixture
def make_application(personas, orgs):
    """make_application(call, name, **fields) → a county's draft application in `call`,
    complete enough to be submitted (starting data, made without the browser)."""
    from django.utils import timezone

    from pilots.calls import create_application

    def _make(call, name: str, **fields):
        today = timezone.localdate()
        data = {
            "name": name,
            "field": "governance",
            "kind": "single",
            "implementing_body": orgs["county"].name,
            "lead_department": orgs["dept"],
            "goal": "建立生态环境损害赔偿磋商制度。",
            "scope": "西湖区全域。",
            "start_date": today + dt.timedelta(days=40),
            "end_date": today + dt.timedelta(days=400),
            "responsible_body": orgs["county"].name,
            "measures": "建立磋商规则。",
            "expected_outcomes": "形成可复制的磋商制度。",
            **fields,
        }
        return create_application(
            actor=personas["county"], call=call, data=data, regions=[orgs["county"]]
        )

    return _make
