"""The top bar: the user's organisation and role, and the navigation of each persona.

The navigation is composed here, above the apps whose pages it links. Each persona sees the
pages it works on, grouped, and only pages it may open: every entry asks the predicate its page
asks (accounts.roles, the pilots' policy, the dashboard's roles, the audit log's reader).
"""

from __future__ import annotations

from dataclasses import dataclass, field

from django.http import HttpRequest
from django.urls import reverse

from accounts import roles as policy
from accounts.audit_views import may_read_audit
from accounts.constants import Role
from accounts.notify import notices_for
from accounts.users import may_manage_users
from dashboards.metrics import DASHBOARD_ROLES
from pilots.policy import can_enter_pilot

# Pages of the pilots app that have an entry of their own (or belong to the calls).
_PILOT_OWN_ENTRY = {
    "call_list",
    "call_create",
    "call_detail",
    "apply",
    "call_export",
    "term_queue",
    "overdue",
    "overdue_export",
    "purged",
    "jobs",
}


# A pilot's own pages kept by the apps above pilots: they count as being in the library.
_PILOT_PAGES = (
    "pilots:*",
    "reviews:evaluate",
    "reviews:experts",
    "reviews:inspect",
    "reviews:promotion_report",
    "reviews:recognise",
)


@dataclass(frozen=True)
class Link:
    """One entry: its label, the URL name it opens, an optional query naming a subset, and the
    other pages (URL names, "app:" for a whole app) that count as being on this entry."""

    label: str
    name: str
    query: str = ""
    also: tuple[str, ...] = ()
    count: int = 0

    @property
    def url(self) -> str:
        path = reverse(self.name)
        return f"{path}?{self.query}" if self.query else path

    def score(self, view_name: str, app_name: str, get: dict) -> int:
        """How closely the current page matches this entry (0: not at all)."""
        if self.query:
            key, _, value = self.query.partition("=")
            return 4 if view_name == self.name and get.get(key) == value else 0
        if view_name == self.name:
            return 3
        # A page named among the entry's own pages is closer than a whole app's ("ledger:"):
        # a filing's page is 备案确认's, not 台账's.
        if view_name in self.also:
            return 2
        for other in self.also:
            if other.endswith(":") and app_name == other[:-1]:
                return 1
            if other == "pilots:*" and _pilot_page(view_name):
                return 1
        return 0


@dataclass
class NavEntry:
    """A top-level entry: a single link, or a group (a dropdown) of links."""

    label: str
    links: list[Link]
    group: bool = False
    current_link: Link | None = field(default=None)

    @property
    def current(self) -> bool:
        return self.current_link is not None

    @property
    def link(self) -> Link:
        return self.links[0]


def _pilot_page(view_name: str) -> bool:
    if not view_name.startswith("pilots:"):
        return False
    return view_name.split(":", 1)[1] not in _PILOT_OWN_ENTRY


def _entries(user, unread: int) -> list[NavEntry]:
    role = policy.role_of(user)
    if role is None:
        return []
    if policy.is_auditor(user):
        return [NavEntry("审计日志", [Link("审计日志", "audit_log")])]
    office = policy.is_office(user)
    lead = role == Role.LEAD_DEPARTMENT
    home = NavEntry("我的工作", [Link("我的工作", "home")])
    library = NavEntry("试点库", [Link("试点库", "pilots:list", also=_PILOT_PAGES)])
    calls = Link(
        "申报批次",
        "pilots:call_list",
        also=("pilots:call_create", "pilots:call_detail", "pilots:apply"),
    )
    calendar = Link("期限日历", "calendar", also=("calendar_token",))
    notices = NavEntry("通知", [Link("通知", "notifications", count=unread)])
    dashboard = NavEntry(
        "数据看板", [Link("数据看板", "dashboards:dashboard", also=("dashboards:",))]
    )
    overdue = Link("逾期事项", "pilots:overdue")
    if role == Role.EXPERT:
        reviews = Link("评审任务", "reviews:my_reviews", also=("reviews:expert_review",))
        return [home, NavEntry("评审任务", [reviews]), NavEntry("期限日历", [calendar]), notices]
    if not (office or lead):
        # Prefecture and county bureaus: their applications, their pilots, their deadlines.
        entries = [home, NavEntry("申报", [calls]), library, NavEntry("逾期事项", [overdue])]
        entries.append(NavEntry("期限日历", [calendar]))
        if role in DASHBOARD_ROLES:
            entries.append(dashboard)
        return [*entries, notices]
    ledger_links = [Link("台账", "ledger:list", also=("ledger:",))]
    if lead:
        ledger_links.append(Link("待办报送", "ledger:todo"))
    if office:
        ledger_links.append(
            Link(
                "备案确认", "ledger:filings", also=("ledger:filing_decide", "ledger:filing_detail")
            )
        )
    ledger_links.append(
        Link("半年汇总", "ledger:summaries", also=("ledger:summary_edit", "ledger:summary_detail"))
    )
    if office:
        ledger_links.append(Link("导入", "ledger:import", also=("ledger:import_batch",)))
        ledger_links.append(Link("改革实施方案", "ledger:plans", also=("ledger:plan_detail",)))
    ledger_links.append(Link("PDF台账", "ledger:renders"))
    term_links = [
        Link("到期审核", "pilots:term_queue"),
        overdue,
        Link("已清理出库", "pilots:purged"),
        calendar,
    ]
    review_links = [
        Link(
            "评分表",
            "reviews:scorecards",
            also=("reviews:scorecard_create", "reviews:scorecard", "reviews:evaluation"),
        ),
    ]
    if office or can_enter_pilot(user):
        review_links.append(Link("考核加分", "reviews:bonus"))
    if office:
        review_links.append(Link("复制推广", "reviews:promotion", also=("reviews:list",)))
        applications = NavEntry("申报与审定", [calls])
    else:
        opinion = Link("待提意见的申报", "pilots:list", query="status=endorsed")
        applications = NavEntry("申报", [calls, opinion], group=True)
    entries = [
        home,
        library,
        applications,
        NavEntry("台账", ledger_links, group=True),
        NavEntry("到期与逾期", term_links, group=True),
        NavEntry("评估与推广" if office else "评估", review_links, group=True),
        dashboard,
        notices,
    ]
    if office:
        system = [Link("规则与期限", "rules"), Link("定时任务", "pilots:jobs")]
        if may_manage_users(user):
            system.append(Link("用户管理", "user_list", also=("user_create", "user_edit")))
        channel_pages = ("channel_org", "channel_create", "channel_edit", "channel_test")
        system.append(Link("消息渠道", "channel_list", also=channel_pages))
        if may_read_audit(user):
            system.append(Link("审计日志", "audit_log"))
        if user.is_staff:
            system.append(Link("管理后台", "admin:index"))
        entries.append(NavEntry("系统", system, group=True))
    return entries


def _mark_current(entries: list[NavEntry], request: HttpRequest) -> None:
    """Marks the one entry of the current page (the closest match wins)."""
    match = getattr(request, "resolver_match", None)
    if match is None:
        return
    view_name, app_name = match.view_name, match.app_name
    best: tuple[int, NavEntry | None, Link | None] = (0, None, None)
    for entry in entries:
        for link in entry.links:
            score = link.score(view_name, app_name, request.GET)
            if score > best[0]:
                best = (score, entry, link)
    if best[1] is not None:
        best[1].current_link = best[2]


def navigation(user, request: HttpRequest) -> list[NavEntry]:
    """The persona's navigation, its current entry marked."""
    unread = notices_for(user).filter(read_at__isnull=True).count()
    entries = _entries(user, unread)
    _mark_current(entries, request)
    return entries


def organisation(request: HttpRequest) -> dict:
    """The user's organisation, role and navigation, for the top bar."""
    user = getattr(request, "user", None)
    if user is None or not user.is_authenticated:
        return {}
    entries = navigation(user, request)
    unread = next((e.link.count for e in entries if e.link.name == "notifications"), 0)
    return {
        "current_org": user.organisation,
        "current_role": user.get_role_display(),
        "nav_entries": entries,
        "nav_is_office": policy.is_office(user),
        "nav_is_auditor": policy.is_auditor(user),
        "unread_count": unread,
    }
