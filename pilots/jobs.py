"""The scheduled jobs that keep the ledger honest (R2.2, R2.3, R2.4, R3.2).

Each job is a plain function of the day it runs for, called alike by its Celery task (on a
django-celery-beat schedule the office sees in the admin), its management command
(`--today YYYY-MM-DD` replays a day) and a shell. Each job

- is set-based: a bounded number of queries whatever the number of pilots;
- writes history for exactly the rows it changes (bulk writes go through simple-history's
  bulk helpers, which write one history row per changed row);
- is safe to run twice, or twice at once: it holds its JobLock row for the whole run, so a
  second run waits, then finds nothing left to do, changes nothing and sends nothing;
- records its run (start, end, counts, queries) in JobRun, which the office reads.
"""

from __future__ import annotations

import datetime as dt
import hashlib
import logging
from collections import defaultdict
from collections.abc import Callable

from django.conf import settings
from django.db.models import Exists, OuterRef, Q
from django.urls import reverse
from django.utils import timezone

from accounts.models import NoticeKind, Notification, office_organisation
from accounts.notify import notify_many
from core.bulk import insert_rows, insert_with_history, update_with_history
from core.jobs import run_job
from core.models import JobRun
from pilots import rules
from pilots.constants import DeadlineKind, JobName, Status, TermRequestStatus
from pilots.deadlines import Due, open_deadlines
from pilots.models import (
    ClosureReport,
    ExtensionRequest,
    OverdueEvent,
    Pilot,
    Reminder,
)
from pilots.term import purge_reason

logger = logging.getLogger(__name__)

# A notice lists at most this many items; the rest are counted.
NOTICE_ITEMS = 30
PURGE_REASON = "到期未销号也未申请延期，清理出库"


def _notices(
    items: dict[int, list[str]], *, subject: str, intro: str, url: str, dedupe: str, kind: str
) -> list[Notification]:
    """One notice per organisation listing its items (the dedupe key names the items, so a
    run that finds the same items again sends nothing); notify_many hands each, as the run's
    digest for its organisation, to the organisation's channels."""
    notices = []
    for org_id, lines in items.items():
        digest = hashlib.md5("\n".join(sorted(lines)).encode(), usedforsecurity=False)
        shown = lines[:NOTICE_ITEMS]
        more = f"\n……另有{len(lines) - len(shown)}项" if len(lines) > len(shown) else ""
        notices.append(
            Notification(
                organisation_id=org_id,
                subject=subject.format(n=len(lines)),
                body=intro + "\n" + "\n".join(f"· {line}" for line in shown) + more,
                url=url,
                dedupe_key=f"{dedupe}:{digest.hexdigest()}",
                kind=kind,
            )
        )
    return notices


def _due_line(due: Due) -> str:
    # The rule in force is stated with the date, so a changed setting shows in the notice.
    rule = rules.numbers().for_kind(due.kind)
    rule = f"{rule}，" if rule else ""
    return f"{due.label}（{due.clause}，{rule}期限{rules.format_cn_date(due.due)}）"


# --- flag_overdue ---------------------------------------------------------------------------


def flag_overdue(today: dt.date | None = None, *, triggered_by: str = "shell") -> JobRun:
    """R2.2, R2.3, R2.4, R3.2: record one overdue event per item and missed deadline, notify
    each responsible organisation once, and resolve the events whose item is now done."""
    return run_job(JobName.FLAG_OVERDUE, _flag_overdue, today, triggered_by)


def _flag_overdue(today: dt.date) -> dict:
    dues = {d.key: d for d in open_deadlines(due_before=today)}
    known = dict(OverdueEvent.objects.values_list("key", "resolved_on").iterator(chunk_size=10000))
    now = timezone.now()

    new = [
        OverdueEvent(
            key=key,
            kind=d.kind,
            pilot_id=d.pilot_id,
            organisation_id=d.organisation_id,
            label=d.label,
            due_date=d.due,
            flagged_on=today,
            notified_at=now,
        )
        for key, d in dues.items()
        if key not in known
    ]
    # Events to resolve (open, no longer due) or to reopen (resolved, due again).
    changing = [k for k, resolved in known.items() if (resolved is None) != (k in dues)]
    resolved = reopened = 0
    if changing:
        rows = list(OverdueEvent.objects.filter(key__in=changing))
        for row in rows:
            if row.resolved_on is None:
                row.resolved_on = today
                resolved += 1
            else:
                row.resolved_on = None
                reopened += 1
        update_with_history(OverdueEvent, rows, ["resolved_on"], reason="逾期事项状态更新")
    if new:
        insert_with_history(OverdueEvent, new, key_field="key", reason="标记逾期")
        items: dict[int, list[str]] = defaultdict(list)
        for event in new:
            items[event.organisation_id].append(_due_line(dues[event.key]))
        notify_many(
            _notices(
                items,
                subject="新增逾期事项{n}项",
                intro="以下事项已超过规定期限，请尽快办理：",
                url=reverse("pilots:overdue"),
                dedupe=f"overdue:{today.isoformat()}",
                kind=NoticeKind.OVERDUE,
            )
        )
    by_kind: dict[str, int] = defaultdict(int)
    for event in new:
        by_kind[event.kind] += 1
    return {
        "flagged": len(new),
        "resolved": resolved,
        "reopened": reopened,
        "open": len(dues),
        **{f"flagged_{kind}": n for kind, n in sorted(by_kind.items())},
    }


# --- purge_expired --------------------------------------------------------------------------


def purge_candidates(today: dt.date):
    """R2.4: active pilots past their end date plus the grace period (PILOT_PURGE_GRACE_DAYS)
    with neither a pending closure report nor a pending or approved extension (those are not
    active). A pilot whose closure report was returned or extension rejected, or which the
    office restored, within the grace period gets the whole grace from that day."""
    # One date decides every case: the grace counts from the end date, or from the day of a
    # return, rejection or restoring, and has passed for any day up to `last_end`.
    last_end = rules.last_purgeable_end(today)
    since = timezone.make_aware(dt.datetime.combine(last_end + dt.timedelta(days=1), dt.time.min))
    recent = Q(pilot=OuterRef("pk"), status=TermRequestStatus.RETURNED, decided_at__gte=since)
    return (
        Pilot.objects.filter(status=Status.ACTIVE, end_date__lte=last_end)
        .exclude(restored_on__gt=last_end)
        .exclude(Exists(ClosureReport.objects.filter(recent)))
        .exclude(Exists(ExtensionRequest.objects.filter(recent)))
    )


def purge_expired(today: dt.date | None = None, *, triggered_by: str = "shell") -> JobRun:
    """R2.4: purge from the library (清理出库) what is due: a state with its reason and
    history, never a deletion; its lead department and the office are told."""
    return run_job(JobName.PURGE_EXPIRED, _purge_expired, today, triggered_by)


def _purge_expired(today: dt.date) -> dict:
    pilots = list(purge_candidates(today).select_for_update(of=("self",)).order_by("code"))
    if not pilots:
        return {"purged": 0}
    for pilot in pilots:
        pilot.status_before_purge = pilot.status
        pilot.status = Status.PURGED
        pilot.purged_on = today
        pilot.purge_reason = purge_reason(pilot.end_date)
    update_with_history(
        Pilot,
        pilots,
        ["status", "status_before_purge", "purged_on", "purge_reason", "updated_at"],
        reason=PURGE_REASON,
    )
    items: dict[int, list[str]] = defaultdict(list)
    for pilot in pilots:
        line = f"{pilot.code} {pilot.name}（{rules.format_cn_date(pilot.end_date)}到期）"
        items[pilot.lead_department_id].append(line)
    office = office_organisation()
    if office is not None:
        items[office.pk] = [line for lines in list(items.values()) for line in lines]
    notify_many(
        _notices(
            items,
            subject="{n}项试点已清理出库",
            intro=(
                f"以下试点{rules.numbers().purge_grace}既未报告销号也未申请延期，"
                "已依第二条第（四）项清理出库（记录保留，省办可恢复入库）："
            ),
            url=reverse("pilots:purged"),
            dedupe=f"purge:{today.isoformat()}",
            kind=NoticeKind.OVERDUE,
        )
    )
    return {"purged": len(pilots)}


# --- send_reminders -------------------------------------------------------------------------


def send_reminders(today: dt.date | None = None, *, triggered_by: str = "shell") -> JobRun:
    """Before each deadline (PILOT_REMINDER_DAYS, default 7 days and 1 day) remind the
    responsible organisation, once per deadline and reminder day."""
    return run_job(JobName.SEND_REMINDERS, _send_reminders, today, triggered_by)


def _tier(days_left: int) -> int | None:
    tiers = [d for d in settings.PILOT_REMINDER_DAYS if days_left <= d]
    return min(tiers) if tiers else None


def _send_reminders(today: dt.date) -> dict:
    horizon = today + dt.timedelta(days=max(settings.PILOT_REMINDER_DAYS) + 1)
    dues = open_deadlines(due_from=today, due_before=horizon)
    sent = set(
        Reminder.objects.filter(due_date__gte=today).values_list("key", flat=True).iterator()
    )
    new = []
    for due in dues:
        tier = _tier((due.due - today).days)
        if tier is None:
            continue
        key = f"{due.key}:{tier}"
        if key in sent:
            continue
        sent.add(key)
        new.append(
            Reminder(
                key=key,
                kind=due.kind,
                pilot_id=due.pilot_id,
                organisation_id=due.organisation_id,
                label=due.label,
                due_date=due.due,
                days_before=tier,
                sent_on=today,
            )
        )
    if not new:
        return {"reminded": 0}
    insert_rows(Reminder, new)
    items: dict[int, list[str]] = defaultdict(list)
    for reminder in new:
        days = (reminder.due_date - today).days
        when = "今天到期" if days == 0 else f"还有{days}天到期"
        rule = rules.numbers().for_kind(reminder.kind)
        items[reminder.organisation_id].append(
            f"{reminder.label}（{DeadlineKind(reminder.kind).label}，{rule + '，' if rule else ''}"
            f"期限{rules.format_cn_date(reminder.due_date)}，{when}）"
        )
    notify_many(
        _notices(
            items,
            subject="{n}项事项即将到期",
            intro="以下事项即将到期，请按期办理：",
            url=reverse("home"),
            dedupe=f"remind:{today.isoformat()}",
            kind=NoticeKind.REMINDER,
        )
    )
    by_kind: dict[str, int] = defaultdict(int)
    for reminder in new:
        by_kind[reminder.kind] += 1
    return {"reminded": len(new), **{f"reminded_{k}": n for k, n in sorted(by_kind.items())}}


JOBS: dict[str, Callable[..., JobRun]] = {
    JobName.FLAG_OVERDUE: flag_overdue,
    JobName.PURGE_EXPIRED: purge_expired,
    JobName.SEND_REMINDERS: send_reminders,
}
