"""Read-side queries for pilots: list filtering and sorting, the home pages' work items."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field

from django.db import connection
from django.db.models import BooleanField, Exists, OuterRef, Prefetch, Q, QuerySet
from django.db.models.expressions import RawSQL
from django.urls import reverse

from accounts.constants import Role
from accounts.models import Organisation
from pilots import rules
from pilots.constants import Status
from pilots.models import (
    ClosureReport,
    ExtensionRequest,
    Milestone,
    Opinion,
    OverdueEvent,
    OverlapFlag,
    Pilot,
    ScreeningChecklist,
)
from pilots.panels import panel_exists
from pilots.policy import role_of

# ?sort= values the pilot list accepts → ORDER BY.
SORTS: dict[str, tuple[str, ...]] = {
    "code": ("code",),
    "-code": ("-code",),
    "name": ("name", "code"),
    "-name": ("-name", "code"),
    "end": ("end_date", "code"),
    "-end": ("-end_date", "code"),
    "start": ("start_date", "code"),
    "-start": ("-start_date", "code"),
    "status": ("status", "code"),
    "-status": ("-status", "code"),
}
DEFAULT_SORT = "-code"


def open_overdue_exists() -> Exists:
    """True for a pilot with an unresolved overdue event (R2.2, R2.3, R2.4, R3.2)."""
    return Exists(OverdueEvent.objects.filter(pilot=OuterRef("pk"), resolved_on__isnull=True))


def pilot_list_queryset(user) -> QuerySet[Pilot]:
    """Visible pilots with what a list row shows, in a fixed number of queries."""
    return (
        Pilot.objects.restrict(user)
        .select_related("lead_department__parent", "applicant")
        .prefetch_related(
            Prefetch("regions", queryset=Organisation.objects.select_related("parent"))
        )
        .annotate(has_overdue=open_overdue_exists())
    )


# What the pilot page itself shows besides the panels: has the pilot any such record?
PAGE_EXISTS = {
    "has_milestones": lambda: Exists(
        Milestone.objects.filter(pilot=OuterRef("pk"), is_removed=False)
    ),
    "has_flags": lambda: Exists(OverlapFlag.objects.filter(pilot=OuterRef("pk"))),
    "has_opinions": lambda: Exists(Opinion.objects.filter(pilot=OuterRef("pk"))),
    "has_checklists": lambda: Exists(ScreeningChecklist.objects.filter(pilot=OuterRef("pk"))),
}
_COMPILED: dict[tuple, RawSQL] = {}


def _compiled_once(name: str, build) -> RawSQL | Exists:
    """The annotation `build()` as its SQL, compiled once per process: it is the same for every
    pilot and user, and compiling a dozen subqueries on every request cost more than running
    them."""
    key = (connection.vendor, name, build)
    if key not in _COMPILED:
        alone = Pilot.objects.order_by().annotate(**{name: build()}).values(name)
        sql, params = alone.query.sql_with_params()
        quote = connection.ops.quote_name
        prefix, suffix = "SELECT ", f" AS {quote(name)} FROM {quote(Pilot._meta.db_table)}"
        if not (sql.startswith(prefix) and sql.endswith(suffix)):
            return build()
        _COMPILED[key] = RawSQL(sql[len(prefix) : -len(suffix)], params, BooleanField())
    return _COMPILED[key]


def pilot_page_queryset(user) -> QuerySet[Pilot]:
    """Visible pilots as the pilot page reads one: with the organisations it names and whether
    it has any record of each kind the page and its panels show (`panels.has_rows`), in one
    query."""
    exists = {**PAGE_EXISTS, **panel_exists()}
    return (
        Pilot.objects.restrict(user)
        .select_related("lead_department__parent", "applicant", "call", "endorsing_prefecture")
        .annotate(**{name: _compiled_once(name, build) for name, build in exists.items()})
    )


def _links(through) -> str:
    """The organisations `through` links to one pilot (a parameter), as SQL."""
    quote = connection.ops.quote_name
    table = quote(through._meta.db_table)
    org, pilot = quote("organisation_id"), quote("pilot_id")
    return f"SELECT {table}.{org} FROM {table} WHERE {table}.{pilot} = %s"


def pilot_units(pilot: Pilot) -> tuple[list[Organisation], list[Organisation]]:
    """The pilot's regions (with their prefecture) and its participating units, in one
    query, each in the organisations' own order. Plain SQL for the two link tables: the ORM's
    subqueries cost more to build than to run."""
    quote = connection.ops.quote_name
    column = f"{quote(Organisation._meta.db_table)}.{quote('id')}"
    regions, units = _links(Pilot.regions.through), _links(Pilot.participating_units.through)
    found = list(
        Organisation.objects.filter(pk__in=RawSQL(f"{regions} UNION {units}", [pilot.pk] * 2))
        .annotate(
            in_region=RawSQL(f"{column} IN ({regions})", [pilot.pk], BooleanField()),
            participates=RawSQL(f"{column} IN ({units})", [pilot.pk], BooleanField()),
        )
        .select_related("parent")
    )
    return [o for o in found if o.in_region], [o for o in found if o.participates]


def responsible_org_ids(user) -> list[int] | None:
    """The organisations whose deadlines `user` answers for: None means all (the office); a
    lead department answers for itself and its divisions; others for none."""
    from accounts.models import Organisation

    role = role_of(user)
    if role in (Role.OFFICE, Role.ADMIN):
        return None
    if role == Role.LEAD_DEPARTMENT and user.organisation_id is not None:
        children = Organisation.objects.filter(parent_id=user.organisation_id)
        return [user.organisation_id, *children.values_list("pk", flat=True)]
    return []


def overdue_events_for(user) -> QuerySet[OverdueEvent]:
    """Overdue events `user` may see: all for the office, its own (and its divisions') for a
    lead department, those of the pilots it sees for a prefecture or county."""
    role = role_of(user)
    events = OverdueEvent.objects.all()
    if role is None:
        return events.none()
    if role in (Role.OFFICE, Role.ADMIN):
        return events
    if role == Role.LEAD_DEPARTMENT:
        org = user.organisation_id
        return events.filter(Q(organisation_id=org) | Q(organisation__parent_id=org))
    return events.filter(pilot__in=Pilot.objects.restrict(user).values("pk"))


@dataclass
class WorkItem:
    pilot: Pilot
    what: str
    clause: str
    due: dt.date | None
    today: dt.date

    @property
    def overdue_days(self) -> int:
        if self.due is None:
            return 0
        return max(0, (self.today - self.due).days)

    @property
    def days_left(self) -> int | None:
        return None if self.due is None else (self.due - self.today).days


@dataclass
class WorkSection:
    title: str
    clause: str
    items: list[WorkItem] = field(default_factory=list)
    empty_text: str = "暂无待办事项。"


ROW_LIMIT = 20


def _items(qs, *, what: str, clause: str, due, today) -> list[WorkItem]:
    return [
        WorkItem(pilot=p, what=what, clause=clause, due=due(p), today=today)
        for p in qs.select_related("lead_department__parent")[:ROW_LIMIT]
    ]


# The apps built on the pilots add the work on their own records (the ledger: quarterly
# reports owed): source(user, role, today) -> list[WorkSection], after the pilots' sections.
WORK_SECTIONS: list = []


def register_work_sections(source) -> None:
    if source not in WORK_SECTIONS:
        WORK_SECTIONS.append(source)


def work_sections(user, today: dt.date) -> list[WorkSection]:
    """What the user's organisation has to do, oldest deadline first, each with its clause."""
    role = role_of(user)
    visible = Pilot.objects.restrict(user)
    sections: list[WorkSection] = []
    if role in (Role.OFFICE, Role.ADMIN, Role.LEAD_DEPARTMENT):
        to_file = visible.filter(status=Status.APPROVED).order_by("approval_date", "code")
        if role == Role.LEAD_DEPARTMENT:
            org = user.organisation
            to_file = to_file.filter(Q(lead_department=org) | Q(lead_department__parent=org))
        sections.append(
            WorkSection(
                title=f"待备案试点（{rules.numbers().filing}报送备案表）"
                if role == Role.LEAD_DEPARTMENT
                else "已批复、尚未备案的试点",
                clause="R2.2",
                items=_items(
                    to_file,
                    what="备案",
                    clause="R2.2",
                    due=lambda p: p.filing_due,
                    today=today,
                ),
            )
        )
        expiring = visible.filter(
            status=Status.ACTIVE, end_date__lte=today + dt.timedelta(days=30)
        ).order_by("end_date", "code")
        sections.append(
            WorkSection(
                title="到期或即将到期的试点（须报备销号或申请延期）",
                clause="R2.4",
                items=_items(
                    expiring,
                    what="销号或延期",
                    clause="R2.4",
                    due=lambda p: p.end_date,
                    today=today,
                ),
            )
        )
    if role == Role.OFFICE or role == Role.ADMIN:
        filed = visible.filter(status=Status.FILING_SUBMITTED).order_by("updated_at", "code")
        sections.insert(
            0,
            WorkSection(
                title="待确认的备案（确认后列入台账）",
                clause="R2.2",
                items=_items(
                    filed, what="确认备案", clause="R2.2", due=lambda p: None, today=today
                ),
            ),
        )
        sections.insert(0, _term_decisions(visible, today))
        endorsed = visible.filter(status=Status.ENDORSED).order_by("updated_at")
        sections.insert(
            0,
            WorkSection(
                title="设区市已推荐、待省办审定的申报",
                clause="N3",
                items=_items(endorsed, what="审定", clause="N3", due=lambda p: None, today=today),
            ),
        )
    if role == Role.PREFECTURE:
        org = user.organisation
        to_screen = visible.filter(applicant__parent=org, status=Status.SUBMITTED)
        sections.append(
            WorkSection(
                title="县（市、区）报送、待本局把关的申报",
                clause="N3",
                items=_items(
                    to_screen.order_by("updated_at"),
                    what="把关",
                    clause="N3",
                    due=lambda p: None,
                    today=today,
                ),
            )
        )
    if role in (Role.PREFECTURE, Role.COUNTY):
        own = visible.filter(
            applicant=user.organisation, status__in=[Status.DRAFT, Status.RETURNED]
        ).order_by("-updated_at")
        sections.append(
            WorkSection(
                title="本单位草稿及退回修改的申报",
                clause="R1.1",
                items=_items(own, what="完善申报", clause="R1.1", due=lambda p: None, today=today),
            )
        )
    for source in WORK_SECTIONS:
        sections += source(user, role, today)
    return sections


def _term_decisions(visible, today: dt.date) -> WorkSection:
    """R2.4: closure reports and extension requests waiting for the office, oldest first."""
    pending = visible.filter(
        status__in=[Status.CLOSURE_REPORTED, Status.EXTENSION_REQUESTED]
    ).order_by("updated_at", "code")
    return WorkSection(
        title="待审核的销号与延期",
        clause="R2.4",
        items=[
            WorkItem(
                pilot=p,
                what="审核销号" if p.status == Status.CLOSURE_REPORTED else "审批延期",
                clause="R2.4",
                due=None,
                today=today,
            )
            for p in pending.select_related("lead_department__parent")[:ROW_LIMIT]
        ],
    )


UPCOMING_DAYS = 7


@dataclass
class DueRow:
    """A deadline as the home page shows it."""

    kind_label: str
    label: str
    due: dt.date
    clause: str
    days: int
    url: str = ""


def upcoming_deadlines(user, today: dt.date) -> list[DueRow]:
    """The open deadlines of the organisations `user` answers for in the next UPCOMING_DAYS
    days (today included), soonest first."""
    from pilots.deadlines import open_deadlines

    orgs = responsible_org_ids(user)
    if orgs == []:
        return []
    dues = open_deadlines(
        due_from=today,
        due_before=today + dt.timedelta(days=UPCOMING_DAYS + 1),
        organisation_ids=orgs,
    )[:ROW_LIMIT]
    codes = dict(
        Pilot.objects.filter(pk__in={d.pilot_id for d in dues if d.pilot_id}).values_list(
            "pk", "code"
        )
    )
    return [
        DueRow(
            kind_label=d.kind_label,
            label=d.label,
            due=d.due,
            clause=d.clause,
            days=(d.due - today).days,
            url=reverse("pilots:detail", args=[codes[d.pilot_id]]) if d.pilot_id in codes else "",
        )
        for d in dues
    ]


def open_overdue_for(user, today: dt.date):
    """(the oldest open overdue events `user` sees, each with its days late; how many open
    events there are in all)."""
    events = overdue_events_for(user).filter(resolved_on__isnull=True)
    rows = list(
        events.select_related("pilot", "organisation__parent").order_by("due_date", "pk")[:10]
    )
    for row in rows:
        row.days_late = (today - row.due_date).days
    return rows, (events.count() if len(rows) == 10 else len(rows))


def pending_term_requests(user):
    """Submitted closure reports and extension requests of the pilots `user` sees."""
    from pilots.constants import TermRequestStatus

    visible = Pilot.objects.restrict(user).values("pk")
    closures = ClosureReport.objects.filter(status=TermRequestStatus.SUBMITTED, pilot__in=visible)
    extensions = ExtensionRequest.objects.filter(
        status=TermRequestStatus.SUBMITTED, pilot__in=visible
    )
    related = ("pilot", "pilot__lead_department", "organisation__parent", "submitted_by")
    return (
        list(closures.select_related(*related).order_by("submitted_at", "pk")),
        list(extensions.select_related(*related).order_by("submitted_at", "pk")),
    )


def status_counts(user) -> list[tuple[str, str, int]]:
    """(status, label, count) of the pilots the user sees, in life-cycle order."""
    from django.db.models import Count

    counts = dict(
        Pilot.objects.restrict(user)
        .order_by()
        .values_list("status")
        .annotate(n=Count("pk"))
        .values_list("status", "n")
    )
    return [(s.value, s.label, counts.get(s.value, 0)) for s in Status if counts.get(s.value)]


__all__ = [
    "SORTS",
    "DEFAULT_SORT",
    "pilot_list_queryset",
    "open_overdue_exists",
    "responsible_org_ids",
    "overdue_events_for",
    "pending_term_requests",
    "upcoming_deadlines",
    "open_overdue_for",
    "work_sections",
    "status_counts",
    "rules",
]
