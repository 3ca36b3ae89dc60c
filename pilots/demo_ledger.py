"""Demo data of the ledger (R2.2, R2.3): filings, quarterly progress and half-year summaries
for the demo's pilots, so that a fresh demo shows the ledger as it looks in use.

- every demo pilot that has been filed (备案待确认 and later) gets its filing form with a small
  placeholder PDF as the pilot plan, stored through the FileField: confirmed by the office for
  pilots in or once in the ledger, awaiting confirmation for 备案待确认; a few were filed late
  and carry their days late, one was returned once and filed again as version 2;
- pilots confirmed into the ledger get their ledger date (列入台账日期) from the confirmation;
- ledger pilots report their ended quarters, mostly on time, a few late; a few quarters are
  deliberately missing, so that owed reports and overdue flags show; one report was corrected
  (two versions); the last ended quarter, while not yet due, is reported by some pilots only;
- the environment department (dept-env) has submitted the summary of the half year before last
  and has a draft of the last one.

Dates follow each pilot's own approval and term (themselves relative to the day the pilots were
loaded) and never lie after today. Reports and summaries of departments with a demo account go
through the domain functions (ledger.services) as that account on the day they were "made";
reports of departments without one are recorded as rows on the same rules, by the office's
account. History is written by the acting account; rows made here carry the reason "演示数据".
Loading is idempotent: what exists is left alone, and a deliberately missing quarter stays so.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass

from django.conf import settings
from django.core.files.base import ContentFile
from django.utils import timezone

from accounts.models import Organisation, User
from ledger import services
from ledger.constants import FilingStatus
from ledger.models import Filing, HalfYearSummary, QuarterlyReport
from ledger.selectors import last_ended_quarter, owed_quarters
from pilots import rules
from pilots.constants import LEDGER_STATES, Status
from pilots.models import Pilot

DEMO_REASON = "演示数据"  # the same reason as pilots.demo.DEMO_REASON
SUMMARY_DEPARTMENT = "dept-env"
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
CORRECTION_REASON = "更正节点完成情况：原报送的阶段目标完成日期有误"

START_TEXT = (
    "试点正式启动，{body}成立试点工作专班，印发试点实施方案和任务分工清单；围绕“{m}”，"
    "完成现状调研和基础数据梳理，召开部门协调会{a}次。"
)
MIDDLE_TEXTS = (
    "围绕“{m}”，起草配套制度文件{b}件，其中{c}件已征求相关部门意见；在{region}选取{a}个"
    "点位先行试用，运行情况总体平稳。",
    "“{m}”取得阶段性进展：完成实地核查和数据采集{d}项，形成阶段性成果报告，经专家论证后"
    "按程序报{lead}审核。",
    "本季度重点推进“{m}”，组织业务培训{a}场、覆盖{e}人次，建立月调度、季通报工作机制，"
    "累计完成年度任务的{pct}%。",
    "持续深化“{m}”，对前期试行情况开展评估，梳理问题清单{b}项并逐项整改，相关制度文本已修改完善。",
)
WRAP_UP_TEXT = (
    "试点进入总结阶段，“{m}”等主要任务已基本完成，正在开展自评估和成效总结，整理形成可"
    "复制可推广的制度成果清单。"
)
PROBLEMS = (
    "部门间数据共享机制尚不健全，部分基础数据获取周期较长。",
    "",
    "基层专业技术力量不足，第三方技术服务经费尚未完全落实。",
    "部分创新举措缺少明确的上位法依据，需进一步论证。",
    "",
    "相关企业和群众对改革举措了解不够，参与积极性有待提高。",
)
NEXT_STEPS = "下季度将重点推进“{m}”，加强与{lead}的沟通衔接，确保按期完成阶段目标。"
WRAP_UP_NEXT_STEPS = "总结试点成效，按期做好到期销号或延期申请的准备工作。"
SUMMARY_PROBLEMS = "个别试点季度进展报送不及时，部分试点配套制度出台进度偏慢。"
SUMMARY_NEXT_STEPS = "督促各试点按期报送季度进展，加强对到期试点销号和延期的指导。"


@dataclass(frozen=True)
class LedgerDemoResult:
    filings_created: int
    ledger_dates_set: int
    reports_created: int
    summaries_created: int


# --- helpers ----------------------------------------------------------------------------------
def _at(day: dt.date, i: int = 0) -> dt.datetime:
    """A working-hours moment of `day`, varied by `i`."""
    return timezone.make_aware(dt.datetime.combine(day, dt.time(9 + i % 8, 5 + 7 * (i % 7))))


def _backdate(records, moments: Sequence[dt.datetime]) -> None:
    """Give an object's history rows (oldest first) the moments they stand for."""
    for record, moment in zip(records.order_by("history_id"), moments, strict=False):
        type(record).objects.filter(pk=record.pk).update(history_date=moment)


def demo_pilots() -> list[tuple[int, Pilot]]:
    """(position in the fixture, pilot) of the demo's pilots that still exist, keyed like the
    demo loader keys them: by the name they had when the demo created them."""
    from pilots.demo import demo_pilot_rows

    created = dict(
        Pilot.history.model.objects.filter(
            history_type="+", history_change_reason=DEMO_REASON
        ).values_list("name", "id")
    )
    rows = demo_pilot_rows()
    pilots = Pilot.objects.select_related("lead_department__parent").in_bulk(
        [created[row["name"]] for row in rows if row["name"] in created]
    )
    found = []
    for index, row in enumerate(rows):
        pilot = pilots.get(created.get(row["name"]))
        if pilot is not None:
            found.append((index, pilot))
    return found


def lead_account(pilot: Pilot, users: dict[str, User]) -> User | None:
    """The demo account of the pilot's lead department (or of its parent department)."""
    orgs = {pilot.lead_department_id, pilot.lead_department.parent_id} - {None}
    for user in users.values():
        if user.role == "lead_department" and user.organisation_id in orgs:
            return user
    return None


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


# --- filings (R2.2) -----------------------------------------------------------------------------
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
    filing._history_user = submitter
    filing._change_reason = DEMO_REASON
    filing.save()
    moments = [_at(filed, index)]
    if status != FilingStatus.SUBMITTED:
        filing.status = status
        filing.decided_by = office
        filing.decided_at = _at(decided, index + 3)
        filing.return_reason = return_reason
        filing._history_user = office
        filing._change_reason = DEMO_REASON
        filing.save(update_fields=["status", "decided_by", "decided_at", "return_reason"])
        moments.append(filing.decided_at)
    Filing.objects.filter(pk=filing.pk).update(submitted_at=moments[0])
    _backdate(filing.history, moments)
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
            pilot._history_user = office
            pilot._change_reason = DEMO_REASON
            pilot.save(update_fields=[*update, "updated_at"])
            dates_set += 1
    return created, dates_set


# --- quarterly progress (R2.3) --------------------------------------------------------------------
def _measures(pilot: Pilot) -> list[str]:
    items = [
        re.sub(r"^\s*\d+\s*[.、．]\s*", "", line).strip().rstrip("；;。.")
        for line in pilot.measures.splitlines()
    ]
    return [item for item in items if item] or [pilot.name]


def report_texts(pilot: Pilot, index: int, k: int, total: int, quarter: tuple[int, int]) -> dict:
    """The progress, milestones reached, problems and next steps of quarter k (of `total`
    quarters in the pilot's term) — written from the pilot's own measures."""
    measures = _measures(pilot)
    values = {
        "m": measures[k % len(measures)],
        "body": pilot.implementing_body,
        "region": "、".join(r.short_name for r in pilot.regions.all()[:2]) or "试点地区",
        "lead": pilot.lead_department.short_name,
        "a": 2 + (index + k) % 4,
        "b": 2 + (index * (k + 1)) % 5,
        "c": 1 + (index + k) % 2,
        "d": 8 + (index * 3 + k * 5) % 30,
        "e": 60 + 10 * ((index + k) % 12),
        "pct": min(95, 25 + 12 * k + index % 10),
    }
    last = k == total - 1 and total > 1
    if k == 0:
        progress = START_TEXT.format(**values)
    elif last:
        progress = WRAP_UP_TEXT.format(**values)
    else:
        progress = MIDDLE_TEXTS[(index + k) % len(MIDDLE_TEXTS)].format(**values)
    year, number = quarter
    start, end = dt.date(year, 3 * number - 2, 1), rules.quarter_end(year, number)
    reached = [
        f"{m.title}（{rules.format_cn_date(m.reached_on)}完成）"
        for m in pilot.milestones.all()
        if not m.is_removed and m.reached_on and start <= m.reached_on <= end
    ]
    next_measure = measures[(k + 1) % len(measures)]
    return {
        "progress": progress,
        "milestones_reached": "；".join(reached),
        "problems": PROBLEMS[(index + k) % len(PROBLEMS)],
        "next_steps": WRAP_UP_NEXT_STEPS
        if last
        else NEXT_STEPS.format(m=next_measure, lead=values["lead"]),
    }


def report_plan(index: int, k: int, n: int, due: dt.date, today: dt.date) -> int | None:
    """Days late of the demo report of quarter k of n owed (None: deliberately not reported).

    The latest quarter is missing for every sixth pilot and, while not yet due, unreported by
    half of them; an older quarter is missing for a few; about one report in twenty is late."""
    latest = k == n - 1
    if latest and index % 6 == 1:
        return None
    if latest and today <= due and index % 2 == 0:
        return None
    if n >= 3 and k == n - 3 and index % 13 in (4, 9):
        return None
    if (index * 7 + k * 3) % 20 == 11:
        return 3 + (index + k) % 12
    return 0


def _report_day(index: int, k: int, quarter: tuple[int, int], late: int, today: dt.date):
    due = rules.quarterly_report_due(*quarter)
    day = due + dt.timedelta(days=late) if late else due - dt.timedelta(days=1 + (index + k) % 8)
    return min(max(day, rules.quarter_end(*quarter) + dt.timedelta(days=1)), today)


def _record_report(
    pilot: Pilot,
    quarter: tuple[int, int],
    texts: dict,
    day: dt.date,
    *,
    actor: User | None,
    office: User,
    correction_reason: str = "",
) -> QuarterlyReport:
    year, number = quarter
    if actor is not None:
        return services.submit_quarterly_report(
            actor=actor,
            pilot=pilot,
            year=year,
            quarter=number,
            data=texts,
            correction_reason=correction_reason,
            today=day,
        )
    # No demo account for this department: the same row, on the same rules.
    due = rules.quarterly_report_due(year, number)
    report = QuarterlyReport(
        pilot=pilot,
        year=year,
        quarter=number,
        due_date=due,
        days_late=max(0, (day - due).days),
        organisation=pilot.lead_department.parent or pilot.lead_department,
        submitted_by=office,
        **texts,
    )
    report._history_user = office
    report._change_reason = DEMO_REASON
    report.save()
    return report


def _backdate_report(report: QuarterlyReport, day: dt.date, index: int) -> None:
    moment = _at(day, index)
    QuarterlyReport.objects.filter(pk=report.pk).update(submitted_at=moment)
    QuarterlyReport.history.filter(id=report.pk, history_type="+").update(history_date=moment)


def ensure_reports(pilots: list[tuple[int, Pilot]], users: dict[str, User], today: dt.date) -> int:
    """Quarterly reports of the demo's ledger pilots for their ended quarters."""
    office = users["office"]
    ledger = [(i, p) for i, p in pilots if p.status in LEDGER_STATES]
    fresh = Pilot.objects.prefetch_related("regions", "milestones").in_bulk(
        [p.pk for _i, p in ledger]
    )
    done = set(
        QuarterlyReport.objects.filter(pilot__in=fresh.values()).values_list(
            "pilot", "year", "quarter"
        )
    )
    created = 0
    corrected = QuarterlyReport.objects.filter(pilot__in=fresh.values(), version__gt=1).exists()
    for index, stale in ledger:
        pilot = fresh[stale.pk]
        quarters = owed_quarters(pilot, today)
        term = rules.reporting_quarters(max(pilot.start_date, pilot.ledger_since), pilot.end_date)
        actor = lead_account(pilot, users)
        made = []
        for k, quarter in enumerate(quarters):
            if (pilot.pk, *quarter) in done:
                continue
            due = rules.quarterly_report_due(*quarter)
            late = report_plan(index, k, len(quarters), due, today)
            if late is None:
                continue
            day = _report_day(index, k, quarter, late, today)
            texts = report_texts(pilot, index, term.index(quarter), len(term), quarter)
            report = _record_report(pilot, quarter, texts, day, actor=actor, office=office)
            _backdate_report(report, day, index + k)
            made.append((report, texts, day))
            created += 1
        # One report of the environment department is corrected: two versions.
        if (
            not corrected
            and actor is not None
            and actor.organisation.code == SUMMARY_DEPARTMENT
            and len(made) >= 2
        ):
            report, texts, day = made[-2]
            when = min(day + dt.timedelta(days=9), today)
            fixed = dict(
                texts, milestones_reached=texts["milestones_reached"] or "阶段目标按期完成。"
            )
            fixed["progress"] = texts["progress"] + "（更正：补充阶段目标完成情况。）"
            second = _record_report(
                pilot,
                (report.year, report.quarter),
                fixed,
                when,
                actor=actor,
                office=office,
                correction_reason=CORRECTION_REASON,
            )
            _backdate_report(second, when, index)
            QuarterlyReport.history.filter(id=report.pk, history_type="~").update(
                history_date=_at(when, index)
            )
            corrected = True
            created += 1
    return created


# --- half-year summaries (R2.3) -------------------------------------------------------------------
def summary_periods(today: dt.date) -> tuple[tuple[int, int], tuple[int, int]]:
    """(the last ended half year, the one before it) as (year, half)."""
    year, quarter = last_ended_quarter(today)
    if quarter in (2, 4):
        last = (year, 1 if quarter == 2 else 2)
    else:
        last = (year - 1, 2) if quarter == 1 else (year, 1)
    before = (last[0] - 1, 2) if last[1] == 1 else (last[0], 1)
    return last, before


def ensure_summaries(users: dict[str, User], today: dt.date) -> int:
    """The environment department's submitted summary of the half year before last, and its
    draft of the last one."""
    actor = users.get("dept")
    if actor is None or actor.organisation is None:
        return 0
    org: Organisation = actor.organisation
    last, before = summary_periods(today)
    existing = set(HalfYearSummary.objects.filter(organisation=org).values_list("year", "half"))
    created = 0
    if before not in existing:
        summary = services.draft_half_year_summary(
            actor=actor, organisation=org, year=before[0], half=before[1]
        )
        submitted_on = min(summary.due_date - dt.timedelta(days=2), today)
        services.submit_half_year_summary(
            actor=actor,
            summary=summary,
            data={
                "overview": summary.overview,
                "progress": summary.progress,
                "problems": summary.problems or SUMMARY_PROBLEMS,
                "next_steps": summary.next_steps or SUMMARY_NEXT_STEPS,
            },
            today=submitted_on,
        )
        drafted, submitted = _at(submitted_on - dt.timedelta(days=4)), _at(submitted_on, 5)
        HalfYearSummary.objects.filter(pk=summary.pk).update(
            submitted_at=submitted, updated_at=submitted
        )
        _backdate(summary.history, [drafted, submitted])
        created += 1
    if last not in existing:
        services.draft_half_year_summary(actor=actor, organisation=org, year=last[0], half=last[1])
        created += 1
    return created


def load_ledger_demo(*, users: dict[str, User], today: dt.date | None = None) -> LedgerDemoResult:
    """Load (or complete) the ledger's demo data for the demo's pilots. Safe to run again."""
    today = today or timezone.localdate()
    pilots = demo_pilots()
    filings, dates = ensure_filings(pilots, users, today)
    pilots = demo_pilots()  # with their ledger dates
    reports = ensure_reports(pilots, users, today)
    summaries = ensure_summaries(users, today)
    return LedgerDemoResult(
        filings_created=filings,
        ledger_dates_set=dates,
        reports_created=reports,
        summaries_created=summaries,
    )
