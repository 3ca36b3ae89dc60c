"""The ledger (台账, R2.3) as an Excel workbook: one row per pilot, the columns of
ledger.selectors.LEDGER_HEADERS, the same layout ledger.imports reads back.

`ledger_rows` is the exporter: a generator of rows that walks the caller's queryset (already
restricted to what the user may see, and filtered as the page is) in primary-key batches of
BATCH_SIZE, three queries each, so that 100,000 pilots take constant memory and a number of
queries that grows only with the number of batches. core.xlsx writes the rows.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from operator import attrgetter
from typing import IO

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Organisation
from core.xlsx import DATE_FORMAT_CN, DATETIME_FORMAT_CN, XLSX_CONTENT_TYPE, write_workbook
from ledger.selectors import LEDGER_HEADERS, annotate_ledger, ledger_row
from pilots.constants import LEDGER_STATES
from pilots.models import Pilot

__all__ = [
    "BATCH_SIZE",
    "LEDGER_SHEET_TITLE",
    "LEDGER_WIDTHS",
    "XLSX_CONTENT_TYPE",
    "export_ledger",
    "ledger_filename",
    "ledger_rows",
]

LEDGER_SHEET_TITLE = "改革试点台账"
# Column widths in Excel's units (a Chinese character takes about 2), by header.
_WIDTHS: dict[str, float] = {
    "试点编号": 14,
    "试点名称": 36,
    "改革领域": 22,
    "试点类型": 11,
    "试点来源": 20,
    "管理层级": 18,
    "试点地区": 18,
    "实施主体": 24,
    "牵头部门": 22,
    "开始日期": 12,
    "结束日期": 12,
    "状态": 12,
    "批复文号": 22,
    "批复日期": 12,
    "列入台账日期": 13,
    "最新进展季度": 15,
    "最新进展": 50,
}
LEDGER_WIDTHS: list[float] = [_WIDTHS.get(header, 16) for header in LEDGER_HEADERS]
# Pilots loaded at a time.
BATCH_SIZE = 2000


# Regions in Organisation.Meta.ordering, as a prefetch would give them.
_org_order = attrgetter(*Organisation._meta.ordering)
# What ledger_row reads of a pilot (the long texts — goal, measures … — are not loaded).
_ROW_FIELDS = (
    "pk", "code", "name", "field", "kind", "origin", "status", "implementing_body",
    "lead_department", "start_date", "end_date", "approval_doc_number", "approval_date",
    "ledger_since",
)  # fmt: skip


def ledger_rows(queryset: QuerySet[Pilot]) -> Iterator[list]:
    """The rows of the ledger for `queryset`, in primary-key order.

    Only pilots in the ledger are exported (R2.3: filed and confirmed, still in the library),
    whatever the queryset holds; the ledger's annotations (ledger.selectors.annotate_ledger:
    the latest quarterly report) are added when missing. The queryset's own ordering is
    replaced by the primary key, which the batches walk. Per batch three queries: the next
    primary keys (the caller's filters and restriction only, so that the database orders and
    limits bare keys), those pilots with their latest report, and their regions; plus one
    query for the organisations, once. Lead departments and regions are shared instances
    from that one query and set as a prefetch would, without Django's per-pilot cost."""
    qs = queryset.filter(status__in=LEDGER_STATES)
    if "latest_year" not in qs.query.annotations:
        qs = annotate_ledger(qs)
    keys = qs.order_by("pk").values_list("pk", flat=True)
    pilots = qs.select_related(None).prefetch_related(None).only(*_ROW_FIELDS).order_by()
    orgs: dict[int, Organisation] | None = None
    through = Pilot.regions.through
    last_pk = None
    while True:
        page = keys if last_pk is None else keys.filter(pk__gt=last_pk)
        ids = list(page[:BATCH_SIZE])
        if not ids:
            return
        if orgs is None:
            orgs = {o.pk: o for o in Organisation.objects.all()}
        regions: dict[int, list[Organisation]] = {}
        for pilot_id, org_id in through.objects.filter(pilot_id__in=ids).values_list(
            "pilot_id", "organisation_id"
        ):
            regions.setdefault(pilot_id, []).append(orgs[org_id])
        for pilot in sorted(pilots.filter(pk__in=ids), key=lambda p: p.pk):
            pilot.lead_department = orgs[pilot.lead_department_id]
            pilot._prefetched_objects_cache = {
                "regions": _prefetched(sorted(regions.get(pilot.pk, ()), key=_org_order))
            }
            yield ledger_row(pilot)
        if len(ids) < BATCH_SIZE:
            return
        last_pk = ids[-1]


def _prefetched(objs: list) -> QuerySet:
    """A queryset holding `objs` as its result, as prefetch_related leaves it."""
    qs = QuerySet(model=Organisation)
    qs._result_cache = objs
    qs._prefetch_done = True
    return qs


def export_ledger(queryset: QuerySet[Pilot], out: IO[bytes] | None = None) -> bytes | None:
    """Write the ledger of `queryset` as an .xlsx workbook to `out` (an HttpResponse, an open
    file …); without `out`, return the file's bytes. Chinese headers, frozen and filterable;
    dates as date cells; user text never a formula (core.xlsx)."""
    return write_workbook(
        LEDGER_SHEET_TITLE,
        LEDGER_HEADERS,
        ledger_rows(queryset),
        LEDGER_WIDTHS,
        out=out,
        date_format=DATE_FORMAT_CN,
        datetime_format=DATETIME_FORMAT_CN,
    )


def ledger_filename(today: dt.date | None = None) -> str:
    """The download's name: 改革试点台账-20260331.xlsx."""
    today = today or timezone.localdate()
    return f"{LEDGER_SHEET_TITLE}-{today:%Y%m%d}.xlsx"
