"""The ledger (台账, R2.3): filed and confirmed pilots still in the library, with their latest
quarterly progress and next deadline, for pages, Excel and PDF alike."""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass

from django.db.models import OuterRef, Prefetch, QuerySet, Subquery

from accounts.models import Organisation
from core.dates import format_cn_quarter
from ledger.models import QuarterlyReport
from pilots import rules
from pilots.constants import Status
from pilots.models import Pilot


def _latest_report(field: str) -> Subquery:
    return Subquery(
        QuarterlyReport.objects.filter(pilot=OuterRef("pk"), is_current=True)
        .order_by("-year", "-quarter")
        .values(field)[:1]
    )


def ledger_queryset(user) -> QuerySet[Pilot]:
    """R2.3: the ledger the user may see — only filed pilots still in the library — with each
    pilot's latest current quarterly report annotated (no per-row queries)."""
    return annotate_ledger(Pilot.objects.restrict(user).in_ledger())


def annotate_ledger(qs: QuerySet[Pilot]) -> QuerySet[Pilot]:
    return (
        qs.select_related("lead_department")
        .prefetch_related(
            Prefetch("regions", queryset=Organisation.objects.select_related("parent"))
        )
        .annotate(
            latest_year=_latest_report("year"),
            latest_quarter=_latest_report("quarter"),
            latest_progress=_latest_report("progress"),
            latest_days_late=_latest_report("days_late"),
        )
    )


@dataclass(frozen=True)
class Deadline:
    what: str
    clause: str
    due: dt.date

    def overdue_days(self, today: dt.date) -> int:
        return max(0, (today - self.due).days)


def owed_quarters(pilot: Pilot, today: dt.date) -> list[tuple[int, int]]:
    """R2.3: the ended quarters a ledger pilot reports on — from the quarter it entered the
    ledger (or started, if later) to the last quarter that has ended within its term."""
    return rules.owed_quarters(
        pilot.start_date, pilot.end_date, pilot.ledger_since, until=rules.last_ended_quarter(today)
    )


def next_deadline(pilot: Pilot, today: dt.date, reported: set[tuple[int, int]]) -> Deadline | None:
    """The earliest open deadline of a pilot in the ledger: an unreported quarter (R2.3),
    else closure or extension at the end of the term (R2.4)."""
    for year, quarter in owed_quarters(pilot, today):
        if (year, quarter) not in reported:
            return Deadline(
                f"{format_cn_quarter(year, quarter)}进展",
                "R2.3",
                rules.quarterly_report_due(year, quarter),
            )
    if pilot.status == Status.ACTIVE:
        return Deadline("到期销号或申请延期", "R2.4", pilot.end_date)
    return None


LEDGER_HEADERS = [
    "试点编号",
    "试点名称",
    "改革领域",
    "试点类型",
    "试点来源",
    "管理层级",
    "试点地区",
    "实施主体",
    "牵头部门",
    "开始日期",
    "结束日期",
    "状态",
    "批复文号",
    "批复日期",
    "列入台账日期",
    "最新进展季度",
    "最新进展",
]


def ledger_row(pilot: Pilot) -> list:
    """One ledger row as exported (Excel) and printed (PDF); the column order of
    LEDGER_HEADERS. Uses only annotated and prefetched data."""
    latest = (
        f"{format_cn_quarter(pilot.latest_year, pilot.latest_quarter)}" if pilot.latest_year else ""
    )
    return [
        pilot.code,
        pilot.name,
        pilot.get_field_display(),
        pilot.get_kind_display(),
        pilot.get_origin_display(),
        pilot.get_tier_display(),
        "、".join(r.short_name for r in pilot.regions.all()),
        pilot.implementing_body,
        pilot.lead_department.name,
        pilot.start_date,
        pilot.end_date,
        pilot.get_status_display(),
        pilot.approval_doc_number,
        pilot.approval_date,
        pilot.ledger_since,
        latest,
        pilot.latest_progress or "",
    ]
