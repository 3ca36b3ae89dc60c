"""Locust load shape for the step test (`bench/load/step.py`): the deadline mix of
`bench/load/locustfile.py`, loaded beside this file (`-f locustfile.py,stepshape.py`), raised
in steps of users.

The schedule comes from `LOAD_STEPS` (JSON: `users`, a list of user counts; `spawn_rate`;
`warmup`, `settle` and `hold` in seconds; `warmup_users`; `p95_ms`; `out`, a JSON-lines file;
`server`, gunicorn's master pid). First, with `warmup` seconds (and `warmup_users`, 20 by
default), a few users browse unmeasured so that every worker has compiled its templates and
filled its caches. Then, for each step, the shape

1. asks for the step's users and waits until locust has started them all and every user
   started so far has sent its sign-in (the sign-ins, Argon2 at about 0.3 s of CPU each, would
   otherwise be measured as the step's load), then `settle` seconds more;
2. holds for `hold` seconds and measures only what completes in that window: requests per
   second, the p50/p95/p99 and maximum of the response times (exact, from every sample),
   failures and exceptions in the users' code, the CPU used by gunicorn (master and
   workers) and by locust itself, and the load average;
3. writes the step as one JSON line to `out` and goes on to the next step, or stops the test
   if the p95 reached `p95_ms` or an error appeared (that step is the first that failed).
"""

from __future__ import annotations

import json
import math
import os
import time
from pathlib import Path

from locust import LoadTestShape, events

SCHEDULE = json.loads(os.environ.get("LOAD_STEPS") or "{}")
# (completion time, response time in ms, failed) of every request, and the times of the
# exceptions raised in the users' code.
SAMPLES: list[tuple[float, float, bool]] = []
USER_ERRORS: list[float] = []
SIGN_INS = {"sent": 0}


@events.request.add_listener
def _sample(request_type, name, response_time, exception=None, **_kwargs) -> None:
    SAMPLES.append((time.time(), float(response_time or 0.0), exception is not None))
    if request_type == "POST" and name == "/accounts/login/":
        SIGN_INS["sent"] += 1


@events.user_error.add_listener
def _user_error(**_kwargs) -> None:
    USER_ERRORS.append(time.time())


def percentile(ordered: list[float], share: float) -> float:
    """Nearest-rank percentile of an ordered list (0 when empty)."""
    if not ordered:
        return 0.0
    return ordered[max(0, math.ceil(share * len(ordered)) - 1)]


def tree_cpu(master: int) -> float:
    """CPU seconds (user + system) of a process and its children, from /proc (Linux)."""
    tick = os.sysconf("SC_CLK_TCK")
    total = 0.0
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except (OSError, IndexError):
            continue
        if int(entry.name) == master or int(fields[1]) == master:
            total += (int(fields[11]) + int(fields[12])) / tick
    return total


def own_cpu() -> float:
    times = os.times()
    return times.user + times.system


class Steps(LoadTestShape):
    """Users in steps; each step measured over its hold once its users are all signed in."""

    def __init__(self) -> None:
        super().__init__()
        self.users: list[int] = list(SCHEDULE.get("users", []))
        self.index = 0
        self.phase = "start"
        self.since = 0.0
        self.marks: dict = {}
        self.warming = float(SCHEDULE.get("warmup", 0)) > 0 and bool(self.users)
        self.warm_since: float | None = None

    def warm_up(self, now: float, rate: float):
        """`warmup_users` users for `warmup` seconds once signed in, unmeasured: every worker
        process has compiled its templates and filled its caches before the first step, whose
        figures would otherwise show a server's first minute rather than its capacity."""
        users = min(int(SCHEDULE.get("warmup_users", 20)), self.users[0])
        if self.warm_since is None and SIGN_INS["sent"] >= users:
            self.warm_since = now
        if self.warm_since is not None and now - self.warm_since >= float(SCHEDULE["warmup"]):
            self.warming = False
        return users, rate

    def tick(self):
        if self.index >= len(self.users):
            return None
        target = self.users[self.index]
        now = time.time()
        rate = float(SCHEDULE.get("spawn_rate", 10))
        if self.warming:
            return self.warm_up(now, rate)
        if self.phase == "start":
            self.phase, self.since = "ramp", now
        if self.phase == "ramp":
            if self.get_current_user_count() >= target and SIGN_INS["sent"] >= target:
                self.phase, self.since = "settle", now
            elif now - self.since > 120 + target / rate:
                # Users that never sign in: measure anyway, their errors will show.
                self.phase, self.since = "settle", now
        if self.phase == "settle" and now - self.since >= float(SCHEDULE.get("settle", 10)):
            self.phase, self.since = "hold", now
            self.marks = {
                "began": now,
                "server": tree_cpu(int(SCHEDULE.get("server", 0))),
                "locust": own_cpu(),
                "ramp_sign_ins": SIGN_INS["sent"],
            }
        if self.phase == "hold" and now - self.since >= float(SCHEDULE.get("hold", 30)):
            passed = self.measure(target, now)
            self.index += 1
            self.phase = "start"
            if not passed:
                return None
            if self.index >= len(self.users):
                return None
            target = self.users[self.index]
        return target, rate

    def measure(self, users: int, ended: float) -> bool:
        began = self.marks["began"]
        window = [s for s in SAMPLES if began <= s[0] < ended]
        times = sorted(s[1] for s in window)
        failures = sum(1 for s in window if s[2])
        exceptions = sum(1 for t in USER_ERRORS if began <= t < ended)
        seconds = ended - began
        row = {
            "users": users,
            "seconds": round(seconds, 1),
            "requests": len(window),
            "rps": len(window) / seconds if seconds else 0.0,
            "p50": percentile(times, 0.50),
            "p95": percentile(times, 0.95),
            "p99": percentile(times, 0.99),
            "max": times[-1] if times else 0.0,
            "failures": failures,
            "exceptions": exceptions,
            "server_cores": (tree_cpu(int(SCHEDULE.get("server", 0))) - self.marks["server"])
            / seconds,
            "locust_cores": (own_cpu() - self.marks["locust"]) / seconds,
            "load": os.getloadavg()[0],
            # Sign-ins in the window (users that failed and started again would sign in anew).
            "sign_ins": SIGN_INS["sent"] - self.marks["ramp_sign_ins"],
        }
        row["passed"] = (
            bool(times)
            and row["p95"] < float(SCHEDULE.get("p95_ms", 800))
            and not (failures or exceptions)
        )
        out = SCHEDULE.get("out")
        if out:
            with open(out, "a", encoding="utf-8") as handle:
                handle.write(json.dumps(row) + "\n")
        return row["passed"]
