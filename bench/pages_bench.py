"""Server time of the everyday pages at provincial scale, against the raw SQL they need.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench python bench/pages_bench.py

Generates (unless the database already holds them, or --keep-data was used before) 10,000
pilots with their history (`generate_pilots`), a confirmed filing for every pilot in the
ledger and eight quarters of reports each, then requests as the office, in process through
Django's test client (middleware, access gate, ORM and templates included, no network):

- the pilot list, the ledger, a pilot's detail with its history, the dashboard, and Django
  admin's changelist of the same pilots;
- for each page, the same SQL statements the page ran, sent raw through a cursor with the
  rows fetched: the floor any implementation must pay. The ratio page ÷ raw SQL is the cost
  of everything else (target ≤ 3×);
- the query count of each page (constant: the same at 1,000 and 10,000 pilots).

Prints one table: median and p95 over --repeat requests (after two warm-ups).
"""

from __future__ import annotations

import argparse
import os
import re
import statistics
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _setup():
    import django

    django.setup()


def generate(pilots: int) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import User
    from ledger.models import Filing, QuarterlyReport
    from pilots import rules
    from pilots.constants import LEDGER_STATES
    from pilots.models import Pilot

    call_command("generate_pilots", count=pilots, seed=2026, verbosity=0)
    office = (
        User.objects.filter(role="office").first() or User.objects.filter(is_superuser=True).first()
    )
    ledger = list(
        Pilot.objects.filter(status__in=LEDGER_STATES, filings__isnull=True)
        .select_related("lead_department")
        .distinct()
    )
    with transaction.atomic():
        Filing.objects.bulk_create(
            Filing(
                pilot=p,
                status="confirmed",
                approval_authority=p.approval_authority or "省生态文明体制改革专项小组",
                approval_doc_number=p.approval_doc_number or "浙环函〔2025〕1号",
                approval_date=p.approval_date or p.start_date,
                implementing_body=p.implementing_body,
                start_date=p.start_date,
                end_date=p.end_date,
                goal=p.goal,
                measures=p.measures,
                expected_outcomes=p.expected_outcomes,
                contact_person="联系人",
                contact_phone="0571-88888888",
                plan="filings/bench.pdf",
                due_date=p.start_date,
                filed_on=p.start_date,
                submitted_by=office,
            )
            for p in ledger
        )
        Pilot.objects.filter(pk__in=[p.pk for p in ledger], ledger_since__isnull=True).update(
            ledger_since=dt.date(2024, 1, 10)
        )
        reports = []
        for p in ledger:
            year, quarter = 2024, 3
            for _ in range(8):
                reports.append(
                    QuarterlyReport(
                        pilot=p,
                        year=year,
                        quarter=quarter,
                        progress="按计划推进，完成阶段性目标。" * 4,
                        due_date=rules.quarterly_report_due(year, quarter),
                        organisation=p.lead_department,
                        submitted_by=office,
                    )
                )
                year, quarter = (year + 1, 1) if quarter == 4 else (year, quarter + 1)
        QuarterlyReport.objects.bulk_create(reports, batch_size=5000)
    print(f"generated {pilots} pilots, {len(ledger)} filings, {len(reports)} reports")


def timed(fn, repeat: int) -> list[float]:
    fn()
    fn()
    times = []
    for _ in range(repeat):
        start = time.perf_counter()
        fn()
        times.append((time.perf_counter() - start) * 1000)
    return times


def p95(values: list[float]) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(0.95 * (len(ordered) - 1))))]


def measure_page(client, url: str, repeat: int) -> dict:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    def get():
        response = client.get(url)
        assert response.status_code == 200, (url, response.status_code)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)

    with CaptureQueriesContext(connection) as captured:
        get()
    # A server-side cursor's statement is replayed as the plain SELECT it declares.
    statements = [
        re.sub(r'^DECLARE\s+"[^"]+"\s.*?\bFOR\s+', "", q["sql"], flags=re.S)
        for q in captured.captured_queries
    ]

    def raw():
        with connection.cursor() as cursor:
            for sql in statements:
                cursor.execute(sql)
                if cursor.description:
                    cursor.fetchall()

    page = timed(get, repeat)
    floor = timed(raw, repeat)
    return {
        "url": url,
        "queries": len(statements),
        "median": statistics.median(page),
        "p95": p95(page),
        "raw_median": statistics.median(floor),
        "raw_p95": p95(floor),
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=30)
    args = parser.parse_args(argv)
    _setup()
    from django.conf import settings
    from django.test import Client
    from django.test.utils import setup_test_environment

    from accounts.models import User
    from pilots.models import Pilot

    settings.ALLOWED_HOSTS = ["*"]
    setup_test_environment()
    if Pilot.objects.count() < args.pilots:
        generate(args.pilots - Pilot.objects.count())
    office = User.objects.filter(role="office").first()
    if office is None:
        from django.core.management import call_command

        call_command("load_demo", verbosity=0)
        office = User.objects.get(username="office")
    office.is_staff = office.is_superuser = True  # the admin changelist needs its rights
    client = Client()
    client.force_login(office)
    sample = Pilot.objects.filter(status="active").order_by("code").first()
    pages = [
        ("试点库（第1页，50条）", "/pilots/?per_page=50&sort=code"),
        ("台账（第1页）", "/ledger/"),
        ("试点详情与变更历史", f"/pilots/{sample.code}/"),
        ("数据看板", "/dashboard/"),
        ("管理后台试点列表（同样数据）", "/admin/pilots/pilot/"),
    ]
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    print(f"\n{Pilot.objects.count()} pilots on {vendor}; {args.repeat} requests each\n")
    print(
        "| page | queries | median ms | p95 ms | raw SQL median ms | raw SQL p95 ms | ratio |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    for label, url in pages:
        row = measure_page(client, url, args.repeat)
        ratio = row["median"] / row["raw_median"] if row["raw_median"] else float("inf")
        print(
            f"| {label} | {row['queries']} | {row['median']:.1f} | {row['p95']:.1f} | "
            f"{row['raw_median']:.1f} | {row['raw_p95']:.1f} | {ratio:.1f}× |"
        )
    return 0


if __name__ == "__main__":
    sys.exit(main())
