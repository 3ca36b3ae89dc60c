"""Step test: the quarterly-deadline mix raised in steps of users until the p95 passes 800 ms.

    .venv/bin/python bench/load/step.py                       # 25, 50, 100 … 600 users
    .venv/bin/python bench/load/step.py --pilots 3000 --hold 20 \\
        --server sync:3 --server sync:5 --server gthread:2x4:keepalive=10

The same set-up as the load test (`bench/load/run.py`: its own database, dropped and created
afresh, the demo, the data set with accounts for the largest step, gunicorn with the
production settings) and the same users (`bench/load/locustfile.py`), driven by a locust load
shape (`bench/load/stepshape.py`): each step's users are started (--spawn-rate a second) and
signed in, then the step settles (--settle seconds) and is held (--hold seconds), after a
warm-up (--warmup seconds of --warmup-users users, unmeasured); only what
completes during the hold is measured. The test stops after the first step whose p95 reaches
--p95-ms (800) or that has an error (a failed request or an exception in a user's code).

Per step it prints the users, requests per second, p50/p95/p99 and maximum (exact, from every
response time of the hold), the errors, the CPU that gunicorn and locust used (in cores) and
the load average; then the highest sustained requests per second (the last step that passed)
with its percentiles, as the summary row 最大吞吐 (also appended to `BENCH_SUMMARY` when set).

Each --server (CLASS:WORKERS[xTHREADS][:keepalive=SECONDS], e.g. sync:3, gthread:2x4,
gthread:2x4:keepalive=0) is stepped in turn on the same data: the database is dumped once
set up (pg_dump) and restored before each further configuration, with the planner's
statistics gathered afresh (VACUUM ANALYZE) after the set-up and after every restore, so every
configuration starts from the same pilots owing the same quarter and the same plans. Without
--server: one configuration from --workers, --threads, --worker-class and --keep-alive, as
run.py takes them.

Exit status 0 when every configuration passed at least its first step and the database holds
one new report with its attachment for every submit the server accepted. Everything outside
the database goes to --workdir (var/load-step/), emptied first.
"""

from __future__ import annotations

import argparse
import json
import math
import os
import re
import shutil
import subprocess
import sys
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

import run as load  # noqa: E402 - bench/load/run.py: the set-up, gunicorn, counting reports
from summary import record, table  # noqa: E402 - bench/summary.py

ROOT = load.ROOT
PYTHON = load.PYTHON
DEFAULT_STEPS = "25,50,100,150,200,300,400,500,600"
SERVER = re.compile(r"^(sync|gthread):(\d+)(?:x(\d+))?(?::keepalive=(\d+))?$")


def parse_server(text: str) -> dict:
    match = SERVER.match(text)
    if not match:
        raise argparse.ArgumentTypeError(
            f"{text!r}: CLASS:WORKERS[xTHREADS][:keepalive=SECONDS], e.g. sync:3, gthread:2x4"
        )
    kind, workers, threads, keep_alive = match.groups()
    config = {
        "workers_class": kind,
        "workers": int(workers),
        "threads": int(threads or 1),
        "keep_alive": None if keep_alive is None else int(keep_alive),
    }
    load.worker_class(config["workers_class"], config["threads"])
    return config


def label(config: dict) -> str:
    threads = f"×{config['threads']}" if config["threads"] > 1 else ""
    keep = "" if config["keep_alive"] is None else f", keep-alive {config['keep_alive']} s"
    return f"{config['workers_class']} {config['workers']}{threads}{keep}"


def dump(url: str, path: Path) -> None:
    subprocess.run(["pg_dump", "--format=custom", "--file", str(path), url], check=True)


def restore(url: str, path: Path) -> None:
    load.recreate_database(url)
    subprocess.run(
        ["pg_restore", "--no-owner", "--exit-on-error", "--dbname", url, str(path)], check=True
    )
    load.analyze(url)  # pg_restore brings the rows, not the planner's statistics


def verdict(row: dict, limit: float) -> str:
    if row["passed"]:
        return "pass"
    reasons = []
    if row["p95"] >= limit:
        reasons.append(f"p95 ≥ {limit:.0f} ms")
    errors = row["failures"] + row["exceptions"]
    if errors:
        reasons.append(f"{errors} errors")
    return "FAIL: " + ("; ".join(reasons) or "no request completed")


def print_steps(rows: list[dict], limit: float) -> None:
    print(
        "\n| users | req/s | requests | p50 ms | p95 ms | p99 ms | max ms | errors | "
        "gunicorn cores | locust cores | load 1 min | step |\n"
        "|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---|"
    )
    for row in rows:
        print(
            f"| {row['users']} | {row['rps']:.1f} | {row['requests']} | {row['p50']:.0f} | "
            f"{row['p95']:.0f} | {row['p99']:.0f} | {row['max']:.0f} | "
            f"{row['failures'] + row['exceptions']} | {row['server_cores']:.2f} | "
            f"{row['locust_cores']:.2f} | {row['load']:.2f} | {verdict(row, limit)} |"
        )


def run_config(config: dict, args, env: dict, plan: dict, port: int, work: Path) -> dict:
    """One configuration stepped up; its steps, what the server wrote, and its best step."""
    name = re.sub(r"[^a-z0-9]+", "-", label(config).lower()).strip("-")
    folder = work / name
    folder.mkdir(parents=True)
    year, quarter = plan["year"], plan["quarter"]
    before, before_attached = load.count_reports(args.database_url, year, quarter)
    base = f"http://127.0.0.1:{port}"
    print(f"== gunicorn on {base}: {label(config)}, broker {args.redis_url}", flush=True)
    server = load.start_gunicorn(
        {**env, "REDIS_URL": args.redis_url},
        port,
        folder / "gunicorn.log",
        workers=config["workers"],
        threads=config["threads"],
        workers_class=config["workers_class"],
        keep_alive=config["keep_alive"],
    )
    steps_path = folder / "steps.jsonl"
    schedule = {
        "users": args.steps,
        "spawn_rate": args.spawn_rate,
        "warmup": args.warmup,
        "warmup_users": args.warmup_users,
        "settle": args.settle,
        "hold": args.hold,
        "p95_ms": args.p95_ms,
        "out": str(steps_path),
        "server": server.pid,
    }
    result_path = folder / "tally.json"
    began = time.monotonic()
    load_before = os.getloadavg()
    try:
        load.wait_healthy(f"{base}/healthz/", server)
        print(
            f"== locust: steps of {', '.join(map(str, args.steps))} users, "
            f"{args.spawn_rate:g}/s, after {args.warmup:g} s of {args.warmup_users} users "
            f"unmeasured; settle {args.settle:g} s, hold {args.hold:g} s",
            flush=True,
        )
        here = ROOT / "bench" / "load"
        locust = subprocess.run(
            [
                PYTHON,
                "-m",
                "locust",
                "-f",
                f"{here / 'locustfile.py'},{here / 'stepshape.py'}",
                "--headless",
                "--host",
                base,
                "--stop-timeout",
                "30",
                "--csv",
                str(folder / "locust"),
                "--only-summary",
                "--loglevel",
                "WARNING",
            ],
            cwd=ROOT,
            env={
                **env,
                "LOAD_PLAN": str(work / "plan.json"),
                "LOAD_RESULT": str(result_path),
                "LOAD_STEPS": json.dumps(schedule),
            },
            stdout=(folder / "locust.log").open("w", encoding="utf-8"),
            stderr=subprocess.STDOUT,
            timeout=600 + args.warmup + len(args.steps) * (args.hold + args.settle + 180),
        )
    finally:
        load.stop(server)
    elapsed = time.monotonic() - began
    lines = steps_path.read_text("utf-8").splitlines() if steps_path.exists() else []
    rows = [json.loads(line) for line in lines if line]
    if not rows:
        print((folder / "locust.log").read_text(encoding="utf-8")[-4000:], file=sys.stderr)
    tally = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    after, after_attached = load.count_reports(args.database_url, year, quarter)
    written, attached = after - before, after_attached - before_attached
    accepted = tally.get("submitted", -1)

    print_steps(rows, args.p95_ms)
    passed = [row for row in rows if row["passed"]]
    best = passed[-1] if passed else None
    failed = next((row for row in rows if not row["passed"]), None)
    if best:
        print(
            f"\nhighest sustained: {best['rps']:.1f} requests/s at {best['users']} users "
            f"(p50 {best['p50']:.0f} ms, p95 {best['p95']:.0f} ms, p99 {best['p99']:.0f} ms)"
        )
    else:
        print("\nhighest sustained: none (the first step failed)")
    if failed:
        print(
            f"first failed step: {failed['users']} users, {failed['rps']:.1f} requests/s, "
            f"p95 {failed['p95']:.0f} ms, {failed['failures'] + failed['exceptions']} errors"
        )
    elif rows:
        print(f"no step failed: the capacity is above {rows[-1]['users']} users")
    print(
        f"reports submitted: {accepted} accepted of {tally.get('attempted', 0)} sent; "
        f"{written} written to the database for {year}Q{quarter}, {attached} with attachment\n"
        f"locust exit {locust.returncode}; {elapsed:.0f} s; load average (1 min) "
        f"{load_before[0]:.2f} before, {os.getloadavg()[0]:.2f} after on {os.cpu_count()} CPUs",
        flush=True,
    )
    return {
        "config": config,
        "rows": rows,
        "best": best,
        "failed": failed,
        "consistent": accepted >= 0 and written == attached == accepted,
    }


def summary_row(result: dict, args) -> dict:
    """The 最大吞吐 row of one configuration, as bench/summary.py records it."""
    best, failed = result["best"], result["failed"]
    bench = f"压力测试：阶梯加压（{args.pilots:,} 个试点，每级保持 {args.hold:g} s）"
    measure = f"最大吞吐（gunicorn {label(result['config'])}）"
    if best:
        detail = (
            f"{best['users']} 个用户；p50 {best['p50']:.0f} ms，p95 {best['p95']:.0f} ms，"
            f"p99 {best['p99']:.0f} ms"
        )
    else:
        detail = "第一级即未通过"
    if failed:
        detail += (
            f"；下一级 {failed['users']} 个用户：{failed['rps']:.1f} req/s，"
            f"p95 {failed['p95']:.0f} ms，错误 {failed['failures'] + failed['exceptions']}"
        )
    elif result["rows"]:
        detail += f"；最高一级 {result['rows'][-1]['users']} 个用户仍通过"
    ours = best["rps"] if best else 0.0
    target = f"p95 < {args.p95_ms:.0f} ms 且无错误"
    record(bench, measure, ours, "req/s", target=target, detail=detail, valid=bool(best))
    return {
        "bench": bench,
        "measure": measure,
        "ours": ours,
        "unit": "req/s",
        "comparison": None,
        "against": "",
        "ratio": None,
        "target": target,
        "met": None,
        "detail": detail,
    }


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--steps",
        type=lambda text: sorted({int(n) for n in text.split(",") if n.strip()}),
        default=DEFAULT_STEPS,
        help=f"user counts, comma-separated (default {DEFAULT_STEPS})",
    )
    parser.add_argument("--hold", type=float, default=30.0, help="seconds measured per step")
    parser.add_argument(
        "--settle", type=float, default=10.0, help="seconds after the step's sign-ins, unmeasured"
    )
    parser.add_argument(
        "--warmup", type=float, default=60.0, help="seconds of unmeasured browsing before the steps"
    )
    parser.add_argument(
        "--warmup-users", type=int, default=20, help="users browsing during the warm-up"
    )
    parser.add_argument("--spawn-rate", type=float, default=10.0, help="users started per second")
    parser.add_argument("--pilots", type=int, default=10_000)
    parser.add_argument(
        "--p95-ms", type=float, default=800.0, help="the p95 a step must stay below"
    )
    parser.add_argument(
        "--server",
        type=parse_server,
        action="append",
        default=None,
        help="CLASS:WORKERS[xTHREADS][:keepalive=SECONDS], repeatable (default: --workers …)",
    )
    load.add_server_options(parser)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "load-step")
    args = parser.parse_args(argv)

    load.checked_database(args.database_url)
    configs = args.server or [
        {
            "workers_class": load.worker_class(args.worker_class, args.threads),
            "workers": args.workers,
            "threads": args.threads,
            "keep_alive": args.keep_alive,
        }
    ]
    if not args.steps or args.steps[0] < 1:
        raise SystemExit("--steps: user counts above 0")
    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    port = load._free_port()
    env = load.environment(work, f"http://127.0.0.1:{port}", args.database_url)
    began = time.monotonic()
    # Accounts of each kind; locust makes half the users department staff, a fifth office
    # staff, the rest prefecture staff. Fewer department accounts share the owed pilots in
    # larger pools, which the higher steps need.
    accounts = math.ceil(args.steps[-1] * 0.55) + 5
    plan = load.prepare(
        env, args.database_url, pilots=args.pilots, accounts=accounts, logs=work / "logs"
    )
    snapshot = work / "setup.dump"
    if len(configs) > 1:
        dump(args.database_url, snapshot)
    print(f"   set-up {time.monotonic() - began:.0f} s", flush=True)

    results = []
    for number, config in enumerate(configs):
        if number:
            print("== database restored from the set-up's dump", flush=True)
            restore(args.database_url, snapshot)
        results.append(run_config(config, args, env, plan, port, work))

    rows = [summary_row(result, args) for result in results]
    print("\n" + table(rows))
    print(f"\n{time.monotonic() - began:.0f} s in all")
    problems = [
        label(result["config"])
        + (": no step passed" if not result["best"] else ": reports not all written")
        for result in results
        if not (result["best"] and result["consistent"])
    ]
    print("DONE" if not problems else "FAIL: " + "; ".join(problems))
    return 0 if not problems else 1


if __name__ == "__main__":
    sys.exit(main())
