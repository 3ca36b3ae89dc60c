"""The load test's data set, written into the (fresh) database DATABASE_URL points at.

    DATABASE_URL=postgres://postgres@127.0.0.1:5432/registry_load \
        python bench/load/dataset.py --pilots 10000 --accounts 200 --plan var/load/plan.json

Run by `bench/load/run.py` after `migrate` and `load_demo`. It adds:

- `--pilots` synthetic pilots with their history (`generate_pilots`);
- for every generated pilot in the ledger a confirmed filing, a ledger date, and the quarterly
  reports of every quarter it owes except the last ended one — the quarter whose reports are
  due now, so that each of them owes exactly one report (R2.3);
- `--accounts` accounts of each kind the simulated users sign in with: lead-department staff
  (spread over the departments and divisions in proportion to the reports they owe), office
  staff and prefecture staff, created through the `User` model with their history
  (simple-history's `bulk_create_with_history`), all with the demo password, hashed once
  (hashing it hundreds of times at full cost would take minutes and prove nothing);
- a plan (JSON) for the locustfile: the password, the quarter owed, the filter bar's choices,
  and for each department account its own pool of pilots that owe that quarter — no two
  accounts share a pilot, so no simulated user ever submits a report another one already
  submitted.

Demo pilots (`load_demo`) are left as they are and are in no pool.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from collections import defaultdict
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")

ACCOUNT_PREFIX = "load-"
CHANGE_REASON = "压力测试数据"


def _accounts_per_org(owed: dict[str, list[str]], total: int) -> dict[str, int]:
    """`total` accounts shared out in proportion to each organisation's owed reports (largest
    remainder), at least one for every organisation that owes any."""
    orgs = sorted(code for code, pilots in owed.items() if pilots)
    if not orgs:
        return {}
    weight = sum(len(owed[code]) for code in orgs)
    exact = {code: total * len(owed[code]) / weight for code in orgs}
    shares = {code: max(1, int(exact[code])) for code in orgs}
    left = total - sum(shares.values())
    for code in sorted(orgs, key=lambda c: exact[c] - int(exact[c]), reverse=True)[: max(0, left)]:
        shares[code] += 1
    # No account without a pilot of its own.
    return {code: min(count, len(owed[code])) for code, count in shares.items()}


def build(*, pilots: int, accounts: int, seed: int) -> dict:
    import django

    django.setup()
    import datetime as dt

    from django.contrib.auth.hashers import make_password
    from django.contrib.auth.models import Group
    from django.db import transaction
    from django.utils import timezone
    from simple_history.utils import bulk_create_with_history

    from accounts.constants import OrgKind, Role
    from accounts.models import Organisation, User
    from bench.datasets import confirmed_filing
    from demo.generate import generate_pilots
    from demo.people import DEMO_PASSWORD, OFFICE_GROUP
    from ledger.models import Filing, QuarterlyReport
    from ledger.selectors import owed_quarters
    from pilots import rules
    from pilots.constants import LEDGER_STATES, PilotKind, ReformField, Tier
    from pilots.models import Pilot
    from pilots.selectors import SORTS

    today = timezone.localdate()
    year, quarter = rules.last_ended_quarter(today)
    before = set(Pilot.objects.values_list("pk", flat=True))
    began = time.monotonic()
    generate_pilots(count=pilots, seed=seed, today=today)
    generated = time.monotonic() - began

    office_org = Organisation.objects.get(kind=OrgKind.OFFICE)
    office_actor = User.objects.get(username="office")
    password = make_password(DEMO_PASSWORD)
    with transaction.atomic():
        ledger = list(
            Pilot.objects.in_ledger()
            .exclude(pk__in=before)
            .select_related("lead_department")
            .order_by("code")
        )
        Filing.objects.bulk_create(
            [
                confirmed_filing(
                    p,
                    plan="filings/load.pdf",
                    submitted_by=office_actor,
                    due_date=rules.filing_due(p.approval_date or p.start_date),
                    decided_by=office_actor,
                    decided_at=timezone.now(),
                )
                for p in ledger
            ],
            batch_size=2000,
        )
        for p in ledger:
            p.ledger_since = p.ledger_since or max(p.start_date, dt.date(2024, 1, 10))
        Pilot.objects.bulk_update(ledger, ["ledger_since"], batch_size=2000)

        # Who owes the quarter now due: each pilot to the department that leads it.
        owed: dict[str, list[str]] = defaultdict(list)
        earlier: list[tuple[Pilot, int, int]] = []
        for p in ledger:
            quarters = owed_quarters(p, today)
            if quarters and quarters[-1] == (year, quarter):
                owed[p.lead_department.code].append(p.code)
                quarters = quarters[:-1]
            earlier.extend((p, y, q) for y, q in quarters)

        orgs = {o.code: o for o in Organisation.objects.all()}
        prefectures = sorted(
            (o for o in orgs.values() if o.kind == OrgKind.PREFECTURE),
            key=lambda o: (o.sort_order, o.code),
        )
        shares = _accounts_per_org(owed, accounts)
        departments = []
        users = []
        for code, count in sorted(shares.items()):
            for i in range(count):
                username = f"{ACCOUNT_PREFIX}{code}-{i + 1:03d}"
                users.append(
                    User(
                        username=username,
                        password=password,
                        organisation=orgs[code],
                        role=Role.LEAD_DEPARTMENT,
                        display_name=f"{orgs[code].short_name}报送员{i + 1}",
                    )
                )
                departments.append(
                    {
                        "username": username,
                        "organisation": code,
                        "index": i,
                        "pilots": owed[code][i::count],
                    }
                )
        # Many departments at once: the first accounts handed out come from different ones.
        departments.sort(key=lambda d: (d["index"], d["organisation"]))
        offices = [f"{ACCOUNT_PREFIX}office-{i + 1:03d}" for i in range(accounts)]
        users += [
            User(
                username=name,
                password=password,
                organisation=office_org,
                role=Role.OFFICE,
                display_name=f"省办工作人员{i + 1}",
            )
            for i, name in enumerate(offices)
        ]
        prefecture_accounts = []
        for i in range(accounts):
            org = prefectures[i % len(prefectures)]
            name = f"{ACCOUNT_PREFIX}{org.code}-{i // len(prefectures) + 1:03d}"
            prefecture_accounts.append(name)
            users.append(
                User(
                    username=name,
                    password=password,
                    organisation=org,
                    role=Role.PREFECTURE,
                    display_name=f"{org.short_name}市局工作人员{i // len(prefectures) + 1}",
                )
            )
        bulk_create_with_history(
            users,
            User,
            batch_size=1000,
            default_user=office_actor,
            default_change_reason=CHANGE_REASON,
        )
        group = Group.objects.get(name=OFFICE_GROUP)
        group.user_set.add(*User.objects.filter(username__in=offices))

        # The quarters already reported, by the department's first account.
        reporter = {
            code: User.objects.get(username=f"{ACCOUNT_PREFIX}{code}-001") for code in shares
        }
        QuarterlyReport.objects.bulk_create(
            [
                QuarterlyReport(
                    pilot=p,
                    year=y,
                    quarter=q,
                    progress="按计划推进，完成阶段性目标。" * 4,
                    milestones_reached="阶段性节点按期完成。",
                    next_steps="继续推进，按期报送下季度进展。",
                    due_date=rules.quarterly_report_due(y, q),
                    organisation=p.lead_department,
                    submitted_by=reporter.get(p.lead_department.code, office_actor),
                )
                for p, y, q in earlier
            ],
            batch_size=5000,
        )
    return {
        "password": DEMO_PASSWORD,
        "year": year,
        "quarter": quarter,
        "pilots": Pilot.objects.count(),
        "ledger_pilots": len(ledger),
        "earlier_reports": len(earlier),
        "owing": sum(len(v) for v in owed.values()),
        "generate_seconds": round(generated, 1),
        "departments": departments,
        "offices": offices,
        # What the filter bar offers, for the simulated users' choices.
        "filters": {
            "field": list(ReformField.values),
            "status": sorted(LEDGER_STATES),
            "tier": list(Tier.values),
            "kind": list(PilotKind.values),
            "prefecture": [o.code for o in prefectures],
            "lead": sorted(
                o.code for o in orgs.values() if o.kind in (OrgKind.DEPARTMENT, OrgKind.DIVISION)
            ),
            "sort": list(SORTS),
        },
        "prefectures": prefecture_accounts,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pilots", type=int, default=10_000)
    parser.add_argument("--accounts", type=int, default=200, help="accounts of each kind")
    parser.add_argument("--seed", type=int, default=2026)
    parser.add_argument("--plan", type=Path, required=True, help="where to write the plan")
    args = parser.parse_args(argv)
    plan = build(pilots=args.pilots, accounts=args.accounts, seed=args.seed)
    args.plan.parent.mkdir(parents=True, exist_ok=True)
    args.plan.write_text(json.dumps(plan, ensure_ascii=False, indent=1), encoding="utf-8")
    print(
        f"{plan['pilots']} pilots ({plan['ledger_pilots']} generated in the ledger, "
        f"{plan['earlier_reports']} earlier reports, {plan['owing']} owing "
        f"{plan['year']}Q{plan['quarter']}); {len(plan['departments'])} department, "
        f"{len(plan['offices'])} office and {len(plan['prefectures'])} prefecture accounts"
    )
    return 0


if __name__ == "__main__":
    sys.exit(main())
