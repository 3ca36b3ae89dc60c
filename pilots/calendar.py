"""The deadline calendar: every open deadline that concerns the user's organisation, with its
clause — the ones it answers for (pilots.deadlines, as the flags and reminders see them) and,
for the office, prefectures and counties, the submission deadlines of open calls (N3) — by
month for the page, and as an iCalendar feed behind a revocable secret token.
"""

from __future__ import annotations

import calendar as monthcal
import datetime as dt
import secrets
from collections import defaultdict
from dataclasses import dataclass

from django.db import transaction
from django.urls import reverse
from django.utils import timezone

from accounts.constants import Role
from accounts.models import CalendarToken
from pilots.deadlines import open_deadlines
from pilots.models import Call, Pilot
from pilots.policy import role_of
from pilots.selectors import responsible_org_ids

FEED_PAST_DAYS = 30
FEED_FUTURE_DAYS = 366


@dataclass(frozen=True)
class Entry:
    day: dt.date
    kind: str
    label: str
    clause: str
    url: str
    key: str


# Where a deadline of each kind is met, for a user who may not open the pilot itself: filled
# by the apps that own those pages in their AppConfig.ready() (kind → URL name).
WORK_PAGES: dict[str, str] = {}


def _org_ids(user) -> list[int] | None:
    """Whose deadlines the user sees: None for all (the office)."""
    ids = responsible_org_ids(user)
    if ids == [] and role_of(user) == Role.EXPERT and user.organisation_id:
        return [user.organisation_id]
    return ids


def entries(user, start: dt.date, stop: dt.date) -> list[Entry]:
    """The user's deadlines with start <= day < stop, by day."""
    found: list[Entry] = []
    orgs = _org_ids(user)
    if orgs != []:
        dues = open_deadlines(due_from=start, due_before=stop, organisation_ids=orgs)
        # A deadline links to its pilot only for a user who may open the pilot (the access
        # policy); otherwise to the page where the user meets it.
        codes = dict(
            Pilot.objects.restrict(user)
            .filter(pk__in={d.pilot_id for d in dues if d.pilot_id})
            .values_list("pk", "code")
        )
        found += [
            Entry(
                day=d.due,
                kind=d.kind_label,
                label=d.label,
                clause=d.clause,
                url=reverse("pilots:detail", args=[codes[d.pilot_id]])
                if d.pilot_id in codes
                else reverse(WORK_PAGES.get(d.kind, "pilots:overdue")),
                key=d.key,
            )
            for d in dues
        ]
    if role_of(user) in (Role.OFFICE, Role.ADMIN, Role.PREFECTURE, Role.COUNTY):
        tz = timezone.get_current_timezone()
        calls = Call.objects.filter(
            is_cancelled=False,
            deadline__gte=dt.datetime.combine(start, dt.time.min, tzinfo=tz),
            deadline__lt=dt.datetime.combine(stop, dt.time.min, tzinfo=tz),
        )
        found += [
            Entry(
                day=timezone.localdate(call.deadline),
                kind="申报截止",
                label=f"{call.title}：申报截止",
                clause="N3",
                url=call.get_absolute_url(),
                key=f"call:{call.pk}",
            )
            for call in calls
        ]
    found.sort(key=lambda e: (e.day, e.clause, e.label))
    return found


def month_weeks(user, year: int, month: int) -> list[list[tuple[dt.date, list[Entry]]]]:
    """The month as weeks (Monday first) of (day, that day's entries); days of the adjacent
    months fill the first and last week."""
    weeks = monthcal.Calendar(firstweekday=0).monthdatescalendar(year, month)
    by_day: dict[dt.date, list[Entry]] = defaultdict(list)
    for entry in entries(user, weeks[0][0], weeks[-1][-1] + dt.timedelta(days=1)):
        by_day[entry.day].append(entry)
    return [[(day, by_day.get(day, [])) for day in week] for week in weeks]


# --- the feed -------------------------------------------------------------------------------


def active_token(user) -> CalendarToken | None:
    return user.calendar_tokens.filter(revoked_at__isnull=True).first()


@transaction.atomic
def issue_token(user) -> CalendarToken:
    """A new feed address for the user; the previous one stops working."""
    revoke_tokens(user)
    return CalendarToken.objects.create(user=user, token=secrets.token_urlsafe(32))


def revoke_tokens(user) -> int:
    return user.calendar_tokens.filter(revoked_at__isnull=True).update(revoked_at=timezone.now())


def user_for_token(token: str):
    found = (
        CalendarToken.objects.select_related("user", "user__organisation")
        .filter(token=token, revoked_at__isnull=True, user__is_active=True)
        .first()
    )
    return found.user if found else None


def ical(user, base_url: str, today: dt.date | None = None) -> bytes:
    """The user's deadlines from a month ago to a year ahead as an iCalendar document: one
    all-day event per deadline, its clause in the summary."""
    from icalendar import Calendar, Event

    today = today or timezone.localdate()
    cal = Calendar()
    cal.add("prodid", "-//改革试点台账//zh-CN")
    cal.add("version", "2.0")
    cal.add("x-wr-calname", "改革试点台账 · 期限")
    cal.add("x-wr-timezone", "Asia/Shanghai")
    stamp = timezone.now()
    for entry in entries(
        user,
        today - dt.timedelta(days=FEED_PAST_DAYS),
        today + dt.timedelta(days=FEED_FUTURE_DAYS),
    ):
        event = Event()
        event.add("uid", f"{entry.key}@reform-pilot-registry")
        event.add("dtstamp", stamp)
        event.add("dtstart", entry.day)
        event.add("dtend", entry.day + dt.timedelta(days=1))
        event.add("summary", f"【{entry.clause}】{entry.label}")
        event.add("description", f"{entry.kind}（依据{entry.clause}）")
        event.add("url", base_url + entry.url)
        cal.add_component(event)
    return cal.to_ical()
