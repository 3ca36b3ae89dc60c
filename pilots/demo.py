"""Demo data: the organisation directory, one account per role, and realistic pilots.

The pilots come from pilots/data/demo_pilots.json. Their texts are written per pilot; their
dates are given relative to the day of loading, so that a fresh demo always shows pilots whose
filing is overdue, pilots past their end date, pilots due for purging and so on:

- ``start``: ``{"months": n}`` — the first day of the month n months from the current one —
  or ``{"days": n}`` from today;
- ``end``: ``{"term_months": n}`` — the day before the same date n months after the start —
  or ``{"days": n}`` from today;
- ``approved`` (approved or later only): ``{"days": n}`` from today or
  ``{"before_start": n}`` days before the start (default 20);
- milestones: ``{"months": n, "title": ...}`` — due n months after the start; reached a few
  days early when already due, except for purged pilots.

Pilots from calls (origin "call") belong to a demo call (N3): applications to the call open
now, approved ones to a closed call of their approval year. Endorsed and approved ones carry
the endorsing prefecture (within the call's quota). An optional ``opinion`` records the
screening step of a returned, endorsed or rejected application, with its R1.1 checklist.

Pilots are created directly in their state (the workflows that move them there are separate),
with history written by the acting demo account and the reason "演示数据". Loading is
idempotent: a pilot is keyed by the name it had when the demo created it.
"""

from __future__ import annotations

import datetime as dt
import json
from dataclasses import dataclass
from functools import cache
from pathlib import Path

from django.conf import settings
from django.contrib.auth.models import Group, Permission
from django.db import transaction
from django.utils import timezone

from accounts.constants import OrgKind, Role
from accounts.models import Organisation, User
from accounts.orgdata import ensure_organisations, ensure_plan_units
from pilots import rules
from pilots.constants import (
    APPROVED_OR_LATER,
    SCREENING_CRITERIA,
    Decision,
    Origin,
    PilotKind,
    ReformField,
    Stage,
    Status,
)
from pilots.demo_ledger import load_ledger_demo
from pilots.demo_term import load_term_demo
from pilots.models import Call, Milestone, Opinion, Pilot, ScreeningChecklist
from pilots.services import next_code

FIXTURE_PATH = Path(__file__).resolve().parent / "data" / "demo_pilots.json"
DEMO_PASSWORD = "Pilot-Demo-2026"
DEMO_REASON = "演示数据"
# The Django admin checks model permissions: the office's demo account gets them through this
# group (everything in the registry's apps except deleting — records are never deleted).
OFFICE_GROUP = "省办工作人员"
OFFICE_GROUP_APPS = ("accounts", "pilots")
DEFAULT_APPROVAL_LEAD_DAYS = 20
# The open call's deadline, and how long before their first approval a past call closed.
OPEN_CALL_DAYS_LEFT = 20
CLOSED_CALL_LEAD_DAYS = 30
CALL_DESCRIPTION = (
    "请各设区市生态环境局组织县（市、区）结合本地实际研究提出改革试点建议项目，"
    "填报《生态环保领域改革试点申报表》，经把关后于截止时间前报送，"
    "每个设区市一般不超过2项。改革试点须聚焦生态文明领域体制机制问题，"
    "部门常规创新工作和安排资金类工作不能作为改革试点。"
)

_TEXT_FIELDS = (
    "name",
    "implementing_body",
    "responsible_body",
    "goal",
    "scope",
    "measures",
    "expected_outcomes",
    "work_foundation",
    "contact_person",
    "contact_phone",
)
_REQUIRED_KEYS = {
    "name", "field", "kind", "origin", "status", "applicant", "regions", "lead",
    "implementing_body", "responsible_body", "goal", "scope", "measures",
    "expected_outcomes", "timing",
}  # fmt: skip
_OPTIONAL_KEYS = {
    "participants", "work_foundation", "contact_person", "contact_phone", "approval",
    "milestones", "opinion",
}  # fmt: skip


@dataclass(frozen=True)
class DemoAccount:
    username: str
    org_code: str
    role: str
    display_name: str
    is_staff: bool = False
    is_superuser: bool = False


DEMO_ACCOUNTS: tuple[DemoAccount, ...] = (
    DemoAccount("office", "office", Role.OFFICE, "陈晓岚", is_staff=True),
    DemoAccount("admin", "office", Role.ADMIN, "系统管理员", is_staff=True, is_superuser=True),
    DemoAccount("dept", "dept-env", Role.LEAD_DEPARTMENT, "周立群"),
    DemoAccount("water", "dept-water", Role.LEAD_DEPARTMENT, "吴海涛"),
    DemoAccount("hangzhou", "hangzhou", Role.PREFECTURE, "沈佳怡"),
    DemoAccount("ningbo", "ningbo", Role.PREFECTURE, "林振宇"),
    DemoAccount("wenzhou", "wenzhou", Role.PREFECTURE, "叶成林"),
    DemoAccount("jiaxing", "jiaxing", Role.PREFECTURE, "顾晓明"),
    DemoAccount("huzhou", "huzhou", Role.PREFECTURE, "姚丽君"),
    DemoAccount("shaoxing", "shaoxing", Role.PREFECTURE, "宣建良"),
    DemoAccount("jinhua", "jinhua", Role.PREFECTURE, "楼亚飞"),
    DemoAccount("quzhou", "quzhou", Role.PREFECTURE, "毛建华"),
    DemoAccount("zhoushan", "zhoushan", Role.PREFECTURE, "乐海军"),
    DemoAccount("taizhou", "taizhou", Role.PREFECTURE, "林海燕"),
    DemoAccount("lishui", "lishui", Role.PREFECTURE, "蓝晓春"),
    DemoAccount("county", "hz-xihu", Role.COUNTY, "俞佳宁"),
    DemoAccount("expert", "tp-eesdi", Role.EXPERT, "蒋文博"),
    DemoAccount("expert2", "tp-zju-env", Role.EXPERT, "钱思远"),
    DemoAccount("auditor", "office", Role.AUDITOR, "审计员 方敏"),
)


@dataclass(frozen=True)
class DemoResult:
    organisations: int
    users_created: int
    users_updated: int
    pilots_created: int
    pilots_existing: int
    milestones_created: int


@dataclass(frozen=True)
class DemoDates:
    start: dt.date
    end: dt.date
    approved: dt.date | None
    milestones: tuple[tuple[dt.date, str], ...]


# --- the fixture ----------------------------------------------------------------------------
@cache
def demo_pilot_rows() -> tuple[dict, ...]:
    """The fixture's pilots, checked for keys and choice values (not yet for dates)."""
    rows = json.loads(FIXTURE_PATH.read_text(encoding="utf-8"))
    names: set[str] = set()
    for row in rows:
        name = row.get("name", "?")
        missing = _REQUIRED_KEYS - row.keys()
        unknown = row.keys() - _REQUIRED_KEYS - _OPTIONAL_KEYS
        if missing or unknown:
            raise ValueError(f"{name}: missing {sorted(missing)}, unknown {sorted(unknown)}")
        for key, choices in (
            ("field", ReformField),
            ("kind", PilotKind),
            ("origin", Origin),
            ("status", Status),
        ):
            if row[key] not in choices.values:
                raise ValueError(f"{name}: {key} {row[key]!r} is not one of {choices.values}")
        opinion = row.get("opinion")
        if opinion and (
            opinion.get("stage") not in Stage.values
            or opinion.get("decision") not in Decision.values
            or not opinion.get("text")
        ):
            raise ValueError(f"{name}: an opinion needs a stage, a decision and a text")
        if name in names:
            raise ValueError(f"duplicate demo pilot name {name!r}")
        names.add(name)
    return tuple(rows)


def _relative_day(today: dt.date, spec: dict, *, anchor: dt.date | None = None) -> dt.date:
    if "days" in spec:
        return today + dt.timedelta(days=spec["days"])
    if "months" in spec:
        return rules.add_months(today.replace(day=1), spec["months"])
    if "before_start" in spec and anchor is not None:
        return anchor - dt.timedelta(days=spec["before_start"])
    raise ValueError(f"unknown date spec {spec!r}")


def resolve_dates(row: dict, today: dt.date) -> DemoDates:
    """The dates of one fixture pilot, relative to `today`."""
    timing = row["timing"]
    start = _relative_day(today, timing["start"])
    end_spec = timing["end"]
    if "term_months" in end_spec:
        end = rules.add_months(start, end_spec["term_months"]) - dt.timedelta(days=1)
    else:
        end = _relative_day(today, end_spec)
    approved = None
    if row["status"] in APPROVED_OR_LATER:
        spec = timing.get("approved", {"before_start": DEFAULT_APPROVAL_LEAD_DAYS})
        approved = _relative_day(today, spec, anchor=start)
    elif "approved" in timing:
        raise ValueError(f"{row['name']}: an application has no approval date")
    milestones = tuple(
        (rules.add_months(start, m["months"]), m["title"]) for m in row.get("milestones", ())
    )
    return DemoDates(start=start, end=end, approved=approved, milestones=milestones)


# --- calls (N3) -----------------------------------------------------------------------------
def _call_key(row: dict, dates: DemoDates) -> int | None:
    """Which demo call a fixture pilot belongs to: 0 for the call open now, the approval year
    for a closed call, None when the pilot did not come from a call."""
    if row["origin"] != Origin.CALL:
        return None
    return dates.approved.year if dates.approved else 0


def _at_five_pm(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(17, 0)))


def demo_call_plan(today: dt.date) -> dict[int, tuple[str, dt.datetime]]:
    """Call key → (title, deadline) for every call the fixture's pilots need, numbered in
    order of deadline within each year (2026年…（第一批）, （第二批） …)."""
    deadlines: dict[int, dt.date] = {}
    for row in demo_pilot_rows():
        dates = resolve_dates(row, today)
        key = _call_key(row, dates)
        if key == 0:
            deadlines[0] = today + dt.timedelta(days=OPEN_CALL_DAYS_LEFT)
        elif key is not None:
            closes = dates.approved - dt.timedelta(days=CLOSED_CALL_LEAD_DAYS)
            deadlines[key] = min(deadlines.get(key, closes), closes)
    plan: dict[int, tuple[str, dt.datetime]] = {}
    per_year: dict[int, int] = {}
    for key, day in sorted(deadlines.items(), key=lambda item: item[1]):
        per_year[day.year] = per_year.get(day.year, 0) + 1
        number = "一二三四五六七八九十"[per_year[day.year] - 1]
        title = f"{day.year}年生态环保领域改革试点申报（第{number}批）"
        plan[key] = (title, _at_five_pm(day))
    return plan


def ensure_demo_calls(*, keys: set[int], today: dt.date, office: User) -> dict[int, Call]:
    """The demo calls with these keys, created when missing (looked up by title)."""
    calls: dict[int, Call] = {}
    for key, (title, deadline) in demo_call_plan(today).items():
        if key not in keys:
            continue
        call = Call.objects.filter(title=title).first()
        if call is None:
            call = Call(
                title=title,
                description=CALL_DESCRIPTION,
                deadline=deadline,
                prefecture_quota=settings.CALL_DEFAULT_PREFECTURE_QUOTA,
                opened_by=office,
            )
            call._history_user = office
            call._change_reason = DEMO_REASON
            call.save()
        calls[key] = call
    return calls


def _endorsing_prefecture(applicant: Organisation) -> Organisation | None:
    if applicant.kind == OrgKind.PREFECTURE:
        return applicant
    if applicant.kind == OrgKind.COUNTY:
        return applicant.parent
    return None


def _check_quota(pilot: Pilot) -> None:
    """N3: the demo never puts a prefecture over its quota in a call."""
    used = Pilot.objects.filter(
        call=pilot.call, endorsing_prefecture=pilot.endorsing_prefecture
    ).count()
    if used >= pilot.call.prefecture_quota:
        raise ValueError(
            f"{pilot.name}: {pilot.endorsing_prefecture} is over its quota in {pilot.call}"
        )


def _record_screening(pilot: Pilot, opinion: dict, users: dict[str, User]) -> None:
    """The screening step that brought an application to its state: the R1.1 checklist (for
    endorsement and rejection) and the opinion, by the prefecture's or the office's account."""
    stage = Stage(opinion["stage"])
    decision = Decision(opinion["decision"])
    if stage == Stage.PREFECTURE:
        prefecture = _endorsing_prefecture(pilot.applicant)
        author = next(u for u in users.values() if u.organisation_id == prefecture.pk)
    else:
        author = users["office"]
    if decision in (Decision.ENDORSE, Decision.REJECT):
        answers = {key: {"ok": True, "note": ""} for key, _label in SCREENING_CRITERIA}
        if decision == Decision.REJECT:
            answers["institutional"] = {"ok": False, "note": opinion["text"]}
        checklist = ScreeningChecklist(
            pilot=pilot,
            stage=stage,
            answers=answers,
            organisation=author.organisation,
            author=author,
        )
        checklist._history_user = author
        checklist._change_reason = DEMO_REASON
        checklist.save()
    row = Opinion(
        pilot=pilot,
        stage=stage,
        decision=decision,
        text=opinion["text"],
        organisation=author.organisation,
        author=author,
    )
    row._history_user = author
    row._change_reason = DEMO_REASON
    row.save()


# --- accounts -------------------------------------------------------------------------------
def ensure_office_group() -> Group:
    """The office staff's admin permissions (view, add, change) on the registry's models."""
    group, _created = Group.objects.get_or_create(name=OFFICE_GROUP)
    wanted = Permission.objects.filter(content_type__app_label__in=OFFICE_GROUP_APPS).exclude(
        codename__startswith="delete_"
    )
    group.permissions.set(wanted)  # only the difference is written
    return group


def ensure_demo_users(orgs: dict[str, Organisation]) -> tuple[dict[str, User], int, int]:
    """One account per demo role; returns (username → user, created, updated). An existing
    account is only saved when it differs from the demo (including its password)."""
    users: dict[str, User] = {}
    created = updated = 0
    office_group = ensure_office_group()
    for account in DEMO_ACCOUNTS:
        wanted = {
            "organisation": orgs[account.org_code],
            "role": account.role,
            "display_name": account.display_name,
            "is_staff": account.is_staff,
            "is_superuser": account.is_superuser,
            # So that the password reset works in the demo (mail lands in var/mail/).
            "email": f"{account.username}@example.gov.cn",
            "is_active": True,
        }
        user = User.objects.filter(username=account.username).first()
        if user is None:
            user = User(username=account.username, **wanted)
            user.set_password(DEMO_PASSWORD)
            user.save()
            created += 1
        else:
            changed = [name for name, value in wanted.items() if getattr(user, name) != value]
            for name in changed:
                setattr(user, name, wanted[name])
            if not user.check_password(DEMO_PASSWORD):
                user.set_password(DEMO_PASSWORD)
                changed.append("password")
            if changed:
                user.save()
                updated += 1
        if account.role == Role.OFFICE:
            user.groups.add(office_group)  # a no-op when already a member
        users[account.username] = user
    return users, created, updated


# --- pilots ---------------------------------------------------------------------------------
def existing_demo_names() -> set[str]:
    """Names (at creation) of the pilots the demo loader created and that still exist."""
    historical = Pilot.history.model
    return set(
        historical.objects.filter(
            history_type="+", history_change_reason=DEMO_REASON, id__in=Pilot.objects.values("pk")
        ).values_list("name", flat=True)
    )


def _doc_number(approval: dict, day: dt.date) -> str:
    return f"{approval['doc']}〔{day.year}〕{approval['serial']}号"


def build_pilot(row: dict, orgs: dict[str, Organisation], dates: DemoDates) -> Pilot:
    """An unsaved pilot for one fixture row (no code yet)."""
    pilot = Pilot(
        field=row["field"],
        kind=row["kind"],
        origin=row["origin"],
        status=row["status"],
        lead_department=orgs[row["lead"]],
        applicant=orgs[row["applicant"]],
        start_date=dates.start,
        end_date=dates.end,
        **{name: row.get(name, "") for name in _TEXT_FIELDS},
    )
    if dates.approved is not None:
        approval = row["approval"]
        pilot.approval_authority = approval["authority"]
        pilot.approval_doc_number = _doc_number(approval, dates.approved)
        pilot.approval_date = dates.approved
    return pilot


def _milestone_reached(
    due: dt.date, start: dt.date, status: str, today: dt.date, i: int
) -> dt.date | None:
    if due >= today or status == Status.PURGED:
        return None
    return max(start, due - dt.timedelta(days=2 + 3 * (i % 3)))


def _actor_for(org: Organisation, users: dict[str, User]) -> User:
    """The demo account that acts for the pilot's applicant, else the office."""
    for user in users.values():
        if user.organisation_id == org.pk and not user.is_superuser:
            return user
    return users["office"]


def ensure_demo_pilots(
    *, orgs: dict[str, Organisation], users: dict[str, User], today: dt.date
) -> tuple[int, int, int]:
    """Create the fixture's pilots that do not exist yet; returns (created, existing,
    milestones created). Codes are handed out in order of approval (or today for
    applications), keyed by that year."""
    done = existing_demo_names()
    todo = []
    for index, row in enumerate(demo_pilot_rows()):
        if row["name"] in done:
            continue
        dates = resolve_dates(row, today)
        todo.append((dates.approved or today, index, row, dates))
    todo.sort(key=lambda item: item[:2])
    call_keys = {_call_key(row, dates) for *_ignored, row, dates in todo} - {None}
    calls = ensure_demo_calls(keys=call_keys, today=today, office=users["office"])
    now = timezone.now()

    milestones_created = 0
    for day, index, row, dates in todo:
        pilot = build_pilot(row, orgs, dates)
        key = _call_key(row, dates)
        if key is not None:
            pilot.call = calls[key]
            if pilot.status == Status.ENDORSED or pilot.status in APPROVED_OR_LATER:
                pilot.endorsing_prefecture = _endorsing_prefecture(pilot.applicant)
                pilot.endorsed_at = (
                    now - dt.timedelta(days=1 + index % 5)
                    if pilot.status == Status.ENDORSED
                    else pilot.call.deadline - dt.timedelta(days=3)
                )
                _check_quota(pilot)
        pilot.full_clean(exclude=["code"])
        rules.validate_term(
            kind=pilot.kind,
            start=pilot.start_date,
            end=pilot.end_date,
            milestone_dates=[due for due, _title in dates.milestones],
        )
        pilot.code = next_code(day.year)
        actor = _actor_for(pilot.applicant, users)
        pilot._history_user = actor
        pilot._change_reason = DEMO_REASON
        pilot.save()
        pilot.regions.set([orgs[code] for code in row["regions"]])
        pilot.participating_units.set([orgs[code] for code in row.get("participants", ())])
        for i, (due, title) in enumerate(dates.milestones):
            milestone = Milestone(
                pilot=pilot,
                due_date=due,
                title=title,
                reached_on=_milestone_reached(due, dates.start, pilot.status, today, i),
            )
            milestone._history_user = actor
            milestone._change_reason = DEMO_REASON
            milestone.save()
            milestones_created += 1
        if "opinion" in row:
            _record_screening(pilot, row["opinion"], users)
    return len(todo), len(demo_pilot_rows()) - len(todo), milestones_created


def flag_demo_overlaps() -> int:
    """R1.3: index every pilot's text and flag possible overlaps of the applications awaiting
    screening, as submission would have; verdicts already recorded are kept."""
    from pilots import overlap

    overlap.reindex_all()
    flags = 0
    for pilot in Pilot.objects.filter(status__in=[Status.SUBMITTED, Status.ENDORSED]):
        flags += len(overlap.record_overlaps(pilot))
    return flags


@transaction.atomic
def load_demo(*, today: dt.date | None = None) -> DemoResult:
    """Load (or complete) the demo: organisations, accounts and pilots. Safe to run again."""
    today = today or timezone.localdate()
    orgs = ensure_organisations()
    ensure_plan_units()  # the units of the sample reform plan (ledger/data)
    users, users_created, users_updated = ensure_demo_users(orgs)
    created, existing, milestones = ensure_demo_pilots(orgs=orgs, users=users, today=today)
    load_ledger_demo(users=users, today=today)
    load_term_demo(users=users, today=today)
    from reviews.demo import load_reviews_demo

    load_reviews_demo(users=users, today=today)
    flag_demo_overlaps()
    return DemoResult(
        organisations=len(orgs),
        users_created=users_created,
        users_updated=users_updated,
        pilots_created=created,
        pilots_existing=existing,
        milestones_created=milestones,
    )
