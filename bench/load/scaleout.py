"""Scale-out check: the registry as deployed on several hosts, on this machine. Two gunicorn
instances and two Celery workers, each with a private folder of its own (as if on another
host), plus one beat, share PostgreSQL, Redis and an S3-compatible object store (moto's
server); a short quarterly-deadline load (bench/load/locustfile.py) is spread over both
instances, and then every quarterly report's attachment and a PDF ledger rendered by a
worker meanwhile are read back from each instance.

    .venv/bin/python bench/load/scaleout.py --users 20 --run-time 75s

Exit status 0 only if the load saw no failure and no exception, both instances answered
part of it, every report the server accepted was written with its attachment, every
attachment and the PDF ledger download from both instances with the same bytes as the
object in the bucket, no process kept a file in its local folder, a second beat refused to
start while the first kept running, and nothing stopped early.

Its own database (SCALE_DATABASE_URL, default postgres://postgres@127.0.0.1:5432/
registry_scale, dropped and created afresh; never the one DATABASE_URL names), the broker
on REDIS_URL; everything else under --workdir (var/scaleout/), emptied first.
"""

from __future__ import annotations

import argparse
import http.cookiejar
import json
import os
import re
import secrets
import shutil
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.parse
import urllib.request
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as load  # noqa: E402 - bench/load/run.py: set-up and reading locust's figures

ROOT = load.ROOT
PYTHON = load.PYTHON
DEFAULT_DATABASE_URL = "postgres://postgres@127.0.0.1:5432/registry_scale"
PORTS = range(9500, 9600)
BUCKET = "registry-scaleout"
PREFIX = "scaleout"
S3_KEYS = {"S3_ACCESS_KEY_ID": "scaleout", "S3_SECRET_ACCESS_KEY": "scaleout-secret"}
CSRF_INPUT = re.compile(r'name="csrfmiddlewaretoken" value="([^"]+)"')


def free_port(taken: set[int]) -> int:
    """A port of PORTS nothing listens on (and not handed out before)."""
    for port in PORTS:
        if port in taken:
            continue
        with socket.socket() as probe:
            try:
                probe.bind(("127.0.0.1", port))
            except OSError:
                continue
        taken.add(port)
        return port
    raise SystemExit(f"no free port in {PORTS.start}–{PORTS.stop - 1}")


def wait_port(port: int, process: subprocess.Popen, what: str, timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise SystemExit(f"{what} exited with {process.returncode} before listening")
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.3)
    raise SystemExit(f"{what} did not listen on {port} within {timeout:.0f} s")


def wait_line(log: Path, needle: str, process: subprocess.Popen, timeout: float = 90) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if log.exists() and needle in log.read_text(encoding="utf-8", errors="replace"):
            return
        if process.poll() is not None:
            raise SystemExit(f"{log.name}: exited with {process.returncode}\n{tail(log)}")
        time.sleep(0.5)
    raise SystemExit(f"{log.name}: no {needle!r} within {timeout:.0f} s\n{tail(log)}")


def tail(log: Path, chars: int = 3000) -> str:
    return log.read_text(encoding="utf-8", errors="replace")[-chars:] if log.exists() else ""


class Session:
    """A signed-in browser of one instance (its own cookies), for the checks after the load."""

    def __init__(self, base: str):
        self.base = base
        self.opener = urllib.request.build_opener(
            urllib.request.HTTPCookieProcessor(http.cookiejar.CookieJar()), _NoRedirect()
        )

    def get(self, path: str) -> tuple[int, bytes, dict]:
        try:
            with self.opener.open(self.base + path, timeout=60) as response:
                return response.status, response.read(), dict(response.headers)
        except urllib.error.HTTPError as answer:
            return answer.code, answer.read(), dict(answer.headers)

    def post(self, path: str, data: dict) -> tuple[int, dict]:
        status, page, _ = self.get(path)
        token = CSRF_INPUT.search(page.decode("utf-8", "replace"))
        if status != 200 or not token:
            raise SystemExit(f"{self.base}{path}: no form to post (HTTP {status})")
        body = urllib.parse.urlencode({**data, "csrfmiddlewaretoken": token.group(1)}).encode()
        request = urllib.request.Request(self.base + path, data=body, method="POST")
        try:
            with self.opener.open(request, timeout=60) as response:
                return response.status, dict(response.headers)
        except urllib.error.HTTPError as answer:
            return answer.code, dict(answer.headers)

    def sign_in(self, username: str, password: str) -> Session:
        status, headers = self.post(
            "/accounts/login/", {"username": username, "password": password, "next": ""}
        )
        if status != 302:
            raise SystemExit(f"{self.base}: {username} could not sign in (HTTP {status})")
        return self


class _NoRedirect(urllib.request.HTTPRedirectHandler):
    def redirect_request(self, *args, **kwargs):
        return None


def query(url: str, sql: str, params=()) -> list[tuple]:
    import psycopg

    with psycopg.connect(url) as connection:
        return connection.execute(sql, params).fetchall()


def start(command: list[str], env: dict, log: Path) -> subprocess.Popen:
    handle = log.open("w", encoding="utf-8")
    return subprocess.Popen(command, cwd=ROOT, env=env, stdout=handle, stderr=subprocess.STDOUT)


def main(argv=None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--users", type=int, default=20)
    parser.add_argument("--spawn-rate", type=float, default=2.0)
    # Department users spend 20 to 60 s on a report's form: shorter runs submit few reports.
    parser.add_argument("--run-time", default="75s", help="locust's --run-time")
    parser.add_argument("--pilots", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=2, help="gunicorn workers per instance")
    parser.add_argument("--render-timeout", type=float, default=300.0)
    parser.add_argument(
        "--database-url", default=os.environ.get("SCALE_DATABASE_URL") or DEFAULT_DATABASE_URL
    )
    parser.add_argument("--redis-url", default=os.environ.get("REDIS_URL") or "")
    parser.add_argument("--workdir", type=Path, default=ROOT / "var" / "scaleout")
    args = parser.parse_args(argv)

    if not args.database_url.startswith(("postgres://", "postgresql://")):
        raise SystemExit("the scale-out check runs on PostgreSQL: SCALE_DATABASE_URL=postgres://…")
    if not args.redis_url:
        raise SystemExit("the scale-out check needs Redis: REDIS_URL=redis://…")
    name = load._database_name(args.database_url)
    others = {load._database_name(os.environ.get("DATABASE_URL") or "")} - {""}
    if name in others | {f"test_{n}" for n in others} | {"postgres", "template0", "template1"}:
        raise SystemExit(f"refusing to drop {name!r}: the check needs a database of its own")
    work = args.workdir.resolve()
    shutil.rmtree(work, ignore_errors=True)
    logs = work / "logs"
    logs.mkdir(parents=True)
    taken: set[int] = set()
    store_port, web_ports = free_port(taken), [free_port(taken), free_port(taken)]
    bases = [f"http://127.0.0.1:{port}" for port in web_ports]
    endpoint = f"http://127.0.0.1:{store_port}"
    env = {
        **os.environ,
        "DJANGO_SETTINGS_MODULE": "config.settings",
        "DATABASE_URL": args.database_url,
        "DEBUG": "false",
        "SECRET_KEY": secrets.token_urlsafe(50),
        "ALLOWED_HOSTS": "127.0.0.1,localhost",
        "CSRF_TRUSTED_ORIGINS": ",".join(bases),
        "SITE_URL": bases[0],
        "SESSION_COOKIE_SECURE": "false",
        "CSRF_COOKIE_SECURE": "false",
        "SECURE_SSL_REDIRECT": "false",
        "SECURE_HSTS_SECONDS": "0",
        "SECURE_PROXY_SSL_HEADER_ENABLED": "false",
        "PRIVATE_MEDIA_ROOT": str(work / "hosts" / "setup"),
        "STATIC_ROOT": str(work / "static"),
        "EMAIL_BACKEND": "django.core.mail.backends.filebased.EmailBackend",
        "EMAIL_FILE_PATH": str(work / "mail"),
        "LOG_LEVEL": "WARNING",
        "PYTHONUNBUFFERED": "1",
        "S3_BUCKET": BUCKET,
        "S3_ENDPOINT_URL": endpoint,
        "S3_REGION": "us-east-1",
        "S3_PREFIX": PREFIX,
        "S3_ADDRESSING_STYLE": "path",
        **S3_KEYS,
    }
    env.pop("REDIS_URL", None)  # set-up runs its tasks in-process; the services use Redis
    processes: dict[str, subprocess.Popen] = {}

    def host_env(host: str) -> dict:
        folder = work / "hosts" / host
        folder.mkdir(parents=True, exist_ok=True)
        return {**env, "REDIS_URL": args.redis_url, "PRIVATE_MEDIA_ROOT": str(folder)}

    try:
        print(f"== object store on {endpoint} (moto), bucket {BUCKET}", flush=True)
        processes["store"] = start(
            [PYTHON, "-m", "moto.server", "-H", "127.0.0.1", "-p", str(store_port)],
            env,
            logs / "store.log",
        )
        wait_port(store_port, processes["store"], "the object store")
        bucket_client(endpoint).create_bucket(Bucket=BUCKET)

        print(f"== database {name}: dropped and created afresh", flush=True)
        load.recreate_database(args.database_url)
        load.step("migrate", [PYTHON, "manage.py", "migrate", "--noinput"], env, logs / "m.log")
        load.step("load_demo", [PYTHON, "manage.py", "load_demo"], env, logs / "demo.log")
        plan_path = work / "plan.json"
        load.step(
            f"data set: {args.pilots} pilots, accounts for {args.users} users",
            [
                PYTHON,
                "bench/load/dataset.py",
                "--pilots",
                str(args.pilots),
                "--accounts",
                str(max(args.users, 1)),
                "--plan",
                str(plan_path),
            ],
            env,
            logs / "dataset.log",
        )
        load.step(
            "collectstatic",
            [PYTHON, "manage.py", "collectstatic", "--noinput"],
            env,
            logs / "static.log",
        )
        plan = json.loads(plan_path.read_text(encoding="utf-8"))
        year, quarter = plan["year"], plan["quarter"]

        print(f"== two web instances ({', '.join(bases)}), two workers, one beat", flush=True)
        for n, port in enumerate(web_ports, 1):
            processes[f"web{n}"] = start(
                [
                    PYTHON,
                    "-m",
                    "gunicorn",
                    "config.wsgi:application",
                    "--bind",
                    f"127.0.0.1:{port}",
                    "--workers",
                    str(args.workers),
                    "--timeout",
                    "120",
                    "--access-logfile",
                    str(logs / f"web{n}-access.log"),
                    "--error-logfile",
                    "-",
                ],
                host_env(f"web{n}"),
                logs / f"web{n}.log",
            )
        for n in (1, 2):
            processes[f"worker{n}"] = start(
                [
                    PYTHON,
                    "-m",
                    "celery",
                    "-A",
                    "config.celery",
                    "worker",
                    "-l",
                    "info",
                    "-n",
                    f"scaleout{n}@%h",
                    "--concurrency",
                    "1",
                    "--prefetch-multiplier=1",
                ],
                host_env(f"worker{n}"),
                logs / f"worker{n}.log",
            )
        beat_command = [
            PYTHON,
            "-m",
            "celery",
            "-A",
            "config.celery",
            "beat",
            "-l",
            "info",
            "--scheduler",
            "config.beat:SingleBeatScheduler",
        ]
        processes["beat"] = start(
            [*beat_command, "--schedule", str(work / "beat1.db")],
            host_env("beat"),
            logs / "beat.log",
        )
        for n, base in enumerate(bases, 1):
            load.wait_healthy(f"{base}/healthz/", processes[f"web{n}"])
        for n in (1, 2):
            wait_line(logs / f"worker{n}.log", " ready.", processes[f"worker{n}"])
        wait_line(logs / "beat.log", "beat: Starting", processes["beat"])

        # A second beat, anywhere, refuses to start while the first runs.
        second = start(
            [*beat_command, "--schedule", str(work / "beat2.db")],
            host_env("beat2"),
            logs / "beat2.log",
        )
        try:
            second.wait(timeout=90)
        except subprocess.TimeoutExpired:
            load.stop(second)
        second_refused = second.returncode not in (0, None) and "另一个 Celery beat 正在运行" in (
            tail(logs / "beat2.log", 20000)
        )

        # The office asks instance 1 for the province's PDF ledger; a worker renders it while
        # the load runs.
        office = Session(bases[0]).sign_in(plan["offices"][0], plan["password"])
        status, _ = office.post("/ledger/renders/", {"year": year, "quarter": quarter})
        if status != 302:
            raise SystemExit(f"the PDF ledger was not requested (HTTP {status})")
        (render_id,) = query(args.database_url, "SELECT max(id) FROM ledger_ledgerrender")[0]
        before, _ = load.count_reports(args.database_url, year, quarter)

        prefix = work / "locust"
        result_path = work / "tally.json"
        print(f"== locust: {args.users} users over both instances, {args.run_time}", flush=True)
        locust = subprocess.run(
            load.locust_command(bases[0], args.users, args.spawn_rate, args.run_time, prefix),
            cwd=ROOT,
            env={
                **env,
                "LOAD_PLAN": str(plan_path),
                "LOAD_RESULT": str(result_path),
                "LOAD_HOSTS": " ".join(bases),
            },
            stdout=(logs / "locust.log").open("w", encoding="utf-8"),
            stderr=subprocess.STDOUT,
        )
        if not (prefix.parent / f"{prefix.name}_stats.csv").exists():
            print(tail(logs / "locust.log"), file=sys.stderr)
            raise SystemExit(f"locust wrote no statistics (exit {locust.returncode})")

        render_status = wait_render(args.database_url, render_id, args.render_timeout)
        return verdict(
            args=args,
            work=work,
            bases=bases,
            endpoint=endpoint,
            plan=plan,
            prefix=prefix,
            result_path=result_path,
            before=before,
            render=(render_id, render_status),
            locust_exit=locust.returncode,
            second_refused=second_refused,
            processes=processes,
        )
    finally:
        for process in processes.values():
            stop_process(process)


def bucket_client(endpoint: str):
    import boto3
    from botocore.config import Config

    return boto3.client(
        "s3",
        endpoint_url=endpoint,
        region_name="us-east-1",
        aws_access_key_id=S3_KEYS["S3_ACCESS_KEY_ID"],
        aws_secret_access_key=S3_KEYS["S3_SECRET_ACCESS_KEY"],
        config=Config(s3={"addressing_style": "path"}),
    )


def stop_process(process: subprocess.Popen) -> None:
    if process.poll() is None:
        process.send_signal(signal.SIGTERM)
        try:
            process.wait(timeout=30)
        except subprocess.TimeoutExpired:
            process.kill()
            process.wait()


def wait_render(database_url: str, render_id: int, timeout: float) -> str:
    deadline = time.monotonic() + timeout
    status = ""
    while time.monotonic() < deadline:
        ((status,),) = query(
            database_url, "SELECT status FROM ledger_ledgerrender WHERE id = %s", [render_id]
        )
        if status in ("done", "failed"):
            return status
        time.sleep(1)
    return status


def verdict(*, args, work, bases, endpoint, plan, prefix, result_path, before, render,
            locust_exit, second_refused, processes) -> int:  # fmt: skip
    stats, total = load.read_stats(prefix)
    failures = load.read_rows(prefix.parent / f"{prefix.name}_failures.csv")
    exceptions = load.read_rows(prefix.parent / f"{prefix.name}_exceptions.csv")
    tally = json.loads(result_path.read_text(encoding="utf-8")) if result_path.exists() else {}
    year, quarter = plan["year"], plan["quarter"]
    after, _ = load.count_reports(args.database_url, year, quarter)
    accepted = tally.get("submitted", -1)
    load.report(stats, total)
    errors = int(total["Failure Count"]) + sum(int(row["Count"]) for row in exceptions)
    for row in failures:
        print(f"failure: {row['Method']} {row['Name']}: {row['Error']} × {row['Occurrences']}")
    for row in exceptions:
        print(f"exception: {row['Message']} × {row['Count']}")
    logs = work / "logs"
    served = [sum(1 for _ in (logs / f"web{n}-access.log").open(encoding="utf-8")) for n in (1, 2)]

    # Every report's attachment, and the PDF ledger, from each instance.
    sessions = [Session(base).sign_in(plan["offices"][0], plan["password"]) for base in bases]
    store = bucket_client(endpoint)
    attachments = query(
        args.database_url,
        "SELECT id, attachment FROM ledger_quarterlyreport "
        "WHERE year = %s AND quarter = %s AND is_current AND attachment <> '' ORDER BY id",
        [year, quarter],
    )
    unreadable = []
    for report_id, name in attachments:
        stored = store.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{name}")["Body"].read()
        for session in sessions:
            status, body, headers = session.get(f"/ledger/reports/{report_id}/attachment/")
            if (
                status != 200
                or body != stored
                or "attachment" not in headers.get("Content-Disposition", "")
            ):
                unreadable.append(f"report {report_id} from {session.base}: HTTP {status}")
    render_id, render_status = render
    render_same = False
    if render_status == "done":
        ((render_name,),) = query(
            args.database_url, "SELECT file FROM ledger_ledgerrender WHERE id = %s", [render_id]
        )
        stored = store.get_object(Bucket=BUCKET, Key=f"{PREFIX}/{render_name}")["Body"].read()
        bodies = [s.get(f"/ledger/renders/{render_id}/download/") for s in sessions]
        render_same = stored.startswith(b"%PDF-") and all(
            status == 200 and body == stored for status, body, _ in bodies
        )
    done = re.compile(r"render_ledger_task\[[^\]]+\] succeeded")
    renderer = [n for n in (1, 2) if done.search(tail(logs / f"worker{n}.log", 10**6))]
    local = [
        p.relative_to(work)
        for host in ("web1", "web2", "worker1", "worker2", "beat")
        for p in (work / "hosts" / host).rglob("*")
        if p.is_file()
    ]
    stopped = [name for name, process in processes.items() if process.poll() is not None]

    print(
        f"\nrequests/s: {float(total['Requests/s']):.1f}\n"
        f"requests: {total['Request Count']} ({served[0]} answered by instance 1, "
        f"{served[1]} by instance 2)\n"
        f"p95: {float(total['95%']):.0f} ms\n"
        f"errors: {errors}\n"
        f"reports submitted: {accepted} accepted; {after - before} written\n"
        f"attachments read from both instances: {len(attachments) - len(unreadable)} "
        f"of {len(attachments)}\n"
        f"PDF ledger #{render_id}: {render_status}, rendered by worker "
        f"{'/'.join(map(str, renderer)) or '?'}, same bytes from both instances: "
        f"{'yes' if render_same else 'no'}\n"
        f"files kept in a local folder: {len(local)}\n"
        f"second beat refused: {'yes' if second_refused else 'no'}"
    )
    for line in unreadable[:20]:
        print(f"unreadable: {line}")
    reasons = []
    if errors:
        reasons.append(f"{errors} errors")
    if min(served) == 0:
        reasons.append("one instance answered nothing")
    if accepted <= 0 or after - before != accepted:
        reasons.append(f"{accepted} submits accepted but {after - before} reports written")
    if unreadable or not attachments:
        reasons.append(f"{len(unreadable)} attachment reads failed of {2 * len(attachments)}")
    if not render_same:
        reasons.append(f"the PDF ledger is {render_status or 'missing'} or differs")
    if local:
        reasons.append(f"files in local folders: {local[:5]}")
    if not second_refused:
        reasons.append("a second beat was not refused")
    if stopped:
        reasons.append(f"stopped early: {', '.join(stopped)}")
    if locust_exit not in (0, 1):
        reasons.append(f"locust exited with {locust_exit}")
    print("PASS" if not reasons else "FAIL: " + "; ".join(reasons))
    return 0 if not reasons else 1


if __name__ == "__main__":
    sys.exit(main())
