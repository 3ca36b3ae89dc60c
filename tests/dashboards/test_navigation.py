"""Each persona's navigation: exactly its entries, grouped, every one opening for it, and the
current page's entry marked (aria-current="page"), also inside a group."""

from __future__ import annotations

import re
from html import unescape

import pytest

from accounts.constants import Role
from tests.factories import UserFactory

LEDGER_OFFICE = ["台账", "备案确认", "半年汇总", "导入", "改革实施方案", "PDF台账"]
TERM = ["到期审核", "逾期事项", "已清理出库", "期限日历"]
OFFICE = [
    ("我的工作", None),
    ("试点库", None),
    ("申报与审定", None),
    ("台账", LEDGER_OFFICE),
    ("到期与逾期", TERM),
    ("评估与推广", ["评分表", "考核加分", "复制推广"]),
    ("数据看板", None),
    ("通知", None),
    ("系统", ["规则与期限", "定时任务", "用户管理", "消息渠道", "管理后台"]),
]
ADMIN = [
    *OFFICE[:-1],
    ("系统", ["规则与期限", "定时任务", "用户管理", "消息渠道", "审计日志", "管理后台"]),
]
LEAD = [
    ("我的工作", None),
    ("试点库", None),
    ("申报", ["申报批次", "待提意见的申报"]),
    ("台账", ["台账", "待办报送", "半年汇总", "PDF台账"]),
    ("到期与逾期", TERM),
    ("评估", ["评分表", "考核加分"]),
    ("数据看板", None),
    ("通知", None),
]
LOCAL = [
    ("我的工作", None),
    ("申报", None),
    ("试点库", None),
    ("逾期事项", None),
    ("期限日历", None),
    ("数据看板", None),
    ("通知", None),
]
EXPECTED = {
    "office": OFFICE,
    "admin": ADMIN,
    "dept": LEAD,
    "hangzhou": LOCAL,
    "county": LOCAL,
    "expert": [("我的工作", None), ("评审任务", None), ("期限日历", None), ("通知", None)],
    "auditor": [("审计日志", None)],
}

_NAV = re.compile(r'<nav class="mainnav"[^>]*>(.*?)</nav>', re.S)
_ITEM = re.compile(
    r'<li class="nav-group[^"]*">\s*<details>\s*<summary>(.*?)</summary>(.*?)</details>'
    r"|<li><a (.*?)>(.*?)</a></li>",
    re.S,
)
_LINK = re.compile(r"<a (.*?)>(.*?)</a>", re.S)


def _text(fragment: str) -> str:
    return unescape(re.sub(r"<span class=\"(?:count|visually-hidden)\">.*?</span>", "", fragment))


def _href(attrs: str) -> str:
    return unescape(re.search(r'href="([^"]*)"', attrs).group(1))


def navigation(html: str) -> list[tuple[str, list[tuple[str, str, bool]]]]:
    """[(entry label, [(link label, href, current)])]: a single entry has one link of its
    own label; a group lists its links."""
    match = _NAV.search(html)
    assert match, "no navigation on the page"
    entries = []
    for summary, body, attrs, label in _ITEM.findall(match.group(1)):
        if summary:
            links = [
                (_text(t).strip(), _href(a), "aria-current" in a) for a, t in _LINK.findall(body)
            ]
            entries.append((summary.strip(), links))
        else:
            entries.append(
                (
                    _text(label).strip(),
                    [(_text(label).strip(), _href(attrs), "aria-current" in attrs)],
                )
            )
    return entries


def shape(entries) -> list[tuple[str, list[str] | None]]:
    return [
        (label, [link[0] for link in links] if len(links) > 1 or links[0][0] != label else None)
        for label, links in entries
    ]


@pytest.fixture
def everyone(personas, orgs):
    office = personas["office"]
    office.is_staff = True
    office.save()
    extra = {
        "admin": UserFactory(
            username="admin", organisation=orgs["office"], role=Role.ADMIN, is_staff=True
        ),
        "auditor": UserFactory(username="auditor", organisation=orgs["office"], role=Role.AUDITOR),
    }
    extra["admin"].is_superuser = True
    extra["admin"].save()
    return {**personas, **extra}


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_each_persona_sees_exactly_its_entries_and_each_opens(client, everyone, name):
    client.force_login(everyone[name])
    start = "/audit/" if name == "auditor" else "/"
    entries = navigation(client.get(start).content.decode())
    assert shape(entries) == EXPECTED[name]
    for _label, links in entries:
        for link_label, href, _current in links:
            response = client.get(href, follow=True)
            assert response.status_code == 200, (name, link_label, href)
            if href.startswith("/admin/"):
                continue
            marked = [
                (entry, link[0])
                for entry, group in navigation(response.content.decode())
                for link in group
                if link[2]
            ]
            # the entry (and its group) of the page opened, and no other
            entry = next(e for e, group in entries if any(lk[1] == href for lk in group))
            assert marked == [(entry, link_label)], (name, href, marked)


def test_the_current_group_is_marked_and_a_pilot_page_belongs_to_the_library(
    client, personas, make_pilot
):
    client.force_login(personas["office"])
    html = client.get("/ledger/filings/").content.decode()
    assert re.search(r'<li class="nav-group current">\s*<details>\s*<summary>台账</summary>', html)
    assert html.count('aria-current="page"') == 1
    pilot = make_pilot()
    entries = navigation(client.get(pilot.get_absolute_url()).content.decode())
    assert [e for e, links in entries if any(lk[2] for lk in links)] == ["试点库"]


def test_the_lead_departments_applications_awaiting_its_opinion_have_their_entry(client, personas):
    client.force_login(personas["dept"])
    entries = dict(navigation(client.get("/").content.decode()))
    assert ("待提意见的申报", "/pilots/?status=endorsed", False) in entries["申报"]
    marked = dict(navigation(client.get("/pilots/?status=endorsed").content.decode()))
    assert ("待提意见的申报", "/pilots/?status=endorsed", True) in marked["申报"]
    assert marked["试点库"] == [("试点库", "/pilots/", False)]


def test_the_expert_has_its_review_tasks_and_no_empty_pages(client, personas):
    client.force_login(personas["expert"])
    html = client.get("/").content.decode()
    hrefs = [link[1] for _e, links in navigation(html) for link in links]
    assert "/reviews/expert/" in hrefs
    for empty in ("/pilots/", "/ledger/", "/pilots/calls/", "/pilots/overdue/"):
        assert empty not in hrefs


def test_the_shell_has_a_skip_link_a_menu_button_and_labelled_navigation(client, personas):
    client.force_login(personas["county"])
    html = client.get("/").content.decode()
    assert '<html lang="zh-Hans">' in html
    assert '<a class="skip-link" href="#main">跳到主要内容</a>' in html
    assert 'id="main"' in html
    assert '<nav class="mainnav" aria-label="主导航">' in html
    assert re.search(
        r'<button type="button" class="menu-toggle" aria-expanded="false" '
        r'aria-controls="nav-panel">☰ 菜单</button>',
        html,
    )
    assert 'id="nav-panel"' in html
    assert "/static/js/nav.js" in html


def test_the_unread_count_is_read_out(client, personas, make_pilot):
    from accounts.notify import notify

    notify(organisation=personas["county"].organisation, subject="测试通知")
    client.force_login(personas["county"])
    html = client.get("/").content.decode()
    assert '<span class="count">1</span><span class="visually-hidden">条未读</span>' in html
