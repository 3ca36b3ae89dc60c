"""The demo's progress reporting (R2.3): quarterly reports of the ledger pilots and the
half-year summaries of the environment department.

- ledger pilots report their ended quarters, mostly on time, a few late; a few quarters are
  deliberately missing, so that owed reports and overdue flags show; one report was corrected
  (two versions); the last ended quarter, while not yet due, is reported by some pilots only;
- the environment department (dept-env) has submitted the summary of the half year before last
  and has a draft of the last one.

Reports and summaries of departments with a demo account go through the domain functions
(ledger.reports, ledger.summaries) as that account on the day they were "made"; reports of
departments without one are recorded as rows on the same rules, by the office's account.
"""

from __future__ import annotations

import datetime as dt
import re

from accounts.models import Organisation, User
from core.history import save_with_history
from demo.constants import DEMO_REASON, SUMMARY_DEPARTMENT
from demo.people import lead_account
from demo.timeline import at, backdate
from ledger.models import HalfYearSummary, QuarterlyReport
from ledger.reports import submit_quarterly_report
from ledger.selectors import owed_quarters
from ledger.summaries import draft_half_year_summary, submit_half_year_summary
from pilots import rules
from pilots.constants import LEDGER_STATES
from pilots.models import Pilot

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


# --- quarterly progress -------------------------------------------------------------------------
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
        return submit_quarterly_report(
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
    save_with_history(report, actor=office, reason=DEMO_REASON)
    return report


def _backdate_report(report: QuarterlyReport, day: dt.date, index: int) -> None:
    moment = at(day, index)
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
                history_date=at(when, index)
            )
            corrected = True
            created += 1
    return created


# --- half-year summaries ------------------------------------------------------------------------
def summary_periods(today: dt.date) -> tuple[tuple[int, int], tuple[int, int]]:
    """(the last ended half year, the one before it) as (year, half)."""
    year, quarter = rules.last_ended_quarter(today)
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
        summary = draft_half_year_summary(
            actor=actor, organisation=org, year=before[0], half=before[1]
        )
        submitted_on = min(summary.due_date - dt.timedelta(days=2), today)
        submit_half_year_summary(
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
        drafted, submitted = at(submitted_on - dt.timedelta(days=4)), at(submitted_on, 5)
        HalfYearSummary.objects.filter(pk=summary.pk).update(
            submitted_at=submitted, updated_at=submitted
        )
        backdate(summary.history, [drafted, submitted])
        created += 1
    if last not in existing:
        draft_half_year_summary(actor=actor, organisation=org, year=last[0], half=last[1])
        created += 1
    return created
