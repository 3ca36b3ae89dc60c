"""Locust scenario: the registry at a quarterly reporting deadline (R2.3).

Started by `bench/load/run.py`, which prepares the database and the plan this file reads
(`LOAD_PLAN`, written by `bench/load/dataset.py`). Three kinds of simulated users, each
signing in through the real login form (CSRF token included) with an account of its own:

- lead-department staff (牵头部门), most of the crowd: open the to-report list (待办报送),
  open the quarterly report form of a pilot that owes the quarter now due, fill it in (20 to
  60 seconds) and submit it with a small PDF attached, then read the pilot's reports; now
  and then a pilot's page or the home page. Each account reports only from its own pool of
  pilots, so no two users ever submit the same pilot's quarter; a user whose pool is empty
  goes on reading;
- office staff (省改革办): the ledger (台账) and the pilot library with filters, sorting and
  paging, the pilots found there, and a few dashboard reads;
- prefecture staff (设区市局): their own lists and pilots, their ledger, a dashboard now and
  then.

Between pages users think for 2 to 8 seconds. Every response is checked: a 4xx/5xx, an
unexpected redirect or a page without the content it must show is a failure. Requests are
named by URL pattern. Run with one process (the accounts are handed out from this process's
memory).
"""

from __future__ import annotations

import json
import os
import random
import re
import threading
from pathlib import Path
from urllib.parse import urlencode

import gevent
from locust import HttpUser, between, events, task
from locust.exception import StopUser
from locust.user.task import LOCUST_STATE_RUNNING, LOCUST_STATE_STOPPING, LOCUST_STATE_WAITING

PLAN = json.loads(Path(os.environ["LOAD_PLAN"]).read_text(encoding="utf-8"))
YEAR, QUARTER = PLAN["year"], PLAN["quarter"]
# The pages name a quarter in words: 2026年第三季度.
QUARTER_TEXT = f"{YEAR}年第{'一二三四'[QUARTER - 1]}季度"
FILTERS = PLAN["filters"]
CODE_LINK = re.compile(r'href="/pilots/([A-Z]+-\d{4}-\d{4})/"')
PAGES = re.compile(r"第 \d+ / (\d+) 页")
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')
# Writing a quarter's progress takes longer than reading a page.
FORM_FILLING_SECONDS = (20, 60)
FORM_ERROR = re.compile(r'<div class="(?:error|form-errors)">(.*?)</div>', re.S)

_lock = threading.Lock()
_accounts = {
    "department": iter(PLAN["departments"]),
    "office": iter(PLAN["offices"]),
    "prefecture": iter(PLAN["prefectures"]),
}
# Reports the server accepted (302 to the pilot's reports), and every submit sent.
TALLY = {"submitted": 0, "attempted": 0}


# LOAD_HOSTS (base addresses separated by spaces, from bench/load/scaleout.py): the users are
# spread over several instances of the application, each user on the next one in turn.
HOSTS = os.environ.get("LOAD_HOSTS", "").split()
_turns = {"host": 0}


def _next_account(kind: str):
    with _lock:
        return next(_accounts[kind], None)


def _next_host() -> str | None:
    with _lock:
        if not HOSTS:
            return None
        _turns["host"] += 1
        return HOSTS[_turns["host"] % len(HOSTS)]


def small_pdf() -> bytes:
    """A one-page PDF with a correct cross-reference table, ending in %%EOF."""
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] /Contents 4 0 R >>",
        b"<< /Length 44 >>\nstream\nBT /F1 12 Tf 72 770 Td (Progress) Tj ET\nendstream",
    ]
    out = bytearray(b"%PDF-1.4\n")
    offsets = []
    for number, body in enumerate(objects, 1):
        offsets.append(len(out))
        out += b"%d 0 obj\n%s\nendobj\n" % (number, body)
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    for offset in offsets:
        out += b"%010d 00000 n \n" % offset
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


PDF = small_pdf()


def check(response, *needles: str, status: int = 200, location: str | None = None) -> bool:
    """Mark `response` (opened with catch_response=True) a success or a failure."""
    if response.status_code >= 400:
        response.failure(f"HTTP {response.status_code}")
        return False
    if response.status_code != status:
        where = response.headers.get("Location", "")
        response.failure(f"HTTP {response.status_code} {where}, expected {status}")
        return False
    if location is not None and response.headers.get("Location") != location:
        response.failure(f"redirected to {response.headers.get('Location')}, expected {location}")
        return False
    if needles:
        text = response.text
        missing = [needle for needle in needles if needle not in text]
        if missing:
            response.failure(f"page lacks {missing[0]!r}")
            return False
    response.success()
    return True


class RegistryUser(HttpUser):
    abstract = True
    wait_time = between(2, 8)
    kind = ""

    def on_start(self) -> None:
        account = _next_account(self.kind)
        if account is None:
            raise RuntimeError(f"no {self.kind} account left: give dataset.py more --accounts")
        self.account = account
        if host := _next_host():
            self.client.base_url = host
        username = account["username"] if isinstance(account, dict) else account
        self.codes: list[str] = []
        self.login(username)

    def login(self, username: str) -> None:
        with self.client.get(
            "/accounts/login/", name="/accounts/login/", catch_response=True
        ) as response:
            if not check(response, "登录", "csrfmiddlewaretoken"):
                raise StopUser()
            token = CSRF_INPUT.search(response.text).group(1)
        with self.client.post(
            "/accounts/login/",
            data={
                "username": username,
                "password": PLAN["password"],
                "csrfmiddlewaretoken": token,
                "next": "",
            },
            name="/accounts/login/",
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if not check(response, status=302, location="/"):
                raise StopUser()
        self.home()

    def pause(self, seconds: float) -> None:
        """Like `wait()`, for a given time: a stopping user leaves here, never mid-request."""
        if self._state == LOCUST_STATE_STOPPING:
            raise StopUser()
        self._state = LOCUST_STATE_WAITING
        gevent.sleep(seconds)
        if self._state == LOCUST_STATE_STOPPING:
            raise StopUser()
        self._state = LOCUST_STATE_RUNNING

    def home(self) -> None:
        with self.client.get("/", name="/", catch_response=True) as response:
            check(response, "我的工作", "退出")

    def page(self, path: str, name: str, *needles: str) -> str:
        """GET a page, check it, remember the pilots it links to; returns its text."""
        with self.client.get(path, name=name, catch_response=True) as response:
            if check(response, *needles):
                found = CODE_LINK.findall(response.text)
                if found:
                    self.codes = found
                return response.text
        return ""

    def filters(self, *names: str) -> dict:
        """A random choice of the filter bar (one or two filters), sort and page."""
        params = {}
        for name in random.sample(names, k=random.randint(0, min(2, len(names)))):
            params[name] = random.choice(FILTERS[name])
        params["sort"] = random.choice(FILTERS["sort"])
        params["page"] = random.choice([1, 1, 1, 2, 3, 5])
        return params

    def ledger(self) -> None:
        params = self.filters("field", "status", "tier", "prefecture", "lead")
        self.page(f"/ledger/?{urlencode(params)}", "/ledger/?[filters]", "改革试点台账", "共 ")

    def pilot_list(self) -> None:
        params = self.filters("field", "status", "tier", "kind", "prefecture", "lead")
        self.page(f"/pilots/?{urlencode(params)}", "/pilots/?[filters]", "试点库", "共 ")

    def pilot_detail(self) -> None:
        if not self.codes:
            return self.pilot_list()
        code = random.choice(self.codes)
        with self.client.get(
            f"/pilots/{code}/", name="/pilots/[code]/", catch_response=True
        ) as response:
            check(response, code, "变更历史")

    def dashboard(self) -> None:
        with self.client.get("/dashboard/", name="/dashboard/", catch_response=True) as response:
            check(response, "数据看板", "季度")


class DepartmentUser(RegistryUser):
    """牵头部门: reports the quarter now due, with an attachment, from its own pool."""

    weight = 10
    kind = "department"

    def on_start(self) -> None:
        super().on_start()
        self.pool = list(self.account["pilots"])
        self.codes = list(self.pool)

    @task(8)
    def report(self) -> None:
        todo = self.page("/ledger/todo/", "/ledger/todo/", "待办报送", "应报未报的季度进展")
        if not self.pool or not todo:
            return
        code = self.pool.pop(0)  # never sent twice, whatever happens below
        form_url = f"/ledger/pilots/{code}/reports/{YEAR}/{QUARTER}/"
        # The list is paged (oldest due first): page on until the pilot's quarter shows.
        pages = PAGES.search(todo)
        for number in range(2, int(pages.group(1)) + 1 if pages else 0):
            if form_url in todo:
                break
            todo = self.page(
                f"/ledger/todo/?page={number}", "/ledger/todo/?page=[n]", "应报未报的季度进展"
            )
        if form_url not in todo:
            with self.client.get(
                "/ledger/todo/", name="/ledger/todo/ (owed pilot listed)", catch_response=True
            ) as response:
                response.failure(f"{code} {YEAR}Q{QUARTER} is not in the to-report list")
            return
        self.wait()
        name = "/ledger/pilots/[code]/reports/[year]/[quarter]/"
        with self.client.get(form_url, name=name, catch_response=True) as response:
            if not check(response, f"{QUARTER_TEXT}进展", code, "csrfmiddlewaretoken"):
                return
            token = CSRF_INPUT.search(response.text).group(1)
        self.pause(random.uniform(*FORM_FILLING_SECONDS))
        reports_url = f"/ledger/pilots/{code}/reports/"
        with _lock:
            TALLY["attempted"] += 1
        with self.client.post(
            form_url,
            data={
                "csrfmiddlewaretoken": token,
                "progress": f"{YEAR}年第{QUARTER}季度按计划推进：完成现状调查和实施方案细化，"
                "召开部门联席会议两次，配套管理办法已形成征求意见稿。",
                "milestones_reached": "阶段性节点按期完成。",
                "problems": "部门间数据共享仍不充分。",
                "next_steps": "下季度出台配套管理办法，开展中期评估。",
                "correction_reason": "",
            },
            files={"attachment": (f"{code}-{YEAR}Q{QUARTER}.pdf", PDF, "application/pdf")},
            name=name,
            allow_redirects=False,
            catch_response=True,
        ) as response:
            if response.status_code == 200:
                errors = [
                    re.sub(r"<[^>]+>|\s+", " ", e).strip()
                    for e in FORM_ERROR.findall(response.text)
                ]
                response.failure(f"submission refused: {'; '.join(errors) or 'form shown again'}")
                return
            if not check(response, status=302, location=reports_url):
                return
            with _lock:
                TALLY["submitted"] += 1
        self.wait()
        with self.client.get(
            reports_url, name="/ledger/pilots/[code]/reports/", catch_response=True
        ) as r:
            check(r, f"已报送{QUARTER_TEXT}进展", "附件")

    @task(1)
    def own_pilot(self) -> None:
        self.pilot_detail()

    @task(1)
    def back_home(self) -> None:
        self.home()


class OfficeUser(RegistryUser):
    """省改革办: browses the ledger and the library with filters and paging, opens pilots."""

    weight = 4
    kind = "office"

    @task(5)
    def browse_ledger(self) -> None:
        self.ledger()

    @task(2)
    def browse_library(self) -> None:
        self.pilot_list()

    @task(4)
    def open_pilot(self) -> None:
        self.pilot_detail()

    @task(1)
    def read_dashboard(self) -> None:
        self.dashboard()


class PrefectureUser(RegistryUser):
    """设区市局: its own lists and pilots."""

    weight = 6
    kind = "prefecture"

    @task(4)
    def browse_library(self) -> None:
        self.pilot_list()

    @task(2)
    def browse_ledger(self) -> None:
        self.ledger()

    @task(4)
    def open_pilot(self) -> None:
        self.pilot_detail()

    @task(1)
    def back_home(self) -> None:
        self.home()

    @task(1)
    def read_dashboard(self) -> None:
        self.dashboard()


@events.test_stop.add_listener
def _write_tally(**_kwargs) -> None:
    path = os.environ.get("LOAD_RESULT")
    if path:
        Path(path).write_text(json.dumps(TALLY), encoding="utf-8")
