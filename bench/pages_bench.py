"""Server time of the everyday pages at provincial scale, against the raw SQL they need.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_bench python bench/pages_bench.py

Generates (unless the database already holds them, or --keep-data was used before) 10,000
pilots with their history (`generate_pilots`), a confirmed filing for every pilot in the
ledger and eight quarters of reports each, then requests, in process through Django's test
client (middleware, access gate, ORM and templates included, no network):

- as the office: the pilot list, the ledger, a pilot's page and its history page, the
  dashboard, and Django admin's changelist of the same pilots next to our list at the same
  number of rows (100, the changelist's page);
- as their users: the pilot list and the same pilot's page as a prefecture bureau (杭州) and
  as a lead department (省生态环境厅), through the access gate of each;
- for each page, the same SQL statements the page ran, sent raw through a cursor with the
  rows fetched: the floor any implementation must pay. Page and raw SQL alternate in one
  loop, so both meet the same conditions. The ratio page ÷ raw SQL is the cost of
  everything else (target ≤ 3×);
- the query count of each page (constant: the same at 1,000 and 10,000 pilots);
- then, grown to --search-pilots (100,000), the list searched for a two-character and a
  longer word against the unfiltered list in the same run (target ≤ 2×).

Prints one table: median and p95 over --repeat requests (after two warm-ups). Runs with the
server's settings (DEBUG off) and without the test framework's template instrumentation.
"""

from __future__ import annotations

import argparse
import os
import re
import secrets
import statistics
import sys
import time
from pathlib import Path
from urllib.parse import urlencode

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")


def _setup():
    # The server's own configuration: DEBUG off (no query log, no template debug data), the
    # WSGI module gunicorn loads. TLS is the proxy's, so no redirect to https here.
    os.environ.setdefault("DEBUG", "false")
    os.environ.setdefault("SECRET_KEY", secrets.token_urlsafe(50))
    os.environ.setdefault("SECURE_SSL_REDIRECT", "false")
    os.environ.setdefault("SESSION_COOKIE_SECURE", "false")
    os.environ.setdefault("CSRF_COOKIE_SECURE", "false")
    # The dashboard's figures are measured as computed, not as served from its cache.
    os.environ.setdefault("DASHBOARD_CACHE_SECONDS", "0")
    import config.wsgi  # noqa: F401


def generate(pilots: int, *, ledger_rows: bool = True) -> None:
    import datetime as dt

    from django.core.management import call_command
    from django.db import transaction

    from accounts.models import User
    from bench.datasets import confirmed_filing
    from ledger.models import Filing, QuarterlyReport
    from pilots import rules
    from pilots.constants import LEDGER_STATES
    from pilots.models import Pilot

    call_command("generate_pilots", count=pilots, seed=2026, verbosity=0)
    if not ledger_rows:  # the search reads pilots only
        _analyze()
        return
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
            confirmed_filing(
                p,
                plan="filings/bench.pdf",
                submitted_by=office,
                due_date=p.start_date,
                filed_on=p.start_date,
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
    _analyze()


def _analyze() -> None:
    from django.db import connection

    if connection.vendor == "postgresql":
        with connection.cursor() as cursor:  # what autovacuum would soon do after such a load
            cursor.execute("VACUUM ANALYZE")


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

    get()  # warm-up: per-process caches are filled once, not per request
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

    # The page and its SQL alternate, so that both meet the same load on a shared machine.
    page, floor = [], []
    for i in range(repeat + 2):
        start = time.perf_counter()
        get()
        middle = time.perf_counter()
        raw()
        end = time.perf_counter()
        if i >= 2:  # two warm-ups
            page.append((middle - start) * 1000)
            floor.append((end - middle) * 1000)
    return {
        "url": url,
        "queries": len(statements),
        "median": statistics.median(page),
        "p95": p95(page),
        "raw_median": statistics.median(floor),
        "raw_p95": p95(floor),
    }


def count_queries(client, url: str) -> int:
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client.get(url)  # warm-up: per-process caches are filled once, not per request
    with CaptureQueriesContext(connection) as captured:
        response = client.get(url)
        if hasattr(response, "streaming_content"):
            b"".join(response.streaming_content)
    assert response.status_code == 200, (url, response.status_code)
    return len(captured.captured_queries)


# Who requests: the office, a prefecture bureau and a lead department of the demo data.
USERS = {"office": "office", "设区市用户": "hangzhou", "牵头部门用户": "dept"}
ADMIN_ROWS = 100  # the changelist's page (ModelAdmin.list_per_page); our list is asked the same


def sample_pilot() -> str:
    """An active pilot the office, the prefecture and the lead department all see: the same
    page measured as each of them. Chosen once, so that 1,000 and 10,000 pilots compare the
    same page."""
    from accounts.models import User
    from pilots.models import Pilot

    prefecture, lead = (User.objects.get(username=USERS[k]) for k in ("设区市用户", "牵头部门用户"))
    seen = Pilot.objects.restrict(prefecture).filter(status="active")
    shared = seen.filter(pk__in=Pilot.objects.restrict(lead).values("pk")).order_by("code")
    return (shared.first() or Pilot.objects.filter(status="active").order_by("code").first()).code


def pages(sample: str) -> list[tuple[str, str, str]]:
    """(label, URL, who) of every page measured."""
    from pilots.models import Pilot

    last = max(1, -(-Pilot.objects.count() // 50))
    first = "/pilots/?per_page=50&sort=code"
    return [
        ("试点库（第1页，50条）", first, "office"),
        ("试点库（最后一页，OFFSET）", f"/pilots/?per_page=50&sort=code&page={last}", "office"),
        ("试点库（第1页，50条，设区市用户）", first, "设区市用户"),
        ("试点库（第1页，50条，牵头部门用户）", first, "牵头部门用户"),
        ("台账（第1页）", "/ledger/", "office"),
        ("试点详情", f"/pilots/{sample}/", "office"),
        ("试点详情（设区市用户）", f"/pilots/{sample}/", "设区市用户"),
        ("试点详情（牵头部门用户）", f"/pilots/{sample}/", "牵头部门用户"),
        ("变更历史", f"/pilots/{sample}/history/", "office"),
        ("数据看板", "/dashboard/", "office"),
        (f"试点库（第1页，{ADMIN_ROWS}条）", f"/pilots/?per_page={ADMIN_ROWS}", "office"),
        (f"管理后台试点列表（第1页，{ADMIN_ROWS}条）", "/admin/pilots/pilot/", "office"),
    ]


# The searches: a two-character word (trigrams cannot serve it), a longer one, a rare one.
SEARCHES = ("排污", "排污权", "碳汇")


def clients() -> dict:
    from django.test import Client

    from accounts.models import User

    found = {}
    for who, username in USERS.items():
        client = Client()
        client.force_login(User.objects.get(username=username))
        found[who] = client
    return found


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=10_000)
    parser.add_argument("--small", type=int, default=1_000, help="query counts compared here")
    parser.add_argument("--repeat", type=int, default=30)
    parser.add_argument(
        "--search-pilots", type=int, default=100_000, help="the search is measured at this size"
    )
    args = parser.parse_args(argv)
    _setup()
    from django.conf import settings
    from django.contrib import admin
    from django.core.management import call_command
    from summary import record

    from accounts.models import User
    from pilots.models import Pilot

    settings.ALLOWED_HOSTS = ["*"]
    if not User.objects.filter(username="office").exists():
        call_command("load_demo", verbosity=0)
    office = User.objects.get(username="office")
    office.is_staff = office.is_superuser = True  # the admin changelist needs its rights
    office.save(update_fields=["is_staff", "is_superuser"])
    assert admin.site._registry[Pilot].list_per_page == ADMIN_ROWS
    small_counts = None
    if Pilot.objects.count() < args.small:
        generate(args.small - Pilot.objects.count())
        sample = sample_pilot()
        by = clients()
        small_counts = [count_queries(by[who], url) for _, url, who in pages(sample)]
    else:
        sample = sample_pilot()
    if Pilot.objects.count() < args.pilots:
        generate(args.pilots - Pilot.objects.count())
    by = clients()
    vendor = settings.DATABASES["default"]["ENGINE"].rsplit(".", 1)[-1]
    total = Pilot.objects.count()
    print(f"\n{total} pilots on {vendor}; {args.repeat} requests each; pilot page {sample}\n")
    print(
        "| page | queries | median ms | p95 ms | raw SQL median ms | raw SQL p95 ms | ratio |\n"
        "|---|---:|---:|---:|---:|---:|---:|"
    )
    rows = {}
    for i, (label, url, who) in enumerate(pages(sample)):
        row = rows[label] = measure_page(by[who], url, args.repeat)
        show(label, row)
        queries = f"{row['queries']} 条查询"
        if small_counts is not None:
            same = "相同" if small_counts[i] == row["queries"] else f"不同：{small_counts[i]}"
            queries += f"（{args.small:,} 个试点时{same}）"
        reference = url.startswith("/admin/")  # Django's own page: the comparison, not ours
        record(
            f"页面（{total:,} 个试点）",
            f"{label} 中位数",
            row["median"],
            "ms",
            comparison=row["raw_median"],
            against="同样的 SQL 直接执行",
            limit=None if reference else 3.0,
            target="（对照，无目标）" if reference else "≤ 3×",
            detail=f"p95 {row['p95']:.1f} ms；{queries}",
        )
        if small_counts is not None:
            record(
                f"页面（{total:,} 个试点）",
                f"{label} 查询数",
                row["queries"],
                "",
                comparison=small_counts[i],
                against=f"{args.small:,} 个试点时的查询数",
                limit=1.0,
                target="不随数据增长",
            )
    ours = rows[f"试点库（第1页，{ADMIN_ROWS}条）"]
    admin_row = rows[f"管理后台试点列表（第1页，{ADMIN_ROWS}条）"]
    record(
        f"页面（{total:,} 个试点）",
        f"试点库 对比 管理后台列表（各{ADMIN_ROWS}条） 中位数",
        ours["median"],
        "ms",
        comparison=admin_row["median"],
        against="Django 管理后台 changelist",
        limit=1.0,
        target="不慢于管理后台",
        detail=f"p95 {ours['p95']:.1f} 对 {admin_row['p95']:.1f} ms",
    )
    measure_search(args, by["office"], record)
    return 0


def show(label: str, row: dict) -> None:
    ratio = row["median"] / row["raw_median"] if row["raw_median"] else float("inf")
    print(
        f"| {label} | {row['queries']} | {row['median']:.1f} | {row['p95']:.1f} | "
        f"{row['raw_median']:.1f} | {row['raw_p95']:.1f} | {ratio:.1f}× |"
    )


def measure_search(args, client, record) -> None:
    """The pilot list searched, against the same list unfiltered, at --search-pilots."""
    from pilots.models import Pilot
    from pilots.search import search_pilots

    if Pilot.objects.count() < args.search_pilots:
        generate(args.search_pilots - Pilot.objects.count(), ledger_rows=False)
    total = Pilot.objects.count()
    print(f"\n{total} pilots: the list searched, as the office\n")
    plain = measure_page(client, "/pilots/?per_page=50&sort=code", args.repeat)
    show("试点库（第1页，不筛选）", plain)
    for word in SEARCHES:
        query = urlencode({"per_page": 50, "sort": "code", "q": word})
        row = measure_page(client, f"/pilots/?{query}", args.repeat)
        hits = search_pilots(Pilot.objects.all(), word).count()
        show(f"搜索“{word}”（{hits:,} 个结果）", row)
        record(
            f"搜索（{total:,} 个试点）",
            f"试点库搜索“{word}”（{len(word)}个字） 中位数",
            row["median"],
            "ms",
            comparison=plain["median"],
            against="不筛选的试点库（第1页）",
            limit=2.0,
            target="≤ 2×",
            detail=f"{hits:,} 个结果；p95 {row['p95']:.1f} ms；SQL {row['raw_median']:.1f} ms；"
            f"不筛选 {plain['median']:.1f} ms（SQL {plain['raw_median']:.1f} ms）",
        )


if __name__ == "__main__":
    sys.exit(main())
