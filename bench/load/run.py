"""Load test at the quarterly reporting deadline: gunicorn on PostgreSQL and Redis, driven by
locust (headless), with a verdict.

    make load                                   # 200 users for 3 minutes
    .venv/bin/python bench/load/run.py --users 40 --run-time 45s

Steps, each stopping the run with its output if it fails:

1. drops and recreates its own database (`LOAD_DATABASE_URL`, default
   postgres://postgres@127.0.0.1:5432/registry_load; never the one in DATABASE_URL), migrates
   it, loads the demo (`load_demo`) and generates the data set (`bench/load/dataset.py`:
   thousands of pilots, the ledger with filings and earlier quarters' reports, and the
   accounts of every simulated user); these steps run tasks in-process, as `make run` does;
2. collects the static files and starts gunicorn (`config.wsgi`; --workers, --threads,
   --worker-class, --keep-alive) with DEBUG off, the broker on Redis (`REDIS_URL`), and
   plain http on 127.0.0.1 (secure cookies, the https redirect and HSTS switched off by
   their environment variables, nothing else changed);
3. waits for /healthz/, runs locust headless (`bench/load/locustfile.py`), stops gunicorn;
4. prints requests/s, p50/p95/p99 overall and per request, the errors, the quarterly reports
   written (counted in the database against the submits the server accepted) and PASS or
   FAIL. Exit status 0 only if p95 < --p95-ms (800), there is no failure and no exception,
   and the database holds exactly one new report with its attachment per accepted submit.

Everything the run writes outside the database (plan, CSV statistics, logs, uploaded
attachments, static files, e-mails) goes to --workdir (var/load/), emptied first.
"""

from __future__ import annotations

import argparse
import csv
import json
import os
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]
PYTHON = sys.executable
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/registry_load"
DEFAULT_REDIS_URL = "redis://127.0.0.1:6379/0"


def _free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def _database_name(url: str) -> str:
    return urlsplit(url).path.lstrip("/")


def recreate_database(url: str) -> None:
    import psycopg
    from psycopg import sql

    parts = urlsplit(url)
    name = _database_name(url)
    admin = urlunsplit(parts._replace(path="/postgres"))
    with psycopg.connect(admin, autocommit=True) as connection:
        connection.execute(
            sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(name))
        )
        connection.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(name)))


def count_reports(url: str, year: int, quarter: int) -> tuple[int, int]:
    """(current reports of the quarter, of which with an attachment)."""
    import psycopg

    with psycopg.connect(url) as connection:
        row = connection.execute(
            "SELECT count(*), count(*) FILTER (WHERE attachment <> '') "
            "FROM ledger_quarterlyreport WHERE year = %s AND quarter = %s AND is_current",
            [year, quarter],
        ).fetchone()
    return row[0], row[1]


def _cpu(pid: int) -> tuple[int, float]:
    """(parent pid, user + system CPU seconds) of a live process, from /proc."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return int(fields[1]), (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def server_cpu(master: int, database_url: str) -> tuple[float, float]:
    """CPU seconds used so far by gunicorn (master and workers) and by the PostgreSQL
    backends connected to the load test's database (Linux only; zeros elsewhere)."""
    import psycopg

    web = 0.0
    try:
        for entry in Path("/proc").iterdir():
            if entry.name.isdigit():
                try:
                    parent, seconds = _cpu(int(entry.name))
                except (OSError, IndexError, ValueError):
                    continue
                if int(entry.name) == master or parent == master:
                    web += seconds
        with psycopg.connect(database_url) as connection:
            backends = connection.execute(
                "SELECT pid FROM pg_stat_activity WHERE datname = current_database() "
                "AND pid <> pg_backend_pid()"
            ).fetchall()
        database = 0.0
        for (pid,) in backends:
            try:
                database += _cpu(pid)[1]
            except (OSError, IndexError, ValueError):
                continue
    except OSError:
        return 0.0, 0.0
    return web, database


def step(title: str, command: list[str], env: dict, log: Path) -> None:
    print(f"== {title}", flush=True)
    began = time.monotonic()
    with log.open("w", encoding="utf-8") as out:
        result = subprocess.run(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
    if result.returncode != 0:
        print(log.read_text(encoding="utf-8")[-4000:], file=sys.stderr)
        raise SystemExit(f"{title}: failed (exit {result.returncode}); log: {log}")
    print(f"   {time.monotonic() - began:.1f} s", flush=True)


def wait_healthy(url: str, server: subprocess.Popen, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise SystemExit(f"gunicorn exited with {server.returncode} before answering")
        try:
            with urllib.request.urlopen(url, timeout=2) as response:
                if response.status == 200:
                    return
        except OSError:
            pass
        time.sleep(0.5)
    raise SystemExit(f"{url} did not answer within {timeout:.0f} s")


def stop(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def add_server_options(parser: argparse.ArgumentParser) -> None:
    """The options of the database, the broker and gunicorn (shared with bench/load/step.py)."""
    # As the image runs it (Dockerfile: GUNICORN_WORKERS, sync workers).
    parser.add_argument("--workers", type=int, default=3, help="gunicorn worker processes")
    parser.add_argument(
        "--threads", type=int, default=1, help="threads per worker (more than 1: gthread)"
    )
    parser.add_argument(
        "--worker-class",
        choices=("sync", "gthread"),
        default=None,
        help="gunicorn's worker class (default: gthread with --threads above 1, else sync)",
    )
    parser.add_argument(
        "--keep-alive",
        type=int,
        default=None,
        help="gunicorn's --keep-alive in seconds (its default 2; only gthread keeps a "
        "connection open, 0 closes each after its response)",
    )
    parser.add_argument(
        "--database-url", default=os.environ.get("LOAD_DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or DEFAULT_REDIS_URL)


def worker_class(workers_class: str | None, threads: int) -> str:
    """The worker class gunicorn will run: a sync worker given threads would become gthread."""
    chosen = workers_class or ("gthread" if threads > 1 else "sync")
    if chosen == "sync" and threads > 1:
        raise SystemExit("sync workers have one thread: --worker-class gthread for --threads")
    return chosen


def checked_database(url: str) -> str:
    """The name of the load test's own database; refuses any other."""
    if not url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the load test runs on PostgreSQL: LOAD_DATABASE_URL=postgres://…")
    name = _database_name(url)
    others = {_database_name(os.environ.get("DATABASE_URL") or "")} - {""}
    if name in others | {f"test_{n}" for n in others} | {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop {name!r}: the load test needs a database of its own")
    return name


def environment(work: Path, base: str, database_url: str) -> dict:
    """The production settings with only what plain http on the loopback needs."""
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": base,
        "SITE_URL": base,
        # Plain http on the loopback: cookies must travel without TLS, and no redirect to it.
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_PROXY_SSL_HEADER_ENABLED": "false",
        "PRIVATE_MEDIA_ROOT": str(work / "private"),
        "STATIC_ROOT": str(work / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(work / "mail"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
    }
    env.pop("REDIS_URL", None)  # set-up runs its tasks in-process; only the server uses Redis
    return env


def analyze(database_url: str) -> None:
    """The planner's statistics for every table, as autovacuum would gather them some time
    after a bulk load: without them the first minutes of a test run on guessed plans (and a
    database restored by pg_restore has none at all)."""
    import psycopg

    started = time.monotonic()
    with psycopg.connect(database_url, autocommit=True) as connection:
        connection.execute("VACUUM ANALYZE")
    print(f"== VACUUM ANALYZE\n   {time.monotonic() - started:.1f} s", flush=True)


def prepare(env: dict, database_url: str, *, pilots: int, accounts: int, logs: Path) -> dict:
    """A fresh database with the demo and the data set, the static files collected; returns
    the plan (also written to plan.json beside the logs folder)."""
    plan_path = logs.parent / "plan.json"
    print(f"== database {_database_name(database_url)}: dropped and created afresh", flush=True)
    recreate_database(database_url)
    step("migrate", [PYTHON, "manage.py", "migrate", "--noinput"], env, logs / "migrate.log")
    step("load_demo", [PYTHON, "manage.py", "load_demo"], env, logs / "load_demo.log")
    step(
        f"data set: {pilots} pilots, accounts for {accounts} users",
        [
            PYTHON,
            "bench/load/dataset.py",
            "--pilots",
            str(pilots),
            "--accounts",
            str(max(accounts, 1)),
            "--plan",
            str(plan_path),
        ],
        env,
        logs / "dataset.log",
    )
    print("   " + (logs / "dataset.log").read_text(encoding="utf-8").strip().splitlines()[-1])
    analyze(database_url)
    step(
        "collectstatic",
        [PYTHON, "manage.py", "collectstatic", "--noinput"],
        env,
        logs / "collectstatic.log",
    )
    return json.loads(plan_path.read_text(encoding="utf-8"))


def start_gunicorn(
    env: dict,
    port: int,
    log: Path,
    *,
    workers: int,
    threads: int,
    workers_class: str | None = None,
    keep_alive: int | None = None,
) -> subprocess.Popen:
    """gunicorn serving config.wsgi on 127.0.0.1:port, its output in `log`."""
    command = [
        PYTHON,
        "-m",
        "gunicorn",
        "config.wsgi:application",
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--threads",
        str(threads),
        "--worker-class",
        worker_class(workers_class, threads),
        "--timeout",
        "120",
        "--error-logfile",
        "-",
    ]
    if keep_alive is not None:
        command += ["--keep-alive", str(keep_alive)]
    with log.open("w", encoding="utf-8") as out:
        return subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)


def server_description(
    workers: int, threads: int, workers_class: str | None, keep_alive: int | None
) -> str:
    chosen = worker_class(workers_class, threads)
    text = f"{workers} {chosen} workers" + (f" × {threads} threads" if threads > 1 else "")
    return text + ("" if keep_alive is None else f", keep-alive {keep_alive} s")


def locust_command(host: str, users: int, spawn_rate: float, run_time: str, prefix: Path) -> list:
    """locust, headless, on the deadline mix (locustfile.py), its figures in `prefix`_*.csv."""
    return [
        PYTHON, "-m", "locust", "-f", str(ROOT / "bench" / "load" / "locustfile.py"),
        "--headless", "--host", host, "--users", str(users), "--spawn-rate", str(spawn_rate),
        "--run-time", run_time,
        # Users finish the request in hand (they stop at their next wait).
        "--stop-timeout", "30",
        "--csv", str(prefix), "--only-summary", "--loglevel", "WARNING",
    ]  # fmt: skip


def read_stats(prefix: Path) -> tuple[list[dict], dict]:
    with (prefix.parent / f"{prefix.name}_stats.csv").open(encoding="utf-8") as handle:
        rows = list(csv.DictReader(handle))
    total = next(row for row in rows if row["Name"] == "Aggregated")
    return [row for row in rows if row["Name"] != "Aggregated"], total


def read_rows(path: Path) -> list[dict]:
    if not path.exists():
        return []
    with path.open(encoding="utf-8") as handle:
        return list(csv.DictReader(handle))


def _ms(row: dict, column: str) -> str:
    value = row.get(column, "N/A")
    return value if value in ("N/A", "") else f"{float(value):.0f}"


def report(stats: list[dict], total: dict) -> None:
    print(
        "\n| request | method | count | failures | req/s | p50 ms | p95 ms | p99 ms | max ms |\n"
        "|---|---|---:|---:|---:|---:|---:|---:|---:|"
    )
    for row in sorted(stats, key=lambda r: -int(r["Request Count"])) + [total]:
        name = "**all requests**" if row is total else f"`{row['Name']}`"
        print(
            f"| {name} | {row['Type']} | {row['Request Count']} | {row['Failure Count']} | "
            f"{float(row['Requests/s']):.1f} | {_ms(row, '50%')} | {_ms(row, '95%')} | "
            f"{_ms(row, '99%')} | {_ms(row, 'Max Response Time')} |"
        )


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=200)
    parser.add_argument("--spawn-rate", type=float, default=2.0, help="users started per second")
    parser.add_argument("--run-time", default="3m", help="locust's --run-time, e.g. 3m, 45s")
    parser.add_argument("--pilots", type=int, default=10_000)
    parser.add_argument("--p95-ms", type=float, default=800.0, help="the p95 to stay below")
    add_server_options(parser)
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "load")
    args = parser.parse_args(argv)

    checked_database(args.database_url)
    worker_class(args.worker_class, args.threads)
    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    (work / "logs").mkdir(parents=True)
    port = _free_port()
    base = f"http://127.0.0.1:{port}"
    env = environment(work, base, args.database_url)
    logs = work / "logs"
    plan_path = work / "plan.json"

    plan = prepare(env, args.database_url, pilots=args.pilots, accounts=args.users, logs=logs)
    year, quarter = plan["year"], plan["quarter"]
    before, before_attached = count_reports(args.database_url, year, quarter)

    server_env = {**env, "REDIS_URL": args.redis_url}
    described = server_description(args.workers, args.threads, args.worker_class, args.keep_alive)
    print(f"== gunicorn on {base}: {described}, broker {args.redis_url}", flush=True)
    server = start_gunicorn(
        server_env,
        port,
        logs / "gunicorn.log",
        workers=args.workers,
        threads=args.threads,
        workers_class=args.worker_class,
        keep_alive=args.keep_alive,
    )
    prefix = work / "locust"
    result_path = work / "tally.json"
    try:
        wait_healthy(f"{base}/healthz/", server)
        web_before, _ = server_cpu(server.pid, args.database_url)
        load_before = os.getloadavg()
        began = time.monotonic()
        print(f"== locust: {args.users} users, {args.spawn_rate:g}/s, {args.run_time}", flush=True)
        locust = subprocess.run(
            locust_command(base, args.users, args.spawn_rate, args.run_time, prefix),
            cwd=ROOT,
            env={**env, "LOAD_PLAN": str(plan_path), "LOAD_RESULT": str(result_path)},
            stdout=(logs / "locust.log").open("w", encoding="utf-8"),
            stderr=subprocess.STDOUT,
        )
        elapsed = time.monotonic() - began
        load_after = os.getloadavg()
        web_after, database_cpu = server_cpu(server.pid, args.database_url)
    finally:
        stop(server)
    if not (prefix.parent / f"{prefix.name}_stats.csv").exists():
        print((logs / "locust.log").read_text(encoding="utf-8")[-4000:], file=sys.stderr)
        raise SystemExit(f"locust wrote no statistics (exit {locust.returncode})")

    stats, total = read_stats(prefix)
    failures = read_rows(prefix.parent / f"{prefix.name}_failures.csv")
    exceptions = read_rows(prefix.parent / f"{prefix.name}_exceptions.csv")
    tally = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    after, after_attached = count_reports(args.database_url, year, quarter)
    written, attached = after - before, after_attached - before_attached
    accepted = tally.get("submitted", -1)

    report(stats, total)
    failed = int(total["Failure Count"])
    errors = failed + sum(int(row["Count"]) for row in exceptions)
    for row in failures:
        print(f"failure: {row['Method']} {row['Name']}: {row['Error']} × {row['Occurrences']}")
    for row in exceptions:
        print(f"exception: {row['Message']} × {row['Count']}")
    p95 = float(total["95%"])
    print(
        f"\nrequests/s: {float(total['Requests/s']):.1f}\n"
        f"requests: {total['Request Count']}\n"
        f"p50: {float(total['50%']):.0f} ms\n"
        f"p95: {p95:.0f} ms\n"
        f"p99: {float(total['99%']):.0f} ms\n"
        f"errors: {errors} ({failed} failures, {len(exceptions)} kinds of exception)\n"
        f"reports submitted: {accepted} accepted of {tally.get('attempted', 0)} sent; "
        f"{written} written to the database for {year}Q{quarter}, {attached} with attachment"
    )
    web_cpu = web_after - web_before
    requests = int(total["Request Count"]) or 1
    print(
        f"server CPU: gunicorn {web_cpu:.0f} s ({web_cpu / elapsed:.2f} cores, "
        f"{1000 * web_cpu / requests:.0f} ms a request), PostgreSQL {database_cpu:.0f} s "
        f"({database_cpu / elapsed:.2f} cores) over {elapsed:.0f} s\n"
        f"load average (1 min): {load_before[0]:.2f} before, {load_after[0]:.2f} after "
        f"on {os.cpu_count()} CPUs"
    )
    reasons = []
    if p95 >= args.p95_ms:
        reasons.append(f"p95 {p95:.0f} ms ≥ {args.p95_ms:.0f} ms")
    if errors:
        reasons.append(f"{errors} errors")
    if accepted <= 0:
        reasons.append("no report was submitted")
    if not (written == attached == accepted):
        reasons.append(f"{accepted} submits accepted but {written} reports written")
    if locust.returncode not in (0, 1):
        reasons.append(f"locust exited with {locust.returncode}")
    print("PASS" if not reasons else "FAIL: " + "; ".join(reasons))
    return 0 if not reasons else 1


if __name__ == "__main__":
    sys.exit(main())
