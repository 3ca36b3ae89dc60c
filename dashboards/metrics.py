"""The figures of the dashboards, computed for one user's slice of the registry.

Every figure is computed over the pilots the user may see (the access gate's queryset), so a
lead department's and a prefecture's dashboards show their own slice only. Each function runs
a fixed number of queries whatever the number of pilots: counts are grouped in the database;
the reporting rates read one row per ledger pilot and one per report and count in Python.

Reporting rates follow R2.3 the way DHIS2 counts them: for a quarter whose report is due, the
expected reports are the ledger pilots that owe that quarter (from the quarter they entered
the ledger, or started, to the quarter their term ends); the reporting rate is reported ÷
expected and the on-time rate is reported-by-the-due-date ÷ expected. A correction keeps the
lateness of the first submission, so it never turns a late report into an on-time one.
"""

from __future__ import annotations

import datetime as dt
from collections import defaultdict
from dataclasses import dataclass, field
from decimal import Decimal
from urllib.parse import urlencode

from django.db.models import Avg, Case, Count, F, Min, Q, Sum, When
from django.urls import reverse

from accounts.constants import OrgKind, Role
from accounts.models import Organisation
from core.dates import format_cn_quarter
from ledger.models import QuarterlyReport
from pilots import rules
from pilots.constants import (
    APPROVED_OR_LATER,
    DEADLINE_CLAUSE,
    DeadlineKind,
    ReformField,
    Status,
    Tier,
)
from pilots.models import Pilot
from pilots.policy import role_of
from pilots.selectors import overdue_events_for
from reviews.constants import Rating
from reviews.models import BonusPoint, Recognition

DASHBOARD_ROLES = (Role.OFFICE, Role.ADMIN, Role.LEAD_DEPARTMENT, Role.PREFECTURE, Role.COUNTY)
TREND_QUARTERS = 4
# Pilots counted in the prefecture ranking: provincial pilots not purged from the library.
RANKED_STATES = sorted(set(APPROVED_OR_LATER) - {Status.PURGED})


def may_view(user) -> bool:
    return role_of(user) in DASHBOARD_ROLES


def slice_label(user) -> str:
    role = role_of(user)
    if role in (Role.OFFICE, Role.ADMIN):
        return "全省"
    org = user.organisation
    return f"{org.short_name or org.name}（本单位可见范围）" if org else "本单位"


# --- quarters --------------------------------------------------------------------------------


previous_quarter = rules.previous_quarter


def latest_due_quarter(today: dt.date) -> tuple[int, int]:
    """The most recent quarter whose report is already due (R2.3: 10 days after it ends)."""
    year, quarter = previous_quarter(*rules.quarter_of(today))
    while rules.quarterly_report_due(year, quarter) > today:
        year, quarter = previous_quarter(year, quarter)
    return year, quarter


def quarters_back(last: tuple[int, int], n: int) -> list[tuple[int, int]]:
    """The n quarters ending with `last`, oldest first."""
    quarters = [last]
    while len(quarters) < n:
        quarters.append(previous_quarter(*quarters[-1]))
    return quarters[::-1]


def quarter_label(year: int, quarter: int) -> str:
    return f"{format_cn_quarter(year, quarter)}"


# --- small records -------------------------------------------------------------------------


@dataclass
class Bucket:
    """One labelled figure with the link to the list behind it."""

    key: str
    label: str
    count: int
    url: str


@dataclass
class Rate:
    expected: int = 0
    reported: int = 0
    on_time: int = 0

    @property
    def reporting_rate(self) -> float | None:
        return round(100 * self.reported / self.expected, 1) if self.expected else None

    @property
    def on_time_rate(self) -> float | None:
        return round(100 * self.on_time / self.expected, 1) if self.expected else None

    def add(self, reported: bool, on_time: bool) -> None:
        self.expected += 1
        self.reported += reported
        self.on_time += on_time


@dataclass
class DepartmentRate:
    organisation: Organisation
    rate: Rate
    url: str


@dataclass
class RankingRow:
    prefecture: Organisation
    pilots: int = 0
    rate: Rate = field(default_factory=Rate)
    recognitions: int = 0
    bonus: Decimal = Decimal(0)
    evaluations: int = 0
    average_score: float | None = None
    top_rated: int = 0
    trend: list[float | None] = field(default_factory=list)
    rank: int = 0
    url: str = ""


def _list_url(name: str, **params) -> str:
    return f"{reverse(name)}?{urlencode(params)}"


# --- counts of pilots ------------------------------------------------------------------------


def by_status(scope) -> list[Bucket]:
    counts = dict(scope.order_by().values_list("status").annotate(n=Count("pk")))
    return [
        Bucket(s.value, s.label, counts[s.value], _list_url("pilots:list", status=s.value))
        for s in Status
        if counts.get(s.value)
    ]


def by_field(scope) -> list[Bucket]:
    counts = dict(scope.order_by().values_list("field").annotate(n=Count("pk")))
    return [
        Bucket(f.value, f.label, counts.get(f.value, 0), _list_url("pilots:list", field=f.value))
        for f in ReformField
    ]


def by_tier(scope) -> list[Bucket]:
    counts: dict[str, int] = defaultdict(int)
    for origin, n in scope.order_by().values_list("origin").annotate(n=Count("pk")):
        counts[rules.managing_tier(origin)] += n
    return [
        Bucket(t.value, t.label, counts.get(t.value, 0), _list_url("pilots:list", tier=t.value))
        for t in Tier
    ]


def _prefecture_of_region():
    """The prefecture of a row's organisation: the organisation itself, or a county's parent
    (for region rows and bonus-point rows alike)."""
    return Case(
        When(organisation__kind=OrgKind.COUNTY, then=F("organisation__parent_id")),
        default=F("organisation_id"),
    )


def _regions(scope):
    return Pilot.regions.through.objects.filter(
        pilot__in=scope.order_by().values("pk"),
        organisation__kind__in=[OrgKind.PREFECTURE, OrgKind.COUNTY],
    )


def by_prefecture(scope, prefectures: list[Organisation]) -> list[Bucket]:
    """Pilots per prefecture (a pilot in several prefectures counts in each)."""
    counts = dict(
        _regions(scope)
        .annotate(pref=_prefecture_of_region())
        .values_list("pref")
        .annotate(n=Count("pilot_id", distinct=True))
    )
    return [
        Bucket(p.code, p.short_name, counts.get(p.pk, 0), _prefecture_url(p)) for p in prefectures
    ]


def _prefecture_url(prefecture: Organisation) -> str:
    return _list_url("pilots:list", prefecture=prefecture.code)


# --- deadlines -------------------------------------------------------------------------------


def overdue_by_kind(user) -> list[Bucket]:
    counts = dict(
        overdue_events_for(user)
        .filter(resolved_on__isnull=True)
        .order_by()
        .values_list("kind")
        .annotate(n=Count("pk"))
    )
    return [
        Bucket(
            k.value,
            f"{k.label}（{DEADLINE_CLAUSE[k]}）",
            counts.get(k.value, 0),
            _list_url("pilots:overdue", kind=k.value, state="open"),
        )
        for k in DeadlineKind
    ]


@dataclass
class FilingDue:
    pilot: Pilot
    due: dt.date
    days: int

    @property
    def clause(self) -> str:
        return DEADLINE_CLAUSE[DeadlineKind.FILING]


def filings_due(scope, today: dt.date, days: int = 7) -> list[FilingDue]:
    """R2.2: approved pilots not yet filed whose filing is due within `days` days or already
    late, earliest first."""
    latest_approval = today + dt.timedelta(days=days) - (rules.filing_due(today) - today)
    pilots = (
        scope.filter(status=Status.APPROVED, approval_date__lte=latest_approval)
        .select_related("lead_department")
        .order_by("approval_date", "code")
    )
    rows = []
    for pilot in pilots:
        due = rules.filing_due(pilot.approval_date)
        rows.append(FilingDue(pilot, due, (due - today).days))
    return rows


# --- reporting rates (R2.3) ------------------------------------------------------------------


@dataclass
class _LedgerPilot:
    pk: int
    department_id: int
    first: tuple[int, int]
    last: tuple[int, int]

    def owes(self, year: int, quarter: int) -> bool:
        return self.first <= (year, quarter) <= self.last


def _ledger_pilots(scope) -> list[_LedgerPilot]:
    rows = (
        scope.filter(ledger_since__isnull=False)
        .order_by()
        .values_list(
            "pk",
            "lead_department_id",
            "lead_department__parent_id",
            "ledger_since",
            "start_date",
            "end_date",
        )
    )
    found = []
    for pk, dept_id, parent_id, since, start, end in rows:
        span = rules.owed_quarter_span(start, end, since)
        if span is not None:
            found.append(_LedgerPilot(pk, parent_id or dept_id, *span))
    return found


def _first_lateness(scope, quarters: list[tuple[int, int]]) -> dict[tuple[int, int, int], int]:
    """(pilot, year, quarter) → days late of its first submission, for the given quarters."""
    years = sorted({y for y, _ in quarters})
    rows = (
        QuarterlyReport.objects.filter(
            pilot__in=scope.filter(ledger_since__isnull=False).order_by().values("pk"),
            year__in=years,
        )
        .order_by()
        .values_list("pilot_id", "year", "quarter")
        .annotate(late=Min("days_late"))
    )
    wanted = set(quarters)
    return {(p, y, q): late for p, y, q, late in rows if (y, q) in wanted}


@dataclass
class ReportingFacts:
    """Expected, reported and on-time quarterly reports per pilot and quarter."""

    pilots: list[_LedgerPilot]
    lateness: dict[tuple[int, int, int], int]

    def rate(self, quarters, pilot_ids: set[int] | None = None) -> Rate:
        rate = Rate()
        for pilot in self.pilots:
            if pilot_ids is not None and pilot.pk not in pilot_ids:
                continue
            for year, quarter in quarters:
                if pilot.owes(year, quarter):
                    late = self.lateness.get((pilot.pk, year, quarter))
                    rate.add(late is not None, late == 0)
        return rate

    def by_department(self, year: int, quarter: int) -> dict[int, Rate]:
        rates: dict[int, Rate] = defaultdict(Rate)
        for pilot in self.pilots:
            if pilot.owes(year, quarter):
                late = self.lateness.get((pilot.pk, year, quarter))
                rates[pilot.department_id].add(late is not None, late == 0)
        return rates


def reporting_facts(scope, quarters: list[tuple[int, int]]) -> ReportingFacts:
    return ReportingFacts(_ledger_pilots(scope), _first_lateness(scope, quarters))


def department_rates(facts: ReportingFacts, year: int, quarter: int) -> list[DepartmentRate]:
    rates = facts.by_department(year, quarter)
    orgs = Organisation.objects.filter(pk__in=rates).order_by("sort_order", "code")
    rows = [
        DepartmentRate(org, rates[org.pk], _list_url("ledger:list", lead=org.code)) for org in orgs
    ]
    rows.sort(key=lambda r: (-(r.rate.on_time_rate or 0), -r.rate.expected, r.organisation.code))
    return rows


# --- the prefecture ranking (晾晒比拼) -------------------------------------------------------


def _bonus_rows(user, scope, year: int):
    rows = BonusPoint.objects.filter(year=year)
    role = role_of(user)
    if role in (Role.OFFICE, Role.ADMIN):
        return rows
    if role == Role.PREFECTURE:
        org = user.organisation_id
        return rows.filter(Q(organisation_id=org) | Q(organisation__parent_id=org))
    return rows.filter(pilot__in=scope.order_by().values("pk"))


def ranking(
    user, scope, prefectures: list[Organisation], facts: ReportingFacts, quarters, today
) -> list[RankingRow]:
    """Per prefecture: pilots, the year's on-time reporting rate, replicable experiences and
    demonstration cases recognised, the year's bonus points (R4.1), evaluations and their
    average score; ranked by bonus points, then on-time rate, then average score. `quarters`
    are the trend's quarters, the last one the quarter in view."""
    year = quarters[-1][0]
    rows = {p.pk: RankingRow(p, url=_prefecture_url(p)) for p in prefectures}
    if not rows:
        return []
    regions = _regions(scope).annotate(pref=_prefecture_of_region())
    for pref, n in (
        regions.filter(pilot__status__in=RANKED_STATES)
        .values_list("pref")
        .annotate(n=Count("pilot_id", distinct=True))
    ):
        if pref in rows:
            rows[pref].pilots = n
    pilots_of: dict[int, set[int]] = defaultdict(set)
    for pilot_id, pref in regions.values_list("pilot_id", "pref").distinct():
        pilots_of[pref].add(pilot_id)
    year_quarters = [(year, q) for q in range(1, quarters[-1][1] + 1)]
    for pref, row in rows.items():
        ids = pilots_of.get(pref, set())
        row.rate = facts.rate(year_quarters, ids)
        row.trend = [facts.rate([q], ids).on_time_rate for q in quarters]
    recognitions = Recognition.objects.filter(
        is_withdrawn=False, pilot__in=scope.order_by().values("pk")
    )
    for pref, n in (
        regions.filter(pilot__in=recognitions.values("pilot_id"))
        .values_list("pref")
        .annotate(n=Count("pilot_id", distinct=True))
    ):
        if pref in rows:
            rows[pref].recognitions = n
    bonus = (
        _bonus_rows(user, scope, year)
        .filter(organisation__kind__in=[OrgKind.PREFECTURE, OrgKind.COUNTY])
        .annotate(pref=_prefecture_of_region())
        .order_by()
        .values_list("pref")
        .annotate(total=Sum("points"))
    )
    for pref, total in bonus:
        if pref in rows:
            rows[pref].bonus = total or Decimal(0)
    evaluations = (
        regions.filter(pilot__evaluations__evaluated_on__year=year)
        .values_list("pref")
        .annotate(
            n=Count("pilot__evaluations", distinct=True),
            avg=Avg("pilot__evaluations__score"),
            top=Count(
                "pilot__evaluations",
                filter=Q(pilot__evaluations__rating__in=[Rating.FIVE, Rating.FOUR]),
                distinct=True,
            ),
        )
    )
    for pref, n, avg, top in evaluations:
        if pref in rows:
            rows[pref].evaluations = n
            rows[pref].average_score = round(float(avg), 1) if avg is not None else None
            rows[pref].top_rated = top
    ranked = sorted(
        rows.values(),
        key=lambda r: (
            -r.bonus,
            -(r.rate.on_time_rate or 0),
            -(r.average_score or 0),
            r.prefecture.sort_order,
            r.prefecture.code,
        ),
    )
    for i, row in enumerate(ranked, start=1):
        row.rank = i
    return ranked


def ranked_prefectures(user) -> list[Organisation]:
    """The prefectures in the user's ranking: all for the office and lead departments (over
    their own pilots), the bureau's own for a prefecture, none for a county."""
    role = role_of(user)
    prefectures = Organisation.objects.filter(kind=OrgKind.PREFECTURE, is_active=True).order_by(
        "sort_order", "code"
    )
    if role == Role.PREFECTURE:
        return list(prefectures.filter(pk=user.organisation_id))
    if role == Role.COUNTY:
        return []
    return list(prefectures)


# --- the whole dashboard ---------------------------------------------------------------------


def dashboard(user, today: dt.date, quarter: tuple[int, int] | None = None) -> dict:
    """Everything the dashboard shows, for `user`'s slice, in a fixed number of queries."""
    scope = Pilot.objects.restrict(user)
    year, q = quarter or latest_due_quarter(today)
    trend_quarters = quarters_back((year, q), TREND_QUARTERS)
    year_quarters = [(year, n) for n in range(1, q + 1)]
    facts = reporting_facts(scope, sorted(set(trend_quarters) | set(year_quarters)))
    all_prefectures = list(
        Organisation.objects.filter(kind=OrgKind.PREFECTURE, is_active=True).order_by(
            "sort_order", "code"
        )
    )
    prefectures = ranked_prefectures(user)
    states = by_status(scope)
    overdue = overdue_by_kind(user)
    return {
        "slice": slice_label(user),
        "year": year,
        "quarter": q,
        "quarter_label": quarter_label(year, q),
        "quarter_due": rules.quarterly_report_due(year, q),
        "trend_labels": [quarter_label(*x) for x in trend_quarters],
        "total": sum(b.count for b in states),
        "by_status": states,
        "by_field": by_field(scope),
        "by_tier": by_tier(scope),
        "by_prefecture": by_prefecture(scope, all_prefectures),
        "overdue": overdue,
        "overdue_total": sum(b.count for b in overdue),
        "filings_due": filings_due(scope, today),
        "quarter_rate": facts.rate([(year, q)]),
        "department_rates": department_rates(facts, year, q),
        "ranking": ranking(user, scope, prefectures, facts, trend_quarters, today),
    }
