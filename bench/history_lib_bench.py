"""django-simple-history's bulk_create_with_history and bulk_update_with_history against
core.bulk's insert_with_history and update_with_history (two statements whatever the rows).

    python bench/history_lib_bench.py [--rows 10000] [--repeat 3]
    DATABASE_URL=postgres://postgres@127.0.0.1:5432/bench_libs \\
        python bench/history_lib_bench.py --rows 10000

The rows are overdue events (pilots.models_term.OverdueEvent), what the daily flag_overdue job
writes in bulk: `--rows` new events with their history ("+", with a reason), then all of them
resolved (resolved_on set; history "~"). Each side runs in a transaction that is rolled back,
so every run starts from the same empty table; the update runs on rows inserted (untimed)
in the same transaction. SQL statements are counted on the connection. Before the rollback
the bench reads back the events and their history and checks that both sides leave the same
rows: one history row per event, with the reason, the type and the event's values.

simple-history's functions run as a caller would use them: with their default batch size
(Django's bulk_create and bulk_update then split by the database's parameter limit), and with
batch_size=2000, as core.bulk's fallback for other databases calls them. The best of
--repeat runs is kept.

Runs on DATABASE_URL; when it is not set, on a temporary SQLite file removed at the end. It
refuses a database that already holds overdue events.
"""

from __future__ import annotations

import argparse
import datetime as dt
import hashlib
import os
import sys
import tempfile
import time
from pathlib import Path

from summary import record

ROOT = Path(__file__).resolve().parent.parent
INSERT_REASON = "标记逾期"
UPDATE_REASON = "逾期事项状态更新"
LABELS = ("{q}季度进展报送", "半年工作总结报送", "试点到期总结验收报告", "延期申请补正材料")


def _setup_django() -> str | None:
    sys.path.insert(0, str(ROOT))
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings")
    temp_file = None
    if not os.environ.get("DATABASE_URL"):
        fd, temp_file = tempfile.mkstemp(prefix="history-lib-bench-", suffix=".sqlite3")
        os.close(fd)
        os.environ["DATABASE_URL"] = f"sqlite:///{temp_file}"
    import django

    django.setup()
    from django.conf import settings

    settings.DEBUG = False
    return temp_file


def events(count: int, org_ids: list[int]) -> list:
    """`count` new overdue events, shaped like flag_overdue's."""
    from django.utils import timezone

    from pilots.constants import DeadlineKind
    from pilots.models import OverdueEvent

    kinds = list(DeadlineKind.values)
    now = timezone.now()
    return [
        OverdueEvent(
            key=f"bench:{i}:{org_ids[i % len(org_ids)]}",
            kind=kinds[i % len(kinds)],
            organisation_id=org_ids[i % len(org_ids)],
            label=LABELS[i % len(LABELS)].format(q=f"2026年第{i % 4 + 1}") + f"（第{i}项）",
            due_date=dt.date(2026, 1, 10) + dt.timedelta(days=i % 300),
            flagged_on=dt.date(2026, 11, 23),
            notified_at=now,
        )
        for i in range(count)
    ]


# --- the sides ---------------------------------------------------------------------------------


def insert_ours(objs, batch_size=None) -> None:
    from core.bulk import insert_with_history
    from pilots.models import OverdueEvent

    insert_with_history(OverdueEvent, objs, key_field="key", reason=INSERT_REASON)


def insert_library(objs, batch_size=None) -> None:
    from simple_history.utils import bulk_create_with_history

    from pilots.models import OverdueEvent

    bulk_create_with_history(
        objs, OverdueEvent, batch_size=batch_size, default_change_reason=INSERT_REASON
    )


def update_ours(rows, batch_size=None) -> None:
    from core.bulk import update_with_history
    from pilots.models import OverdueEvent

    update_with_history(OverdueEvent, rows, ["resolved_on"], reason=UPDATE_REASON)


def update_library(rows, batch_size=None) -> None:
    from simple_history.utils import bulk_update_with_history

    from pilots.models import OverdueEvent

    bulk_update_with_history(
        rows, OverdueEvent, ["resolved_on"], batch_size=batch_size,
        default_change_reason=UPDATE_REASON,
    )  # fmt: skip


# --- measuring ---------------------------------------------------------------------------------


class Counter:
    def __init__(self):
        self.count = 0

    def __call__(self, execute, sql, params, many, context):
        self.count += 1
        return execute(sql, params, many, context)


class Rollback(Exception):
    pass


def digest() -> str:
    """The events and their history rows as they are now, in one hash (ids left out)."""
    from pilots.models import OverdueEvent

    h = hashlib.sha256()
    for row in OverdueEvent.objects.order_by("key").values_list(
        "key", "kind", "organisation_id", "label", "due_date", "flagged_on", "resolved_on"
    ):
        h.update(repr(row).encode())
    for row in OverdueEvent.history.order_by("key", "history_type").values_list(
        "key", "history_type", "history_change_reason", "label", "resolved_on", "history_user_id"
    ):
        h.update(repr(row).encode())
    return h.hexdigest()


def run(step: str, write, count: int, org_ids: list[int], batch_size: int | None):
    """(seconds, statements, digest) of one rolled-back run of `write`: the insert of `count`
    events, or (step "update") their resolution."""
    from django.db import connection, transaction

    from pilots.models import OverdueEvent

    counter = Counter()
    seconds, result = 0.0, ""
    try:
        with transaction.atomic():
            objs = events(count, org_ids)
            if step == "update":
                insert_ours(objs)
                objs = list(OverdueEvent.objects.all())
                for obj in objs:
                    obj.resolved_on = dt.date(2026, 11, 24)
            with connection.execute_wrapper(counter):
                started = time.perf_counter()
                write(objs, batch_size)
                seconds = time.perf_counter() - started
            history = OverdueEvent.history.filter(
                history_type="+" if step == "insert" else "~",
                history_change_reason=INSERT_REASON if step == "insert" else UPDATE_REASON,
            )
            assert OverdueEvent.objects.count() == count
            assert history.count() == count, (step, write.__name__, history.count())
            if step == "update":
                assert not OverdueEvent.objects.filter(resolved_on__isnull=True).exists()
            result = digest()
            raise Rollback
    except Rollback:
        pass
    return seconds, counter.count, result


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rows", type=int, default=10_000)
    parser.add_argument("--repeat", type=int, default=3)
    args = parser.parse_args(argv)
    temp_file = _setup_django()
    try:
        return _run(args)
    finally:
        if temp_file:
            Path(temp_file).unlink(missing_ok=True)


def _run(args) -> int:
    from django.core.management import call_command
    from django.db import connection

    from accounts.orgdata import ensure_organisations
    from pilots.models import OverdueEvent

    call_command("migrate", verbosity=0)
    if OverdueEvent.objects.exists():
        print("The database already holds overdue events; the bench needs an empty one.")
        return 2
    org_ids = sorted(o.pk for o in ensure_organisations().values())
    import simple_history

    print(
        f"database: {connection.vendor}; {args.rows:,} overdue events; "
        f"django-simple-history {simple_history.__version__}; best of {args.repeat}",
        flush=True,
    )
    sides = [
        ("core.bulk (ours)", insert_ours, update_ours, None),
        ("simple-history", insert_library, update_library, None),
        ("simple-history, batch 2000", insert_library, update_library, 2000),
    ]
    results: dict[tuple[str, str], tuple[float, int]] = {}
    digests: dict[str, set[str]] = {"insert": set(), "update": set()}
    for name, insert, update, batch_size in sides:
        for step, write in (("insert", insert), ("update", update)):
            runs = [run(step, write, args.rows, org_ids, batch_size) for _ in range(args.repeat)]
            seconds = min(r[0] for r in runs)
            statements = max(r[1] for r in runs)
            digests[step] |= {r[2] for r in runs}
            results[name, step] = (seconds, statements)
            print(f"  {name} {step}: {seconds:.2f} s, {statements:,} statements", flush=True)

    same = all(len(d) == 1 for d in digests.values())
    print()
    print(f"{args.rows:,} overdue events with their history, {connection.vendor}")
    header = f"{'':<28} {'insert s':>9} {'stmts':>7} {'update s':>9} {'stmts':>7}"
    print(header)
    print("-" * len(header))
    for name, *_ in sides:
        (i_s, i_n), (u_s, u_n) = results[name, "insert"], results[name, "update"]
        print(f"{name:<28} {i_s:>9.2f} {i_n:>7,} {u_s:>9.2f} {u_n:>7,}")
    print(f"same rows and history on every side: {'yes' if same else 'NO'}")
    ours = results["core.bulk (ours)", "insert"], results["core.bulk (ours)", "update"]
    library = results["simple-history", "insert"], results["simple-history", "update"]
    print(
        f"  insert: simple-history takes {library[0][0] / ours[0][0]:.1f}× ours' time; "
        f"update: {library[1][0] / ours[1][0]:.1f}×"
    )
    group = f"批量写入与历史（{args.rows:,} 行，{connection.vendor}）"
    for label, (o, lib) in (
        ("新增", (ours[0], library[0])),
        ("更新", (ours[1], library[1])),
    ):
        record(group, f"{label} 时间", o[0], "s", comparison=lib[0],
               against="simple-history bulk_*_with_history", limit=1.0, target="不慢于库",
               detail=f"{o[1]} 条SQL 对 {lib[1]:,} 条", valid=same)  # fmt: skip
    return 0 if same else 1


if __name__ == "__main__":
    sys.exit(main())
