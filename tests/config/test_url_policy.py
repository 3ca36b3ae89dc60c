"""Every URL pattern of the project × every persona, against a declared policy.

The patterns come from Django's resolver, so a new page or endpoint without a row here fails
the test. For each pattern and persona the test sends a GET and an empty POST; a 2xx answer
is allowed only where the policy names the persona. Personas: anonymous, office, lead
department, a prefecture on its own records and on another prefecture's records, a county,
an expert and the security auditor. "Own records" are pilot A's (Xihu county, Hangzhou,
led by the environment department); "another prefecture's" are pilot B's (Ningbo, led by
the water department)."""

from __future__ import annotations

import datetime as dt
import re

import pytest
from django.core.files.base import ContentFile
from django.urls import URLPattern, URLResolver, get_resolver

from accounts.constants import Role
from accounts.models import CalendarToken, NoticeChannel, Notification
from accounts.tokens import issue_token
from ledger.models import HalfYearSummary, ImportBatch, LedgerRender, ReformPlan
from pilots.constants import Status
from pilots.models import Call, OverlapFlag
from reviews.models import ExpertReview, PublishedList, Rectification
from tests.api.conftest import _records
from tests.factories import UserFactory

pytestmark = pytest.mark.walk

D = dt.date
# The office goes last: its empty POSTs may change shared records (publish a list …).
PERSONAS = {
    "anonymous": (None, "a"),
    "dept": ("dept", "a"),
    "prefecture": ("hangzhou", "a"),
    "prefecture_other": ("hangzhou", "b"),
    "county": ("county", "a"),
    "expert": ("expert", "a"),
    "auditor": ("auditor", "a"),
    "office": ("office", "a"),
}
ALL = frozenset(PERSONAS)
SIGNED_IN = ALL - {"anonymous"}
# The auditor reads the audit log and nothing else: every business page is closed to it.
BUSINESS = SIGNED_IN - {"auditor"}
NOT_AUDITOR = ALL - {"auditor"}
OFFICE = frozenset({"office"})
NOBODY = frozenset()
# Who sees pilot A (and, for prefecture_other, who sees pilot B: nobody but the office).
SEES_A = frozenset({"office", "dept", "prefecture", "county"})
LEADS_A = frozenset({"office", "dept"})
DASHBOARD = frozenset({"office", "dept", "prefecture", "prefecture_other", "county"})
ANONYMOUS = frozenset({"anonymous"})


def walk(patterns, prefix="", namespace=None):
    for entry in patterns:
        if isinstance(entry, URLResolver):
            ns = entry.namespace or namespace
            if entry.namespace and namespace:
                ns = f"{namespace}:{entry.namespace}"
            yield from walk(entry.url_patterns, prefix + str(entry.pattern), ns)
        elif isinstance(entry, URLPattern):
            name = f"{namespace}:{entry.name}" if namespace else entry.name
            yield prefix + str(entry.pattern), name, entry


@pytest.fixture
def world(make_pilot, orgs, personas):
    office = personas["office"]
    office.is_staff = True  # as in production: the office uses the admin for settings
    office.save()
    personas["auditor"] = UserFactory(
        username="auditor", organisation=orgs["office"], role=Role.AUDITOR
    )
    expert2 = UserFactory(username="expert2", organisation=orgs["third"], role=Role.EXPERT)
    a = make_pilot(
        name="甲试点",
        regions=[orgs["county"]],
        ledger_since=D(2026, 1, 5),
        status=Status.ACTIVE,
    )
    b = make_pilot(
        name="乙试点",
        lead_department=orgs["other_dept"],
        regions=[orgs["ningbo"]],
        ledger_since=D(2026, 1, 5),
        status=Status.ACTIVE,
    )
    call = Call.objects.create(
        title="批次", deadline=dt.datetime(2027, 3, 31, 9, tzinfo=dt.UTC), opened_by=office
    )
    shared = {
        "call": call.pk,
        "import": ImportBatch.objects.create(
            kind="pilots",
            status="failed",
            filename="x.xlsx",
            file="imports/x.xlsx",
            created_by=office,
        ).pk,
        "plan": ReformPlan.objects.create(name="方案", created_by=office).pk,
        "render": LedgerRender.objects.create(
            scope="province", year=2026, quarter=1, status="done", file="ledgers/x.pdf"
        ).pk,
        "list": PublishedList.objects.create(
            title="清单", created_by=office, status="published", published_on=D(2026, 6, 1)
        ).pk,
        # A feed secret nobody in the run can reset (the office's own POSTs would).
        "feed": CalendarToken.objects.create(user=expert2, token="feed-token-of-expert2").token,
        "token": issue_token(office, "对接")[0].pk,
        "channel": NoticeChannel.objects.create(
            organisation=orgs["dept"],
            channel_type="email",
            name="工作邮箱",
            emails="ban@zj.gov.cn",
            kinds=["overdue"],
        ).pk,
    }
    sets = {}
    for key, pilot, dept_org, reviewer in (
        ("a", a, orgs["dept"], personas["expert"]),
        ("b", b, orgs["other_dept"], expert2),
    ):
        records = _records(pilot, office)
        closure = pilot.closure_reports.get()
        closure.attachment.save("c.pdf", ContentFile(b"%PDF-1.4 c"), save=True)
        report = pilot.quarterly_reports.get()
        report.attachment.save("r.pdf", ContentFile(b"%PDF-1.4 r"), save=True)
        filing = pilot.filings.get()
        filing.plan.save("p.pdf", ContentFile(b"%PDF-1.4 p"), save=True)
        inspection = pilot.inspections.get()
        sets[key] = {
            **shared,
            **records,
            "code": pilot.code,
            "summary": HalfYearSummary.objects.create(
                organisation=dept_org,
                year=2026,
                half=1,
                overview="总体",
                progress="进展",
                due_date=D(2026, 7, 15),
                prepared_by=office,
            ).pk,
            "rectification": Rectification.objects.create(
                inspection=inspection, demand="整改", organisation=dept_org, due_date=D(2026, 9, 1)
            ).pk,
            "review": ExpertReview.objects.create(
                pilot=pilot, expert=reviewer, due_date=D(2026, 12, 31), assigned_by=office
            ).pk,
            "flag": OverlapFlag.objects.create(
                pilot=pilot, other=b if key == "a" else a, score=0.5
            ).pk,
            "notice": Notification.objects.create(organisation=dept_org, subject="待办").pk,
            "scorecard": pilot.evaluations.get().scorecard_id,
        }
    return sets


# Which object a pattern's <pk> means, by URL name (API names by their basename).
PK_OF = {
    "pilots:call_detail": "call",
    "pilots:apply": "call",
    "pilots:call_export": "call",
    "pilots:closure_decide": "closures",
    "pilots:extension_decide": "extensions",
    "pilots:term_attachment": "closures",
    "ledger:filing_decide": "filings",
    "ledger:filing_detail": "filings",
    "ledger:filing_plan": "filings",
    "ledger:report_attachment": "quarterly-reports",
    "ledger:summary_detail": "summary",
    "ledger:import_batch": "import",
    "ledger:import_apply": "import",
    "ledger:plan_detail": "plan",
    "ledger:render_download": "render",
    "reviews:scorecard": "scorecard",
    "reviews:evaluation": "evaluations",
    "reviews:evaluation_pdf": "evaluations",
    "reviews:expert_review": "review",
    "reviews:rectification_report": "rectification",
    "reviews:rectification_close": "rectification",
    "reviews:list": "list",
    "reviews:list_publish": "list",
    "public:list": "list",
    "token_revoke": "token",
    "channel_edit": "channel",
    "channel_test": "channel",
    "channel_deactivate": "channel",
    "channel_reactivate": "channel",
}
API_PK = {
    "call": "call",
    "filing": "filings",
    "quarterly-report": "quarterly-reports",
    "half-year-summary": "summary",
    "closure": "closures",
    "extension": "extensions",
    "acceptance-report": "acceptance-reports",
    "evaluation": "evaluations",
    "inspection": "inspections",
    "notification": "notice",
}


def value_for(name: str, param: str, objs: dict) -> str:
    if param == "code":
        return "hangzhou" if name.startswith("api:organisation") else objs["code"]
    if param == "pk":
        if name.startswith("api:"):
            return str(objs[API_PK[name[4:].rsplit("-", 1)[0].removesuffix("-return")]])
        return str(objs[PK_OF[name]])
    return str(
        {
            "flag_id": objs["flag"],
            "kind": "closure",
            "year": 2026,
            "quarter": 1,
            "half": 1,
            "token": objs["feed"],
            "org_code": "dept-env",
        }.get(param, ADMIN_PARAMS.get(param, "1"))
    )


def url_for(route: str, name: str | None, objs: dict) -> str:
    """The route with every parameter filled in, from the records of `objs`."""
    path = re.sub(r"<(?:\w+:)?(\w+)>", lambda m: value_for(name, m[1], objs), route)
    path = re.sub(r"\(\?P<(\w+)>[^)]*\)", lambda m: value_for(name, m[1], objs), path)
    path = path.replace("([^/]+)", "1").replace("^", "").replace("$", "")
    return "/" + path


ADMIN_PARAMS = {"app_label": "pilots", "object_id": "1", "content_type_id": "1", "url": "x"}


def key_of(route: str, name: str | None) -> str:
    """A pattern's row: its URL name; an admin page by its route (many share no name)."""
    return route if route.startswith("admin/") or not name else name


SECURITY_HEADERS = ("Content-Security-Policy", "X-Content-Type-Options", "Referrer-Policy")


def signed_in_as(client, user) -> None:
    """The client signed in as `user` (anonymous for None), signing in again only when the last
    request changed that (a POST to logout, a password change)."""
    current = client.session.get("_auth_user_id")
    wanted = None if user is None else str(user.pk)
    if current == wanted:
        return
    client.logout()
    if user is not None:
        client.force_login(user)


def observed(client, personas, world, persona: str):
    """({url name: methods answered 2xx}, {url name: security headers missing}, {url name:
    methods whose 2xx or 3xx answer to a signed-in persona may be stored}) for every pattern,
    as `persona`."""
    username, objs_key = PERSONAS[persona]
    user = personas[username] if username else None
    objs = world[objs_key]
    found: dict[str, set[str]] = {}
    headers_missing: dict[str, set[str]] = {}
    stored: dict[str, set[str]] = {}
    for route, name, _ in walk(get_resolver().url_patterns):
        # Each pattern starts signed in as the persona (a POST to logout must not spill over).
        signed_in_as(client, user)
        url = url_for(route, name, objs)
        row = found.setdefault(key_of(route, name), set())
        for method in ("get", "post"):
            response = getattr(client, method)(url)
            if 200 <= response.status_code < 300:
                row.add(method)
            missing = [h for h in SECURITY_HEADERS if not response.has_header(h)]
            if missing:
                headers_missing.setdefault(key_of(route, name), set()).update(missing)
            if user is not None and 200 <= response.status_code < 400 and may_store(response):
                stored.setdefault(key_of(route, name), set()).add(method)
    return found, headers_missing, stored


def may_store(response) -> bool:
    """Whether a cache may keep the answer: no `no-store` in its Cache-Control."""
    directives = {d.strip() for d in response.get("Cache-Control", "").split(",")}
    return "no-store" not in directives


# Who may get a 2xx answer (to a GET or an empty POST) from each URL pattern. Records of pilot
# A for every persona but prefecture_other, which is tried on pilot B's records: it must
# never see them. A pattern missing here fails the test; so does any difference.
POLICY = {
    "api:acceptance-report-detail": NOBODY,
    "api:acceptance-report-list": BUSINESS,
    "api:api-root": BUSINESS,
    "api:call-detail": NOBODY,
    "api:call-list": BUSINESS,
    "api:closure-accept": NOBODY,
    "api:closure-detail": NOBODY,
    "api:closure-list": BUSINESS,
    "api:closure-return-": NOBODY,
    "api:docs": NOT_AUDITOR,
    "api:evaluation-detail": NOBODY,
    "api:evaluation-list": BUSINESS,
    "api:extension-approve": NOBODY,
    "api:extension-detail": NOBODY,
    "api:extension-list": BUSINESS,
    "api:extension-reject": NOBODY,
    "api:filing-confirm": NOBODY,
    "api:filing-detail": NOBODY,
    "api:filing-list": BUSINESS,
    "api:filing-return-": NOBODY,
    "api:half-year-summary-detail": NOBODY,
    "api:half-year-summary-draft": NOBODY,
    "api:half-year-summary-list": BUSINESS,
    "api:half-year-summary-submit": NOBODY,
    "api:inspection-detail": NOBODY,
    "api:inspection-list": BUSINESS,
    "api:me": BUSINESS,
    "api:notification-detail": NOBODY,
    "api:notification-list": BUSINESS,
    "api:notification-read": NOBODY,
    "api:notification-read-all": BUSINESS,
    "api:organisation-detail": NOBODY,
    "api:organisation-list": BUSINESS,
    "api:pilot-acceptance": NOBODY,
    "api:pilot-approve": NOBODY,
    "api:pilot-closure": NOBODY,
    "api:pilot-department-opinion": NOBODY,
    "api:pilot-detail": NOBODY,
    "api:pilot-endorse": NOBODY,
    "api:pilot-extension": NOBODY,
    "api:pilot-file": NOBODY,
    "api:pilot-list": BUSINESS,
    "api:pilot-office-reject": NOBODY,
    "api:pilot-office-return": NOBODY,
    "api:pilot-overlap": NOBODY,
    "api:pilot-prefecture-reject": NOBODY,
    "api:pilot-prefecture-return": NOBODY,
    "api:pilot-reports": NOBODY,
    "api:pilot-restore": NOBODY,
    "api:pilot-submit": NOBODY,
    "api:pilot-withdraw": NOBODY,
    "api:quarterly-report-detail": NOBODY,
    "api:quarterly-report-list": BUSINESS,
    "api:schema": NOT_AUDITOR,
    "audit_log": frozenset({"auditor"}),
    "calendar": BUSINESS,
    "calendar_feed": NOT_AUDITOR,  # the secret in the address is the credential
    "calendar_token": NOBODY,
    # Notice channels: the office configures them (an empty POST answers the form's errors).
    "channel_create": OFFICE,
    "channel_deactivate": NOBODY,
    "channel_edit": OFFICE,
    "channel_list": OFFICE,
    "channel_org": OFFICE,
    "channel_reactivate": NOBODY,
    "channel_test": NOBODY,
    "dashboards:dashboard": DASHBOARD,
    "email_preferences": NOBODY,
    "healthz": ALL,
    "home": BUSINESS,
    "ledger:export": BUSINESS,
    "ledger:file": NOBODY,
    "ledger:filing_decide": NOBODY,
    "ledger:filing_detail": SEES_A,
    "ledger:filing_plan": SEES_A,
    "ledger:filings": BUSINESS,
    "ledger:import": OFFICE,
    "ledger:import_apply": NOBODY,
    "ledger:import_batch": OFFICE,
    "ledger:import_sample": OFFICE,
    "ledger:list": BUSINESS,
    "ledger:pilot_reports": SEES_A,
    "ledger:plan_detail": BUSINESS,
    "ledger:plans": BUSINESS,
    "ledger:render_download": NOBODY,
    "ledger:renders": LEADS_A,
    "ledger:report_attachment": SEES_A,
    "ledger:report_submit": frozenset({"dept"}),
    "ledger:summaries": LEADS_A,
    "ledger:summary_detail": LEADS_A,
    "ledger:summary_edit": frozenset({"dept"}),
    "ledger:todo": frozenset({"dept"}),
    "login": ANONYMOUS,
    "logout": NOBODY,
    "notifications": BUSINESS,
    "notifications_read": NOBODY,
    "password_change": SIGNED_IN,
    "password_change_done": SIGNED_IN,
    # Resetting a forgotten password: open to everyone (a bad link answers its own page).
    "password_reset": ALL,
    "password_reset_complete": ALL,
    "password_reset_confirm": ALL,
    "password_reset_done": ALL,
    "pilots:acceptance": NOBODY,
    "pilots:application_pdf": NOBODY,
    "pilots:apply": frozenset({"county", "prefecture", "prefecture_other"}),
    "pilots:call_create": OFFICE,
    "pilots:call_detail": BUSINESS,
    "pilots:call_export": BUSINESS,
    "pilots:call_list": BUSINESS,
    "pilots:closure": frozenset({"dept"}),
    "pilots:closure_decide": NOBODY,
    "pilots:create": LEADS_A,
    "pilots:detail": SEES_A,
    "pilots:edit": NOBODY,
    "pilots:extension": frozenset({"dept"}),
    "pilots:extension_decide": NOBODY,
    "pilots:history": SEES_A,
    "pilots:jobs": OFFICE,
    "pilots:list": BUSINESS,
    "pilots:overdue": BUSINESS,
    "pilots:overdue_export": BUSINESS,
    "pilots:overlap_verdict": NOBODY,
    "pilots:plan": NOBODY,
    "pilots:purged": BUSINESS,
    "pilots:restore": NOBODY,
    "pilots:screen": NOBODY,
    "pilots:submit": NOBODY,
    "pilots:term_attachment": SEES_A,
    "pilots:term_queue": LEADS_A,
    "pilots:withdraw": NOBODY,
    "profile": SIGNED_IN,
    "public:index": ALL,
    "public:list": ALL,
    "reviews:bonus": LEADS_A,
    "reviews:evaluate": LEADS_A,
    "reviews:evaluation": SEES_A,
    "reviews:evaluation_pdf": SEES_A,
    "reviews:expert_review": frozenset({"expert"}),
    "reviews:experts": OFFICE,
    "reviews:inspect": OFFICE,
    "reviews:list": OFFICE,
    "reviews:list_publish": NOBODY,
    "reviews:my_reviews": frozenset({"expert"}),
    "reviews:promotion": OFFICE,
    "reviews:promotion_report": NOBODY,
    "reviews:recognise": NOBODY,
    "reviews:rectification_close": NOBODY,
    "reviews:rectification_report": NOBODY,
    "reviews:scorecard": BUSINESS,
    "reviews:scorecard_create": OFFICE,
    "reviews:scorecards": frozenset({"office", "dept"}),
    "rules": BUSINESS,
    "token_create": NOBODY,
    "token_revoke": NOBODY,
    "user_create": OFFICE,
    "user_deactivate": NOBODY,
    "user_edit": NOBODY,  # the account in the address ("1") does not exist
    "user_force_reset": NOBODY,
    "user_list": OFFICE,
    "user_reactivate": NOBODY,
}
# The admin: the office (staff, without model permissions in this world) reaches its index
# and password pages; the login page answers everyone; every other admin page nobody.
ADMIN_POLICY = {
    "admin/": OFFICE,
    "admin/jsi18n/": OFFICE,
    "admin/password_change/": OFFICE,
    "admin/password_change/done/": OFFICE,
    "admin/login/": ALL,
}


def policy_for(key: str) -> frozenset | None:
    if key.startswith("admin/"):
        return ADMIN_POLICY.get(key, NOBODY)
    return POLICY.get(key)


def test_the_pilot_rows_are_the_access_policys_answer(personas, world):
    """SEES_A is not written by hand: it is who the access policy's table lets see pilot A
    (and nobody may see pilot B from another prefecture but the office and its own)."""
    from pilots import policy
    from pilots.models import Pilot

    a = Pilot.objects.get(name="甲试点")
    b = Pilot.objects.get(name="乙试点")
    users = {p: personas[u] for p, (u, _) in PERSONAS.items() if u}
    sees_a = {
        p for p, user in users.items() if p != "prefecture_other" and policy.can(user, a, "view")
    }
    assert sees_a == SEES_A - {"prefecture_other"}
    assert not policy.can(users["prefecture_other"], b, "view")


def test_every_url_pattern_has_a_policy_row_and_every_row_a_pattern():
    keys = {key_of(route, name) for route, name, _ in walk(get_resolver().url_patterns)}
    missing = sorted(key for key in keys if policy_for(key) is None)
    assert missing == [], f"URL patterns without a policy row: {missing}"
    stale = sorted(set(POLICY) - keys)
    assert stale == [], f"policy rows for patterns that no longer exist: {stale}"


@pytest.mark.parametrize("persona", list(PERSONAS))
def test_every_url_pattern_answers_only_the_personas_its_policy_names(
    client, personas, world, persona
):
    found, headers_missing, stored = observed(client, personas, world, persona)
    allowed = {key: persona in (policy_for(key) or NOBODY) for key in found}
    unexpected = sorted(key for key, methods in found.items() if methods and not allowed[key])
    assert unexpected == [], f"unexpected 2xx for {persona}: {unexpected}"
    refused = sorted(key for key, methods in found.items() if allowed[key] and not methods)
    assert refused == [], f"the policy allows {persona} but the page refused: {refused}"
    # Every answer of every pattern, to every persona, carries the security headers …
    assert headers_missing == {}
    # … and no answer carrying a signed-in user's data may be stored by a cache.
    assert stored == {}
