"""Nothing a user is shown leads nowhere: signed in as each demo persona, every link to the site
(`a[href]`) and every GET form reachable from the home page is followed over the demo data, and
none answers 4xx or 5xx, nor sends a signed-in user to a sign-in page.

The crawl is bounded: from each kind of page, a few of its links of each URL pattern (other
pilots, other query strings), so that every kind of page, and every kind of link on it, is
opened without opening every pilot. POST forms are never submitted. Below the crawl, links that
were once shown to users who could not open them are checked both ways: shown exactly when
they open."""

from __future__ import annotations

import re
from collections import Counter, deque
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import parse_qsl, urlencode, urljoin, urlsplit

import pytest
from django.urls import Resolver404, resolve

pytestmark = pytest.mark.walk

# The demo accounts, one per role or slice of the data; None: a visitor who is not signed in.
PERSONAS = [
    "office",
    "dept",
    "water",
    "hangzhou",
    "ningbo",
    "county",
    "expert",
    "expert2",
    "auditor",
    "admin",
    None,
]

# The bounds: from each kind of page, a few of its links of each URL pattern (a route with the
# names of its query parameters) are followed, so that a link shown only on one page (a pilot
# in the calendar) is still opened; and at most so many pages of a route, and in all.
PER_PATTERN = 3
PER_ROUTE = 25
# The admin's pages of one route differ by their filters and sort orders, one template each.
PER_ADMIN_ROUTE = 6
MAX_PAGES = 500

# Links that are actions or files, not pages to read; each is left out on purpose.
SKIPPED = [
    re.compile(r"^/static/"),  # files served by WhiteNoise, checked by the browser crawl
    re.compile(r"^/accounts/logout/"),  # signing out ends the crawl
    re.compile(r"^/calendar/feed/"),  # an iCalendar feed, read by calendar programs
    re.compile(r"^/admin/logout/"),
    re.compile(r"^/api/schema/"),  # the OpenAPI schema itself (seconds to build), not a page
]

SIGN_IN_PAGES = ("/accounts/login/", "/admin/login/")


@dataclass
class Found:
    """What a page shows: links and GET forms, as site paths with their query strings."""

    links: list[str] = field(default_factory=list)


class LinkParser(HTMLParser):
    """Collects `a[href]` and the addresses GET forms would ask for with their default values
    (the values a user sends by pressing the button without changing anything)."""

    def __init__(self, base: str) -> None:
        super().__init__(convert_charrefs=True)
        self.base = base
        self.found = Found()
        self._form: dict | None = None
        self._select: dict | None = None
        self._textarea: str | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "a" and a.get("href"):
            self.found.links.append(urljoin(self.base, a["href"]))
        elif tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = {"get": method == "get", "action": a.get("action") or "", "fields": []}
        elif self._form is None:
            return
        elif tag == "input" and a.get("name") and not a.get("disabled"):
            kind = (a.get("type") or "text").lower()
            if kind in ("submit", "button", "image", "reset", "file"):
                return
            if kind in ("checkbox", "radio") and "checked" not in a:
                return
            self._form["fields"].append(
                (a["name"], a.get("value") or ("on" if kind == "checkbox" else ""))
            )
        elif tag == "select" and a.get("name") and not a.get("disabled"):
            self._select = {"name": a["name"], "first": None, "selected": []}
        elif tag == "option" and self._select is not None:
            value = a.get("value", "")
            if self._select["first"] is None:
                self._select["first"] = value
            if "selected" in a:
                self._select["selected"].append(value)
        elif tag == "textarea" and a.get("name"):
            self._textarea = a["name"]
            self._form["fields"].append((a["name"], ""))

    def handle_endtag(self, tag):
        if tag == "select" and self._select is not None and self._form is not None:
            chosen = self._select["selected"] or [self._select["first"] or ""]
            self._form["fields"] += [(self._select["name"], value) for value in chosen]
            self._select = None
        elif tag == "textarea":
            self._textarea = None
        elif tag == "form" and self._form is not None:
            if self._form["get"]:
                action = urljoin(self.base, self._form["action"] or self.base)
                action = action.split("?", 1)[0]
                self.found.links.append(f"{action}?{urlencode(self._form['fields'])}")
            self._form = None


def page_links(path: str, html: str) -> list[str]:
    parser = LinkParser(f"http://testserver{path}")
    parser.feed(html)
    parser.close()
    return parser.found.links


def site_path(url: str) -> str | None:
    """`url` as a path with its query on this site; None for another site, a fragment, mail."""
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or parts.netloc != "testserver":
        return None
    query = urlencode(sorted(parse_qsl(parts.query, keep_blank_values=True)))
    return parts.path + (f"?{query}" if query else "")


def pattern_of(path: str) -> tuple[str, str]:
    """(route, pattern): the URL pattern a path resolves to, and the same with the names of its
    query parameters; an unknown path is its own pattern (it is opened once, and fails)."""
    address, _, query = path.partition("?")
    try:
        match = resolve(address)
        route = f"{match.view_name}:{match.route}"
    except Resolver404:
        route = address
    names = ",".join(sorted({name for name, _ in parse_qsl(query, keep_blank_values=True)}))
    return route, f"{route}?{names}"


def crawl(client, start: list[str]) -> tuple[dict[str, list[str]], list[str], int]:
    """Breadth first from `start`; returns ({broken path: [its answer, pages linking to it]},
    the paths opened, how many links the bounds left out)."""
    queue = deque((path, "(start)") for path in start)
    seen: set[str] = set(start)
    per_route: Counter = Counter()
    followed: Counter = Counter()
    broken: dict[str, list[str]] = {}
    opened: list[str] = []
    left_out = 0
    while queue:
        path, referrer = queue.popleft()
        route = pattern_of(path)[0]
        limit = PER_ADMIN_ROUTE if route.startswith("admin:") else PER_ROUTE
        if per_route[route] >= limit or len(opened) >= MAX_PAGES:
            left_out += 1
            continue
        per_route[route] += 1
        opened.append(path)
        response = client.get(path, follow=True)
        final = response.request["PATH_INFO"]
        signed_in = response.wsgi_request.user.is_authenticated
        if response.status_code >= 400 or (signed_in and final.startswith(SIGN_IN_PAGES)):
            broken[path] = [f"{response.status_code} → {final}", f"shown on {referrer}"]
            continue
        if "text/html" not in response.get("Content-Type", ""):
            continue
        source = pattern_of(path)[0]
        for url in page_links(final, response.content.decode()):
            target = site_path(url)
            if target is None or target in seen or any(s.search(target) for s in SKIPPED):
                continue
            budget = (source, pattern_of(target)[1])
            if followed[budget] >= PER_PATTERN:
                left_out += 1
                continue
            followed[budget] += 1
            seen.add(target)
            queue.append((target, path))
    return broken, opened, left_out


@pytest.fixture
def demo_then() -> tuple[str, ...]:
    """The demo as `make run` leaves it: overdue items flagged and reminders sent, with the
    notices they write (kept with the demo for every test of this file)."""
    return ("flag_overdue", "send_reminders")


@pytest.fixture
def demo_users(demo):
    """The demo accounts."""
    from accounts.models import User

    return {user.username: user for user in User.objects.all()}


@pytest.mark.parametrize("username", PERSONAS, ids=lambda name: name or "anonymous")
def test_every_link_and_get_form_a_persona_is_shown_answers(username, demo_users, client):
    if username is None:
        start = ["/", "/public/", "/accounts/login/"]
    else:
        client.force_login(demo_users[username])
        start = ["/"]
    broken, opened, _ = crawl(client, start)

    # fewer pages are open to these: the auditor reads the audit log, an expert its reviews
    assert len(opened) >= {"auditor": 3, None: 3, "expert": 8, "expert2": 8}.get(username, 20)
    assert not broken, "\n".join(f"{path}  ({' / '.join(why)})" for path, why in broken.items())


# --- the crawler itself ------------------------------------------------------------------------


def test_the_parser_reads_links_and_get_forms_with_their_default_values():
    html = """
    <a href="/pilots/?page=2">next</a><a href="#top">top</a><a href="https://gov.cn/">gov</a>
    <form method="get" action="/pilots/"><input name="q" value="湖州">
      <input type="checkbox" name="overdue" value="1"><input type="checkbox" name="mine" checked>
      <select name="status"><option value="">全部</option><option value="approved" selected>
      </option></select><button type="submit">筛选</button></form>
    <form method="post" action="/logout/"><button>退出</button></form>
    <form><select name="year"><option value="2026">2026</option></select></form>
    """
    links = [site_path(url) for url in page_links("/ledger/", html)]

    assert links == [
        "/pilots/?page=2",
        "/ledger/",  # the fragment of this page
        None,
        "/pilots/?mine=on&q=%E6%B9%96%E5%B7%9E&status=approved",
        "/ledger/?year=2026",
    ]


def test_the_crawl_reports_a_broken_link_with_the_page_that_shows_it(client, monkeypatch):
    pages = {
        "/": '<a href="/rules/">规则</a><a href="/nowhere/">坏链接</a>',
        "/rules/": '<a href="/">首页</a>',
    }

    class Answer:
        def __init__(self, path):
            self.status_code = 200 if path in pages else 404
            self.content = pages.get(path, "").encode()
            self.request = {"PATH_INFO": path}
            self.wsgi_request = type("R", (), {"user": type("U", (), {"is_authenticated": True})})

        def get(self, name, default=None):
            return "text/html; charset=utf-8"

    monkeypatch.setattr(client, "get", lambda path, follow: Answer(path))
    broken, opened, _ = crawl(client, ["/"])

    assert opened == ["/", "/rules/", "/nowhere/"]
    assert broken == {"/nowhere/": ["404 → /nowhere/", "shown on /"]}


def test_the_crawl_follows_a_few_links_of_each_pattern_from_each_kind_of_page(client, monkeypatch):
    def pilots(first, last):
        return "".join(f'<a href="/pilots/ST-2026-{n:04d}/">p</a>' for n in range(first, last))

    pages = {"/": pilots(1, 30) + '<a href="/calendar/">日历</a>', "/calendar/": pilots(25, 30)}

    class Answer:
        status_code = 200

        def __init__(self, path):
            self.content = pages.get(path, "").encode()
            self.request = {"PATH_INFO": path}
            self.wsgi_request = type("R", (), {"user": type("U", (), {"is_authenticated": True})})

        def get(self, name, default=None):
            return "text/html"

    monkeypatch.setattr(client, "get", lambda path, follow: Answer(path))
    broken, opened, left_out = crawl(client, ["/"])

    # three pilots from the home page, three others from the calendar
    assert [path for path in opened if path.startswith("/pilots/")] == [
        "/pilots/ST-2026-0001/",
        "/pilots/ST-2026-0002/",
        "/pilots/ST-2026-0003/",
        "/pilots/ST-2026-0025/",
        "/pilots/ST-2026-0026/",
        "/pilots/ST-2026-0027/",
    ]
    assert (broken, left_out) == ({}, 26 + 2)


# --- a link is shown exactly when its target opens ---------------------------------------------


def _shows(client, path: str, href: str) -> bool:
    response = client.get(path)
    assert response.status_code == 200, path
    return f'href="{href}"' in response.content.decode()


def test_the_pdf_ledger_link_is_shown_exactly_to_who_may_make_pdf_ledgers_R2_3(demo_users, client):
    shown_to = set()
    for name in ("office", "admin", "dept", "water", "hangzhou", "ningbo", "county"):
        client.force_login(demo_users[name])
        shown = _shows(client, "/ledger/", "/ledger/renders/")
        assert shown == (client.get("/ledger/renders/").status_code == 200), name
        shown_to |= {name} if shown else set()

    assert shown_to == {"office", "admin", "dept", "water"}


def test_the_screening_link_of_the_expert_page_is_shown_exactly_when_it_opens_N3(
    demo_users, client
):
    from pilots.constants import Status
    from pilots.models import Pilot

    client.force_login(demo_users["office"])
    seen = set()
    for status in (Status.ENDORSED, Status.SUBMITTED, Status.APPROVED):
        pilot = Pilot.objects.filter(status=status).order_by("code").first()
        assert pilot is not None, status
        screen = f"/pilots/{pilot.code}/screen/"
        shown = _shows(client, f"/reviews/pilots/{pilot.code}/experts/", screen)
        assert shown == (client.get(screen).status_code == 200), pilot.code
        seen.add(shown)

    assert seen == {True, False}


def test_the_jobs_page_links_the_schedules_admin_only_for_who_may_change_them(demo_users, client):
    changelist = "/admin/django_celery_beat/periodictask/"
    client.force_login(demo_users["office"])
    page = client.get("/pilots/jobs/").content.decode()
    assert changelist not in page and "周期性任务" not in page
    assert "每日" in page  # the schedules are told on the page itself

    client.force_login(demo_users["admin"])
    assert _shows(client, "/pilots/jobs/", changelist)
    assert client.get(changelist).status_code == 200


def test_a_read_only_user_page_in_the_admin_offers_no_password_button(demo_users, client):
    office, auditor, dept = (demo_users[n] for n in ("office", "auditor", "dept"))
    client.force_login(office)
    assert not _shows(client, f"/admin/accounts/user/{auditor.pk}/change/", "../password/")
    assert client.get(f"/admin/accounts/user/{auditor.pk}/password/").status_code == 403
    # an account the office may change keeps its button, and it opens
    assert _shows(client, f"/admin/accounts/user/{dept.pk}/change/", "../password/")
    assert client.get(f"/admin/accounts/user/{dept.pk}/password/").status_code == 200

    client.force_login(demo_users["admin"])
    assert _shows(client, f"/admin/accounts/user/{auditor.pk}/change/", "../password/")


def test_an_earlier_version_of_an_account_in_the_admin_shows_no_password_button(demo_users, client):
    """A version's page is read, not edited: its form has no password button (whose relative
    address would lead under the version's page), and an address there that is no version
    answers 404, never 500."""
    dept = demo_users["dept"]
    version = dept.history.order_by("history_id").first().history_id
    for name in ("office", "admin"):
        client.force_login(demo_users[name])
        page = f"/admin/accounts/user/{dept.pk}/history/{version}/"
        assert not _shows(client, page, "../password/")
        assert client.get(f"/admin/accounts/user/{dept.pk}/history/password/").status_code == 404
        for address in (f"accounts/user/abc/history/{version}/", "pilots/pilot/2x/history/1/"):
            assert client.get(f"/admin/{address}").status_code == 404, address


def test_the_admin_opens_a_pilot_plan_through_the_access_gate_not_a_file_address(
    demo_users, client
):
    from pilots.models import Pilot

    pilot = Pilot.objects.exclude(plan_attachment="").order_by("code").first()
    for name in ("office", "admin"):
        client.force_login(demo_users[name])
        page = client.get(f"/admin/pilots/pilot/{pilot.pk}/change/").content.decode()
        assert "/files/" not in page
        assert f'href="/pilots/{pilot.code}/plan/"' in page
        response = client.get(f"/pilots/{pilot.code}/plan/")
        assert response.status_code == 200
        assert b"".join(response.streaming_content).startswith(b"%PDF")


def test_the_browser_finds_an_icon_at_the_site_root(client):
    response = client.get("/favicon.ico")

    assert response.status_code == 200
    assert response["Content-Type"].startswith("image/")


def test_e_mailed_links_point_where_make_run_serves(tmp_path):
    """Password-reset and notice e-mails build their links on SITE_URL: `make run` sets it to
    the address it serves on (HOST, PORT), unless it is set; its default is `make run`'s."""
    import os
    import shutil
    import subprocess
    from pathlib import Path

    make = shutil.which("make")
    if make is None:
        pytest.skip("make is not installed")
    root = Path(__file__).resolve().parents[2]
    fake = tmp_path / "python"
    fake.write_text('#!/bin/sh\necho "SITE_URL=$SITE_URL $*"\n')
    fake.chmod(0o755)
    env = {k: v for k, v in os.environ.items() if k not in ("SITE_URL", "HOST", "PORT")}

    def served(*args: str, **extra: str) -> set[str]:
        result = subprocess.run(
            [make, "-s", "-o", "setup", "run", f"PY={fake}", *args],
            cwd=root,
            env={**env, **extra},
            capture_output=True,
            text=True,
            timeout=60,
            check=True,
        )
        return {line.split()[0] for line in result.stdout.splitlines() if "SITE_URL=" in line}

    default = subprocess.run(
        [
            str(root / ".venv/bin/python"),
            "-c",
            "from config import settings; print(settings.SITE_URL)",
        ],
        cwd=root,
        env=env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout.strip()

    assert served() == {"SITE_URL=http://127.0.0.1:8000"} == {f"SITE_URL={default}"}
    assert served("PORT=8123") == {"SITE_URL=http://127.0.0.1:8123"}
    assert served(SITE_URL="https://registry.example.gov.cn") == {
        "SITE_URL=https://registry.example.gov.cn"
    }
