"""Nothing a user is shown leads nowhere, in the browser: signed in as each demo persona, the
pages reachable from the home page (links and GET forms, a few of each URL pattern per kind of
page, at most PAGES in all) are opened in Chromium over the demo data, and none of them, nor
anything they load (styles, scripts, images, XHR), answers 400 or more, logs an error on the
console, throws, or breaks the Content-Security-Policy."""

from __future__ import annotations

import sqlite3
from collections import Counter, deque
from urllib.parse import parse_qsl, urlencode, urlsplit

import pytest
from django.core.management import call_command
from django.db import connection

from tests.e2e.test_crawl_links import PERSONAS, SKIPPED, pattern_of

pytestmark = pytest.mark.browser

PAGES = 40
PER_PATTERN = 2
# Fewer pages are open to these: the auditor reads the audit log, an expert its reviews.
MIN_PAGES = {"auditor": 3, None: 3, "expert": 8, "expert2": 8}

# Records every CSP violation of the page in a list the test reads before leaving the page.
RECORD_CSP = """
window.__csp = [];
document.addEventListener("securitypolicyviolation", (e) => {
  const where = `${e.sourceFile}:${e.lineNumber}`;
  window.__csp.push(`${e.violatedDirective} ${e.blockedURI || "inline"} (${where})`);
});
"""

# Every link and the address every GET form would ask for with the values it shows.
SHOWN = """
() => [
  ...Array.from(document.querySelectorAll("a[href]"), (a) => a.href),
  ...Array.from(document.querySelectorAll("form"))
    .filter((f) => (f.getAttribute("method") || "get").toLowerCase() === "get")
    .map((f) => {
      const data = new URLSearchParams();
      for (const [k, v] of new FormData(f)) if (typeof v === "string") data.append(k, v);
      // f.action is the form's input named "action" when it has one: read the attribute
      const action = new URL(f.getAttribute("action") || location.href, location.href);
      return action.origin + action.pathname + "?" + data.toString();
    }),
]
"""


def local(url: str, origin: str) -> str | None:
    """`url` as a path with its sorted query when it is on the live server; else None."""
    parts = urlsplit(url)
    if f"{parts.scheme}://{parts.netloc}" != origin:
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


# The demo as loaded for the first persona, kept for the others: on SQLite a copy of the
# database (restored with SQLite's backup API in milliseconds) and the folder of its files.
_LOADED: dict[str, object] = {}


@pytest.fixture
def demo(settings, tmp_path_factory):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
    connection.ensure_connection()
    sqlite = connection.vendor == "sqlite"
    if sqlite and _LOADED:
        # The crawl only reads, but a committing test's database is emptied after it: the
        # copy is put back whole, over whatever is there.
        settings.MEDIA_ROOT = _LOADED["media"]
        _LOADED["copy"].backup(connection.connection)
        return
    settings.MEDIA_ROOT = tmp_path_factory.mktemp("crawl-demo")
    # A committing test starts from an empty database, whatever an earlier test in the same
    # run (or a request the live server was still answering for it) left behind.
    call_command("flush", interactive=False, verbosity=0)
    for command in ("load_demo", "flag_overdue", "send_reminders"):
        call_command(command, stdout=None)
    if sqlite:
        copy = sqlite3.connect(":memory:", check_same_thread=False)
        connection.connection.backup(copy)
        _LOADED.update(copy=copy, media=settings.MEDIA_ROOT)


@pytest.mark.parametrize("username", PERSONAS, ids=lambda name: name or "anonymous")
def test_the_pages_a_persona_reaches_load_without_errors(username, demo, page, login, live_server):
    problems: list[str] = []
    current = {"path": "/"}

    def on_response(response):
        if response.status >= 400:
            problems.append(f"{response.status} {response.url} (on {current['path']})")

    def on_console(message):
        if message.type == "error":
            where = message.location.get("url", "")
            problems.append(f"console: {message.text} {where} (on {current['path']})")

    # Requests under way (a page's own fetches go on after its load event): the test waits
    # for them before its database is emptied, or the server would write into it meanwhile.
    pending: set = set()
    page.on("request", lambda request: pending.add(request))
    page.on("requestfinished", lambda request: pending.discard(request))
    page.on("requestfailed", lambda request: pending.discard(request))
    page.on("response", on_response)
    page.on("console", on_console)
    page.on("pageerror", lambda error: problems.append(f"error: {error} ({current['path']})"))
    downloads = []
    page.on("download", lambda download: downloads.append(download))
    page.add_init_script(RECORD_CSP)

    if username is None:
        start = ["/", "/public/"]
    else:
        login(username)
        start = ["/"]
    origin = live_server.url
    queue = deque(start)
    seen = set(start)
    followed: Counter = Counter()
    opened = 0
    while queue and opened < PAGES:
        path = queue.popleft()
        current["path"] = path
        opened += 1
        try:
            page.goto(path, wait_until="load")
        except Exception as exc:  # a download (Excel, PDF) is not a page: its answer is checked
            if "Download is starting" not in str(exc) and "ERR_ABORTED" not in str(exc):
                raise
            continue
        if username is not None and "/accounts/login/" in page.url:
            problems.append(f"sent to the sign-in page: {path}")
            continue
        problems += [f"CSP: {v} (on {path})" for v in page.evaluate("window.__csp || []")]
        source = pattern_of(path)[0]
        for url in page.evaluate(SHOWN):
            target = local(url, origin)
            if target is None or target in seen or any(s.search(target) for s in SKIPPED):
                continue
            budget = (source, pattern_of(target)[1])
            if followed[budget] >= PER_PATTERN:
                continue
            followed[budget] += 1
            seen.add(target)
            queue.append(target)

    # A download or a fetch the crawl started may still be answered (and audited) by the
    # server: the test's database is emptied only once every one has arrived.
    for _ in range(600):
        if not pending:
            break
        page.wait_for_timeout(50)
    problems += [f"still loading after 30 s: {r.url}" for r in pending]
    for download in downloads:
        if download.failure():
            problems.append(f"download failed: {download.url} ({download.failure()})")
    assert opened >= MIN_PAGES.get(username, 15), opened
    assert not problems, "\n".join(dict.fromkeys(problems))
