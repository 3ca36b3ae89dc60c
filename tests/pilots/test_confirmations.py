"""Decisions ask before they act: every button that sends a POST form and cannot be taken back
carries data-confirm, whose question says what will follow (static/js/app.js asks it). The list
is not kept by hand: the pages each demo persona reaches from its home page are rendered over
the demo data and every button of every POST form on them is read (Django's admin, which asks
on a page of its own before deleting, is left out). Only buttons whose action
can be undone or changes nothing yet (saving a draft, a preview, a filter) may go without.

On the screening page the office is warned, above the decision and in the approval's question,
when the lead department has given no opinion (N2) or experts are still reviewing (N3)."""

from __future__ import annotations

import datetime as dt
import re
from collections import Counter, deque
from html.parser import HTMLParser

import pytest
from django.utils import timezone

from accounts.constants import OrgKind, Role
from pilots.screening import department_opinion
from reviews import expert
from tests.e2e.test_crawl_links import SKIPPED, page_links, pattern_of, site_path
from tests.factories import OrganisationFactory, UserFactory
from tests.pilots.conftest import checklist_answers

pytestmark = pytest.mark.walk

PERSONAS = ["office", "dept", "water", "hangzhou", "county", "expert", "auditor", "admin"]
# Buttons whose action is undone as easily as it is done, or that only prepare, preview, save
# a draft or sign in or out; every other POST button must ask first.
REVERSIBLE = {
    "保存",
    "保存草稿",
    "保存评分表",
    "创建账号",
    "生成",
    "生成订阅地址",
    "生成令牌",
    "生成清单草稿",
    "上传并预览",
    "换用该评分表",
    "重新启用",
    "发送测试消息",
    "全部标为已读",
    "修改密码",
    "设置新密码",
    "发送重置邮件",
    "登录",
    "退出",
}
PER_ROUTE = 4
MAX_PAGES = 150


class ButtonParser(HTMLParser):
    """The buttons of a page's POST forms: (label, data-confirm of the button or its form)."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.buttons: list[tuple[str, str]] = []
        self._form: dict | None = None
        self._button: dict | None = None

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "form":
            method = (a.get("method") or "get").lower()
            self._form = {"post": method == "post", "confirm": a.get("data-confirm") or ""}
        elif tag == "button" and (a.get("type") or "submit") == "submit":
            self._button = {"confirm": a.get("data-confirm") or "", "text": ""}
        elif tag == "input" and (a.get("type") or "") == "submit" and self._post():
            self.buttons.append(
                (a.get("value", ""), a.get("data-confirm") or self._form["confirm"])
            )

    def handle_data(self, data):
        if self._button is not None:
            self._button["text"] += data

    def handle_endtag(self, tag):
        if tag == "button" and self._button is not None:
            if self._post():
                label = re.sub(r"\s+", "", self._button["text"])
                self.buttons.append((label, self._button["confirm"] or self._form["confirm"]))
            self._button = None
        elif tag == "form":
            self._form = None

    def _post(self) -> bool:
        return self._form is not None and self._form["post"]


def post_buttons(html: str) -> list[tuple[str, str]]:
    parser = ButtonParser()
    parser.feed(html)
    parser.close()
    return parser.buttons


def render_reachable_pages(client, start="/"):
    """Yield (path, html) of the pages reachable from `start` by links and GET forms, a few of
    each URL pattern (bounded as the link crawl is)."""
    queue, seen, per_route, opened = deque([start]), {start}, Counter(), 0
    while queue and opened < MAX_PAGES:
        path = queue.popleft()
        route = pattern_of(path)[0]
        if per_route[route] >= PER_ROUTE:
            continue
        per_route[route] += 1
        response = client.get(path)
        opened += 1
        if response.status_code != 200 or "text/html" not in response.get("Content-Type", ""):
            continue
        html = response.content.decode()
        yield path, html
        for url in page_links(path, html):
            target = site_path(url)
            if target is None or target in seen or any(s.search(target) for s in SKIPPED):
                continue
            if re.search(r"\.(xlsx|pdf|ics)$|/download/|/plan/|/attachment/|export", target):
                continue
            if target.startswith("/admin/"):  # Django's admin asks on its own pages
                continue
            seen.add(target)
            queue.append(target)


def test_the_parser_reads_post_buttons_and_their_questions():
    html = """
    <form method="get"><button type="submit">筛选</button></form>
    <form method="post"><button type="submit" data-confirm="确定批复？">批复 同意</button>
      <button type="button">展开</button><input type="submit" value="退回"></form>
    <form method="post" data-confirm="确定导入？"><button>确认导入</button></form>
    """
    assert post_buttons(html) == [
        ("批复同意", "确定批复？"),
        ("退回", ""),
        ("确认导入", "确定导入？"),
    ]


@pytest.fixture
def demo_accounts(demo):
    from accounts.models import User

    return {user.username: user for user in User.objects.all()}


def test_every_irreversible_button_a_persona_is_shown_asks_first(client, demo_accounts):
    seen_labels: set[str] = set()
    unconfirmed: dict[str, set[str]] = {}
    for username in PERSONAS:
        client.force_login(demo_accounts[username])
        for path, html in render_reachable_pages(client):
            for label, question in post_buttons(html):
                seen_labels.add(label)
                if not question and label not in REVERSIBLE:
                    unconfirmed.setdefault(label, set()).add(path)
                if question:
                    assert question.endswith("？"), (label, question)
        client.logout()

    assert not unconfirmed, "\n".join(f"{k}: {sorted(v)[:2]}" for k, v in unconfirmed.items())
    # the scan reached the decisions it is about (a crawl that found nothing would pass)
    for label in ("批复同意", "不予通过", "退回修改", "提交评审", "恢复入库", "报送备案"):
        assert label in seen_labels, sorted(seen_labels)


# --- the screening page warns the office (N2, N3) ----------------------------------------------


@pytest.fixture
def second_expert(db):
    unit = OrganisationFactory(
        code="zju", name="浙江大学环境与资源学院", short_name="浙大", kind=OrgKind.THIRD_PARTY
    )
    return UserFactory(username="expert2", organisation=unit, role=Role.EXPERT)


def screen(client_for, pilot) -> str:
    response = client_for("office").get(f"/pilots/{pilot.code}/screen/")
    assert response.status_code == 200
    return response.content.decode()


def approve_question(html: str) -> str:
    button = re.search(r'<button[^>]*value="approve"[^>]*>', html).group(0)
    return re.search(r'data-confirm="([^"]*)"', button).group(1)


def test_approving_without_the_departments_opinion_or_with_experts_reviewing_warns_N2_N3(
    client_for, personas, make_application, endorse, second_expert
):
    pilot = endorse(make_application())
    expert.assign_experts(
        actor=personas["office"],
        pilot=pilot,
        experts=[personas["expert"], second_expert],
        due_date=timezone.localdate() + dt.timedelta(days=10),
    )

    html = screen(client_for, pilot)

    warning = re.search(r'<div class="decision-warning".*?</div>', html, re.S).group(0)
    assert "尚未提出把关意见" in warning and "N2" in warning
    assert "专家评审尚未完成：已提交0/2份" in warning
    assert html.index("decision-warning") < html.index('value="approve"')
    question = approve_question(html)
    assert question.startswith(
        "牵头部门尚未提出把关意见（N2）。专家评审尚未完成（已提交0/2份，N3）。"
    )
    assert "试点进入备案阶段（R2.2，批复后7日内备案）。确定批复？" in question


def test_no_warning_once_the_department_has_given_its_opinion_and_no_expert_is_pending_N2(
    client_for, personas, make_application, endorse
):
    pilot = endorse(make_application())
    department_opinion(
        actor=personas["dept"],
        pilot=pilot,
        agree=True,
        text="同意，符合本领域改革方向。",
        checklist=checklist_answers(),
    )

    html = screen(client_for, pilot)

    assert "decision-warning" not in html
    assert approve_question(html) == (
        "批复同意后，申报单位与牵头部门将收到通知，试点进入备案阶段（R2.2，批复后7日内备案）。"
        "确定批复？"
    )


def test_the_department_screening_the_same_application_sees_no_office_warning_N2(
    client_for, make_application, endorse
):
    pilot = endorse(make_application())

    html = client_for("dept").get(f"/pilots/{pilot.code}/screen/").content.decode()

    assert "decision-warning" not in html
    assert "data-confirm=" in re.search(r'<button[^>]*value="opinion"[^>]*>', html).group(0)
