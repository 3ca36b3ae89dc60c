"""The demo's calls (N3) and the screening of the applications made to them.

Pilots from calls (origin "call") belong to a demo call: applications to the call open now,
approved ones to a closed call of their approval year. Endorsed and approved ones carry the
endorsing prefecture (within the call's quota). A fixture pilot's optional ``opinion`` records
the screening step of a returned, endorsed or rejected application, with its R1.1 checklist.
"""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.utils import timezone

from accounts.constants import OrgKind
from accounts.models import Organisation, User
from core.history import save_with_history
from demo.constants import DEMO_REASON
from demo.fixture import call_key, demo_pilot_rows, resolve_dates
from pilots.constants import SCREENING_CRITERIA, Decision, Stage
from pilots.models import Call, Opinion, Pilot, ScreeningChecklist

# The open call's deadline, and how long before their first approval a past call closed.
OPEN_CALL_DAYS_LEFT = 20
CLOSED_CALL_LEAD_DAYS = 30
CALL_DESCRIPTION = (
    "请各设区市生态环境局组织县（市、区）结合本地实际研究提出改革试点建议项目，"
    "填报《生态环保领域改革试点申报表》，经把关后于截止时间前报送，"
    "每个设区市一般不超过2项。改革试点须聚焦生态文明领域体制机制问题，"
    "部门常规创新工作和安排资金类工作不能作为改革试点。"
)


def _at_five_pm(day: dt.date) -> dt.datetime:
    return timezone.make_aware(dt.datetime.combine(day, dt.time(17, 0)))


def demo_call_plan(today: dt.date) -> dict[int, tuple[str, dt.datetime]]:
    """Call key → (title, deadline) for every call the fixture's pilots need, numbered in
    order of deadline within each year (2026年…（第一批）, （第二批） …)."""
    deadlines: dict[int, dt.date] = {}
    for row in demo_pilot_rows():
        dates = resolve_dates(row, today)
        key = call_key(row, dates)
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
            save_with_history(call, actor=office, reason=DEMO_REASON)
        calls[key] = call
    return calls


def endorsing_prefecture(applicant: Organisation) -> Organisation | None:
    if applicant.kind == OrgKind.PREFECTURE:
        return applicant
    if applicant.kind == OrgKind.COUNTY:
        return applicant.parent
    return None


def check_quota(pilot: Pilot) -> None:
    """N3: the demo never puts a prefecture over its quota in a call."""
    used = Pilot.objects.filter(
        call=pilot.call, endorsing_prefecture=pilot.endorsing_prefecture
    ).count()
    if used >= pilot.call.prefecture_quota:
        raise ValueError(
            f"{pilot.name}: {pilot.endorsing_prefecture} is over its quota in {pilot.call}"
        )


def record_screening(pilot: Pilot, opinion: dict, users: dict[str, User]) -> None:
    """The screening step that brought an application to its state: the R1.1 checklist (for
    endorsement and rejection) and the opinion, by the prefecture's or the office's account."""
    stage = Stage(opinion["stage"])
    decision = Decision(opinion["decision"])
    if stage == Stage.PREFECTURE:
        prefecture = endorsing_prefecture(pilot.applicant)
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
        save_with_history(checklist, actor=author, reason=DEMO_REASON)
    row = Opinion(
        pilot=pilot,
        stage=stage,
        decision=decision,
        text=opinion["text"],
        organisation=author.organisation,
        author=author,
    )
    save_with_history(row, actor=author, reason=DEMO_REASON)
