"""The demo's filings (R2.2): every demo pilot that has been filed (备案待确认 and later) gets
its filing form with a small placeholder PDF as the pilot plan, stored through the FileField:
confirmed by the office for pilots in or once in the ledger, awaiting confirmation for
备案待确认; a few were filed late and carry their days late, one was returned once and filed
again as version 2. Pilots confirmed into the ledger get their ledger date (列入台账日期) from
the confirmation."""

from __future__ import annotations

import datetime as dt

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import User
from core.history import save_with_history
from demo.constants import DEMO_REASON, SUMMARY_DEPARTMENT
from demo.people import lead_account
from demo.timeline import at, backdate
from ledger.constants import FilingStatus
from ledger.models import Filing
from pilots import rules
from pilots.constants import Status
from pilots.models import Pilot

PLAN_FILENAME = "试点方案.pdf"

FILED_STATES = frozenset(
    {
        Status.FILING_SUBMITTED,
        Status.ACTIVE,
        Status.CLOSURE_REPORTED,
        Status.EXTENSION_REQUESTED,
        Status.CLOSED,
        Status.PURGED,
    }
)
# Filed and confirmed: in the ledger now, or once (closed, purged).
CONFIRMED_STATES = FILED_STATES - {Status.FILING_SUBMITTED}
# Days from approval to filing for filings on time (the deadline is 7 days, R2.2).
ON_TIME_DELAYS = (3, 5, 2, 6, 4, 7, 1)
RETURN_REASON = "试点方案未明确阶段性目标和时间节点，请补充完善后重新报送。"


# --- the placeholder plan -----------------------------------------------------------------------
def _pdf_text(text: str) -> str:
    return "<" + text.encode("utf-16-be").hex().upper() + ">"


def plan_pdf(pilot: Pilot, version: int = 1) -> bytes:
    """A one-page placeholder pilot plan: a minimal valid PDF, its Chinese set in the standard
    Adobe-GB1 font STSong-Light (not embedded), made in memory."""
    lines = [
        (18, "浙江省生态文明领域改革试点方案"),
        (14, pilot.name),
        (11, f"试点编号：{pilot.code}    第{version}版"),
        (11, f"实施主体：{pilot.implementing_body}"),
        (
            11,
            f"试点期限：{rules.format_cn_date(pilot.start_date)}至"
            f"{rules.format_cn_date(pilot.end_date)}",
        ),  # fmt: skip
        (10, "（演示数据：试点方案占位文件）"),
    ]
    ops = ["BT", "72 770 Td"]
    for n, (size, text) in enumerate(lines):
        if n:
            ops.append(f"0 -{size + 16} Td")
        ops.append(f"/F1 {size} Tf {_pdf_text(text)} Tj")
    ops.append("ET")
    stream = "\n".join(ops).encode("ascii")
    objects = [
        b"<< /Type /Catalog /Pages 2 0 R >>",
        b"<< /Type /Pages /Kids [3 0 R] /Count 1 >>",
        b"<< /Type /Page /Parent 2 0 R /MediaBox [0 0 595 842] "
        b"/Resources << /Font << /F1 5 0 R >> >> /Contents 4 0 R >>",
        b"<< /Length %d >>\nstream\n" % len(stream) + stream + b"\nendstream",
        b"<< /Type /Font /Subtype /Type0 /BaseFont /STSong-Light /Encoding /UniGB-UCS2-H "
        b"/DescendantFonts [6 0 R] >>",
        b"<< /Type /Font /Subtype /CIDFontType0 /BaseFont /STSong-Light "
        b"/CIDSystemInfo << /Registry (Adobe) /Ordering (GB1) /Supplement 2 >> /DW 1000 "
        b"/W [1 95 500] "
        b"/FontDescriptor 7 0 R >>",
        b"<< /Type /FontDescriptor /FontName /STSong-Light /Flags 6 "
        b"/FontBBox [-25 -254 1000 880] /ItalicAngle 0 /Ascent 880 /Descent -120 "
        b"/CapHeight 880 /StemV 93 >>",
    ]
    out = bytearray(b"%PDF-1.4\n%\xe2\xe3\xcf\xd3\n")
    offsets = []
    for number, body in enumerate(objects, start=1):
        offsets.append(len(out))
        out += b"%d 0 obj\n" % number + body + b"\nendobj\n"
    xref = len(out)
    out += b"xref\n0 %d\n0000000000 65535 f \n" % (len(objects) + 1)
    out += b"".join(b"%010d 00000 n \n" % offset for offset in offsets)
    out += b"trailer\n<< /Size %d /Root 1 0 R >>\nstartxref\n%d\n%%%%EOF\n" % (
        len(objects) + 1,
        xref,
    )
    return bytes(out)


def _attach_plan(filing: Filing) -> None:
    """Store the placeholder plan through the FileField; a file the demo stored before with
    the same content is reused, so loading again does not pile up copies."""
    content = plan_pdf(filing.pilot, filing.version)
    field = filing.plan
    name = field.field.generate_filename(filing, PLAN_FILENAME)
    if field.storage.exists(name):
        with field.storage.open(name, "rb") as handle:
            if handle.read() == content:
                field.name = name
                return
    field.save(PLAN_FILENAME, ContentFile(content), save=False)


# --- filings ------------------------------------------------------------------------------------
def _milestones_text(pilot: Pilot) -> str:
    return "\n".join(
        f"{m.due_date:%Y-%m-%d} {m.title}" for m in pilot.milestones.filter(is_removed=False)
    )


def _filing_days(index: int, pilot: Pilot, today: dt.date) -> tuple[dt.date, dt.date]:
    """(filed on, decided on) for a demo filing: mostly within the week, every fifth late."""
    approved = pilot.approval_date or pilot.start_date
    delay = ON_TIME_DELAYS[index % len(ON_TIME_DELAYS)]
    if index % 5 == 3:
        delay = settings.PILOT_FILING_DAYS + 3 + index % 9
    filed = min(approved + dt.timedelta(days=delay), today)
    decided = min(filed + dt.timedelta(days=1 + index % 3), today)
    return filed, decided


def _make_filing(
    pilot: Pilot,
    *,
    version: int,
    status: str,
    filed: dt.date,
    decided: dt.date | None,
    submitter: User,
    office: User,
    index: int,
    return_reason: str = "",
) -> Filing:
    approved = pilot.approval_date or pilot.start_date
    filing = Filing(
        pilot=pilot,
        version=version,
        status=FilingStatus.SUBMITTED,
        approval_authority=pilot.approval_authority or pilot.lead_department.name,
        approval_doc_number=pilot.approval_doc_number,
        approval_date=approved,
        implementing_body=pilot.implementing_body,
        start_date=pilot.start_date,
        end_date=pilot.end_date,
        goal=pilot.goal,
        measures=pilot.measures,
        expected_outcomes=pilot.expected_outcomes,
        milestones_text=_milestones_text(pilot),
        contact_person=pilot.contact_person or submitter.display_name or submitter.username,
        contact_phone=pilot.contact_phone or "0571-87050000",
        due_date=rules.filing_due(approved),
        filed_on=filed,
        days_late=rules.filing_days_late(approved, filed),
        submitted_by=submitter,
    )
    _attach_plan(filing)
    save_with_history(filing, actor=submitter, reason=DEMO_REASON)
    moments = [at(filed, index)]
    if status != FilingStatus.SUBMITTED:
        filing.status = status
        filing.decided_by = office
        filing.decided_at = at(decided, index + 3)
        filing.return_reason = return_reason
        save_with_history(
            filing,
            actor=office,
            reason=DEMO_REASON,
            update_fields=["status", "decided_by", "decided_at", "return_reason"],
        )
        moments.append(filing.decided_at)
    Filing.objects.filter(pk=filing.pk).update(submitted_at=moments[0])
    backdate(filing.history, moments)
    return filing


def ensure_filings(
    pilots: list[tuple[int, Pilot]], users: dict[str, User], today: dt.date
) -> tuple[int, int]:
    """Filings for filed demo pilots without one, and the ledger date of confirmed ones.
    Returns (filings created, ledger dates set)."""
    office = users["office"]
    filed = [(i, p) for i, p in pilots if p.status in FILED_STATES]
    has_filing = set(
        Filing.objects.filter(pilot__in=[p for _i, p in filed]).values_list("pilot", flat=True)
    )
    # One pilot of the environment department was returned once and filed again (v2).
    refiled = next(
        (
            p.pk
            for _i, p in filed
            if p.status == Status.ACTIVE
            and p.lead_department.parent_id is not None
            and p.lead_department.parent.code == SUMMARY_DEPARTMENT
        ),
        None,
    )
    created = dates_set = 0
    for index, pilot in filed:
        submitter = lead_account(pilot, users) or office
        filed_on, decided_on = _filing_days(index, pilot, today)
        if pilot.pk not in has_filing:
            confirmed = pilot.status in CONFIRMED_STATES
            version = 1
            if confirmed and pilot.pk == refiled:
                approved = pilot.approval_date or pilot.start_date
                first_filed = min(approved + dt.timedelta(days=2), filed_on)
                _make_filing(
                    pilot,
                    version=1,
                    status=FilingStatus.RETURNED,
                    filed=first_filed,
                    decided=first_filed + dt.timedelta(days=1),
                    submitter=submitter,
                    office=office,
                    index=index,
                    return_reason=RETURN_REASON,
                )
                created += 1
                version = 2
            _make_filing(
                pilot,
                version=version,
                status=FilingStatus.CONFIRMED if confirmed else FilingStatus.SUBMITTED,
                filed=filed_on,
                decided=decided_on if confirmed else None,
                submitter=submitter,
                office=office,
                index=index,
            )
            created += 1
        if pilot.status in CONFIRMED_STATES and pilot.ledger_since is None:
            confirmed_filing = (
                pilot.filings.filter(status=FilingStatus.CONFIRMED).order_by("-version").first()
            )
            pilot.ledger_since = (
                # The confirmation's local (Asia/Shanghai) date, not its UTC date.
                timezone.localdate(confirmed_filing.decided_at)
                if confirmed_filing and confirmed_filing.decided_at
                else decided_on
            )
            update = ["ledger_since"]
            if confirmed_filing and not pilot.plan_attachment:
                pilot.plan_attachment = confirmed_filing.plan.name
                update.append("plan_attachment")
            save_with_history(pilot, actor=office, reason=DEMO_REASON, update_fields=update)
            dates_set += 1
    return created, dates_set
