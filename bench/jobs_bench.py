"""Benchmark of the scheduled jobs at provincial scale (pilots.jobs): flag_overdue and
purge_expired, set-based, against a per-pilot implementation on the same data.

    python bench/jobs_bench.py [--pilots 10000] [--seed 2018]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench \
        python bench/jobs_bench.py --pilots 100000

Generates pilots in bulk (no history) with every kind of deadline: ledger pilots with most
quarterly reports in and some missing, pilots expired within the purge grace, pilots expired
long ago that nobody closed (purge candidates), approved pilots never filed, closed pilots
without an acceptance report, pilots with a closure or extension pending. Then, on a fixed
business day:

1. the per-pilot baseline — for each pilot its own deadlines, one query per check, one
   get_or_create and save (with history) per overdue event; for the purge, each expired pilot
   checked and saved on its own — run inside a transaction that is rolled back, so that
2. the jobs themselves (pilots.jobs.flag_overdue / purge_expired) then run on the same data:
   the first run on the whole backlog, and a second "daily" run the next day;

and checks that both give the same open events and the same purged pilots. Reported: wall
time, SQL statements (counted on the connection), rows written, and the Python heap peak
(tracemalloc, in a separate rolled-back pass so that tracing does not slow the timed run).
Notices are recorded by both; the jobs' e-mails, which a worker sends after commit, are not
queued here.

Runs on DATABASE_URL; when it is not set, on a temporary SQLite file that is removed at the
end. It refuses a database that already holds pilots.
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import random
import sys
import tempfile
import time
import tracemalloc
from pathlib import Path

from summary import record

ROOT = Path(__file__).resolve().parent.parent

QUERY_TARGET = 20  # statements per run, whatever the number of pilots
SPEEDUP_TARGET = 10.0  # × faster than the per-pilot implementation
TODAY = dt.date(2026, 11, 23)


class Sample:
    """The baseline may check every `every`-th pilot only (pk % every == 0): at 100,000
    pilots it would take most of make bench's time. Time spent on the sampled pilots' own
    work is kept apart and scaled up by `every`; the rest (the pass over all pilots, the
    departments' half-year summaries) is counted once. The results are compared on the
    sample."""

    every = 1
    seconds = 0.0

    @classmethod
    def takes(cls, pilot_id: int | None) -> bool:
        return pilot_id is None or pilot_id % cls.every == 0

    @classmethod
    def extrapolate(cls, seconds: float) -> float:
        return seconds + cls.seconds * (cls.every - 1)


def _setup_django() -> str | None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    temp_file = None
    if not os.environ.get("DATABASE_URL"):
        fd, temp_file = tempfile.mkstemp(prefix="jobs-bench-", suffix=".sqlite3")
        os.close(fd)
        os.environ["DATABASE_URL"] = f"sqlite:///{temp_file}"
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    # In production a job's e-mails are queued after commit and sent by a worker; without a
    # broker they would be sent inside the timed run. Queue them nowhere: notices are still
    # recorded, as in the baseline.
    import accounts.notify

    accounts.notify._queue_emails = lambda ids: None
    return temp_file


# --- data ------------------------------------------------------------------------------------


def generate(count: int, seed: int) -> dict[str, int]:
    """`count` pilots with every kind of deadline, written in bulk; returns the mix."""
    from accounts.constants import OrgKind
    from accounts.models import Organisation, User
    from accounts.orgdata import ensure_organisations
    from ledger.models import QuarterlyReport
    from pilots import rules
    from pilots.constants import Origin, PilotKind, ReformField, Status
    from pilots.models import Pilot

    rng = random.Random(seed)
    orgs = ensure_organisations()
    leads = [o for o in orgs.values() if o.kind in (OrgKind.DEPARTMENT, OrgKind.DIVISION)]
    office = Organisation.objects.get(code="office")
    user, _ = User.objects.get_or_create(
        username="bench-office", defaults={"organisation": office, "role": "office"}
    )
    mix = {"ledger": 0, "expired_in_grace": 0, "purge": 0, "unfiled": 0, "closed": 0, "pending": 0}
    pilots: list[Pilot] = []
    for i in range(count):
        roll = rng.random()
        lead = rng.choice(leads)
        if roll < 0.70:
            kind, status = "ledger", Status.ACTIVE
            start = TODAY - dt.timedelta(days=rng.randrange(60, 700))
            end = TODAY + dt.timedelta(days=rng.randrange(20, 700))
        elif roll < 0.75:
            kind, status = "expired_in_grace", Status.ACTIVE
            end = TODAY - dt.timedelta(days=rng.randrange(1, 30))
            start = end - dt.timedelta(days=rng.randrange(300, 700))
        elif roll < 0.85:
            kind, status = "purge", Status.ACTIVE
            end = TODAY - dt.timedelta(days=rng.randrange(32, 400))
            start = end - dt.timedelta(days=rng.randrange(300, 700))
        elif roll < 0.90:
            kind, status = "unfiled", Status.APPROVED
            start = TODAY + dt.timedelta(days=rng.randrange(10, 60))
            end = start + dt.timedelta(days=rng.randrange(300, 700))
        elif roll < 0.95:
            kind, status = "closed", Status.CLOSED
            end = TODAY - dt.timedelta(days=rng.randrange(1, 400))
            start = end - dt.timedelta(days=rng.randrange(300, 700))
        else:
            kind = "pending"
            status = rng.choice([Status.CLOSURE_REPORTED, Status.EXTENSION_REQUESTED])
            end = TODAY - dt.timedelta(days=rng.randrange(-20, 60))
            start = end - dt.timedelta(days=rng.randrange(300, 700))
        mix[kind] += 1
        approved = start - dt.timedelta(days=rng.randrange(10, 40))
        if kind == "unfiled":
            approved = TODAY - dt.timedelta(days=rng.randrange(1, 40))
        pilots.append(
            Pilot(
                code=f"ST-{approved.year}-{i + 1:06d}",
                name=f"改革试点（{i + 1}）",
                field=rng.choice(ReformField.values),
                kind=PilotKind.SINGLE if end - start < dt.timedelta(days=730) else "comprehensive",
                origin=Origin.DEPARTMENT,
                status=status,
                implementing_body="实施单位",
                lead_department=lead,
                applicant=lead,
                goal="目标",
                scope="范围",
                start_date=start,
                end_date=end,
                responsible_body="责任单位",
                measures="措施",
                expected_outcomes="成果",
                approval_authority="批复机关",
                approval_doc_number=f"浙环函〔{approved.year}〕{i + 1}号",
                approval_date=approved,
                ledger_since=None if kind == "unfiled" else start + dt.timedelta(days=5),
            )
        )
    Pilot.objects.bulk_create(pilots, batch_size=5000)
    # Quarterly reports: four in five ledger pilots reported every ended quarter; the others
    # miss one or two.
    reports = []
    last_due = rules.quarter_of(TODAY - dt.timedelta(days=100))
    for pilot in Pilot.objects.filter(ledger_since__isnull=False).only(
        "pk", "start_date", "end_date", "ledger_since", "lead_department_id"
    ):
        quarters = [
            q
            for q in rules.reporting_quarters(
                max(pilot.start_date, pilot.ledger_since), pilot.end_date
            )
            if q <= last_due
        ]
        if rng.random() < 0.2:
            for _ in range(rng.randint(1, 2)):
                if quarters:
                    quarters.pop(rng.randrange(len(quarters)))
        for year, quarter in quarters:
            reports.append(
                QuarterlyReport(
                    pilot_id=pilot.pk,
                    year=year,
                    quarter=quarter,
                    progress="进展",
                    due_date=rules.quarterly_report_due(year, quarter),
                    organisation_id=pilot.lead_department_id,
                    submitted_by=user,
                )
            )
        if len(reports) >= 20000:
            QuarterlyReport.objects.bulk_create(reports, batch_size=5000)
            reports = []
    QuarterlyReport.objects.bulk_create(reports, batch_size=5000)
    mix["reports"] = QuarterlyReport.objects.count()
    return mix


# --- the per-pilot baseline --------------------------------------------------------------------


def naive_dues(today: dt.date) -> list:
    """Every missed deadline, found pilot by pilot with one query per check."""
    from accounts.constants import OrgKind
    from accounts.models import Organisation
    from ledger.constants import SummaryStatus
    from ledger.models import HalfYearSummary, QuarterlyReport
    from pilots import rules
    from pilots.constants import LEDGER_STATES, DeadlineKind, Status
    from pilots.deadlines import Due
    from pilots.deadlines import due_label as _label
    from pilots.models import AcceptanceReport, Pilot

    dues = []
    firsts: dict[int, dt.date] = {}
    for p in Pilot.objects.select_related("lead_department").iterator(chunk_size=2000):
        lead = p.lead_department_id
        if p.status in LEDGER_STATES and p.ledger_since:
            dept = lead
            if p.lead_department.kind != OrgKind.DEPARTMENT and p.lead_department.parent_id:
                dept = p.lead_department.parent_id
            firsts[dept] = min(firsts.get(dept, p.ledger_since), p.ledger_since)
        if not Sample.takes(p.pk):
            continue
        started = time.perf_counter()
        if p.status == Status.APPROVED and rules.filing_due(p.approval_date) < today:
            dues.append(
                Due(
                    DeadlineKind.FILING,
                    p.pk,
                    lead,
                    rules.filing_due(p.approval_date),
                    _label(p.code, p.name, "备案"),
                )  # fmt: skip
            )
        if p.status in LEDGER_STATES and p.ledger_since:
            for year, quarter in rules.reporting_quarters(
                max(p.start_date, p.ledger_since), p.end_date
            ):
                due = rules.quarterly_report_due(year, quarter)
                if due >= today:
                    break
                reported = QuarterlyReport.objects.filter(
                    pilot=p, year=year, quarter=quarter, is_current=True
                ).exists()
                if not reported:
                    dues.append(
                        Due(
                            DeadlineKind.QUARTERLY,
                            p.pk,
                            lead,
                            due,
                            _label(p.code, p.name, f"{year}年第{quarter}季度进展"),
                        )  # fmt: skip
                    )
        if p.status == Status.ACTIVE and p.end_date < today:
            dues.append(
                Due(
                    DeadlineKind.TERM_END,
                    p.pk,
                    lead,
                    p.end_date,
                    _label(p.code, p.name, "到期销号或申请延期"),
                )  # fmt: skip
            )
        # R3.2: every pilot whose term has ended owes the acceptance report, however it ended.
        if p.status in {*LEDGER_STATES, Status.CLOSED, Status.PURGED} and p.end_date < today:
            due = rules.acceptance_report_due(p.end_date)
            has = AcceptanceReport.objects.filter(pilot=p, is_current=True).exists()
            if due < today and not has:
                dues.append(
                    Due(
                        DeadlineKind.ACCEPTANCE,
                        p.pk,
                        lead,
                        due,
                        _label(p.code, p.name, "总结验收报告"),
                    )  # fmt: skip
                )
        Sample.seconds += time.perf_counter() - started
    for dept, first in firsts.items():
        name = Organisation.objects.get(pk=dept).name
        year, half = first.year, 1 if first.month <= 6 else 2
        while (due := rules.half_year_summary_due(year, half)) < today:
            done = HalfYearSummary.objects.filter(
                organisation_id=dept, year=year, half=half, status=SummaryStatus.SUBMITTED
            ).exists()
            if not done:
                period = f"{year}年{'上' if half == 1 else '下'}半年"
                dues.append(
                    Due(DeadlineKind.HALF_YEAR, None, dept, due, f"{name}：{period}台账汇总")
                )
            year, half = (year + 1, 1) if half == 2 else (year, 2)
    return dues


def naive_flag(today: dt.date) -> set[str]:
    """Record each missed deadline on its own: get_or_create, save with history, a notice."""
    from accounts.models import Notification
    from pilots.models import OverdueEvent

    keys = set()
    for due in naive_dues(today):
        started = time.perf_counter()
        event, created = OverdueEvent.objects.get_or_create(
            key=due.key,
            defaults={
                "kind": due.kind,
                "pilot_id": due.pilot_id,
                "organisation_id": due.organisation_id,
                "label": due.label,
                "due_date": due.due,
                "flagged_on": today,
            },
        )
        if created:
            Notification.objects.create(
                organisation_id=due.organisation_id, subject="逾期事项", body=due.label
            )
        keys.add(event.key)
        if due.pilot_id is not None:
            Sample.seconds += time.perf_counter() - started
    return keys


def naive_purge(today: dt.date) -> set[int]:
    """Check every active pilot on its own and save each purged one with its history."""
    from django.conf import settings

    from pilots.constants import Status
    from pilots.models import Pilot

    grace = settings.PILOT_PURGE_GRACE_DAYS
    purged = set()
    for p in Pilot.objects.filter(status=Status.ACTIVE).iterator(chunk_size=2000):
        if not Sample.takes(p.pk):
            continue
        started = time.perf_counter()
        if _purge_one(p, today, grace):
            purged.add(p.pk)
        Sample.seconds += time.perf_counter() - started
    return purged


def _purge_one(p, today: dt.date, grace: int) -> bool:
    from pilots.constants import Status, TermRequestStatus
    from pilots.models import ClosureReport, ExtensionRequest
    from pilots.term import purge_reason

    if p.end_date > today - dt.timedelta(days=grace + 1):
        return False
    if p.restored_on and p.restored_on >= today - dt.timedelta(days=grace):
        return False
    since = today - dt.timedelta(days=grace)
    returned = [
        model.objects.filter(
            pilot=p, status=TermRequestStatus.RETURNED, decided_at__date__gte=since
        ).exists()
        for model in (ClosureReport, ExtensionRequest)
    ]
    if any(returned):
        return False
    p.status_before_purge, p.status = p.status, Status.PURGED
    p.purged_on, p.purge_reason = today, purge_reason(p.end_date)
    p._change_reason = "到期未销号也未申请延期，清理出库"
    p.save()
    return True


# --- measuring -------------------------------------------------------------------------------


# Transaction control is not a query: the bench runs each job inside a transaction of its own
# (to roll it back), which turns the job's BEGIN and COMMIT, never counted, into a SAVEPOINT and
# its RELEASE, which would be.
TRANSACTION_CONTROL = ("SAVEPOINT", "RELEASE SAVEPOINT", "ROLLBACK TO SAVEPOINT")


class Counter:
    """The statements that read or write rows (transaction control left out)."""

    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        if not sql.lstrip().upper().startswith(TRANSACTION_CONTROL):
            self.count += 1
        return execute(sql, params, many, context)


class Rollback(Exception):
    pass


def measure(fn, *, rollback: bool, trace: bool = False):
    """(result, seconds, statements, heap peak MB) of fn(); undone when `rollback`."""
    from django.db import connection, transaction

    counter = Counter()
    result = None
    if trace:
        tracemalloc.start()
    started = time.perf_counter()
    try:
        with transaction.atomic(), connection.execute_wrapper(counter):
            result = fn()
            if rollback:
                raise Rollback
    except Rollback:
        pass
    seconds = time.perf_counter() - started
    peak = None
    if trace:
        peak = tracemalloc.get_traced_memory()[1] / 1e6
        tracemalloc.stop()
    return result, seconds, counter.count, peak


def open_keys() -> set[str]:
    from pilots.models import OverdueEvent

    rows = OverdueEvent.objects.filter(resolved_on__isnull=True).values_list("key", "pilot_id")
    return {key for key, pilot_id in rows if Sample.takes(pilot_id)}


def check_sample(every: int, group: str) -> None:
    """The per-pilot baseline on the same data twice, both rolled back: over every pilot, and
    over one pilot in `every` with its time scaled up as the run at 100,000 pilots does. How
    far the extrapolation is from the full run says how far to trust it there."""
    kept = Sample.every
    for label, baseline in (
        ("标记逾期", lambda: naive_flag(TODAY)),
        ("清理出库", lambda: naive_purge(TODAY)),
    ):
        Sample.every, Sample.seconds = 1, 0.0
        _, full, _, _ = measure(baseline, rollback=True)
        Sample.every, Sample.seconds = every, 0.0
        _, secs, _, _ = measure(baseline, rollback=True)
        scaled = Sample.extrapolate(secs)
        print(f"  逐个试点：{label} 全部实测 {full:.2f} s，抽样外推 {scaled:.2f} s"
              f"（{scaled / full:.2f}×）")  # fmt: skip
        record(
            group,
            f"逐个试点：{label}，抽样外推（每 {every} 个抽 1 个）",
            scaled,
            "s",
            comparison=full,
            against="逐个试点全部实测（同一数据）",
            target="（对照，看外推的偏差）",
            detail=f"外推比实测{'多' if scaled >= full else '少'} {abs(scaled / full - 1):.0%}",
        )
    Sample.every, Sample.seconds = kept, 0.0


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=10000)
    parser.add_argument("--seed", type=int, default=2018)
    parser.add_argument("--profile", action="store_true", help="profile the first purge")
    parser.add_argument(
        "--baseline-every", type=int, default=1, help="the baseline checks every N-th pilot"
    )
    parser.add_argument(
        "--sample-check",
        type=int,
        default=0,
        help="also run the baseline in full and on every N-th pilot, to compare the two",
    )
    args = parser.parse_args(argv)
    Sample.every = max(1, args.baseline_every)
    temp_file = _setup_django()
    try:
        return _run(args)
    finally:
        if temp_file:
            Path(temp_file).unlink(missing_ok=True)


def _run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from pilots import jobs
    from pilots.models import Pilot

    call_command("migrate", verbosity=0)
    if Pilot.objects.exists():
        print("该数据库已有试点数据，基准测试不在其上运行。", file=sys.stderr)
        return 2
    vendor = connection.vendor
    print(f"数据库 {vendor}，试点 {args.pilots:,}，业务日期 {TODAY}")
    started = time.perf_counter()
    mix = generate(args.pilots, args.seed)
    print(f"生成数据 {time.perf_counter() - started:.1f} 秒：{mix}")

    rows = []

    def row(name, seconds, statements, written, peak):
        rows.append((name, seconds, statements, written, peak))
        mb = f"{peak:8.1f}" if peak is not None else "       —"
        print(f"  {name:<34} {seconds:9.2f} s {statements:>9,} 条SQL {written:>9,} 行 {mb} MB")

    if args.sample_check > 1:
        check_sample(args.sample_check, f"定时任务（{args.pilots:,} 个试点，{vendor}）")

    # 1. flag_overdue: the per-pilot baseline on the backlog, undone afterwards.
    sampled = f"（每 {Sample.every} 个抽 1 个，时间外推）" if Sample.every > 1 else "（首次）"
    Sample.seconds = 0.0
    naive_keys, secs, stmts, _ = measure(lambda: naive_flag(TODAY), rollback=True)
    naive_flag_secs = Sample.extrapolate(secs)
    row(f"逐个试点：标记逾期{sampled}", naive_flag_secs, stmts, len(naive_keys), None)
    # The job's heap peak, in a rolled-back pass.
    _, _, _, peak = measure(lambda: jobs.flag_overdue(TODAY), rollback=True, trace=True)
    run, secs, stmts, _ = measure(lambda: jobs.flag_overdue(TODAY), rollback=False)
    row("flag_overdue（首次，积压）", secs, stmts, run.counts["flagged"], peak)
    flag_first = (secs, stmts, run)
    same_flags = open_keys() == naive_keys
    run, secs, stmts, _ = measure(
        lambda: jobs.flag_overdue(TODAY + dt.timedelta(days=1)), rollback=False
    )
    row("flag_overdue（次日）", secs, stmts, run.counts["flagged"] + run.counts["resolved"], None)
    flag_daily = (secs, stmts)

    # 2. purge_expired: the same.
    Sample.seconds = 0.0
    naive_ids, secs, stmts, _ = measure(lambda: naive_purge(TODAY), rollback=True)
    naive_purge_secs = Sample.extrapolate(secs)
    row(f"逐个试点：清理出库{sampled}", naive_purge_secs, stmts, len(naive_ids), None)
    _, _, _, peak = measure(lambda: jobs.purge_expired(TODAY), rollback=True, trace=True)
    if args.profile:
        import cProfile
        import pstats

        with cProfile.Profile() as prof:
            measure(lambda: jobs.purge_expired(TODAY), rollback=True)
        pstats.Stats(prof).sort_stats("cumulative").print_stats(25)
    run, secs, stmts, _ = measure(lambda: jobs.purge_expired(TODAY), rollback=False)
    row("purge_expired（首次，积压）", secs, stmts, run.counts["purged"], peak)
    purge_first = (secs, stmts)
    purged_ids = set(Pilot.objects.filter(purged_on=TODAY).values_list("pk", flat=True))
    purged_ids = {pk for pk in purged_ids if Sample.takes(pk)}
    same_purge = purged_ids == naive_ids
    run, secs, stmts, _ = measure(
        lambda: jobs.purge_expired(TODAY + dt.timedelta(days=1)), rollback=False
    )
    row("purge_expired（次日）", secs, stmts, run.counts["purged"], None)
    purge_daily = (secs, stmts)

    flag_speedup = naive_flag_secs / flag_first[0]
    purge_speedup = naive_purge_secs / purge_first[0]
    most = max(flag_first[1], flag_daily[1], purge_first[1], purge_daily[1])
    # run_job's own statements (the JobRun row before and after) are outside its counter:
    # flag_first[2].queries is what the job body issued.
    print()
    print(f"  结果一致：逾期事项 {'是' if same_flags else '否'}（{len(naive_keys):,}项），"
          f"清理出库 {'是' if same_purge else '否'}（{len(naive_ids):,}个）")  # fmt: skip
    print(f"  提速：标记逾期 {flag_speedup:.1f}×，清理出库 {purge_speedup:.1f}×"
          f"（目标 ≥ {SPEEDUP_TARGET:.0f}×）")  # fmt: skip
    print(f"  每次运行最多 {most} 条SQL（目标 ≤ {QUERY_TARGET}，与试点数量无关）；"
          f"任务记录的查询数 {flag_first[2].queries}")  # fmt: skip
    ok = (
        same_flags
        and same_purge
        and most <= QUERY_TARGET
        and min(flag_speedup, purge_speedup) >= SPEEDUP_TARGET
    )
    print("  全部达标" if ok else "  未全部达标")
    group = f"定时任务（{args.pilots:,} 个试点，{vendor}）"
    for label, ours, naive, (_, stmts, *_rest), same, count in (
        ("标记逾期（首次，积压）", flag_first[0], naive_flag_secs, flag_first, same_flags,
         f"{len(naive_keys):,} 项逾期"),
        ("清理出库（首次，积压）", purge_first[0], naive_purge_secs, purge_first, same_purge,
         f"{len(naive_ids):,} 个试点"),
    ):  # fmt: skip
        record(
            group,
            label,
            ours,
            "s",
            comparison=naive,
            against="逐个试点检查和写入"
            + (f"（每 {Sample.every} 个抽 1 个，外推）" if Sample.every > 1 else ""),
            limit=1 / SPEEDUP_TARGET,
            target=f"快 ≥ {SPEEDUP_TARGET:.0f} 倍",
            detail=f"{stmts} 条SQL；{count}，两边结果{'一致' if same else '不一致'}",
            valid=same,
        )
    record(
        group,
        "每次运行的 SQL 条数（最多）",
        most,
        "",
        limit=QUERY_TARGET,
        target=f"≤ {QUERY_TARGET}，与试点数无关",
        detail=f"次日运行：标记逾期 {flag_daily[0]:.2f} s，清理出库 {purge_daily[0]:.2f} s",
    )
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
