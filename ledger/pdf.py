"""The PDF ledger (台账, R2.3): the ledger of the province or of one lead department for a
quarter, printed as an official landscape A4 document and stored as a private file.

- `request_render` records the request (a LedgerRender row, QUEUED, with history) and
  queues the work once the transaction commits; a broker that cannot be reached leaves the
  row QUEUED and the request successful;
- `render_ledger` does the work, in a worker (or in-process when tasks run eagerly): it
  prints templates/pdf/ledger.html with WeasyPrint, fetching nothing but the product's
  static files, and files the PDF through the row's FileField in the private storage
  (MEDIA_ROOT, or the S3 bucket every host reads: the web side need not be this machine).

Only ledger pilots are printed (R2.3: a pilot that was never filed and confirmed is not in
the ledger), with the columns of `selectors.LEDGER_HEADERS`, some merged to fit the page.

A big ledger is rendered in parts. WeasyPrint keeps a whole document's layout in memory,
several MB a page: 10,000 pilots in one pass need well over a gigabyte. So the rows are
printed PART_ROWS at a time, without a footer, each part written to a temporary file and
freed. A part's last, partly filled page is left out and its rows open the next part, so
no page is half empty. The parts are joined with pypdf, and the footer ("第 X 页 共 Y 页")
is stamped onto the joined pages from a blank document of as many numbered pages, laid out
by WeasyPrint with the same page rules: numbers run on across parts and the total is right.
A ledger that fits in one part is printed in one pass with its footer.

The parts are printed side by side, one worker process per core (LEDGER_PDF_PROCESSES; 1
prints them one after the other here): their page breaks are planned first and checked
after, so that the pages are those printed part after part (`ledger.pdf_parts`). The
workers get HTML and texts, never a database connection. The file is written to a local
temporary folder first, then saved through the FileField, wherever the storage keeps it.
"""

from __future__ import annotations

import datetime as dt
import logging
import tempfile
from collections.abc import Callable, Sequence
from contextlib import ExitStack
from dataclasses import dataclass
from pathlib import Path

from django.conf import settings
from django.core.exceptions import PermissionDenied, ValidationError
from django.core.files import File
from django.db import transaction
from django.db.models import Q, QuerySet
from django.db.models.functions import Coalesce
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.constants import Role
from core.dates import format_cn_date, format_cn_quarter
from core.history import save_with_history
from ledger import pdf_parts
from ledger.constants import LedgerScope, RenderStatus
from ledger.models import LedgerRender
from ledger.pdf_parts import write_part
from ledger.selectors import LEDGER_HEADERS, annotate_ledger, ledger_row
from pilots import policy
from pilots.models import Pilot

logger = logging.getLogger(__name__)

TEMPLATE = "pdf/ledger.html"
ISSUING_OFFICE = "浙江省生态文明体制改革专项小组办公室"
TITLE = "浙江省生态文明领域改革试点台账"

# Rows printed per WeasyPrint pass: about 40 pages, some 200 MB of layout at most.
PART_ROWS = 500
# The latest progress is cut to this many characters in print, three lines of its column
# with the quarter in front; the Excel export has it all.
PROGRESS_CHARS = 33
# Share of the progress bar given to printing the parts; joining and filing take the rest.
_PARTS_SHARE = 90

# The note of a ledger whose file an earlier version of the weekly job removed.
CLEANED_NOTE = "已清理"
RENDER_TASK_NAME = "ledger.tasks.render_ledger_task"


# --- requesting -------------------------------------------------------------------------------


def may_request(user, *, scope: str, department) -> bool:
    """The office prints any ledger; a lead department prints its own (with its divisions)."""
    if policy.is_office(user):
        return True
    return (
        scope == LedgerScope.DEPARTMENT
        and policy.role_of(user) == Role.LEAD_DEPARTMENT
        and department is not None
        and user.organisation_id == department.pk
    )


def request_render(*, actor, scope: str, department=None, year: int, quarter: int) -> LedgerRender:
    """Record a request for the PDF ledger of the province (`scope` province) or of one lead
    department for a quarter, and queue its rendering once the transaction commits.

    Raises PermissionDenied when `actor` may not print that ledger and ValidationError (in
    Chinese) for an impossible request. If the task cannot be queued (broker unreachable),
    the row stays QUEUED for a later resend and the request still succeeds."""
    if scope not in LedgerScope.values:
        raise ValidationError({"scope": "请选择台账范围。"})
    if scope == LedgerScope.DEPARTMENT and department is None:
        raise ValidationError({"department": "请选择牵头部门。"})
    if scope == LedgerScope.PROVINCE:
        department = None
    if quarter not in (1, 2, 3, 4):
        raise ValidationError({"quarter": "季度应为第1至第4季度。"})
    if not 2000 <= year <= 2100:
        raise ValidationError({"year": "请填写正确的年度。"})
    if not may_request(actor, scope=scope, department=department):
        raise PermissionDenied("您所在单位或角色无权生成该台账。")

    with transaction.atomic():
        render = LedgerRender(
            scope=scope,
            department=department,
            year=year,
            quarter=quarter,
            status=RenderStatus.QUEUED,
            requested_by=actor,
            queued_at=timezone.now(),
        )
        save_with_history(render, actor=actor, reason="申请生成PDF台账")
        render_id = render.pk
        transaction.on_commit(lambda: _enqueue(render_id))
    return render


def _enqueue(render_id: int) -> None:
    from core.queue import enqueue

    # Pages never need the broker: when it is down the row stays QUEUED and the task is
    # kept in the database, sent when the broker is back.
    if not enqueue("ledger.tasks.render_ledger_task", render_id):
        logger.warning("PDF台账 %s 未能加入队列（消息队列不可用），将在恢复后补发", render_id)


# --- recovering lost renders ------------------------------------------------------------------

STALE_NOTE = "上次生成中断（{state}超过{minutes}分钟未完成），已重新排队"


def stale_renders(now: dt.datetime | None = None) -> QuerySet[LedgerRender]:
    """Renders whose worker is gone: RUNNING or QUEUED for longer than
    LEDGER_RENDER_STALE_MINUTES. A live render is killed at CELERY_TASK_TIME_LIMIT, which the
    setting exceeds, so nothing that is still rendering is found. A task kept in the database
    while the broker is down (PendingTask) is not lost: its render is left alone."""
    from core.models import PendingTask

    cutoff = (now or timezone.now()) - dt.timedelta(minutes=settings.LEDGER_RENDER_STALE_MINUTES)
    waiting = {
        args[0]
        for args in PendingTask.objects.filter(
            sent_at__isnull=True, task=RENDER_TASK_NAME
        ).values_list("args", flat=True)
        if isinstance(args, list) and args
    }
    return (
        LedgerRender.objects.annotate(
            since_queued=Coalesce("queued_at", "created_at"),
            since_started=Coalesce("started_at", "queued_at", "created_at"),
        )
        .filter(
            Q(status=RenderStatus.RUNNING, since_started__lt=cutoff)
            | Q(status=RenderStatus.QUEUED, since_queued__lt=cutoff)
        )
        .exclude(pk__in=waiting)
    )


def requeue_stale_renders(*, now: dt.datetime | None = None) -> int:
    """Queue again every render a killed worker left "生成中" or "排队中" (see
    `stale_renders`), with a history row saying why, through `enqueue` once committed (so a
    broker that is down keeps the task for later). Returns how many; a second run finds none.
    Called by the quarterly render job and when a worker starts."""
    now = now or timezone.now()
    minutes = settings.LEDGER_RENDER_STALE_MINUTES
    with transaction.atomic():
        rows = list(stale_renders(now).select_for_update(of=("self",)).order_by("pk"))
        reasons = {}
        for render in rows:
            state = RenderStatus(render.status).label
            reasons[render.pk] = STALE_NOTE.format(state=state, minutes=minutes)
            render.status = RenderStatus.QUEUED
            render.progress = 0
            render.queued_at = now
            render.started_at = None
            render.error = reasons[render.pk]
            save_with_history(
                render,
                actor=None,
                reason=reasons[render.pk],
                update_fields=["status", "progress", "queued_at", "started_at", "error"],
            )
        ids = [render.pk for render in rows]
        if ids:
            transaction.on_commit(lambda: [_enqueue(pk) for pk in ids])
    if ids:
        logger.warning("%s 份中断的PDF台账已重新排队：%s", len(ids), ids)
    return len(ids)


# --- rendering --------------------------------------------------------------------------------


@dataclass(frozen=True)
class LedgerLine:
    """One printed row: the values of `ledger_row` as text, some columns merged."""

    seq: int
    code: str
    name: str
    field: str
    kind: str
    origin: str
    tier: str
    regions: str
    implementing_body: str
    lead_department: str
    start: str
    end: str
    status: str
    ledger_since: str
    doc_number: str
    approval_date: str
    latest_quarter: str
    latest_progress: str


def _clip(text: str, limit: int = PROGRESS_CHARS) -> str:
    text = " ".join(text.split())
    return text if len(text) <= limit else text[: limit - 1] + "…"


def ledger_line(seq: int, pilot: Pilot) -> LedgerLine:
    """A pilot of `annotate_ledger` as printed; the same values as the Excel export."""
    v = dict(zip(LEDGER_HEADERS, ledger_row(pilot), strict=True))
    return LedgerLine(
        seq=seq,
        code=v["试点编号"],
        name=v["试点名称"],
        field=v["改革领域"],
        kind=v["试点类型"],
        origin=v["试点来源"],
        tier=pilot.tier_short,
        regions=v["试点地区"],
        implementing_body=v["实施主体"],
        lead_department=v["牵头部门"],
        start=format_cn_date(v["开始日期"]),
        end=format_cn_date(v["结束日期"]),
        status=v["状态"],
        ledger_since=format_cn_date(v["列入台账日期"]),
        doc_number=v["批复文号"],
        approval_date=format_cn_date(v["批复日期"]),
        latest_quarter=v["最新进展季度"],
        latest_progress=_clip(v["最新进展"]),
    )


def ledger_pilots(render: LedgerRender) -> QuerySet[Pilot]:
    """R2.3: the pilots a render prints — every ledger pilot for the province; for a lead
    department, those it leads directly or through one of its divisions."""
    qs = Pilot.objects.in_ledger()
    if render.scope == LedgerScope.DEPARTMENT:
        dept = render.department_id
        qs = qs.filter(Q(lead_department_id=dept) | Q(lead_department__parent_id=dept))
    return qs


def document_title(render: LedgerRender) -> str:
    """浙江省生态文明领域改革试点台账（2026年第3季度）."""
    return f"{TITLE}（{format_cn_quarter(render.year, render.quarter)}）"


def download_name(render: LedgerRender) -> str:
    """The file name a download offers: the title, then the department for its ledger."""
    who = f"-{render.department.name}" if render.department_id else ""
    return f"{document_title(render)}{who}.pdf"


def _context(render: LedgerRender, count: int) -> dict:
    department = render.department if render.department_id else None
    title = document_title(render)
    return {
        "title": title,
        "issuer": department.name if department else ISSUING_OFFICE,
        "department": department,
        "date_text": format_cn_date(timezone.localdate()),
        "count": count,
        "docref": f"{department.short_name}　{title}" if department else title,
    }


def print_ledger(
    render: LedgerRender,
    out: Path,
    *,
    part_rows: int | None = None,
    processes: int | None = None,
    on_progress: Callable[[int], None] = lambda percent: None,
) -> tuple[int, int]:
    """Print the ledger of `render` to the file `out`; returns (rows, pages). Queries: one
    for the ids, then two per PART_ROWS rows (the rows with their latest report, their
    regions). A ledger of more than one part is printed by `processes` worker processes
    (LEDGER_PDF_PROCESSES, by default one per core; 1 prints in this process)."""
    part_rows = part_rows or PART_ROWS
    ids = list(ledger_pilots(render).order_by("code").values_list("pk", flat=True))
    context = _context(render, len(ids))
    processes = processes or pdf_parts.process_count()
    with ExitStack() as stack:
        workers = None
        if processes > 1 and len(ids) > part_rows:
            # started now, while the rows are read
            workers = stack.enter_context(pdf_parts.pool(processes))
        on_progress(2)
        return _print(render, ids, context, out, part_rows, (workers, processes), on_progress)


def _print(render, ids, context, out: Path, part_rows: int, pool, on_progress):
    def html(lines: Sequence[LedgerLine], **flags) -> str:
        return render_to_string(TEMPLATE, {**context, "lines": lines, **flags})

    lines: list[LedgerLine] = []
    for start in range(0, len(ids), part_rows):
        chunk = ids[start : start + part_rows]
        by_pk = {p.pk: p for p in annotate_ledger(Pilot.objects.filter(pk__in=chunk))}
        lines += [ledger_line(start + n + 1, by_pk[pk]) for n, pk in enumerate(chunk)]

    if len(ids) <= part_rows:
        pages, _ = write_part(html(lines, first_part=True, numbered=True), out)
        on_progress(_PARTS_SHARE)
        return len(ids), pages

    metadata = {"/Title": context["title"], "/Author": context["issuer"]}
    metadata["/Creator"] = "改革试点台账"
    workers, processes = pool
    if workers is not None:
        pages = pdf_parts.print_on_every_core(
            lines,
            html,
            out,
            part_rows=part_rows,
            workers=workers,
            processes=processes,
            on_progress=on_progress,
            metadata=metadata,
            share=_PARTS_SHARE,
        )
        if pages:
            return len(ids), pages
        logger.warning("PDF台账 %s 的分页与预估不一致，改为逐部分生成", render.pk)
    return len(ids), _print_in_sequence(lines, html, out, part_rows, on_progress, metadata)


def _print_in_sequence(lines, html, out: Path, part_rows: int, on_progress, metadata) -> int:
    """Part after part in this process: each part's partly filled last page is left out and
    its rows open the next part."""
    with tempfile.TemporaryDirectory(prefix="ledger-pdf-") as tmp:
        parts: list[Path] = []
        pages = start = 0
        while start < len(lines):
            stop = min(start + part_rows, len(lines))
            path = Path(tmp) / f"part-{len(parts):04d}.pdf"
            written, left_over = write_part(
                html(lines[start:stop], first_part=start == 0),
                path,
                keep_last_page=stop == len(lines),
            )
            parts.append(path)
            pages += written
            start = stop - left_over  # the rows of a dropped last page open the next part
            on_progress(2 + (_PARTS_SHARE - 6) * start // len(lines))
        footer = Path(tmp) / "stamp.pdf"
        write_part(html([], stamp_pages=range(pages), numbered=True), footer)
        on_progress(_PARTS_SHARE)
        pdf_parts.stamp(parts, footer, out, metadata=metadata)
    return pages


def _set_progress(render_id: int, percent: int) -> None:
    # Progress is a transient display value, written many times a render: a plain UPDATE,
    # without a history row each time (the status changes around it carry the history).
    LedgerRender.objects.filter(pk=render_id).update(progress=max(0, min(100, percent)))


def render_ledger(render_id: int) -> LedgerRender:
    """Render one requested ledger: RUNNING, then DONE with its file, rows, pages and time,
    or FAILED with the reason in Chinese. Safe to run twice: a DONE render is returned as it
    is; a QUEUED, RUNNING (its worker was lost) or FAILED one is rendered again."""
    with transaction.atomic():
        render = LedgerRender.objects.select_for_update().get(pk=render_id)
        if render.status == RenderStatus.DONE:
            return render
        render.status = RenderStatus.RUNNING
        render.progress = 0
        render.error = ""
        render.started_at = timezone.now()
        save_with_history(
            render,
            actor=None,
            reason="开始生成",
            update_fields=["status", "progress", "error", "started_at"],
        )

    render = LedgerRender.objects.select_related("department").get(pk=render_id)
    with tempfile.TemporaryDirectory(prefix="ledger-pdf-") as tmp:
        out = Path(tmp) / "ledger.pdf"
        try:
            rows, pages = print_ledger(
                render, out, on_progress=lambda p: _set_progress(render_id, p)
            )
            name = _file_name(render)
            with open(out, "rb") as fh:
                render.file.save(name, File(fh), save=False)
        except Exception as exc:
            logger.exception("PDF台账 %s 生成失败", render_id)
            render.status = RenderStatus.FAILED
            render.file = ""
            render.error = (
                f"PDF台账生成失败，请稍后重试或联系管理员。\n详情：{type(exc).__name__}: {exc}"
            )
            render.finished_at = timezone.now()
            save_with_history(
                render,
                actor=None,
                reason="生成失败",
                update_fields=["status", "file", "error", "finished_at"],
            )
            return render

    render.status = RenderStatus.DONE
    render.rows = rows
    render.pages = pages
    render.progress = 100
    render.finished_at = timezone.now()
    save_with_history(
        render,
        actor=None,
        reason="生成完成",
        update_fields=["status", "rows", "pages", "progress", "file", "finished_at"],
    )
    return render


def _file_name(render: LedgerRender) -> str:
    who = f"dept{render.department_id}" if render.department_id else "province"
    return f"ledger-{who}-{render.year}Q{render.quarter}-{render.pk}.pdf"
